/**
 * The battery's view of the book: every lesson whose header has `@serves` is a server, with
 * one exchange a normal client can have with it and the limits it promises (`@limits`). Read
 * from the catalog, never from a hand-kept list, so a new chapter's servers join the battery
 * by writing their headers.
 */
import type { Lesson, Probe } from "../../tools/catalog.ts";
import { listLessons, replyMatches } from "../../tools/catalog.ts";
import { LessonProcess, type StartOptions, startLesson } from "../helpers.ts";

/** Every server lesson of the book, in book order. */
export const SERVERS: Lesson[] = listLessons().filter((lesson) => lesson.serves.length > 0);

/** How long the battery lets a promised idle limit be: short, so it can watch it act. */
export const BATTERY_IDLE_SECONDS = 1;

/**
 * The arguments the battery starts a server with: every port flag of its `@run` set to 0
 * (any free port), and its idle limit, if it promises one, set short.
 */
export function batteryArgs(lesson: Lesson): string[] {
  const args: string[] = [];
  for (const match of lesson.run.matchAll(/\[--([a-z-]*port) /g)) args.push(`--${match[1]}`, "0");
  if (lesson.limits.idleFlag) args.push(lesson.limits.idleFlag, String(BATTERY_IDLE_SECONDS));
  return args;
}

/** A running server and the endpoint of each of its `@serves` probes. */
export interface Running {
  lesson: LessonProcess;
  pid: number;
  endpoints: { probe: Probe; host: string; port: number }[];
}

/** Starts a server lesson as a student would and waits for its `listening on` lines. */
export async function startServer(lesson: Lesson, options: StartOptions = {}): Promise<Running> {
  const running = startLesson(lesson.file, batteryArgs(lesson), options);
  const count = lesson.serves.length;
  await running.waitFor(
    new RegExp(`(?:listening on [^\\n]*\\((?:tcp|udp)\\)[\\s\\S]*?){${count}}`),
  );
  const seen = { tcp: 0, udp: 0 };
  const lines = [...running.stdout.matchAll(/listening on \[?([^\s\]]+?)\]?:(\d+) \((tcp|udp)\)/g)];
  const endpoints = lesson.serves.map((probe) => {
    const index = seen[probe.protocol]++;
    const line = lines.filter((match) => match[3] === probe.protocol)[index];
    if (!line) throw new Error(`${lesson.file}: no listening line for "${probe.text}"`);
    return { probe, host: line[1] ?? "127.0.0.1", port: Number(line[2]) };
  });
  return { lesson: running, pid: running.proc.pid, endpoints };
}

/** The server's resident memory now, in MiB (from /proc). */
export async function rssMiB(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  const kib = Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
  return kib / 1024;
}

/** Samples the RSS every 50 ms while `work` runs; resolves with its result and the peak. */
export async function peakRss<T>(
  pid: number,
  work: Promise<T>,
): Promise<{ result: T; peakMiB: number }> {
  let peak = await rssMiB(pid);
  let done = false;
  const sampling = (async () => {
    while (!done) {
      peak = Math.max(peak, await rssMiB(pid).catch(() => 0));
      await Bun.sleep(50);
    }
  })();
  try {
    const result = await work;
    return { result, peakMiB: peak };
  } finally {
    done = true;
    await sampling;
  }
}

/** One TCP exchange: connect, send the probe's request, wait for its reply. Returns ms. */
export async function tcpExchange(
  host: string,
  port: number,
  probe: Probe,
  timeoutMs = 5_000,
): Promise<number> {
  const started = performance.now();
  let received = Buffer.alloc(0);
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(performance.now() - started);
    };
    const timer = setTimeout(() => {
      finish(
        new Error(
          `no reply to ${probe.text} within ${timeoutMs} ms; got ${JSON.stringify(received.toString("latin1").slice(0, 200))}`,
        ),
      );
    }, timeoutMs);
    Bun.connect({
      hostname: host,
      port,
      socket: {
        open(socket) {
          if (probe.request.length > 0) socket.write(probe.request);
          else if (replyMatches(probe, received)) {
            // Nothing to send and nothing to wait for: being accepted is the whole exchange.
            socket.terminate();
            finish();
          }
        },
        data(socket, chunk) {
          received = Buffer.concat([received, chunk]);
          if (replyMatches(probe, received)) {
            socket.terminate();
            finish();
          }
        },
        close() {
          if (!replyMatches(probe, received))
            finish(
              new Error(
                `the server closed before replying to ${probe.text}; got ${JSON.stringify(received.toString("latin1").slice(0, 200))}`,
              ),
            );
        },
        connectError(_socket, error) {
          finish(error);
        },
        error() {},
      },
    }).catch((error: Error) => finish(error));
  });
}

