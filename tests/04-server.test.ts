/**
 * Chapter 04, lessons 01-07: bind, accept, echo once, one client at a time, many at once,
 * and the welcome server with its client. Each lesson is driven in-process through its
 * exported functions and run as a student would; the bad inputs are the chapter's own:
 * ports in use, refused connections, lines split or joined or too long, clients that leave
 * mid-line, never read, or go quiet.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { bindAgain, bindPort } from "../04-server/01-bind.ts";
import { acceptOne, Outbox } from "../04-server/02-accept.ts";
import { echoOnce, LineBuffer, LineTooLongError } from "../04-server/03-echo-once.ts";
import { serveOneAtATime } from "../04-server/04-one-at-a-time.ts";
import { serveMany } from "../04-server/05-many-at-once.ts";
import { startWelcomeServer, welcomeMessage } from "../04-server/06-welcome-server.ts";
import { fetchWelcome, WelcomeError } from "../04-server/07-welcome-client.ts";
import { explainListenError, formatEndpoint } from "../04-server/cli.ts";
import { freePort, runLesson, startLesson, TcpTestClient } from "./helpers.ts";

const inUse = (port: number, host = "127.0.0.1"): string =>
  `port ${port} on ${host} is already in use: stop the program that holds it, or pick another port (--port 0 takes any free one)`;

const refused = (endpoint: string): string =>
  `nothing is listening on ${endpoint} (connection refused): start the server with "bun run 04-server/06-welcome-server.ts", or check --host and --port`;

/** Listeners opened in-process by a test; each is stopped (with its connections) afterwards. */
const listeners: { stop(closeActiveConnections?: boolean): void }[] = [];
function track<T extends { stop(closeActiveConnections?: boolean): void }>(listener: T): T {
  listeners.push(listener);
  return listener;
}
afterEach(() => {
  for (const listener of listeners.splice(0)) listener.stop(true);
});

/** A collector for a lesson's `log` option, with a wait for a message that may come later. */
function logCollector() {
  const lines: string[] = [];
  const waiting: { pattern: RegExp; resolve: () => void }[] = [];
  return {
    lines,
    log: (message: string): void => {
      lines.push(message);
      for (const entry of waiting.splice(0)) {
        if (entry.pattern.test(message)) entry.resolve();
        else waiting.push(entry);
      }
    },
    waitFor(pattern: RegExp): Promise<void> {
      if (lines.some((line) => pattern.test(line))) return Promise.resolve();
      return new Promise((resolve) => waiting.push({ pattern, resolve }));
    },
  };
}

/** Resolves with the connect error code for a port nobody should be listening on. */
async function connectError(port: number, hostname = "127.0.0.1"): Promise<string> {
  try {
    // With a connectError handler a refused connect is not also an unhandled rejection.
    const socket = await Bun.connect({ hostname, port, socket: { data() {}, connectError() {} } });
    socket.terminate();
    return "connected";
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? "unknown";
  }
}

const SERVERS = [
  "04-server/01-bind.ts",
  "04-server/02-accept.ts",
  "04-server/03-echo-once.ts",
  "04-server/04-one-at-a-time.ts",
  "04-server/05-many-at-once.ts",
  "04-server/06-welcome-server.ts",
];

