/**
 * The chapter's tour (`bun . --demo` runs it): every lesson of 04-server, in order, over
 * loopback on free ports, with nothing to type. Servers run in the background as a student
 * would start them (`--port 0`); the tour plays their clients - a small `nc` of its own, or
 * the chapter's client lessons - and prints what each side shows. Every wait is bounded;
 * it exits 0 when every step did what the lesson promises, 1 otherwise.
 *
 *   bun run 04-server/tour.ts [--demo]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";

const root = join(import.meta.dir, "..");
if (process.argv.includes("--help")) {
  console.log(
    "usage: bun run 04-server/tour.ts [--demo]\n\nA tour of every 04-server lesson over loopback; nothing to type.",
  );
  process.exit(0);
}
const WAIT_MS = 15_000;
let failures = 0;
/** Background lessons not yet finished: a part that fails kills them, so none outlives the tour. */
const running = new Set<Lesson>();

/** Something a step waits for: resolves when `pattern` shows up in `text()`, or fails after WAIT_MS. */
class Watched {
  private waiters: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] = [];
  constructor(protected text: () => string) {}
  protected changed(): void {
    this.waiters = this.waiters.filter((waiter) => {
      const match = this.text().match(waiter.pattern);
      if (match) waiter.resolve(match);
      return !match;
    });
  }
  waitFor(pattern: RegExp, what: string): Promise<RegExpMatchArray> {
    const match = this.text().match(pattern);
    if (match) return Promise.resolve(match);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${what}: no ${pattern} after ${WAIT_MS} ms`)),
        WAIT_MS,
      );
      this.waiters.push({ pattern, resolve: (found) => (clearTimeout(timer), resolve(found)) });
    });
  }
}

/** A lesson running in the background, its output (stdout and stderr) collected. */
class Lesson extends Watched {
  output = "";
  readonly child;
  private readonly pumped: Promise<void[]>;
  constructor(
    readonly file: string,
    readonly args: string[] = [],
  ) {
    super(() => this.output);
    say(`\n$ bun run 04-server/${file} ${args.join(" ")}   (in the background)`);
    this.child = Bun.spawn(["bun", "run", `04-server/${file}`, ...args], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.pumped = Promise.all([this.pump(this.child.stdout), this.pump(this.child.stderr)]);
    running.add(this);
  }
  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream)
      ((this.output += decoder.decode(chunk, { stream: true })), this.changed());
  }
  async port(protocol: "tcp" | "udp"): Promise<number> {
    const [, port] = await this.waitFor(
      new RegExp(`listening on \\S+:(\\d+) \\(${protocol}\\)`),
      this.file,
    );
    return Number(port);
  }
  /** Waits for its exit (sending `signal` first, if given) and prints everything it printed. */
  async finish(signal?: NodeJS.Signals): Promise<void> {
    if (signal) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), WAIT_MS);
    const code = await this.child.exited;
    clearTimeout(timer);
    running.delete(this);
    await this.pumped;
    say(indent(`${this.file} printed:\n${this.output.trimEnd()}\n(exit ${code})`));
    if (code !== 0) throw new Error(`${this.file} exited with ${code}`);
  }
}

/** The tour's own `nc`: a TCP client that shows what it sends and what comes back. */
class Nc extends Watched {
  received = "";
  private readonly decoder = new TextDecoder(); // a character split across reads stays whole
  private readonly closed = Promise.withResolvers<void>();
  private socket?: Socket<undefined>;
  private constructor(readonly name: string) {
    super(() => this.received);
  }
  static async connect(port: number, name: string): Promise<Nc> {
    const client = new Nc(name);
    client.socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_socket, chunk) =>
          void ((client.received += client.decoder.decode(chunk, { stream: true })),
          client.changed()),
        close: () => client.closed.resolve(),
        error() {},
      },
    });
    return client;
  }
  /** Tiny messages: write() takes them whole (a bulk sender keeps the rest for `drain`). */
  send(text: string): void {
    say(`  ${this.name} sends ${JSON.stringify(text)}`);
    this.socket?.write(text);
  }
  /** Waits for the server to close the connection, then shows everything received. */
  async untilClosed(): Promise<void> {
    let timer: Timer | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.name}: still open after ${WAIT_MS} ms`)),
        WAIT_MS,
      );
    });
    await Promise.race([this.closed.promise, late]).finally(() => clearTimeout(timer));
    say(indent(`${this.name} received, until the server closed:\n${this.received.trimEnd()}`));
  }
}

/** Runs a client lesson to its end, typing `input`, and prints the session. */
async function run(file: string, args: string[], input = ""): Promise<string> {
  say(
    `\n$ ${input ? `printf ${JSON.stringify(input)} | ` : ""}bun run 04-server/${file} ${args.join(" ")}`,
  );
  const child = Bun.spawn(["bun", "run", `04-server/${file}`, ...args], {
    cwd: root,
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  child.stdin.write(input);
  await child.stdin.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), WAIT_MS);
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  clearTimeout(timer);
  say(indent(`${stdout}${stderr}`.trimEnd()));
  if (code !== 0) throw new Error(`${file} exited with ${code}`);
  return stdout;
}

function say(line: string): void {
  console.log(line);
}
const indent = (text: string): string => text.replace(/^/gm, "  ");

/** One part of the tour: a title, what to notice, and the steps; a failure is reported, not fatal. */
async function part(title: string, notice: string, steps: () => Promise<void>): Promise<void> {
  say(`\n--- ${title} ---\n${notice}`);
  try {
    await steps();
  } catch (error) {
    failures++;
    console.error(`  this part failed: ${(error as Error).message}`);
    for (const lesson of running) lesson.child.kill("SIGKILL");
    running.clear();
  }
}

