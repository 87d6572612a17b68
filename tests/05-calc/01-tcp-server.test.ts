/**
 * Lesson 05/01, the TCP calculator server: one reply per line however the stream is cut, a
 * line-length bound, an answer to a last line at FIN, backpressure (a client that does not
 * read is not read either), idle clients shed, quick work only (`ERR too-heavy`), and the
 * server as a student runs it: its listening line, its stop, its bad arguments, and hostile
 * clients (resets, a flood that never reads).
 */
import { expect, test } from "bun:test";
import { startTcpServer } from "../../05-calc/01-tcp-server.ts";
import { answer, MAX_LINE_BYTES } from "../../05-calc/protocol.ts";
import {
  hasCommand,
  inUse,
  logCollector,
  runLesson,
  SLOW_TEST_MS,
  startLesson,
  TcpTestClient,
  tracker,
} from "../helpers.ts";
import {
  hostile,
  lesson,
  REPLY,
  receivedLines,
  replyLines,
  SLOW,
  seeded,
  sendAllThenRead,
} from "./support.ts";

const track = tracker();
const quiet = (): void => {};
const FILE = lesson("01-tcp-server");
const TOO_LONG = "ERR line-too-long: a request is at most 1024 bytes; closing the connection";

test("pipelined requests, sent one byte at a time, get their replies in order", async () => {
  const server = track(startTcpServer({ port: 0, log: quiet }));
  await using client = await TcpTestClient.connect(server.tcp.port);
  const text = "12 + 30\r\n7 / 0\nabc + 1\n2 ^ 10\n";
  for (const byte of Buffer.from(text)) client.send(Uint8Array.of(byte));
  expect(await replyLines(client, 4)).toEqual([
    "OK 42",
    "ERR division-by-zero: cannot divide by zero",
    'ERR bad-number: "abc" is not a number',
    "OK 1024",
  ]);
});

test("the same replies however the stream is cut into chunks (200 random cuts)", async () => {
  const server = track(startTcpServer({ port: 0, log: quiet }));
  await using client = await TcpTestClient.connect(server.tcp.port);
  const random = seeded(7);
  const bytes = Buffer.from("12 + 30\r\n7 / 2\n\nfactor 12\n");
  const expected = ["OK 42", "OK 3.5", answer(""), "OK 2 2 3"];
  for (let round = 1; round <= 200; round++) {
    for (let start = 0; start < bytes.length;) {
      const end = Math.min(bytes.length, start + 1 + Math.floor(random() * 6));
      client.send(bytes.subarray(start, end));
      start = end;
    }
    // The replies to this round before the next: the server saw these cuts, not one packet.
    expect((await replyLines(client, 4 * round)).slice(-4)).toEqual(expected);
  }
});

test("a character cut across two chunks comes out whole, not as two broken halves", async () => {
  const server = track(startTcpServer({ port: 0, log: quiet }));
  await using client = await TcpTestClient.connect(server.tcp.port);
  const bytes = Buffer.from("½ + 1\n");
  client.send(bytes.subarray(0, 1));
  client.send(bytes.subarray(1));
  // show() writes each non-ASCII character as "?": one for "½", two for its broken halves.
  expect(await replyLines(client, 1)).toEqual(['ERR bad-number: "?" is not a number']);
});

test("random bytes on the wire: one reply per line, and the connection stays open", async () => {
  const server = track(startTcpServer({ port: 0, log: quiet }));
  await using client = await TcpTestClient.connect(server.tcp.port);
  const random = seeded(3);
  const garbage = Array.from({ length: 200 }, () =>
    Buffer.from(
      Array.from({ length: Math.floor(random() * 100) }, () => {
        const byte = Math.floor(random() * 256);
        return byte === 10 ? 0 : byte;
      }),
    ),
  );
  client.send(Buffer.concat(garbage.flatMap((line) => [line, Buffer.from("\n")])));
  client.send("6 * 7\n");
  const replies = await replyLines(client, 201);
  expect(replies.length).toBe(201);
  for (const reply of replies) expect(reply).toMatch(REPLY);
  expect(replies[200]).toBe("OK 42");
  expect(client.closed).toBe(false);
});

test("a line of exactly 1024 bytes is answered; one of 1025 ends the connection", async () => {
  const server = track(startTcpServer({ port: 0, log: quiet }));
  await using client = await TcpTestClient.connect(server.tcp.port);
  const longest = `${"9".repeat(MAX_LINE_BYTES - 4)} + 1`;
  client.send(`${longest}\n${longest}9\n1 + 1\n`);
  await client.whenClosed;
  expect(receivedLines(client)).toEqual([answer(longest), TOO_LONG]);
});

