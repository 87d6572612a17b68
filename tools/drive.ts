/**
 * Driving the book's lessons from another program: the tests (tests/helpers.ts) and the
 * tours (tools/tours/) share it. Run a lesson as a student would (`bun run FILE ARGS`), wait
 * for a line it prints, type into it, collect its output and exit code, and always kill what
 * was started; talk to a server with a small TCP client that frames what it reads, or with a
 * UDP request that is resent on silence.
 */
import type { Socket, Subprocess } from "bun";
import { join } from "node:path";
import { ROOT } from "./catalog.ts";

/** Absolute path of a lesson given from the project root, e.g. `01-basics/01-hostname.ts`. */
export const lessonPath = (file: string): string => join(ROOT, file);

export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

export interface StartOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Run the command inside a private network namespace (see `privateNetwork`). */
  argvPrefix?: string[];
}

interface Waiter {
  pattern: RegExp;
  stream: "stdout" | "stderr";
  resolve: (match: RegExpMatchArray) => void;
}

/** A lesson running in a child process, with its output collected as it arrives. */
export class LessonProcess implements AsyncDisposable {
  readonly proc: Subprocess<"pipe", "pipe", "pipe">;
  stdout = "";
  stderr = "";
  private waiters: Waiter[] = [];
  private readonly drained: Promise<void>;

  constructor(
    readonly file: string,
    readonly args: string[] = [],
    options: StartOptions = {},
  ) {
    this.proc = Bun.spawn(
      [...(options.argvPrefix ?? []), "bun", "run", lessonPath(file), ...args],
      {
        cwd: options.cwd ?? ROOT,
        env: { ...process.env, NO_COLOR: "1", ...options.env },
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    // Read both pipes for the whole life of the child: a full pipe would block it.
    this.drained = Promise.all([this.pump("stdout"), this.pump("stderr")]).then(() => {});
  }

  private async pump(stream: "stdout" | "stderr"): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.proc[stream]) {
      this[stream] += decoder.decode(chunk, { stream: true });
      this.check();
    }
    this[stream] += decoder.decode();
    this.check();
  }

  private check(): void {
    this.waiters = this.waiters.filter((waiter) => {
      const match = this[waiter.stream].match(waiter.pattern);
      if (match) waiter.resolve(match);
      return !match;
    });
  }

  /**
   * Resolves with the first match of `pattern` in the output so far or to come.
   * Rejects, showing everything printed, if the process exits or `timeoutMs` passes first.
   */
  waitFor(
    pattern: RegExp,
    {
      stream = "stdout",
      timeoutMs = 15_000,
    }: { stream?: "stdout" | "stderr"; timeoutMs?: number } = {},
  ): Promise<RegExpMatchArray> {
    const found = this[stream].match(pattern);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        this.waiters = this.waiters.filter((waiter) => waiter !== entry);
        reject(
          new Error(
            `${this.file}: ${why} before ${stream} matched ${pattern}\n--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`,
          ),
        );
      };
      const timer = setTimeout(() => fail(`${timeoutMs} ms passed`), timeoutMs);
      const entry: Waiter = {
        pattern,
        stream,
        resolve: (match) => {
          clearTimeout(timer);
          resolve(match);
        },
      };
      this.waiters.push(entry);
      // If the child exits without printing it, fail now rather than at the timeout.
      void this.drained.then(() => {
        if (this.waiters.includes(entry)) {
          clearTimeout(timer);
          fail(`the process exited (code ${this.proc.exitCode})`);
        }
      });
    });
  }

  /** Waits for the lesson's `listening on HOST:PORT (tcp|udp)` line and returns the endpoint. */
  async listening(protocol: "tcp" | "udp" = "tcp"): Promise<{ host: string; port: number }> {
    const match = await this.waitFor(
      new RegExp(`listening on \\[?([^\\s\\]]+?)\\]?:(\\d+) \\(${protocol}\\)`),
    );
    return { host: match[1] ?? "", port: Number(match[2]) };
  }

  /** Types text (or bytes) into the lesson's standard input. */
  write(data: string | Uint8Array): void {
    this.proc.stdin.write(data);
    this.proc.stdin.flush();
  }

  /** Closes standard input: the lesson sees end of file (Ctrl-D). */
  endInput(): void {
    this.proc.stdin.end();
  }

  /** Sends a signal (SIGINT is Ctrl-C) and returns what the lesson printed by its exit. */
  async stop(signal: NodeJS.Signals = "SIGINT", timeoutMs = 10_000): Promise<Finished> {
    this.proc.kill(signal);
    return this.finished(timeoutMs);
  }

  /** Waits for the lesson to exit by itself; kills it and rejects after `timeoutMs`. */
  async finished(timeoutMs = 20_000): Promise<Finished> {
    let timer: Timer | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.proc.kill("SIGKILL");
        reject(
          new Error(
            `${this.file} did not exit within ${timeoutMs} ms\n--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`,
          ),
        );
      }, timeoutMs);
    });
    try {
      const code = await Promise.race([this.proc.exited, timedOut]);
      await this.drained;
      return { code, stdout: this.stdout, stderr: this.stderr };
    } finally {
      clearTimeout(timer);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGKILL");
    await this.proc.exited;
  }
}

