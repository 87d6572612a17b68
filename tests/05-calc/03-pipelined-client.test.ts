/**
 * Lesson 05/03, the TCP calculator client: pipelined requests matched to replies by order, a
 * half-close that still reads, a sentence for each way a server fails us (refused, closed
 * early, not a calculator, silent, never accepting), and the script as a student runs it:
 * offline with its own server, from arguments or typed lines, --json, and its bad arguments.
 */
import { expect, test } from "bun:test";
import { startTcpServer } from "../../05-calc/01-tcp-server.ts";
import { type CalcResult, calculate, describe } from "../../05-calc/03-pipelined-client.ts";
import { answer } from "../../05-calc/protocol.ts";
import { silentPort } from "../fixtures/silent-port.ts";
import {
  canUsePrivateNetwork,
  closedPort,
  hasCommand,
  runLesson,
  SLOW_TEST_MS,
  tracker,
} from "../helpers.ts";
import { BLACKHOLE, lesson, rejection } from "./support.ts";

const track = tracker();
const quiet = (): void => {};
const FILE = lesson("03-pipelined-client");
const HINT = "type a calculation a line (12 + 30, 2 ^ 64, isprime 97); Ctrl-D ends\n";
const OFFLINE =
  /^no --host or --port: started 05-calc\/01-tcp-server\.ts on 127\.0\.0\.1:\d+ for this run\n$/;
const privateNetwork = await canUsePrivateNetwork();

test("calculate(): replies matched to requests in order, reported as they come", async () => {
  const server = track(startTcpServer({ port: 0, log: quiet }));
  const seen: CalcResult[] = [];
  const requests = Array.from({ length: 500 }, (_, i) => `${i} * ${i}`);
  const results = await calculate(["", ...requests, "  "], {
    port: server.tcp.port,
    onResult: (result) => seen.push(result),
  });
  expect(results).toEqual(
    requests.map((request, i) => ({ request, ok: true, value: String(i * i) })),
  );
  expect(seen).toEqual(results);
});

test("calculate() pipelines: every request is sent before the first reply is read", async () => {
  // A server that answers only once it has all three requests: a client that waited for
  // each reply before sending the next would hang here.
  let buffered = "";
  const listener = track(
    Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(socket, chunk) {
          buffered += chunk.toString();
          const lines = buffered.split("\n");
          if (lines.length > 3)
            socket.write(
              `${lines
                .slice(0, 3)
                .map((line) => answer(line))
                .join("\n")}\n`,
            );
        },
      },
    }),
  );
  const results = await calculate(["1 + 1", "2 + 2", "3 + 3"], { port: listener.port });
  expect(results.map((result) => result.ok && result.value)).toEqual(["2", "4", "6"]);
});

test("calculate() half-closes once it has asked everything, and still reads the replies", async () => {
  // This server answers only after the client's FIN: a client that closed instead of
  // half-closing would never read them.
  let asked = "";
  const listener = track(
    Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      allowHalfOpen: true,
      socket: {
        data(_socket, chunk) {
          asked += chunk.toString();
        },
        end(socket) {
          const lines = asked.split("\n").filter((line) => line.length > 0);
          socket.end(lines.map((line) => `${answer(line)}\n`).join(""));
        },
      },
    }),
  );
  const results = await calculate(["6 * 7", "1 / 0"], { port: listener.port });
  expect(results.map((result) => result.ok)).toEqual([true, false]);
});

test("calculate() rejects when the server closes with requests unanswered", async () => {
  const server = track(startTcpServer({ port: 0, log: quiet }));
  const promise = calculate(["1 + 1", "9".repeat(2000), "2 + 2"], { port: server.tcp.port });
  expect(await rejection(promise)).toContain(
    "the server closed the connection with 1 request(s) unanswered",
  );
});

test("calculate() rejects a reply that is not one", async () => {
  const listener = track(
    Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data: (socket) => void socket.write("hello there\n") },
    }),
  );
  expect(await rejection(calculate(["1 + 1"], { port: listener.port }))).toBe(
    'the server sent something that is not a reply: "hello there"',
  );
});

test("describe(): results in words, long requests shortened", () => {
  expect(describe({ request: "12 + 30", ok: true, value: "42" })).toBe("12 + 30 = 42");
  expect(
    describe({
      request: "1 / 0",
      ok: false,
      code: "division-by-zero",
      message: "cannot divide by zero",
    }),
  ).toBe("1 / 0 -> division-by-zero: cannot divide by zero");
  expect(describe({ request: "9".repeat(100), ok: true, value: "1" })).toBe(
    `${"9".repeat(40)}... = 1`,
  );
});

test.skipIf(!hasCommand("python3"))(
  "calculate(): a server that never accepts is given up after the connect time limit (needs Debian package python3)",
  async () => {
    await using silent = await silentPort();
    const promise = calculate(["1 + 1"], { port: silent.port, connectTimeoutMs: 300 });
    expect(await rejection(promise)).toBe("no answer within 0.3 s");
  },
);