test("a line over 1024 bytes: the replies before it, then ERR line-too-long, then the server closes", async () => {
  const server = track(startTcpServer({ port: 0, log: quiet }));
  await using client = await TcpTestClient.connect(server.tcp.port);
  client.send(`1 + 1\n${"9".repeat(MAX_LINE_BYTES + 1)}`);
  await client.whenClosed;
  expect(receivedLines(client)).toEqual(["OK 2", TOO_LONG]);
});

test("a 1 MiB flood without a newline still reads the reason before the close (no reset)", async () => {
  const server = track(startTcpServer({ port: 0, log: quiet }));
  await using client = await TcpTestClient.connect(server.tcp.port);
  client.send(Buffer.alloc(1 << 20, 0x39));
  await client.whenClosed;
  expect(client.text).toBe(`${TOO_LONG}\n`);
});

test("a last request without its newline is answered after the client's FIN", async () => {
  const server = track(startTcpServer({ port: 0, log: quiet }));
  await using client = await TcpTestClient.connect(server.tcp.port);
  client.send("1 + 1\n2 + 2");
  client.shutdown();
  await client.whenClosed;
  expect(client.text).toBe("OK 2\nOK 4\n");
});

test(
  "a client that sends 20,000 requests before it reads a reply gets all 20 MB of them, in order",
  async () => {
    const server = track(startTcpServer({ port: 0, log: quiet }));
    await sendAllThenRead(server.tcp.port, false);
  },
  SLOW_TEST_MS,
);

test(
  "the same with a FIN after the last request: every reply, then the close",
  async () => {
    const server = track(startTcpServer({ port: 0, log: quiet }));
    await sendAllThenRead(server.tcp.port, true);
  },
  SLOW_TEST_MS,
);

test.skipIf(!hasCommand("python3"))(
  "a flood of `2 ^ 3321` that never reads (9 bytes in, 1005 out): RSS stays under 100 MiB, and another client is served (needs python3)",
  async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    const { port } = await server.listening("tcp");
    const request = Buffer.from("2 ^ 3321\n").toString("hex");
    const { peakMiB } = await hostile(server.proc.pid, ["flood", "127.0.0.1", port, request, 3]);
    expect(peakMiB).toBeLessThan(100);
    await using client = await TcpTestClient.connect(port);
    client.send("12 + 30\n");
    expect(await replyLines(client, 1)).toEqual(["OK 42"]);
  },
  SLOW_TEST_MS,
);

test.skipIf(!hasCommand("python3"))(
  "a client that floods requests does not hold up another: 1024 lines a turn, then the others (needs python3)",
  async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    const { port } = await server.listening("tcp");
    await using other = await TcpTestClient.connect(port);
    let worst = 0;
    let exchanges = 0;
    const flooding = hostile(server.proc.pid, ["flood", "127.0.0.1", port, "31322b33300a", 2]);
    let done = false;
    void flooding.then(() => {
      done = true;
    });
    // One exchange after another for as long as the flood lasts: none may wait long.
    while (!done) {
      const started = performance.now();
      other.send("6 * 7\n");
      await replyLines(other, exchanges + 1);
      worst = Math.max(worst, performance.now() - started);
      exchanges++;
    }
    await flooding;
    expect(exchanges).toBeGreaterThan(10);
    expect(worst).toBeLessThan(250);
  },
  SLOW_TEST_MS,
);

test.skipIf(!hasCommand("python3"))(
  "clients that connect and reset at once (SO_LINGER 0) do not kill it (needs python3)",
  async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    const { port } = await server.listening("tcp");
    const { report } = await hostile(server.proc.pid, ["resets", "127.0.0.1", port, 100]);
    expect(report.reset).toBe(100);
    await using client = await TcpTestClient.connect(port);
    client.send("12 + 30\n");
    expect(await replyLines(client, 1)).toEqual(["OK 42"]);
    expect(server.proc.exitCode).toBeNull();
    expect(server.stderr).toBe("");
  },
  SLOW_TEST_MS,
);

test("quick work only: 20 pipelined `isprime 9007199254740881` get ERR too-heavy at once, and another client is not held up", async () => {
  const server = track(startTcpServer({ port: 0, log: quiet }));
  await using heavy = await TcpTestClient.connect(server.tcp.port);
  await using other = await TcpTestClient.connect(server.tcp.port);
  const started = performance.now();
  heavy.send(`${SLOW}\n`.repeat(20));
  other.send("12 + 30\n");
  expect(await replyLines(other, 1)).toEqual(["OK 42"]);
  const replies = await replyLines(heavy, 20);
  expect(performance.now() - started).toBeLessThan(1_000);
  expect(new Set(replies)).toEqual(
    new Set([
      "ERR too-heavy: isprime would try divisors past 100000, too slow for one thread: lesson 07's worker pool takes it",
    ]),
  );
  // What it can do quickly it does: the README's other heavy examples.
  other.send("isprime 97\nfactor 600851475143\n");
  expect((await replyLines(other, 3)).slice(1)).toEqual(["OK true", "OK 71 839 1471 6857"]);
});

