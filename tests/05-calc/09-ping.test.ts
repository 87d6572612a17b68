/**
 * Lesson 05/09, ping over TCP: one request at a time, each reply's round trip; a reply later
 * than the timeout, a server that hangs up, or a line that is no reply ends it in one
 * sentence. Then the script as a student runs it: offline with lesson 06's server, --json
 * with rounded times, a slow server, a refused one, and its bad arguments.
 */
import { expect, test } from "bun:test";
import { startConcurrentServer } from "../../05-calc/06-concurrent-server.ts";
import { ping } from "../../05-calc/09-ping.ts";
import { answer } from "../../05-calc/protocol.ts";
import { closedPort, runLesson, tracker } from "../helpers.ts";
import { lesson, rejection } from "./support.ts";

const track = tracker();
const FILE = lesson("09-ping");

/** A TCP server that answers each line with `reply(line)`, line `slowOne` (from 1) 400 ms late. */
function fakeServer(reply: (line: string) => string, slowOne = 0) {
  let n = 0;
  return track(
    Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(socket, chunk) {
          for (const line of chunk.toString().split("\n").slice(0, -1)) {
            const delay = ++n === slowOne ? 400 : 0;
            setTimeout(() => socket.write(reply(line)), delay);
          }
        },
      },
    }),
  );
}

test("ping(): one sample per request, each with its reply and round trip", async () => {
  const server = track(startConcurrentServer({ port: 0, log() {} }));
  const samples = await Array.fromAsync(ping("6 * 7", { port: server.tcp.port, count: 3 }));
  expect(samples.map(({ seq, reply }) => `#${seq} ${reply}`)).toEqual([
    "#1 OK 42",
    "#2 OK 42",
    "#3 OK 42",
  ]);
  for (const sample of samples) expect(sample.ms).toBeGreaterThan(0);
});

test("a reply slower than the timeout ends the run: no reply within N ms", async () => {
  const slow = fakeServer((line) => `${answer(line)}\n`, 1);
  const samples = ping("1 + 1", { port: slow.port, count: 3, timeoutMs: 100 });
  expect(await rejection(Array.fromAsync(samples))).toBe("no reply within 100 ms");
});

test("only a reply counts: an echo, or a server that hangs up, is a sentence", async () => {
  const echo = fakeServer((line) => `${line}\n`);
  expect(await rejection(Array.fromAsync(ping("1 + 1", { port: echo.port })))).toBe(
    'the server sent something that is not a reply: "1 + 1"',
  );
  const rude = track(
    Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (socket) => void socket.end() } }),
  );
  expect(await rejection(Array.fromAsync(ping("1 + 1", { port: rude.port })))).toBe(
    "the server closed the connection",
  );
});

test("spawned with no --host/--port: starts lesson 06's server (said on stderr), five samples and a summary", async () => {
  const result = await runLesson(FILE, []);
  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(
    /^no --host or --port: started 05-calc\/06-concurrent-server\.ts on 127\.0\.0\.1:\d+ for this run\n$/,
  );
  const out = result.stdout.split("\n");
  out.slice(0, 5).forEach((line, i) => {
    expect(line).toMatch(new RegExp(`^#${i + 1} OK 42 in \\d+\\.\\d\\d ms$`));
  });
  expect(out[5]).toMatch(
    /^127\.0\.0\.1:\d+ \(tcp\): 5 sent; min\/avg\/max [\d.]+\/[\d.]+\/[\d.]+ ms$/,
  );
});

test("spawned: --json is one document, its times rounded to the microsecond", async () => {
  const server = track(startConcurrentServer({ port: 0, log() {} }));
  const port = String(server.tcp.port);
  const result = await runLesson(FILE, ["--port", port, "--count", "3", "--json", "factor 12"]);
  expect(result.code).toBe(0);
  expect(result.stdout).not.toMatch(/\d\.\d{4,}/);
  const report = JSON.parse(result.stdout);
  expect(report).toMatchObject({
    server: `127.0.0.1:${port} (tcp)`,
    request: "factor 12",
    sent: 3,
  });
  expect(report.samples.map((sample: { reply: string }) => sample.reply)).toEqual(
    Array(3).fill("OK 2 2 3"),
  );
});

test("spawned: a slow reply is one sentence, exit 1, after the samples before it", async () => {
  const slow = fakeServer((line) => `${answer(line)}\n`, 2);
  const result = await runLesson(FILE, ["--port", String(slow.port), "--timeout-ms", "100"]);
  expect(result.code).toBe(1);
  expect(result.stdout).toMatch(/^#1 OK 42 in \d+\.\d\d ms\n$/);
  expect(result.stderr).toBe(`127.0.0.1:${slow.port} (tcp): no reply within 100 ms\n`);
});

test("spawned: refused is one sentence, exit 1", async () => {
  const port = closedPort();
  expect(await runLesson(FILE, ["--port", String(port)])).toEqual({
    code: 1,
    stdout: "",
    stderr: `127.0.0.1:${port} (tcp) refused the connection: nothing listens there; start the server, or check --host and --port\n`,
  });
});

test.each([
  [["--count", "0"], '--count must be a whole number from 1 to 10000 (got "0")'],
  [["--port", "0"], '--port must be a whole number from 1 to 65535 (got "0")'],
  [["--timeout-ms", "soon"], '--timeout-ms must be a whole number from 1 to 600000 (got "soon")'],
])("spawned: bad arguments %p, exit 2", async (args, reason) => {
  const result = await runLesson(FILE, args);
  expect(result.code).toBe(2);
  expect(result.stderr).toStartWith(`${reason}\n\nusage: bun run 05-calc/09-ping.ts`);
});