test("calculate(): a server that accepts but never answers is given up after the reply time limit", async () => {
  // Half-open: the client's FIN after its last request must not close it. (Bun 1.4.5 closes
  // on FIN anyway unless there is an `end` handler, allowHalfOpen or not.)
  const socket = { data() {}, end() {} };
  const mute = track(Bun.listen({ hostname: "127.0.0.1", port: 0, allowHalfOpen: true, socket }));
  const started = performance.now();
  expect(await rejection(calculate(["1 + 1"], { port: mute.port, replyTimeoutMs: 200 }))).toBe(
    "no reply within 0.2 s; is it a calculator server?",
  );
  expect(performance.now() - started).toBeGreaterThanOrEqual(190);
});

test("spawned with no --host/--port: starts lesson 01's server itself, says so, answers the arguments", async () => {
  const result = await runLesson(FILE, ["2", "^", "100"]);
  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(OFFLINE);
  expect(result.stdout).toBe("2 ^ 100 = 1267650600228229401496703205376\n");
});

test("spawned with no arguments at all: says what it started, then what to type (it does not look hung)", async () => {
  const result = await runLesson(FILE, [], { input: "6 * 7\n" });
  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(OFFLINE);
  expect(result.stdout).toBe(`${HINT}6 * 7 = 42\n`);
});

test("spawned: stdin lines to a running server, --json is one document (no hint in it)", async () => {
  const server = track(startTcpServer({ port: 0, log: quiet }));
  const port = String(server.tcp.port);
  const result = await runLesson(FILE, ["--host", "127.0.0.1", "--port", port, "--json"], {
    input: "12 + 30\n\n7 / 0\nisprime 97\n",
  });
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual({
    server: `127.0.0.1:${port}`,
    local: false,
    results: [
      { request: "12 + 30", ok: true, value: "42" },
      { request: "7 / 0", ok: false, code: "division-by-zero", message: "cannot divide by zero" },
      { request: "isprime 97", ok: true, value: "true" },
    ],
  });
});

test("spawned: a calculation starting with - works quoted with a space first", async () => {
  const result = await runLesson(FILE, [" -5 + 3"]);
  expect(result.stdout).toBe("-5 + 3 = -2\n");
});

test("spawned: -5 + 3 unquoted is a calculation, not an unknown flag", async () => {
  const result = await runLesson(FILE, ["-5", "+", "3"]);
  expect(result.code).toBe(0);
  expect(result.stdout).toBe("-5 + 3 = -2\n");
});

test("spawned: refused connection is one sentence, exit 1", async () => {
  const port = closedPort();
  const result = await runLesson(FILE, ["--port", String(port), "1 + 1"]);
  expect(result).toEqual({
    code: 1,
    stdout: "",
    stderr: `127.0.0.1:${port} (tcp) refused the connection: nothing listens there; start the server, or check --host and --port\n`,
  });
});

test("spawned: the server hanging up early is one sentence, exit 1, after the replies it did send", async () => {
  const server = track(startTcpServer({ port: 0, log: quiet }));
  const result = await runLesson(FILE, ["--port", String(server.tcp.port)], {
    input: `1 + 1\n${"x".repeat(3000)}\n2 + 2\n`,
  });
  expect(result.code).toBe(1);
  const tooLong = "line-too-long: a request is at most 1024 bytes; closing the connection";
  expect(result.stdout).toBe(`${HINT}1 + 1 = 2\n${"x".repeat(40)}... -> ${tooLong}\n`);
  expect(result.stderr).toMatch(
    /^127\.0\.0\.1:\d+: the server closed the connection with 1 request\(s\) unanswered\n$/,
  );
});

test.skipIf(!privateNetwork)(
  "spawned: every TCP client gives up on an address that never answers, in one sentence (private network)",
  async () => {
    const target = ["--host", "192.0.2.1", "--port", "65432"];
    const options = { argvPrefix: BLACKHOLE };
    const [client, ping, load] = await Promise.all([
      runLesson(FILE, [...target, "1 + 1"], options),
      runLesson(lesson("09-ping"), target, options),
      runLesson(lesson("12-load"), [...target, "--connections", "2"], options),
    ]);
    const why =
      "192.0.2.1:65432 (tcp) did not answer (no answer within 5 s): the host may be down, or a firewall drops the packets\n";
    for (const result of [client, ping, load])
      expect(result).toEqual({ code: 1, stdout: "", stderr: why });
  },
  SLOW_TEST_MS,
);

test.each([
  [["--port", "99999", "1 + 1"], '--port must be a whole number from 1 to 65535 (got "99999")'],
  [["--port", "0", "1 + 1"], '--port must be a whole number from 1 to 65535 (got "0")'],
  [["--host", "a b", "1 + 1"], '--host must be a host name or an IP address (got "a b")'],
])("spawned: bad arguments %p are exit 2 with the reason and the usage", async (args, why) => {
  const result = await runLesson(FILE, args);
  expect(result.code).toBe(2);
  expect(result.stderr).toStartWith(`${why}\n\nusage: bun run 05-calc/03-pipelined-client.ts`);
});
