/**
 * Lesson 05/10, late replies over TCP: one request at a time, each reply matched to its request by
 * order; a reply after the timeout is late (counted when it comes, the loop going on), one
 * that never comes is lost; only a well-formed reply counts. Then the script as a student
 * runs it: offline with lesson 06's server, --json with rounded times, its bad arguments.
 */
import { expect, test } from "bun:test";
import { startConcurrentServer } from "../../05-calc/06-concurrent-server.ts";
import { ping, type Sample } from "../../05-calc/10-late-replies.ts";
import { answer } from "../../05-calc/protocol.ts";
import { closedPort, runLesson, tracker } from "../helpers.ts";
import { lesson, rejection } from "./support.ts";

const track = tracker();
const FILE = lesson("10-late-replies");

/** A TCP server that answers each line with `reply(line, n)`, after `delayMs(n)` (n from 1). */
function fakeServer(reply: (line: string, n: number) => string, delayMs = (_n: number) => 0) {
  let n = 0;
  let pending = Promise.resolve();
  return track(
    Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(socket, chunk) {
          for (const line of chunk.toString().split("\n").slice(0, -1)) {
            const seq = ++n;
            // In order, each after its delay: as a server with a queue would answer.
            pending = pending
              .then(() => new Promise((resolve) => setTimeout(resolve, delayMs(seq))))
              .then(() => void socket.write(reply(line, seq)));
          }
        },
      },
    }),
  );
}

const statuses = (samples: Sample[]): string[] =>
  samples.map((sample) => `#${sample.seq} ${sample.status} ${sample.reply}`);

test("ping(): one sample per request, each reply its own request's", async () => {
  const server = track(startConcurrentServer({ port: 0, log() {} }));
  const samples = await Array.fromAsync(ping("6 * 7", { port: server.tcp.port, count: 3 }));
  expect(statuses(samples)).toEqual(["#1 ok OK 42", "#2 ok OK 42", "#3 ok OK 42"]);
  for (const sample of samples) expect(sample.ms).toBeGreaterThan(0);
});

test("a reply after the timeout is late, not lost: the loop goes on, and counts it when it comes", async () => {
  // The first reply takes 400 ms, and the second waits behind it; the timeout is 150 ms.
  const server = fakeServer(
    (line) => `${answer(line)}\n`,
    (n) => (n === 1 ? 400 : 0),
  );
  const samples = await Array.fromAsync(
    ping("1 + 1", { port: server.port, count: 3, timeoutMs: 150 }),
  );
  expect(statuses(samples)).toEqual([
    "#1 slow null",
    "#2 slow null",
    "#1 late OK 2",
    "#2 late OK 2",
    "#3 ok OK 2",
  ]);
  expect(samples[2]?.ms).toBeGreaterThanOrEqual(390);
});

test("a server that never answers: every request waits its timeout, the loop goes on, and all are lost", async () => {
  const mute = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  const samples = await Array.fromAsync(
    ping("1 + 1", { port: mute.port, count: 3, timeoutMs: 100 }),
  );
  expect(statuses(samples)).toEqual([
    "#1 slow null",
    "#2 slow null",
    "#3 slow null",
    "#1 lost null",
    "#2 lost null",
    "#3 lost null",
  ]);
});

test("only a well-formed reply counts: an echo is not an answer", async () => {
  const echo = fakeServer((line) => `${line}\n`);
  expect(await rejection(Array.fromAsync(ping("1 + 1", { port: echo.port, count: 2 })))).toBe(
    'the server sent something that is not a reply: "1 + 1"',
  );
});

test("a line that answers nothing (more replies than requests) is not taken either", async () => {
  const chatty = fakeServer((line) => `${answer(line)}\nOK 0\n`);
  expect(await rejection(Array.fromAsync(ping("1 + 1", { port: chatty.port, count: 3 })))).toBe(
    'the server sent something that is not a reply: "OK 0"',
  );
});

test("spawned with no --host/--port: starts lesson 06's server (said on stderr), five samples and a summary", async () => {
  const result = await runLesson(FILE, []);
  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(
    /^no --host or --port: started 05-calc\/06-concurrent-server\.ts on 127\.0\.0\.1:\d+ for this run\n$/,
  );
  const out = result.stdout.split("\n");
  out
    .slice(0, 5)
    .forEach((line, i) =>
      expect(line).toMatch(new RegExp(`^#${i + 1} OK 42 in \\d+\\.\\d\\d ms$`)),
    );
  expect(out[5]).toMatch(
    /^127\.0\.0\.1:\d+ \(tcp\): 5 sent, 0 late, 0 lost; min\/avg\/max [\d.]+\/[\d.]+\/[\d.]+ ms$/,
  );
});

test("spawned: --json is one document, its times rounded to the microsecond", async () => {
  const server = track(startConcurrentServer({ port: 0, log() {} }));
  const port = String(server.tcp.port);
  const args = ["--port", port, "--count", "3", "--json", "factor 12"];
  const result = await runLesson(FILE, args);
  expect(result.code).toBe(0);
  expect(result.stdout).not.toMatch(/\d\.\d{4,}/);
  const report = JSON.parse(result.stdout);
  expect(report).toMatchObject({
    server: `127.0.0.1:${port} (tcp)`,
    request: "factor 12",
    sent: 3,
    late: 0,
    lost: 0,
  });
  expect(report.samples.map((sample: Sample) => sample.reply)).toEqual(Array(3).fill("OK 2 2 3"));
});

test("spawned: a lost reply is exit 1, after the summary", async () => {
  const mute = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  const result = await runLesson(FILE, [
    "--port",
    String(mute.port),
    "--count",
    "2",
    "--timeout-ms",
    "100",
  ]);
  expect(result.code).toBe(1);
  expect(result.stdout).toBe(
    [
      "#1 no reply within 100 ms; going on",
      "#2 no reply within 100 ms; going on",
      "#1 lost: no reply at all",
      "#2 lost: no reply at all",
      `127.0.0.1:${mute.port} (tcp): 2 sent, 0 late, 2 lost\n`,
    ].join("\n"),
  );
});

test("spawned: refused is one sentence, exit 1", async () => {
  const port = closedPort();
  const refused = await runLesson(FILE, ["--port", String(port)]);
  expect(refused).toEqual({
    code: 1,
    stdout: "",
    stderr: `127.0.0.1:${port} (tcp) refused the connection: nothing listens there; start the server, or check --host and --port\n`,
  });
});

test.each([
  [["--count", "0"], '--count must be a whole number from 1 to 10000 (got "0")'],
  [["--count", "-1"], '--count must be a whole number from 1 to 10000 (got "-1")'],
  [["--port", "0"], '--port must be a whole number from 1 to 65535 (got "0")'],
  [["--timeout-ms", "soon"], '--timeout-ms must be a whole number from 1 to 600000 (got "soon")'],
])("spawned: bad arguments %p, exit 2", async (args, reason) => {
  const result = await runLesson(FILE, args);
  expect(result.code).toBe(2);
  expect(result.stderr).toStartWith(`${reason}\n\nusage: bun run 05-calc/10-late-replies.ts`);
});