/** Starts a lesson; pair with `await using` so it is killed at the end of the test. */
export function startLesson(
  file: string,
  args: string[] = [],
  options: StartOptions = {},
): LessonProcess {
  return new LessonProcess(file, args, options);
}

/** Runs a lesson to completion, feeding it `input` on stdin (then end of file). */
export async function runLesson(
  file: string,
  args: string[] = [],
  options: StartOptions & { input?: string; timeoutMs?: number } = {},
): Promise<Finished> {
  await using lesson = startLesson(file, args, options);
  if (options.input !== undefined) lesson.write(options.input);
  lesson.endInput();
  // `return await`, not `return`: `await using` disposes (kills) at scope exit, which a
  // bare `return promise` reaches before the lesson has finished.
  return await lesson.finished(options.timeoutMs);
}

/**
 * A TCP test client that keeps every byte it receives, so tests can wait for a
 * framed message (a line, a byte count) however the stream was split into packets.
 */
export class TcpTestClient implements AsyncDisposable {
  received: Buffer = Buffer.alloc(0);
  closed = false;
  private pending: Uint8Array[] = [];
  private changed: () => void = () => {};
  private closedResolve: () => void = () => {};
  readonly whenClosed: Promise<void> = new Promise((resolve) => {
    this.closedResolve = resolve;
  });

  private constructor(public socket: Socket<undefined>) {}

  static connect(port: number, hostname = "127.0.0.1"): Promise<TcpTestClient> {
    let client: TcpTestClient | undefined;
    return new Promise((resolve, reject) => {
      Bun.connect({
        hostname,
        port,
        socket: {
          open(socket) {
            client = new TcpTestClient(socket);
            resolve(client);
          },
          data(_socket, chunk) {
            if (!client) return;
            client.received = Buffer.concat([client.received, chunk]);
            client.changed();
          },
          drain() {
            client?.flush();
          },
          close() {
            if (!client) return;
            client.closed = true;
            client.closedResolve();
            client.changed();
          },
          connectError(_socket, error) {
            reject(error);
          },
          error() {},
        },
      }).catch(reject);
    });
  }

  /** Sends everything, holding what the kernel did not take until `drain`. */
  send(data: string | Uint8Array): void {
    this.pending.push(typeof data === "string" ? new TextEncoder().encode(data) : data);
    this.flush();
  }

  private flush(): void {
    while (this.pending.length > 0) {
      const chunk = this.pending[0];
      if (!chunk) break;
      const written = this.socket.write(chunk);
      if (written < 0) return;
      if (written < chunk.length) {
        this.pending[0] = chunk.subarray(written);
        return;
      }
      this.pending.shift();
    }
  }

  /** Everything received so far, as UTF-8 text. */
  get text(): string {
    return this.received.toString("utf8");
  }

  /** Waits until `done(received)` holds; rejects on timeout or if the peer closed first. */
  until(done: (received: Buffer) => boolean, timeoutMs = 10_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.changed = () => {};
        reject(
          new Error(
            `timed out after ${timeoutMs} ms; received so far: ${JSON.stringify(this.text.slice(-500))}`,
          ),
        );
      }, timeoutMs);
      const check = (): void => {
        if (done(this.received)) {
          clearTimeout(timer);
          this.changed = () => {};
          resolve(this.received);
        } else if (this.closed) {
          clearTimeout(timer);
          this.changed = () => {};
          reject(new Error(`peer closed; received: ${JSON.stringify(this.text.slice(-500))}`));
        }
      };
      this.changed = check;
      check();
    });
  }

  /** Waits for the received text to match `pattern`. */
  async waitForText(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray> {
    await this.until((received) => pattern.test(received.toString("utf8")), timeoutMs);
    return this.text.match(pattern) as RegExpMatchArray;
  }

  /** Half-closes: sends FIN, keeps reading the reply. */
  shutdown(): void {
    this.socket.shutdown();
  }

  end(): void {
    this.socket.end();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.closed) this.socket.terminate();
  }
}

/**
 * Sends one datagram and waits for the first reply that `accept` takes, resending on
 * silence: loopback UDP is treated as lossy, as Bun's own UDP tests do.
 */
export async function udpRequest(
  port: number,
  payload: string | Uint8Array,
  {
    hostname = "127.0.0.1",
    attempts = 5,
    waitMs = 1_000,
    accept = () => true,
  }: {
    hostname?: string;
    attempts?: number;
    waitMs?: number;
    accept?: (reply: Buffer) => boolean;
  } = {},
): Promise<Buffer> {
  let onReply: (reply: Buffer) => void = () => {};
  const socket = await Bun.udpSocket({
    hostname: hostname.includes(":") ? "::1" : "127.0.0.1",
    socket: {
      data(_socket, data) {
        onReply(Buffer.from(data));
      },
      error() {},
    },
  });
  try {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const reply = await new Promise<Buffer | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), waitMs);
        onReply = (data) => {
          if (!accept(data)) return;
          clearTimeout(timer);
          resolve(data);
        };
        socket.send(payload, port, hostname);
      });
      if (reply) return reply;
    }
    throw new Error(`no UDP reply from ${hostname}:${port} after ${attempts} attempts`);
  } finally {
    socket.close();
  }
}
