/**
 * @title Guard: a pool with limits
 * @summary Lesson 07's pool, bounded: a queue of --queue heavy requests (then `ERR busy` at once), and a time limit for each (then `ERR timeout`, the worker replaced).
 * @run bun run 05-calc/08-pool-limits.ts [--host 127.0.0.1] [--port 65432] [--idle 60] [--workers N] [--queue 64] [--time-limit-ms 5000]
 * @python new
 * @serves tcp "12 + 30\n" -> "OK 42\n"
 * @limits idle --idle · memory 150 MiB
 *
 * Lesson 07's pool takes every heavy line. 50 clients that pipeline 16 `isprime
 * 9007199254740881` each queue 800 of them: on one worker the last reply comes after 800 x
 * 1.3 s, 17 minutes, long after anyone wants it; one client alone can fill the queue ahead
 * of everyone; and a worker stuck in a loop is lost for good. So: past --queue waiting lines
 * a new one gets `ERR busy` at once (heavy-lines.ts already lets a client have at most 16
 * lines on the pool: the rest wait in its own line); and a worker past --time-limit-ms is
 * terminated (a thread cannot be interrupted inside a loop, only stopped), replaced, and
 * its line gets `ERR timeout`.
 */
import { availableParallelism } from "node:os";
import { command, flag, serve } from "../lib/cli.ts";
import { serveHeavyLines } from "./heavy-lines.ts";
import { err, TCP_PORT } from "./protocol.ts";

export function startPoolServer(options: Options) {
  const { host = "127.0.0.1", port = TCP_PORT, idle = 60, log = print } = options;
  const server = serveHeavyLines({ host, port, idle, compute: (line) => pool.run(line) });
  const pool = new WorkerPool(options.workers, options.queue, options.timeLimitMs);
  const stop = (): void => {
    server.stop();
    pool.close();
    const { done, busy, timedOut } = pool.stats;
    log(`pool: ${done} computed, ${busy} busy, ${timedOut} timed out`);
  };
  return { tcp: server.tcp, pool, stop };
}

type Job = { line: string; resolve: (reply: string) => void };
/** A worker, whether it has loaded (it says "ready"), and the line it computes. */
type Slot = { worker: Worker; ready: boolean; job?: Job; timer?: Timer };

/** Lesson 07's pool, with a bounded queue and a time limit for each line. */
export class WorkerPool {
  readonly stats = { done: 0, busy: 0, timedOut: 0 };
  private readonly slots: Slot[] = [];
  private readonly waiting: Job[] = [];
  private closed = false;

  constructor(
    readonly size = defaultWorkers(),
    readonly queueLimit = 64,
    readonly timeLimitMs = 5_000,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** The reply to a heavy line, from a worker; `ERR busy` at once when the queue is full. */
  run(line: string): Promise<string> {
    const { promise, resolve } = Promise.withResolvers<string>();
    this.waiting.push({ line, resolve });
    this.next();
    if (this.waiting.length > this.queueLimit) {
      this.waiting.pop();
      this.stats.busy++;
      resolve(err("busy", `${this.queueLimit} heavy requests wait already; try again later`));
    }
    return promise;
  }

  /** Every worker terminated, every line answered: nothing may outlive the server. */
  close(reply = err("busy", "the server is stopping")): void {
    this.closed = true;
    for (const slot of this.slots) this.replace(slot, reply);
    for (const job of this.waiting.splice(0)) job.resolve(reply);
  }

  private spawn(): Slot {
    const slot: Slot = {
      worker: new Worker(new URL("./calc-worker.ts", import.meta.url)),
      ready: false,
    };
    slot.worker.onmessage = (event: MessageEvent<string>) => {
      clearTimeout(slot.timer);
      if (slot.job) this.stats.done++;
      slot.job?.resolve(event.data);
      slot.job = undefined;
      slot.ready = true;
      this.next();
    };
    slot.worker.onerror = () => this.replace(slot, err("internal", "the worker failed"));
    return slot;
  }

  /** Hands waiting lines to free workers; a line's clock starts when its worker starts it. */
  private next(): void {
    for (const slot of this.slots) {
      const job = slot.ready && !slot.job ? this.waiting.shift() : undefined;
      if (!job) continue;
      slot.job = job;
      slot.timer = setTimeout(() => {
        this.stats.timedOut++;
        this.replace(slot, err("timeout", `still computing after ${this.timeLimitMs} ms; stopped`));
      }, this.timeLimitMs);
      slot.worker.postMessage(job.line);
    }
  }

  /** Answers the slot's line with `reply`, terminates its worker, and starts another. */
  private replace(slot: Slot, reply: string): void {
    clearTimeout(slot.timer);
    slot.job?.resolve(reply);
    slot.job = undefined;
    // A last word from the old worker is ignored.
    slot.worker.onmessage = null;
    slot.worker.onerror = null;
    slot.worker.terminate();
    if (!this.closed) this.slots[this.slots.indexOf(slot)] = this.spawn();
  }
}

/** One core stays with the event loop, which must stay quick; the others compute. */
export const defaultWorkers = (): number => Math.max(1, availableParallelism() - 1);

type Options = { host?: string; port?: number; idle?: number; log?: (line: string) => void } & {
  workers?: number;
  queue?: number;
  timeLimitMs?: number;
};
const print = (line: string): void => console.log(line);

const cli = command("05-calc/08-pool-limits.ts", "The worker pool, with its limits.", {
  host: flag.listen("127.0.0.1"),
  port: flag.port(TCP_PORT, "port to listen on; 0 takes any free port"),
  idle: flag.decimal(60, "close a client idle this many seconds", { min: 0.1, max: 86_400 }),
  workers: flag.whole(undefined, `threads (default ${defaultWorkers()}: cores but one)`, {
    min: 1,
    max: 256,
  }),
  queue: flag.whole(64, "heavy requests that may wait; more get ERR busy", { max: 100_000 }),
  "time-limit-ms": flag.whole(5_000, "longest computation, then ERR timeout", { min: 1, max: 6e5 }),
});

if (import.meta.main) {
  const options = cli.parse();
  const start = () => startPoolServer({ ...options, timeLimitMs: options["time-limit-ms"] });
  await serve(options.host, options.port, start, "try  nc HOST PORT  and type isprime 97");
}
