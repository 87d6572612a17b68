/**
 * @title Worker pool for heavy requests
 * @summary Move CPU-heavy requests to a pool of Bun Workers while the event loop keeps answering the cheap ones, each reply in its request's place.
 * @run bun run 05-calc/07-worker-pool.ts [--host 127.0.0.1] [--port 65432] [--idle 60] [--workers N]
 * @python new
 * @serves tcp "12 + 30\n" -> "OK 42\n"
 * @limits idle --idle · memory 150 MiB
 *
 * Lesson 06's loop stops for every `isprime`. Here heavy lines go to Workers (threads with
 * event loops of their own, running calc-worker.ts) and the main loop keeps answering cheap
 * ones. heavy-lines.ts keeps each reply in its request's place (`client.reserve()`) and
 * does not read a client while its heavy work is out (`hold()`). The pool below is the idea:
 * a queue of lines, and each free worker takes the next. Lesson 08 bounds it; lesson 13
 * measures what it gains.
 */
import { availableParallelism } from "node:os";
import { command, flag, serve } from "../lib/cli.ts";
import { serveHeavyLines } from "./heavy-lines.ts";
import { err, TCP_PORT } from "./protocol.ts";

export function startPoolServer({ host = "127.0.0.1", port = TCP_PORT, idle = 60, workers = 1 }) {
  // Cheap lines are answered at once; a heavy one goes to the pool, its reply keeping its place.
  const server = serveHeavyLines({ host, port, idle, compute: (line) => pool.run(line) });
  // Started once the port is ours: a server that cannot listen leaves no threads behind.
  const pool = new WorkerPool(workers);
  const stop = (): void => {
    server.stop();
    pool.close();
  };
  return { tcp: server.tcp, pool, stop };
}

/** One core stays with the event loop, which must stay quick; the others compute. */
export const defaultWorkers = (): number => Math.max(1, availableParallelism() - 1);

type Job = { line: string; resolve: (reply: string) => void };

/** Threads that compute heavy lines, a line at a time each; the other lines wait in a queue. */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly free: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly waiting: Job[] = [];

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL("./calc-worker.ts", import.meta.url));
      // Its first message says "ready"; then one reply for each line it was given.
      worker.onmessage = (event: MessageEvent<string>) => {
        this.busy.get(worker)?.resolve(event.data);
        this.busy.delete(worker);
        this.free.push(worker);
        this.next();
      };
      this.workers.push(worker);
    }
  }

  /** The reply to a heavy line, once a worker has computed it. */
  run(line: string): Promise<string> {
    const { promise, resolve } = Promise.withResolvers<string>();
    this.waiting.push({ line, resolve });
    this.next();
    return promise;
  }

  /** Every worker terminated, every line answered: nothing may outlive the server. */
  close(reply = err("busy", "the server is stopping")): void {
    for (const worker of this.workers) worker.terminate();
    for (const job of [...this.busy.values(), ...this.waiting.splice(0)]) job.resolve(reply);
  }

  private next(): void {
    while (this.free.length > 0 && this.waiting.length > 0) {
      const worker = this.free.pop() as Worker;
      const job = this.waiting.shift() as Job;
      this.busy.set(worker, job);
      worker.postMessage(job.line);
    }
  }
}

const cli = command("05-calc/07-worker-pool.ts", "The TCP calculator, heavy work on threads.", {
  host: flag.listen("127.0.0.1"),
  port: flag.port(TCP_PORT, "port to listen on; 0 takes any free port"),
  idle: flag.decimal(60, "close a client idle this many seconds", { min: 0.1, max: 86_400 }),
  workers: flag.whole(undefined, `threads (default ${defaultWorkers()}: cores but one)`, {
    min: 1,
    max: 256,
  }),
});

if (import.meta.main) {
  const options = cli.parse();
  const start = () => startPoolServer({ ...options, workers: options.workers ?? defaultWorkers() });
  await serve(options.host, options.port, start, "try  nc HOST PORT  and type isprime 97");
}