describe("every server lesson (01-06), run as a student would", () => {
  test.each(SERVERS)("%s --help prints its usage and exits 0", async (file) => {
    const result = await runLesson(file, ["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`usage: bun run ${file}`);
    expect(result.stdout).toContain("--port N");
  });

  test.each(SERVERS)("%s on a port in use: one sentence naming the port, exit 1", async (file) => {
    const holder = track(bindPort("127.0.0.1", 0));
    const result = await runLesson(file, ["--port", String(holder.port)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${inUse(holder.port)}\n`);
    expect(result.stdout).not.toContain("listening on");
  });

  test.each(SERVERS)("%s with bad arguments: one sentence and usage, exit 2", async (file) => {
    const badPort = await runLesson(file, ["--port", "70000"]);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toStartWith(
      `--port must be a whole number from 0 to 65535 (got "70000")\n\nusage: bun run ${file}`,
    );
    const name = await runLesson(file, ["--host", "localhost"]);
    expect(name.code).toBe(2);
    expect(name.stderr).toStartWith(`--host must be an IP address like ::1 (got "localhost")\n`);
    const unknown = await runLesson(file, ["--verbose"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("--verbose");
  });

  test.each(SERVERS)("%s listens on ::1 and Ctrl-C (SIGINT) stops it with exit 0", async (file) => {
    await using lesson = startLesson(file, ["--host", "::1", "--port", "0"]);
    const { host, port } = await lesson.listening("tcp");
    expect(host).toBe("::1");
    expect(lesson.stdout).toContain(`listening on [::1]:${port} (tcp)\n`);
    const result = await lesson.stop("SIGINT");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("stopped by SIGINT");
    expect(result.stderr).toBe("");
    expect(await connectError(port, "::1")).toBe("ECONNREFUSED"); // the port was released
  });

  test("SIGTERM stops a server with exit 0 too", async () => {
    await using lesson = startLesson("04-server/05-many-at-once.ts", ["--port", "0"]);
    await lesson.listening("tcp");
    const result = await lesson.stop("SIGTERM");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("stopped by SIGTERM");
  });
});

describe("01-bind", () => {
  test("formatEndpoint brackets IPv6 addresses", () => {
    expect(formatEndpoint("127.0.0.1", 5000)).toBe("127.0.0.1:5000");
    expect(formatEndpoint("::1", 5000)).toBe("[::1]:5000");
  });

  test("port 0 gets a real port from the kernel, and a second bind of it fails", () => {
    const listener = track(bindPort("127.0.0.1", 0));
    expect(listener.port).toBeGreaterThan(0);
    expect(bindAgain("127.0.0.1", listener.port)).toBe(inUse(listener.port));
  });

  test("explainListenError gives one sentence per cause", () => {
    const error = (code: string) => Object.assign(new Error("Failed to listen"), { code });
    expect(explainListenError(error("EADDRNOTAVAIL"), "192.0.2.1", 80)).toBe(
      "192.0.2.1 is not an address of this machine: listen on 127.0.0.1, ::1, 0.0.0.0 or one of its own addresses",
    );
    expect(explainListenError(error("EACCES"), "127.0.0.1", 80)).toStartWith(
      "port 80 is privileged",
    );
    expect(explainListenError(error("EWHATEVER"), "::1", 9)).toBe(
      "could not listen on [::1]:9 (EWHATEVER): check --host and --port",
    );
  });

  test("spawned: binds, shows the kernel's choice and the failed second bind, holds the port", async () => {
    await using lesson = startLesson("04-server/01-bind.ts", ["--port", "0"]);
    const { port } = await lesson.listening("tcp");
    await lesson.waitFor(/Ctrl-C frees it/);
    expect(lesson.stdout).toContain(`the kernel chose a free one: ${port}\n`);
    expect(lesson.stdout).toContain(`binding it a second time: ${inUse(port)}\n`);
    // While it runs, the port is taken for us too.
    expect(bindAgain("127.0.0.1", port)).toBe(inUse(port));
    const result = await lesson.stop();
    expect(result.code).toBe(0);
    expect(bindAgain("127.0.0.1", port)).toBeNull(); // released
  });

  test("spawned with an address that is not this machine's: exit 1 and what to do", async () => {
    const result = await runLesson("04-server/01-bind.ts", ["--host", "192.0.2.1", "--port", "0"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "192.0.2.1 is not an address of this machine: listen on 127.0.0.1, ::1, 0.0.0.0 or one of its own addresses\n",
    );
  });
});

describe("02-accept", () => {
  test("Outbox keeps what write() did not take and writes it on drain, then sends FIN", () => {
    const written: string[] = [];
    let shutdowns = 0;
    const socket = {
      write: (data: Parameters<Socket["write"]>[0]) => {
        const chunk = Buffer.from(data as Uint8Array).subarray(0, 4); // a kernel that takes 4 bytes
        written.push(chunk.toString());
        return chunk.length;
      },
      shutdown: () => void shutdowns++,
      terminate: () => {},
    };
    const outbox = new Outbox(socket);
    outbox.send("hello world");
    expect(outbox.pendingBytes).toBe(7);
    outbox.finish(); // must wait: 7 bytes are still unsent
    expect(shutdowns).toBe(0);
    outbox.flush(); // as the drain handler would
    outbox.flush();
    expect(written.join("")).toBe("hello world");
    expect(outbox.pendingBytes).toBe(0);
    expect(shutdowns).toBe(1);
  });

  test("in-process: reports the client's address, port and family, greets it, stops listening", async () => {
    const { listener, client } = acceptOne("127.0.0.1", 0);
    track(listener);
    await using tcp = await TcpTestClient.connect(listener.port);
    const info = await client;
    expect(info).toEqual({
      address: "127.0.0.1",
      port: tcp.socket.localPort,
      family: "IPv4",
      local: `127.0.0.1:${listener.port}`,
    });
    const clientPort = tcp.socket.localPort;
    await tcp.whenClosed;
    expect(tcp.text).toBe(
      `hello 127.0.0.1:${clientPort}: you reached 127.0.0.1:${listener.port} over IPv4\n`,
    );
    expect(await connectError(listener.port)).toBe("ECONNREFUSED"); // one client only
  });

  test("in-process over IPv6", async () => {
    const { listener, client } = acceptOne("::1", 0);
    track(listener);
    await using tcp = await TcpTestClient.connect(listener.port, "::1");
    expect((await client).family).toBe("IPv6");
    await tcp.waitForText(/over IPv6\n$/);
  });

  test("spawned: prints who connected and exits 0 by itself", async () => {
    await using lesson = startLesson("04-server/02-accept.ts", ["--port", "0"]);
    const { port } = await lesson.listening("tcp");
    await using tcp = await TcpTestClient.connect(port);
    const clientPort = tcp.socket.localPort; // read it while the socket is open
    await tcp.whenClosed;
    const result = await lesson.finished();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `accepted a client from 127.0.0.1:${clientPort} (IPv4) on 127.0.0.1:${port}\n`,
    );
  });
});

describe("03-echo-once: line framing", () => {
  test("a line split over several reads comes out whole; two lines in one read come out as two", () => {
    const lines = new LineBuffer(100);
    expect(lines.push(Buffer.from("hel"))).toEqual([]);
    expect(lines.buffered).toBe(3);
    expect(lines.push(Buffer.from("lo\r\nsec")).map(String)).toEqual(["hello"]);
    expect(lines.push(Buffer.from("ond\nthird\n\n")).map(String)).toEqual(["second", "third", ""]);
    expect(lines.buffered).toBe(0);
  });

  test("a line at the limit passes; one byte more fails, with or without its newline", () => {
    expect(new LineBuffer(5).push(Buffer.from("12345\n")).map(String)).toEqual(["12345"]);
    expect(() => new LineBuffer(5).push(Buffer.from("123456\n"))).toThrow(LineTooLongError);
    const endless = new LineBuffer(5);
    endless.push(Buffer.from("123"));
    expect(() => endless.push(Buffer.from("456"))).toThrow("line longer than 5 bytes");
  });
});

describe("03-echo-once", () => {
  test("in-process: a line sent in two pieces is echoed once it is complete", async () => {
    const logged = logCollector();
    const { listener, outcome } = echoOnce("127.0.0.1", 0, { log: logged.log });
    track(listener);
    await using tcp = await TcpTestClient.connect(listener.port);
    tcp.send("hel");
    await logged.waitFor(/read 3 bytes, no end of line yet/); // the first piece was a read of its own
    tcp.send("lo\n");
    await tcp.whenClosed;
    expect(tcp.text).toBe("hello\n");
    expect(await outcome).toEqual({ kind: "echoed", line: "hello", bytes: 5, reads: 2 });
  });

  test("in-process: two lines in one packet: only the first is echoed", async () => {
    const { listener, outcome } = echoOnce("127.0.0.1", 0);
    track(listener);
    await using tcp = await TcpTestClient.connect(listener.port);
    tcp.send("first\nsecond\n");
    await tcp.whenClosed;
    expect(tcp.text).toBe("first\n");
    expect(await outcome).toMatchObject({ kind: "echoed", line: "first" });
  });

  test("in-process: a line over the limit gets a clear error reply and the connection closes", async () => {
    const { listener, outcome } = echoOnce("127.0.0.1", 0, { maxLineBytes: 1000 });
    track(listener);
    await using tcp = await TcpTestClient.connect(listener.port);
    tcp.send("x".repeat(200_000)); // and no newline
    await tcp.whenClosed;
    expect(tcp.text).toBe("error: line longer than 1000 bytes; closing\n");
    expect(await outcome).toMatchObject({ kind: "too-long", limit: 1000 });
  });

  test("in-process: a client that leaves mid-line is reported, with the bytes it left", async () => {
    const logged = logCollector();
    const { listener, outcome } = echoOnce("127.0.0.1", 0, { log: logged.log });
    track(listener);
    const tcp = await TcpTestClient.connect(listener.port);
    tcp.send("partial");
    await logged.waitFor(/no end of line yet/);
    tcp.end();
    expect(await outcome).toEqual({ kind: "left", bytes: 7, reads: 1 });
  });

  test("spawned: split line, echoed, exits 0; over IPv6 too", async () => {
    for (const host of ["127.0.0.1", "::1"]) {
      await using lesson = startLesson("04-server/03-echo-once.ts", [
        "--host",
        host,
        "--port",
        "0",
      ]);
      const { port } = await lesson.listening("tcp");
      await using tcp = await TcpTestClient.connect(port, host);
      tcp.send("ping");
      await lesson.waitFor(/read 4 bytes, no end of line yet/);
      tcp.send(" pong\n");
      await tcp.whenClosed;
      expect(tcp.text).toBe("ping pong\n");
      const result = await lesson.finished();
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('echoed "ping pong" (9 bytes)');
    }
  });

  test("spawned with --max-line 10: a longer line gets the error reply", async () => {
    await using lesson = startLesson("04-server/03-echo-once.ts", [
      "--port",
      "0",
      "--max-line",
      "10",
    ]);
    const { port } = await lesson.listening("tcp");
    await using tcp = await TcpTestClient.connect(port);
    tcp.send("this line is too long\n");
    await tcp.whenClosed;
    expect(tcp.text).toBe("error: line longer than 10 bytes; closing\n");
    expect((await lesson.finished()).code).toBe(0);
  });
});

describe("04-one-at-a-time", () => {
  /** Lesson 04 in-process on a free port, stopped after the test, with its log collected. */
  function oneAtATime(options: { maxClients: number; maxLineBytes?: number }) {
    const logged = logCollector();
    const { listener, allServed } = serveOneAtATime("127.0.0.1", 0, {
      ...options,
      log: logged.log,
    });
    track(listener);
    return { listener, allServed, logged };
  }

  test("in-process: the second client waits, unread, until the first sends an empty line", async () => {
    const { listener, allServed, logged } = oneAtATime({ maxClients: 2 });
    await using first = await TcpTestClient.connect(listener.port);
    await first.waitForText(/your turn/);
    await using second = await TcpTestClient.connect(listener.port);
    await second.waitForText(/you are in the queue, 1 ahead of you\n/);
    await logged.waitFor(/client #2 \(.*\) waits: 1 ahead of it/);
    second.send("from the second\n"); // sent while waiting: must not be read yet
    first.send("a1\na2\n");
    await first.waitForText(/a1\na2\n$/);
    expect(second.text).not.toContain("from the second");
    first.send("\n");
    await first.whenClosed;
    // Its turn starts only now, and only now is its early line read and echoed.
    await second.waitForText(/from the second\n$/);
    expect(second.text.indexOf("your turn")).toBeGreaterThan(second.text.indexOf("in the queue"));
    expect(second.text.indexOf("from the second")).toBeGreaterThan(
      second.text.indexOf("your turn"),
    );
    second.send("\n");
    expect(await allServed).toBe(2);
    await second.whenClosed;
    expect(await connectError(listener.port)).toBe("ECONNREFUSED"); // it stopped after N
  });

  test("in-process: clients beyond N are turned away; a queued client that resets frees its place", async () => {
    const { listener, logged } = oneAtATime({ maxClients: 2 });
    await using first = await TcpTestClient.connect(listener.port);
    await first.waitForText(/your turn/);
    const quitter = await TcpTestClient.connect(listener.port);
    await quitter.waitForText(/in the queue/);
    await using third = await TcpTestClient.connect(listener.port);
    await third.whenClosed;
    expect(third.text).toBe("sorry: this server serves 2 clients and then exits\n");
    quitter.socket.terminate(); // a reset reaches the server even though it is not reading
    await logged.waitFor(/client #2 left the queue/);
    await using fourth = await TcpTestClient.connect(listener.port);
    await fourth.waitForText(/you are in the queue, 1 ahead of you/);
  });

  test("in-process: a queued client that hangs up politely is noticed when its turn comes", async () => {
    const { listener, allServed, logged } = oneAtATime({ maxClients: 2 });
    await using first = await TcpTestClient.connect(listener.port);
    await first.waitForText(/your turn/);
    await using quitter = await TcpTestClient.connect(listener.port);
    await quitter.waitForText(/in the queue/);
    quitter.end(); // its FIN waits, unread, with anything else it sent
    await quitter.whenClosed;
    first.send("\n");
    expect(await allServed).toBe(2); // its turn came, found it gone, and counted it
    expect(logged.lines.join("\n")).toMatch(
      /client #2 .* is being served\nclient #2 done \(disconnected\)/,
    );
  });

  test("in-process: a too-long line or a disconnect mid-line ends that turn; the next is served", async () => {
    const { listener, allServed } = oneAtATime({ maxClients: 3, maxLineBytes: 100 });
    await using hog = await TcpTestClient.connect(listener.port);
    await hog.waitForText(/your turn/);
    await using leaver = await TcpTestClient.connect(listener.port);
    await leaver.waitForText(/in the queue/);
    await using polite = await TcpTestClient.connect(listener.port);
    await polite.waitForText(/2 ahead/);
    hog.send("y".repeat(5000));
    await hog.whenClosed;
    expect(hog.text).toEndWith("error: line longer than 100 bytes; closing\n");
    await leaver.waitForText(/your turn/);
    leaver.send("half a li");
    leaver.end();
    await polite.waitForText(/your turn/);
    polite.send("still served\n\n");
    await polite.whenClosed;
    expect(polite.text).toEndWith("still served\n");
    expect(await allServed).toBe(3);
  });

  test("spawned: prints who waits, serves both in turn, exits 0 after --max-clients", async () => {
    await using lesson = startLesson("04-server/04-one-at-a-time.ts", [
      "--port",
      "0",
      "--max-clients",
      "2",
    ]);
    const { port } = await lesson.listening("tcp");
    await using first = await TcpTestClient.connect(port);
    await first.waitForText(/your turn/);
    await using second = await TcpTestClient.connect(port);
    await lesson.waitFor(/client #2 \(127\.0\.0\.1:\d+\) waits: 1 ahead of it/);
    first.send("one\n\n");
    await second.waitForText(/your turn/);
    second.send("two\n\n");
    const result = await lesson.finished();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("served all 2 clients: exiting");
    expect(first.text).toContain("one\n");
    await second.waitForText(/two\n$/);
  });

  test("in-process: a client served that never reads its echoes is paused, loses nothing, and the next is served", async () => {
    const { listener, allServed, logged } = oneAtATime({ maxClients: 2 });
    const lines = Buffer.from(`${"h".repeat(1023)}\n`.repeat(16 * 1024)); // 16 MiB to echo
    const turn = "your turn: each line comes back; an empty line ends your turn\n";
    const echoedAll = Promise.withResolvers<void>();
    let [offset, received] = [0, 0];
    const push = (socket: Socket<undefined>): void => {
      while (offset < lines.length) {
        const written = socket.write(lines.subarray(offset));
        if (written <= 0) return;
        offset += written;
      }
    };
    const hog = await Bun.connect({
      hostname: "127.0.0.1",
      port: listener.port,
      socket: {
        data(_socket, chunk) {
          received += chunk.length;
          if (received >= turn.length + lines.length) echoedAll.resolve();
        },
        drain: push,
        error() {},
      },
    });
    try {
      hog.pause(); // it reads nothing: its echoes pile up in the server, until the server pauses it
      push(hog);
      await logged.waitFor(/client #1 does not read its echoes: not reading it until it does/);
      await using next = await TcpTestClient.connect(listener.port);
      await next.waitForText(/you are in the queue, 1 ahead of you\n/);
      hog.resume(); // it reads at last: the server reads it again, and every echo arrives
      await echoedAll.promise;
      expect(received).toBe(turn.length + lines.length);
      hog.write("\n"); // end of its turn
      await next.waitForText(/your turn/);
      expect(logged.lines).toContain("client #1 done (empty line), 16384 line(s) echoed");
      next.send("\n");
      expect(await allServed).toBe(2);
    } finally {
      hog.terminate();
    }
  });

  test("spawned: --max-clients 0 is a usage error", async () => {
    const result = await runLesson("04-server/04-one-at-a-time.ts", ["--max-clients", "0"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith(
      '--max-clients must be a whole number from 1 to 1000000 (got "0")',
    );
  });
});

describe("05-many-at-once", () => {
  test("in-process: three clients at once, each with its own number, buffer and counter", async () => {
    const { listener } = serveMany("127.0.0.1", 0);
    track(listener);
    const clients = await Promise.all([1, 2, 3].map(() => TcpTestClient.connect(listener.port)));
    try {
      for (const client of clients) await client.waitForText(/hello client #\d+/);
      const numbers = clients.map((client) => Number(client.text.match(/#(\d+)/)?.[1]));
      expect(new Set(numbers).size).toBe(3);
      // Interleaved, split and joined: each client's lines still come back whole, to it alone.
      clients.forEach((client, i) => client.send(`c${i}-a`));
      clients.forEach((client, i) => client.send(`\nc${i}-b\nc${i}-`));
      clients.forEach((client, i) => client.send(`c\n`));
      for (const [i, client] of clients.entries()) {
        await client.waitForText(new RegExp(`c${i}-a\\nc${i}-b\\nc${i}-c\\n$`));
        client.shutdown(); // end of input: the server still owes us a goodbye
        await client.whenClosed;
        expect(client.text).toEndWith(`c${i}-c\nyou sent 3 line(s), bye\n`);
      }
    } finally {
      for (const client of clients) await client[Symbol.asyncDispose]();
    }
  });

  test("in-process: a too-long line gets an error and a close; the others are still served", async () => {
    const { listener } = serveMany("127.0.0.1", 0, { maxLineBytes: 1000 });
    track(listener);
    await using bad = await TcpTestClient.connect(listener.port);
    await using good = await TcpTestClient.connect(listener.port);
    bad.send("z".repeat(50_000));
    await bad.whenClosed;
    expect(bad.text).toEndWith("error: line longer than 1000 bytes; closing\n");
    good.send("fine\n");
    await good.waitForText(/fine\n$/);
  });

  test("in-process: a client that never reads is paused; memory for it stays bounded, others are served", async () => {
    const logged = logCollector();
    const maxPendingBytes = 64 * 1024;
    const { listener, connections } = serveMany("127.0.0.1", 0, {
      maxPendingBytes,
      log: logged.log,
    });
    track(listener);
    await using hog = await TcpTestClient.connect(listener.port);
    hog.socket.pause(); // it reads nothing from now on
    const sent = 16 * 1024 * 1024;
    hog.send(`${"h".repeat(1023)}\n`.repeat(sent / 1024));
    await logged.waitFor(/is not reading: stopped reading from it/);
    await using other = await TcpTestClient.connect(listener.port);
    other.send("still here?\n");
    await other.waitForText(/still here\?\n$/);
    const before = connections().find((connection) => connection.paused);
    expect(before).toBeDefined();
    other.send("and again\n");
    await other.waitForText(/and again\n$/);
    const after = connections().find((connection) => connection.number === before?.number);
    // Paused: nothing more read from it, so its echo queue cannot grow either.
    expect(after?.bytesIn).toBe(before?.bytesIn);
    expect(after?.bytesIn).toBeLessThan(sent);
    expect(after?.pendingBytes).toBeLessThanOrEqual(maxPendingBytes + 1024 * 1024);
    hog.socket.resume(); // it starts reading: the server reads from it again
    await logged.waitFor(/caught up: reading from it again/);
  });

  test("in-process: a silent client is closed after the idle time, with a reason", async () => {
    const { listener } = serveMany("127.0.0.1", 0, { idleMs: 300 });
    track(listener);
    await using quiet = await TcpTestClient.connect(listener.port);
    await quiet.whenClosed;
    expect(quiet.text).toEndWith("idle for 0.3 s: closing\n");
  });

  test("spawned: a long line and an idle client are dropped, the others served; SIGINT exits 0", async () => {
    const args = ["--port", "0", "--max-line", "100", "--idle", "1"];
    await using lesson = startLesson("04-server/05-many-at-once.ts", args);
    const { port } = await lesson.listening("tcp");
    await using bad = await TcpTestClient.connect(port);
    bad.send(`${"q".repeat(500)}\n`);
    await bad.whenClosed;
    expect(bad.text).toEndWith("error: line longer than 100 bytes; closing\n");
    await using good = await TcpTestClient.connect(port);
    good.send("ok\n");
    await good.waitForText(/ok\n$/);
    await lesson.waitFor(/line longer than 100 bytes/);
    await good.whenClosed; // then silent for 1 s
    expect(good.text).toEndWith("idle for 1 s: closing\n");
    await using last = await TcpTestClient.connect(port);
    await last.waitForText(/hello client #3/);
    const result = await lesson.stop("SIGINT");
    expect(result.code).toBe(0);
    await last.whenClosed; // closed by the server's stop
  });

  test("spawned: an --idle too long for a timer is a usage error, not clients closed at once", async () => {
    const result = await runLesson("04-server/05-many-at-once.ts", ["--idle", "3000000"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith(
      '--idle must be a whole number from 1 to 1000000 (got "3000000")\n\nusage:',
    );
  });
});

describe("06-welcome-server and 07-welcome-client", () => {
  test("the welcome message names the client and carries the time in ISO 8601", () => {
    const when = new Date("2026-03-01T10:20:30.400Z");
    const message = welcomeMessage("127.0.0.1:4242", when);
    expect(message).toStartWith("Hello 127.0.0.1:4242, welcome");
    expect(message).toEndWith("Server time: 2026-03-01T10:20:30.400Z\n");
  });

  test("in-process, IPv4 and IPv6: the client reads the whole greeting until the close", async () => {
    for (const host of ["127.0.0.1", "::1"]) {
      const server = startWelcomeServer(host, 0);
      track(server.listener);
      const before = Date.now();
      const welcome = await fetchWelcome(host, server.listener.port);
      expect(welcome.server).toBe(formatEndpoint(host, server.listener.port));
      expect(welcome.message).toMatch(/^Hello \S+:\d+, welcome/);
      const time = Date.parse(welcome.message.match(/Server time: (\S+)\n$/)?.[1] ?? "");
      expect(time).toBeGreaterThanOrEqual(before - 1000);
      expect(time).toBeLessThanOrEqual(Date.now() + 1000);
      expect(welcome.bytes).toBe(Buffer.byteLength(welcome.message));
      expect(server.greeted()).toBe(1);
    }
  });

  test("the client keeps reading until close: a message in many writes arrives whole", async () => {
    const body = "0123456789abcdef".repeat(20_000); // 320 KB: many reads
    const listener = track(
      Bun.listen<Outbox>({
        hostname: "127.0.0.1",
        port: 0,
        socket: {
          open(socket) {
            socket.data = new Outbox(socket);
            for (let at = 0; at < body.length; at += 1000)
              socket.data.send(body.slice(at, at + 1000));
            socket.data.finish();
          },
          drain: (socket) => socket.data.flush(),
          data() {},
        },
      }),
    );
    const welcome = await fetchWelcome("127.0.0.1", listener.port, { maxBytes: 1024 * 1024 });
    expect(welcome.message).toBe(body);
    expect(welcome.reads).toBeGreaterThan(1);
  });

  test("the client's failures: refused, silent, too much, reset mid-message", async () => {
    const closed = await freePort();
    await expect(fetchWelcome("127.0.0.1", closed)).rejects.toThrow(refused(`127.0.0.1:${closed}`));
    const silent = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    await expect(fetchWelcome("127.0.0.1", silent.port, { timeoutMs: 300 })).rejects.toThrow(
      `127.0.0.1:${silent.port} did not send a message and close within 0.3 s: is it a welcome server?`,
    );
    const flood = track(
      Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        socket: { open: (socket) => void socket.write(Buffer.alloc(8192, 120)), data() {} },
      }),
    );
    const tooMuch = fetchWelcome("127.0.0.1", flood.port, { maxBytes: 4096 });
    await expect(tooMuch).rejects.toThrow(WelcomeError);
    await expect(tooMuch).rejects.toThrow("sent more than 4096 bytes without closing");
    const reset = track(
      Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        socket: {
          open(socket) {
            socket.write("Hel");
            socket.terminate();
          },
          data() {},
        },
      }),
    );
    await expect(fetchWelcome("127.0.0.1", reset.port)).rejects.toThrow(
      `127.0.0.1:${reset.port} broke the connection after 3 bytes`,
    );
  });

  test("spawned client with no arguments starts the server in-process and says so", async () => {
    const result = await runLesson("04-server/07-welcome-client.ts");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^no --host\/--port given: started the welcome server \(04-server\/06-welcome-server\.ts\) in this process on 127\.0\.0\.1:\d+\n/,
    );
    expect(result.stdout).toMatch(
      /complete when the server closed\):\n {2}Hello 127\.0\.0\.1:\d+, welcome/,
    );
  });

  test("spawned client --json prints one JSON document", async () => {
    const result = await runLesson("04-server/07-welcome-client.ts", ["--json"]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(report.startedLocalServer).toBe(true);
    expect(String(report.message)).toMatch(/^Hello .* Server time: \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
    expect(report.bytes).toBe(Buffer.byteLength(String(report.message)));
  });

  test("spawned server and spawned client over IPv6; the server counts and stops on SIGINT", async () => {
    await using server = startLesson("04-server/06-welcome-server.ts", [
      "--host",
      "::1",
      "--port",
      "0",
    ]);
    const { port } = await server.listening("tcp");
    const client = await runLesson("04-server/07-welcome-client.ts", [
      "--host",
      "::1",
      "--port",
      String(port),
    ]);
    expect(client.code).toBe(0);
    expect(client.stdout).toStartWith(`message from [::1]:${port} (`);
    expect(client.stdout).not.toContain("started the welcome server");
    await server.waitFor(/welcomed \[::1\]:\d+ \(client 1\)/);
    const stopped = await server.stop("SIGINT");
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain("greeted 1 client(s)");
  });

  test("spawned client against a closed port: one sentence, exit 1", async () => {
    const closed = await freePort();
    const result = await runLesson("04-server/07-welcome-client.ts", ["--port", String(closed)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${refused(`127.0.0.1:${closed}`)}\n`);
    expect(result.stdout).toBe("");
  });

  test("spawned client with bad arguments: exit 2 with the reason and usage", async () => {
    for (const [args, reason] of [
      [["--port", "http"], '--port must be a whole number from 1 to 65535 (got "http")'],
      [["--timeout", "0"], '--timeout must be a number of seconds above 0, at most 3600 (got "0")'],
      [["--port", "0"], '--port must be a whole number from 1 to 65535 (got "0")'],
      [["--host", ""], '--host must be a host name or an IP address (got "")'],
    ] as const) {
      const result = await runLesson("04-server/07-welcome-client.ts", [...args]);
      expect(result.code).toBe(2);
      expect(result.stderr).toStartWith(
        `${reason}\n\nusage: bun run 04-server/07-welcome-client.ts`,
      );
    }
    expect((await runLesson("04-server/07-welcome-client.ts", ["--help"])).code).toBe(0);
  });
});
