/**
 * @title Worker pool for heavy requests
 * @summary Move CPU-heavy requests to a pool of Bun Workers, with a bounded queue and a time limit.
 * @run bun run 05-calc/07-worker-pool.ts [--host 127.0.0.1] [--port 65432] [--idle 60] [--workers N] [--queue 64] [--time-limit-ms 5000]
 * @python new
 * @serves tcp "12 + 30\n" -> "OK 42\n"
 * @limits idle --idle · memory 150 MiB
 *
 * Lesson 06's loop stops for every `isprime`; lesson 11 shows it in numbers: with one
 * request in ten heavy, the cheap ones' p99 latency grows to a heavy one's duration.
 * Here heavy lines go to Workers (threads, each with its own event loop) and the main
 * loop keeps answering the cheap ones, each reply still in its request's place. Limits
 * keep it honest: 16 heavy requests in flight per client, --queue waiting in all (then
 * `ERR busy`), --time-limit-ms each (`ERR timeout`).
 */
import type { Socket } from "bun";
import { availableParallelism } from "node:os";
import { command, flag, serve } from "../lib/cli.ts";
import { IdleTimer, LineReader, Outbox } from "../lib/stream.ts";
import { answer, err, isHeavy, LINE_TOO_LONG, MAX_LINE_BYTES, TCP_PORT } from "./protocol.ts";

export function startPoolServer(options: Options) {
  const { host = "127.0.0.1", port = TCP_PORT, idle = 60, log = print } = options;
  const listener = Bun.listen<Client>({
    hostname: host,
    port,
    allowHalfOpen: true,
    socket: {
      open(socket) {
        socket.data = newClient(socket, idle);
      },
      data(socket, chunk) {
        socket.data.reader.push(chunk);
        answerLines(socket.data, pool);
      },
      drain(socket) {
        socket.data.outbox.flush();
        answerLines(socket.data, pool);
      },
      end(socket) {
        socket.data.finished = true;
        answerLines(socket.data, pool);
      },
      close(socket) {
        const client = socket.data as Client | undefined;
        client?.idle.stop();
        if (client) client.closed = true;
      },
      error() {},
    },
  });
  // Started once the port is ours: a server that cannot listen leaves no threads behind.
  const pool = new WorkerPool(options.workers, options.queue, options.timeLimitMs);
  return {
    tcp: { port: listener.port },
    pool,
    stop() {
      listener.stop(true);
      pool.close();
      const { done, busy, timedOut } = pool.stats;
      log(`pool: ${done} computed, ${busy} busy, ${timedOut} timed out`);
    },
  };
}

/** Heavy requests one client may have on the workers at once; then it is not read. */
export const MAX_IN_FLIGHT = 16;

/**
 * Answers the lines in order, a turn at a time as lesson 01 does, until the client has too
 * many requests on the workers or too many replies unread.
 */
function answerLines(client: Client, pool: WorkerPool): void {
  // `drain` may come while the client has all it may have on the workers.
  if (client.closed || client.inFlight === MAX_IN_FLIGHT || client.outbox.full) return;
  let answered = 0;
  for (const line of client.reader) {
    reply(client, line, pool);
    answered++;
    if (answered === LINES_PER_TURN || client.inFlight === MAX_IN_FLIGHT) break;
  }
  client.requests += answered;
  if (answered > 0) client.idle.touch();
  if (answered === LINES_PER_TURN) {
    client.outbox.hold();
    setImmediate(() => {
      client.outbox.release();
      answerLines(client, pool);
    });
  }
  if (answered === LINES_PER_TURN || client.inFlight === MAX_IN_FLIGHT) return;
  if (!client.ending) {
    if (client.reader.tooLong) client.outbox.send(LINE_TOO_LONG);
    const last = client.finished ? client.reader.rest() : undefined;
    if (last !== undefined) reply(client, last, pool);
    client.ending = client.reader.tooLong || client.finished;
  }
  // Half-close once the workers' replies are in too: the Outbox's grace would not wait.
  if (client.ending && client.inFlight === 0) client.outbox.end();
}

/** Lines answered for one client before the others get their turn. */
const LINES_PER_TURN = 1024;

/** A cheap line is answered at once; a heavy one keeps its place until its worker is done. */
function reply(client: Client, line: string, pool: WorkerPool): void {
  if (!isHeavy(line)) {
    client.outbox.send(`${answer(line)}\n`);
    return;
  }
  // Replies to later lines wait behind this place, and count toward the Outbox's limit.
  const place = client.outbox.reserve();
  client.inFlight++;
  if (client.inFlight === MAX_IN_FLIGHT) client.outbox.hold();
  void pool.run(line).then((text) => {
    if (client.inFlight === MAX_IN_FLIGHT) client.outbox.release();
    client.inFlight--;
    if (client.closed) return;
    place(`${text}\n`);
    client.outbox.flush();
    client.idle.touch();
    answerLines(client, pool);
  });
}

type Client = ReturnType<typeof newClient>;
type Options = {
  host?: string;
  port?: number;
  idle?: number;
  workers?: number;
  queue?: number;
  timeLimitMs?: number;
  log?: (line: string) => void;
};

function newClient(socket: Socket<unknown>, idle: number) {
  return {
    reader: new LineReader(MAX_LINE_BYTES),
    outbox: new Outbox(socket),
    idle: new IdleTimer(idle * 1000, () => socket.end()),
    requests: 0,
    inFlight: 0,
    /** FIN received; then all answered, or on the workers; then the connection closed. */
    finished: false,
    ending: false,
    closed: false,
  };
}

const print = (line: string): void => console.log(line);

/** One core stays with the event loop, which must stay quick; the others compute. */
export const defaultWorkers = (): number => Math.max(1, availableParallelism() - 1);

type Job = { line: string; resolve: (reply: string) => void };
/** A worker, whether it has loaded its code (it says "ready"), and the job it computes. */
type Slot = { worker: Worker; ready: boolean; job?: Job; timer?: Timer };

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

  /** Every worker terminated, every request answered: nothing may outlive the server. */
  close(reply = err("busy", "the server is stopping")): void {
    this.closed = true;
    for (const slot of this.slots) this.replace(slot, reply);
    for (const job of this.waiting.splice(0)) job.resolve(reply);
  }

  private spawn(): Slot {
    const worker = new Worker(new URL("./calc-worker.ts", import.meta.url));
    const slot: Slot = { worker, ready: false };
    // Its first message is "ready"; then one reply for each job.
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

  /** Hands waiting jobs to free workers; a job's clock starts when its worker starts it. */
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

  /** A thread cannot be interrupted inside a loop, only terminated: answer, end it, respawn. */
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

const cli = command("05-calc/07-worker-pool.ts", "The TCP calculator, heavy work on threads.", {
  host: flag.listen("127.0.0.1"),
  port: flag.port(TCP_PORT, "port to listen on; 0 takes any free port"),
  idle: flag.decimal(60, "close a client idle this many seconds", { min: 0.1, max: 86_400 }),
  workers: flag.whole(
    undefined,
    `threads that compute (default ${defaultWorkers()}: cores but one)`,
    {
      min: 1,
      max: 256,
    },
  ),
  queue: flag.whole(64, "heavy requests that may wait; more get ERR busy", { max: 100_000 }),
  "time-limit-ms": flag.whole(5_000, "longest computation, then ERR timeout", {
    min: 1,
    max: 600_000,
  }),
});

if (import.meta.main) {
  const options = cli.parse();
  const start = () => startPoolServer({ ...options, timeLimitMs: options["time-limit-ms"] });
  await serve(options.host, options.port, start, "try  nc HOST PORT  and type isprime 97");
}