/** A TCP client that stays connected and repeats the probe on demand: a bystander. */
export class Bystander {
  private received = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  closed = false;

  private constructor(
    private readonly socket: import("bun").Socket<undefined>,
    private readonly probe: Probe,
  ) {}

  static async connect(host: string, port: number, probe: Probe): Promise<Bystander> {
    let bystander: Bystander | undefined;
    const socket = await Bun.connect({
      hostname: host,
      port,
      socket: {
        data(_socket, chunk) {
          if (!bystander) return;
          bystander.received = Buffer.concat([bystander.received, chunk]);
          bystander.waiting?.();
        },
        close() {
          if (!bystander) return;
          bystander.closed = true;
          bystander.waiting?.();
        },
        connectError() {},
        error() {},
      },
    });
    bystander = new Bystander(socket, probe);
    return bystander;
  }

  /** Sends the request once more and resolves with the ms until its reply came. */
  exchange(timeoutMs = 5_000): Promise<number> {
    if (this.closed)
      return Promise.reject(new Error("the server had closed the bystander's connection"));
    this.received = Buffer.alloc(0);
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`the bystander got no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = () => {
        if (replyMatches(this.probe, this.received)) {
          clearTimeout(timer);
          this.waiting = undefined;
          resolve(performance.now() - started);
        } else if (this.closed) {
          clearTimeout(timer);
          this.waiting = undefined;
          reject(new Error("the server closed the bystander's connection"));
        }
      };
      this.socket.write(this.probe.request);
    });
  }

  /**
   * Exchanges every `everyMs` until `stop()`, as a client that goes on using the server
   * while something else attacks it: resolves with the slowest exchange and any failure.
   */
  watch(everyMs = 250): {
    stop(): Promise<{ worstMs: number; exchanges: number; failure?: string }>;
  } {
    let running = true;
    let worstMs = 0;
    let exchanges = 0;
    let failure: string | undefined;
    const loop = (async () => {
      while (running && failure === undefined) {
        try {
          worstMs = Math.max(worstMs, await this.exchange());
          exchanges++;
        } catch (error) {
          failure = (error as Error).message;
        }
        await Bun.sleep(everyMs);
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        return { worstMs, exchanges, failure };
      },
    };
  }

  close(): void {
    this.socket.terminate();
  }
}

/** One UDP request, resent on silence; resolves with the reply. */
export async function udpExchange(
  host: string,
  port: number,
  probe: Probe,
  attempts = 5,
): Promise<Buffer> {
  let onReply: (reply: Buffer) => void = () => {};
  const socket = await Bun.udpSocket({
    hostname: host.includes(":") ? "::1" : "127.0.0.1",
    socket: {
      data(_socket, data) {
        onReply(Buffer.from(data));
      },
      error() {},
    },
  });
  try {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const reply = await new Promise<Buffer | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 500);
        onReply = (data) => {
          if (!replyMatches(probe, data)) return;
          clearTimeout(timer);
          resolve(data);
        };
        socket.send(probe.request, port, host);
      });
      if (reply) return reply;
    }
    throw new Error(`no UDP reply to ${probe.text} from ${host}:${port}`);
  } finally {
    socket.close();
  }
}

/** Runs tests/hostile/attack.py and returns the JSON of its last line. */
export async function attack(
  args: (string | number)[],
  options: { onLine?: (line: string) => void } = {},
): Promise<Record<string, unknown>> {
  const child = Bun.spawn(["python3", `${import.meta.dir}/attack.py`, ...args.map(String)], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let last = "";
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of child.stdout) {
    pending += decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf("\n");
    while (newline !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.trim()) {
        last = line;
        options.onLine?.(line);
      }
      newline = pending.indexOf("\n");
    }
  }
  const code = await child.exited;
  if (code !== 0)
    throw new Error(
      `attack.py ${args.join(" ")} failed: ${await new Response(child.stderr).text()}`,
    );
  return JSON.parse(last) as Record<string, unknown>;
}