test("an idle client is closed after --idle; one that keeps asking is not", async () => {
  const log = logCollector();
  const server = track(startTcpServer({ port: 0, log: log.log, idle: 0.5 }));
  await using idle = await TcpTestClient.connect(server.tcp.port);
  await using busy = await TcpTestClient.connect(server.tcp.port);
  // Bytes with no newline are no request: a client that drips them is idle too.
  idle.send("1 + ");
  const started = performance.now();
  for (let i = 0; !idle.closed; i++) {
    busy.send(`${i} + 1\n`);
    await replyLines(busy, i + 1);
  }
  expect(performance.now() - started).toBeGreaterThanOrEqual(400);
  expect(busy.closed).toBe(false);
  await log.waitFor(/^127\.0\.0\.1:\d+: 0 request\(s\); closed \(sent no line for 0\.5 s\)$/);
});

test("logs one line per client when it goes, with its request count and why", async () => {
  const log = logCollector();
  const server = track(startTcpServer({ port: 0, log: log.log }));
  await using client = await TcpTestClient.connect(server.tcp.port);
  const peer = `127.0.0.1:${client.socket.localPort}`;
  client.send("1 + 1\n2 + 2\n");
  await replyLines(client, 2);
  client.end();
  await log.waitFor(/: 2 request\(s\); closed \(left\)$/);
  expect(log.lines).toEqual([`${peer}: 2 request(s); closed (left)`]);
});

test("spawned: listening line, a hint, a session as with nc, Ctrl-C stops it with exit 0", async () => {
  await using server = startLesson(FILE, ["--port", "0"]);
  const { host, port } = await server.listening("tcp");
  expect(host).toBe("127.0.0.1");
  await server.waitFor(new RegExp(`try {2}nc 127\\.0\\.0\\.1 ${port} .*Ctrl-C stops the server`));
  await using client = await TcpTestClient.connect(port);
  client.send("12 * 30\nfactor 360\n");
  expect(await replyLines(client, 2)).toEqual(["OK 360", "OK 2 2 2 3 3 5"]);
  const { code, stdout, stderr } = await server.stop("SIGINT");
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  expect(stdout).toContain("stopped by SIGINT: the port is free again");
});

test("spawned on IPv6 ::1: the listening line brackets the address; SIGTERM stops it", async () => {
  await using server = startLesson(FILE, ["--host", "::1", "--port", "0"]);
  await server.waitFor(/listening on \[::1\]:\d+ \(tcp\)/);
  const { port } = await server.listening("tcp");
  await using client = await TcpTestClient.connect(port, "::1");
  client.send("1 + 1\n");
  expect(await replyLines(client, 1)).toEqual(["OK 2"]);
  expect((await server.stop("SIGTERM")).code).toBe(0);
});

test("spawned: SIGTERM is not silent: it says it stopped, with a client connected", async () => {
  await using server = startLesson(FILE, ["--port", "0"]);
  const { port } = await server.listening("tcp");
  await using client = await TcpTestClient.connect(port);
  client.send("1 + 1\n");
  await replyLines(client, 1);
  const { code, stdout } = await server.stop("SIGTERM");
  expect(code).toBe(0);
  expect(stdout).toEndWith("stopped by SIGTERM: the port is free again\n");
});

test("port in use: one sentence naming the port, exit 1", async () => {
  const holder = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  const result = await runLesson(FILE, ["--port", String(holder.port)]);
  expect(result).toEqual({ code: 1, stdout: "", stderr: `${inUse(holder.port)}\n` });
});

test("an address that is not this machine's (TEST-NET-1): one sentence, exit 1", async () => {
  const result = await runLesson(FILE, ["--host", "192.0.2.1", "--port", "0"]);
  expect(result).toEqual({
    code: 1,
    stdout: "",
    stderr:
      "192.0.2.1 is not an address of this machine: listen on 127.0.0.1, ::1, 0.0.0.0 or one of its own addresses\n",
  });
});

test.each([
  [["--port", "70000"], '--port must be a whole number from 0 to 65535 (got "70000")'],
  [["--port", "http"], '--port must be a whole number from 0 to 65535 (got "http")'],
  [["--port", "-1"], '--port must be a whole number from 0 to 65535 (got "-1")'],
  [["--idle", "0"], '--idle must be a number from 0.1 to 86400 (got "0")'],
  [
    ["--host", "localhost"],
    '--host must be an IP address of this machine, like 127.0.0.1 or ::1 (got "localhost")',
  ],
  [["--verbose"], "unknown flag --verbose: see the list below"],
])("bad arguments %p: the reason and the usage, exit 2", async (args, reason) => {
  const { code, stdout, stderr } = await runLesson(FILE, args);
  expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
  expect(stderr).toStartWith(`${reason}\n\nusage: bun run 05-calc/01-tcp-server.ts`);
});