await part(
  "01 bind",
  "The kernel picks a free port for --port 0; a second bind of it fails.",
  async () => {
    const server = new Lesson("01-bind.ts", ["--port", "0"]);
    await server.port("tcp");
    await server.finish("SIGINT");
  },
);

await part(
  "02 accept",
  "accept() hands over one client; the server sees its address and port.",
  async () => {
    const server = new Lesson("02-accept.ts", ["--port", "0"]);
    const client = await Nc.connect(await server.port("tcp"), "nc");
    await client.untilClosed();
    await server.finish();
  },
);

await part("03 echo once", "A line sent in two pieces is echoed once it is complete.", async () => {
  const server = new Lesson("03-echo-once.ts", ["--port", "0"]);
  const client = await Nc.connect(await server.port("tcp"), "nc");
  client.send("hel"); // two writes: the server may read them apart or together
  client.send("lo\n");
  await client.untilClosed();
  await server.finish();
});

await part(
  "04 one at a time",
  "The second client waits, unread, until the first ends its turn.",
  async () => {
    const server = new Lesson("04-one-at-a-time.ts", ["--port", "0", "--max-clients", "2"]);
    const port = await server.port("tcp");
    const first = await Nc.connect(port, "first");
    await first.waitFor(/your turn/, "first");
    const second = await Nc.connect(port, "second");
    await second.waitFor(/queue/, "second");
    first.send("I am first\n\n");
    await first.untilClosed();
    await second.waitFor(/your turn/, "second");
    second.send("and I am second\n\n");
    await second.untilClosed();
    await server.finish();
  },
);

await part(
  "05 many at once",
  "Two clients at the same time, each with its own line buffer.",
  async () => {
    const server = new Lesson("05-many-at-once.ts", ["--port", "0"]);
    const port = await server.port("tcp");
    const [one, two] = [await Nc.connect(port, "one"), await Nc.connect(port, "two")];
    one.send("hello from one\n");
    two.send("hello from two\n");
    await Promise.all([one.waitFor(/from one\n/, "one"), two.waitFor(/from two\n/, "two")]);
    say(
      indent(
        `one received: ${JSON.stringify(one.received)}\ntwo received: ${JSON.stringify(two.received)}`,
      ),
    );
    await server.finish("SIGINT");
  },
);

await part(
  "06-07 welcome",
  "The welcome client reads until the server closes: that is the message's end.",
  async () => {
    const server = new Lesson("06-welcome-server.ts", ["--port", "0"]);
    await run("07-welcome-client.ts", [
      "--host",
      "127.0.0.1",
      "--port",
      String(await server.port("tcp")),
    ]);
    await server.finish("SIGINT");
  },
);

await part(
  "08-09 daytime (RFC 867)",
  "Over TCP the close ends the answer; over UDP one datagram is the answer.",
  async () => {
    const server = new Lesson("08-daytime-server.ts", ["--port", "0"]);
    const [tcp, udp] = [await server.port("tcp"), await server.port("udp")];
    await run("09-daytime-client.ts", ["--host", "127.0.0.1", "--port", String(tcp)]);
    await run("09-daytime-client.ts", [
      "--protocol",
      "udp",
      "--host",
      "127.0.0.1",
      "--port",
      String(udp),
    ]);
    await server.finish("SIGINT");
  },
);

await part(
  "10-11 echo (RFC 862)",
  "Every byte comes back: a message, typed lines, a 1 MiB file; and a datagram.",
  async () => {
    const server = new Lesson("10-echo-server.ts", ["--port", "0"]);
    const [tcp, udp] = [String(await server.port("tcp")), String(await server.port("udp"))];
    const target = ["--host", "127.0.0.1", "--port", tcp];
    await run("11-echo-client.ts", [...target, "--message", "hello, echo"]);
    await run("11-echo-client.ts", target, "typed line one\ntyped line two\n");
    const dir = mkdtempSync(join(tmpdir(), "tour-04-"));
    try {
      const bytes = new Uint8Array(1024 * 1024);
      for (let at = 0; at < bytes.length; at += 65_536)
        crypto.getRandomValues(bytes.subarray(at, at + 65_536));
      writeFileSync(join(dir, "random.bin"), bytes);
      await run("11-echo-client.ts", [...target, "--file", join(dir, "random.bin")]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await run("11-echo-client.ts", [
      "--protocol",
      "udp",
      "--host",
      "127.0.0.1",
      "--port",
      udp,
      "--message",
      "one datagram",
    ]);
    await server.finish("SIGINT");
  },
);

await part(
  "12-13 TCP and UDP in one process",
  "Each client's `exit` ends its own conversation; the server goes on.",
  async () => {
    const server = new Lesson("12-dual-server.ts", ["--port", "0"]);
    const [tcp, udp] = [String(await server.port("tcp")), String(await server.port("udp"))];
    const target = ["--host", "127.0.0.1", "--port", tcp, "--udp-port", udp];
    await run("13-dual-client.ts", target, "tcp\nhello over TCP\nexit\n");
    await run("13-dual-client.ts", target, "udp\nhello over UDP\nexit\n");
    await server.finish("SIGINT");
  },
);

await part(
  "14 load",
  "Ten connections of 64-byte ping-pong for a second, against lesson 10 in its own process.",
  async () => {
    await run("14-load.ts", ["--connections", "10", "--seconds", "1"]);
  },
);

say(failures === 0 ? "\nEnd of the 04-server tour: every part did what its lesson promises." : "");
if (failures > 0) {
  console.error(
    `${failures} part(s) of the 04-server tour failed; run those lessons alone to see why.`,
  );
  process.exit(1);
}
