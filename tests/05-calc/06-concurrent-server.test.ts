/**
 * Lesson 05/06, the concurrent server: many clients on one event loop, each answered on its
 * own connection, and the one thing the loop cannot do: a CPU-bound request stalls every
 * client, and the server logs it. Like lesson 01 it sheds idle clients, stops reading one
 * that does not read, and survives resets; it says what it served when it stops.
 */
import { expect, test } from "bun:test";
import { startConcurrentServer } from "../../05-calc/06-concurrent-server.ts";
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
import { hostile, lesson, receivedLines, replyLines, SLOW, sendAllThenRead } from "./support.ts";

const track = tracker();
const quiet = (): void => {};
const FILE = lesson("06-concurrent-server");

test("50 clients connected at once, each answered on its own connection", async () => {
  const server = track(startConcurrentServer({ port: 0, log: quiet }));
  const clients = await Promise.all(
    Array.from({ length: 50 }, () => TcpTestClient.connect(server.tcp.port)),
  );
  try {
    await Promise.all(
      clients.map((client, i) => {
        client.send(`${i} * 2\n${i} + 1\n`);
        return replyLines(client, 2);
      }),
    );
    expect(server.clients()).toBe(50);
    clients.forEach((client, i) => {
      expect(receivedLines(client)).toEqual([`OK ${i * 2}`, `OK ${i + 1}`]);
    });
  } finally {
    for (const client of clients) await client[Symbol.asyncDispose]();
  }
});

test("a CPU-bound request is logged as a stall of the whole loop", async () => {
  const log = logCollector();
  const server = track(startConcurrentServer({ port: 0, log: log.log, stallMs: 1 }));
  await using client = await TcpTestClient.connect(server.tcp.port);
  client.send("isprime 99999999999973\n1 + 1\n");
  expect(await replyLines(client, 2)).toEqual(["OK true", "OK 2"]);
  const line = await log.waitFor(/held the event loop/);
  expect(line).toMatch(/^"isprime 99999999999973" held the event loop for \d+ ms$/);
});

test(
  "the stall is everyone's: a cheap request from another client waits for the heavy one",
  async () => {
    // In a process of its own: in this one, the test would stall with it.
    await using server = startLesson(FILE, ["--port", "0"]);
    const { port } = await server.listening("tcp");
    await using heavy = await TcpTestClient.connect(port);
    heavy.send(`${SLOW}\n`);
    await server.waitFor(/client #1 .* connected/);
    // Connected after the heavy request was sent: the kernel accepts it, the loop is busy.
    await using cheap = await TcpTestClient.connect(port);
    const started = performance.now();
    cheap.send("1 + 1\n");
    expect(await replyLines(cheap, 1, 10_000)).toEqual(["OK 2"]);
    const waited = performance.now() - started;
    // Lesson 01 refuses this request; this server computes it, on its only thread.
    expect(await replyLines(heavy, 1, 10_000)).toEqual(["OK true"]);
    await server.waitFor(/"isprime 9007199254740881" held the event loop for (\d+) ms/);
    expect(waited).toBeGreaterThan(300);
  },
  SLOW_TEST_MS,
);

test(
  "a client that sends 20,000 requests before it reads a reply gets all 20 MB of them, in order",
  async () => {
    const server = track(startConcurrentServer({ port: 0, log: quiet }));
    await sendAllThenRead(server.tcp.port, true);
  },
  SLOW_TEST_MS,
);

test("an idle client is closed after --idle, and the log says so", async () => {
  const log = logCollector();
  const server = track(startConcurrentServer({ port: 0, log: log.log, idle: 0.3 }));
  await using client = await TcpTestClient.connect(server.tcp.port);
  client.send("1 + 1\n2 +");
  await client.whenClosed;
  expect(client.text).toBe("OK 2\n");
  await log.waitFor(/^client #1: 1 request\(s\); closed \(sent no line for 0\.3 s\); 0 connected$/);
});

test.skipIf(!hasCommand("python3"))(
  "resets do not kill it, and a flood that never reads stays under 100 MiB (needs python3)",
  async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    const { port } = await server.listening("tcp");
    const { report } = await hostile(server.proc.pid, ["resets", "127.0.0.1", port, 100]);
    expect(report.reset).toBe(100);
    const request = Buffer.from("2 ^ 3321\n").toString("hex");
    const { peakMiB } = await hostile(server.proc.pid, ["flood", "127.0.0.1", port, request, 2]);
    expect(peakMiB).toBeLessThan(100);
    await using client = await TcpTestClient.connect(port);
    client.send("12 + 30\n");
    expect(await replyLines(client, 1)).toEqual(["OK 42"]);
    expect(server.proc.exitCode).toBeNull();
  },
  SLOW_TEST_MS,
);

test("spawned: logs each client in and out, the stall, and a summary on SIGTERM", async () => {
  await using server = startLesson(FILE, ["--port", "0", "--stall-ms", "1"]);
  const { port } = await server.listening("tcp");
  {
    await using client = await TcpTestClient.connect(port);
    client.send("isprime 99999999999973\n");
    expect(await replyLines(client, 1)).toEqual(["OK true"]);
    client.end();
    await server.waitFor(/client #1: 1 request\(s\); closed \(left\); 0 connected/);
  }
  const { code, stdout } = await server.stop("SIGTERM");
  expect(code).toBe(0);
  expect(stdout).toMatch(/client #1 \(127\.0\.0\.1:\d+\) connected; 1 connected/);
  expect(stdout).toMatch(/"isprime 99999999999973" held the event loop for \d+ ms/);
  expect(stdout).toEndWith(
    "stopped: 1 client(s), at most 1 at once, 1 request(s)\nstopped by SIGTERM: the port is free again\n",
  );
});

test("spawned: port in use, exit 1; a bad --stall-ms or --idle, exit 2", async () => {
  const holder = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  expect(await runLesson(FILE, ["--port", String(holder.port)])).toEqual({
    code: 1,
    stdout: "",
    stderr: `${inUse(holder.port)}\n`,
  });
  for (const [args, why] of [
    [["--stall-ms=-5"], '--stall-ms must be a whole number from 0 to 60000 (got "-5")'],
    [["--stall-ms", "-5"], '--stall-ms must be a whole number from 0 to 60000 (got "-5")'],
    [["--idle", "x"], '--idle must be a number from 0.1 to 86400 (got "x")'],
  ] as const) {
    const result = await runLesson(FILE, [...args]);
    expect({ code: result.code, why: result.stderr.split("\n")[0] }).toEqual({ code: 2, why });
  }
});
