/**
 * @title Worker pool for heavy requests
 * @summary Move CPU-heavy requests to a pool of Bun Workers, with a bounded queue and a time limit.
 * @run bun run 05-calc/06-worker-pool.ts [--port 65432] [--workers N] [--queue 64] [--time-limit-ms 500]
 * @python new
 * @serves tcp "12 + 30\n" -> "OK 42\n"
 * @limits idle --idle · memory 100 MiB
 *
 * Lesson 05's loop stops for every `isprime`; lesson 09 shows it in numbers: with one request in
 * ten heavy, the cheap ones' p99 latency grows to a heavy one's duration. Here heavy lines go
 * to Workers (threads, each with its own event loop) and the main loop keeps answering the cheap
 * ones. Two limits keep the pool honest: at most --queue requests wait (then `ERR busy`), and a
 * worker still computing after --time-limit-ms is terminated and replaced (`ERR timeout`).
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { startConcurrentServer } from "./05-concurrent-server.ts";
import { type CalcServer, commandLine, parseFlag, parsePort } from "./command-line.ts";
import { serve, type ServerOptions } from "./command-line.ts";
import { answer, err, isHeavy, TCP_PORT } from "./protocol.ts";

type Job = { line: string; resolve: (reply: string) => void };
/** A worker, whether it has loaded its code (it says "ready"), and the job it computes. */
type Slot = { worker: Worker; ready: boolean; job: Job | null; timer?: Timer };

/** One core stays with the event loop, which must stay quick; the others compute. */
export const defaultWorkers = (): number => Math.max(1, availableParallelism() - 1);

export class WorkerPool {
  readonly stats = { done: 0, busy: 0, timedOut: 0 };
  private readonly slots: Slot[] = [];
  private readonly waiting: Job[] = [];
  private closed = false;

  constructor(
    readonly size = defaultWorkers(),
    readonly queueLimit = 64,
    readonly timeLimitMs = 500,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** The reply to a heavy line, computed on a worker; `ERR busy` at once when the queue is full. */
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

  private spawn(): Slot {
    const worker = new Worker(new URL("./calc-worker.ts", import.meta.url));
    const slot: Slot = { worker, ready: false, job: null };
    slot.worker.onmessage = (event: MessageEvent<string>) => {
      if (slot.job) {
        clearTimeout(slot.timer);
        slot.job.resolve(event.data);
        this.stats.done++;
      }
      [slot.ready, slot.job] = [true, null]; // the first message is the worker's "ready"
      this.next();
    };
    slot.worker.onerror = () => this.replace(slot, err("internal", "the worker failed"));
    return slot;
  }

  private next(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.job || this.waiting.length === 0) continue;
      const job = (slot.job = this.waiting.shift() ?? null);
      if (!job) return;
      // The clock starts when a worker starts the job, not while it waits in the queue.
      slot.timer = setTimeout(() => {
        this.stats.timedOut++;
        this.replace(slot, err("timeout", `still computing after ${this.timeLimitMs} ms; stopped`));
      }, this.timeLimitMs);
      slot.worker.postMessage(job.line);
    }
  }

  /** A thread cannot be interrupted in the middle of a loop, only terminated: answer, kill, respawn. */
  private replace(slot: Slot, reply: string): void {
    clearTimeout(slot.timer); // after onerror, the job's timer is still running
    slot.job?.resolve(reply);
    slot.worker.onmessage = slot.worker.onerror = slot.job = null; // a last word from it is ignored
    slot.worker.terminate();
    if (!this.closed) this.slots[this.slots.indexOf(slot)] = this.spawn();
  }

  /** Every worker terminated, every request answered: nothing may outlive the server. */
  close(reply = err("busy", "the server is stopping")): void {
    this.closed = true;
    for (const slot of this.slots) this.replace(slot, reply); // closed: no respawn
    for (const job of this.waiting.splice(0)) job.resolve(reply);
  }
}

export function startPoolServer(
  options: ServerOptions & { workers?: number; queue?: number; timeLimitMs?: number } = {},
): CalcServer & { pool: WorkerPool; clients(): number } {
  const pool = new WorkerPool(options.workers, options.queue, options.timeLimitMs);
  const route = (line: string) => (isHeavy(line) ? pool.run(line) : answer(line));
  let server: ReturnType<typeof startConcurrentServer>;
  try {
    server = startConcurrentServer({ ...options, answer: route });
  } catch (error) {
    pool.close(); // the port was taken: no server, so no workers either
    throw error;
  }
  return {
    ...server,
    pool,
    stop() {
      pool.close();
      server.stop();
      const { done, busy, timedOut } = pool.stats;
      (options.log ?? console.log)(`pool: ${done} computed, ${busy} busy, ${timedOut} timed out`);
    },
  };
}

const usage = `usage: bun run 05-calc/06-worker-pool.ts [--host H] [--port 65432] [--workers N] [--queue 64] [--time-limit-ms 500]
  --workers        threads for isprime/factor (default ${defaultWorkers()}: this machine's cores minus one)
  --queue          heavy requests that may wait for a worker; more get ERR busy (default 64)
  --time-limit-ms  longest a worker may compute one request; then ERR timeout (default 500)`;

if (import.meta.main) {
  const { values, ...options } = commandLine(usage, () => {
    const { values } = parseArgs({
      options: {
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: String(TCP_PORT) },
        workers: { type: "string", default: String(defaultWorkers()) },
        queue: { type: "string", default: "64" },
        "time-limit-ms": { type: "string", default: "500" },
        help: { type: "boolean", short: "h" },
      },
    });
    const workers = parseFlag("workers", values.workers, 1, 256);
    const queue = parseFlag("queue", values.queue, 0, 1e5);
    const timeLimitMs = parseFlag("time-limit-ms", values["time-limit-ms"], 1, 600_000);
    return { values, port: parsePort(values.port), workers, queue, timeLimitMs };
  });
  const host = values.host;
  await serve("tcp", host, options.port, () => startPoolServer({ host, ...options }));
}
