/**
 * Lesson 05/05, the UDP calculator client: an id per request, resent on silence (a proxy
 * drops and holds datagrams by number, tests/fixtures/udp-proxy.ts), late and stray replies
 * ignored, a re-ask padded to what the server needs, and a sentence for a port nobody
 * listens on, an address with no route, and silence; then the script as a student runs it.
 */
import { expect, test } from "bun:test";
import { startUdpServer } from "../../05-calc/04-udp-server.ts";
import { calculateUdp } from "../../05-calc/05-udp-client.ts";
import { answer } from "../../05-calc/protocol.ts";
import { UdpProxy } from "../fixtures/udp-proxy.ts";
import {
  canUsePrivateNetwork,
  PRIVATE_NETWORK,
  runLesson,
  startLesson,
  tracker,
} from "../helpers.ts";
import { closedUdpPort, lesson } from "./support.ts";

const track = tracker();
const quiet = (): void => {};
const FILE = lesson("05-udp-client");
const privateNetwork = await canUsePrivateNetwork();

/** Lesson 04's server in this process, stopped after the test. */
async function udpServer(host = "127.0.0.1"): Promise<number> {
  const server = await startUdpServer({ host, port: 0, log: quiet });
  track({ stop: () => server.stop() });
  return server.udp.port;
}

/** The error a promise rejects with, or null. */
const failure = (promise: Promise<unknown>): Promise<NodeJS.ErrnoException | null> =>
  promise.then(
    () => null,
    (error: NodeJS.ErrnoException) => error,
  );

test("calculateUdp(): results in order, each after one attempt", async () => {
  const port = await udpServer();
  const { results, ignored } = await calculateUdp(["12 + 30", "", "1 / 0"], { port });
  expect(ignored).toBe(0);
  expect(results).toEqual([
    { request: "12 + 30", attempts: 1, ok: true, value: "42" },
    {
      request: "1 / 0",
      attempts: 1,
      ok: false,
      code: "division-by-zero",
      message: "cannot divide by zero",
    },
  ]);
});

test("over IPv6 (::1) too", async () => {
  const port = await udpServer("::1");
  const { results } = await calculateUdp(["6 * 7"], { host: "::1", port });
  expect(results).toEqual([{ request: "6 * 7", attempts: 1, ok: true, value: "42" }]);
});

test("a result bigger than the 128-byte padding: told the size, asks again padded to it", async () => {
  const port = await udpServer();
  const { results } = await calculateUdp(["2 ^ 3000"], { port });
  expect(results[0]).toEqual({
    request: "2 ^ 3000",
    attempts: 1,
    ok: true,
    value: (2n ** 3000n).toString(),
  });
});

test("the request is lost (proxy drops datagram 1 to the server): resent, answered", async () => {
  const port = await udpServer();
  await using proxy = await UdpProxy.start({ port }, { drop: { "to-server": [1] } });
  const { results } = await calculateUdp(["6 * 7"], { port: proxy.port, timeoutMs: 500 });
  expect(results).toEqual([{ request: "6 * 7", attempts: 2, ok: true, value: "42" }]);
  expect(
    proxy.events.filter((event) => event.direction === "to-server").map((event) => event.action),
  ).toEqual(["dropped", "forwarded"]);
});

test("the reply is lost (proxy drops datagram 1 to the client): resent, answered", async () => {
  const port = await udpServer();
  await using proxy = await UdpProxy.start({ port }, { drop: { "to-client": [1] } });
  const { results } = await calculateUdp(["6 * 7"], { port: proxy.port, timeoutMs: 500 });
  expect(results).toEqual([{ request: "6 * 7", attempts: 2, ok: true, value: "42" }]);
});

test("a late reply to request 1 arriving while request 2 waits is not taken for its answer", async () => {
  // A server that, asked request 2, first sends again its reply to request 1 (late, as a
  // network that duplicated or delayed it would), then the right one.
  const server = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(socket, datagram, port, address) {
        const [id = "", ...words] = datagram.toString().trim().split(" ");
        if (id === "2") socket.send("1 OK 2\n", port, address);
        socket.send(`${id} ${answer(words.join(" "))}\n`, port, address);
      },
    },
  });
  try {
    const done = await calculateUdp(["1 + 1", "40 + 2"], { port: server.port });
    expect(done.results.map((result) => result.ok && result.value)).toEqual(["2", "42"]);
    expect(done.ignored).toBe(1);
  } finally {
    server.close();
  }
});

test("a reply held back by the network (proxy holds reply 1) is still matched by its id", async () => {
  const port = await udpServer();
  // Reply 1 waits until the next datagram: the resend of request 1. The client takes the
  // released reply, moves on, and asks request 2 from a fresh socket: answered.
  await using proxy = await UdpProxy.start({ port }, { hold: { "to-client": [1] } });
  const { results } = await calculateUdp(["1 + 1", "40 + 2"], {
    port: proxy.port,
    timeoutMs: 500,
  });
  expect(results.map((result) => [result.ok && result.value, result.attempts])).toEqual([
    ["2", 2],
    ["42", 1],
  ]);
  expect(proxy.events.some((event) => event.action === "released")).toBe(true);
});

test("reordered requests (proxy holds request 1 behind request 2): the server's ids keep them apart", async () => {
  const port = await udpServer();
  await using proxy = await UdpProxy.start({ port }, { hold: { "to-server": [1] } });
  const replies: string[] = [];
  const { promise, resolve } = Promise.withResolvers<void>();
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(_socket, data) {
        replies.push(data.toString());
        if (replies.length === 2) resolve();
      },
      error() {},
    },
  });
  try {
    socket.send(`a 1 + 1${" ".repeat(10)}`, proxy.port, "127.0.0.1");
    socket.send(`b 2 + 2${" ".repeat(10)}`, proxy.port, "127.0.0.1");
    await promise;
    expect(replies).toEqual(["b OK 4\n", "a OK 2\n"]);
    expect(
      proxy.events.map((event) => `${event.direction}#${event.n} ${event.action}`).slice(0, 3),
    ).toEqual(["to-server#1 held", "to-server#2 forwarded", "to-server#1 released"]);
  } finally {
    socket.close();
  }
});

test("nothing listening: the kernel's port unreachable ends it at once, as a refusal", async () => {
  const port = await closedUdpPort();
  const started = performance.now();
  const error = await failure(calculateUdp(["1 + 1"], { port, timeoutMs: 10_000 }));
  expect(error?.code).toBe("ECONNREFUSED");
  expect(performance.now() - started).toBeLessThan(5_000);
});

test("every datagram lost: gives up after --attempts, with a timeout", async () => {
  const port = await udpServer();
  await using proxy = await UdpProxy.start({ port }, { drop: { "to-server": [1, 2, 3] } });
  const promise = calculateUdp(["1 + 1"], { port: proxy.port, timeoutMs: 100, attempts: 3 });
  const error = await failure(promise);
  expect({ code: error?.code, message: error?.message }).toEqual({
    code: "ETIMEDOUT",
    message: "no answer within 0.3 s",
  });
  expect(proxy.count("to-server")).toBe(3);
});

const OFFLINE =
  /^no --host or --port: started 05-calc\/04-udp-server\.ts on 127\.0\.0\.1:\d+ for this run\n$/;

test("spawned with no --host/--port: its own server (said on stderr), the answer", async () => {
  const result = await runLesson(FILE, ["2 ^ 64"]);
  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(OFFLINE);
  expect(result.stdout).toBe("2 ^ 64 = 18446744073709551616\n");
});

test("spawned with no arguments: says what it started and what to type; -5 + 3 unquoted works", async () => {
  const typed = await runLesson(FILE, [], { input: "6 * 7\n" });
  expect(typed.stderr).toMatch(OFFLINE);
  expect(typed.stdout).toBe(
    "type a calculation a line (12 + 30, 2 ^ 64, isprime 97); Ctrl-D ends\n6 * 7 = 42\n",
  );
  const negative = await runLesson(FILE, ["-5", "+", "3"]);
  expect(negative.stdout).toBe("-5 + 3 = -2\n");
});

test("spawned: stdin to a spawned UDP server, --json", async () => {
  await using server = startLesson(lesson("04-udp-server"), ["--port", "0"]);
  const { port } = await server.listening("udp");
  const result = await runLesson(FILE, ["--host", "127.0.0.1", "--port", String(port), "--json"], {
    input: "factor 360\nabc\n",
  });
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual({
    server: `127.0.0.1:${port}`,
    local: false,
    ignored: 0,
    results: [
      { request: "factor 360", attempts: 1, ok: true, value: "2 2 2 3 3 5" },
      {
        request: "abc",
        attempts: 1,
        ok: false,
        code: "unknown-op",
        message: 'unknown operation "abc": use + - * / % ^ or isprime, factor',
      },
    ],
  });
});

test.skipIf(!privateNetwork)(
  "spawned: no route to the address is one sentence, exit 1 (private network)",
  async () => {
    const args = ["--host", "192.0.2.1", "--port", "65433", "1 + 1"];
    const result = await runLesson(FILE, args, { argvPrefix: PRIVATE_NETWORK });
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "no route to 192.0.2.1: this machine has no network path there (check the address, or your network)\n",
    });
  },
);

test("spawned: nothing on that port is one sentence, exit 1", async () => {
  const port = await closedUdpPort();
  const result = await runLesson(FILE, ["--port", String(port), "1 + 1"]);
  expect(result).toEqual({
    code: 1,
    stdout: "",
    stderr: `127.0.0.1:${port} (udp): port unreachable, nothing listens on that UDP port; start the server, or check --host and --port\n`,
  });
});

test("spawned: a server that never answers is one sentence after --attempts, exit 1", async () => {
  const mute = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data() {} } });
  try {
    const args = ["--port", String(mute.port), "--timeout-ms", "100", "--attempts", "2", "1 + 1"];
    const result = await runLesson(FILE, args);
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: `127.0.0.1:${mute.port} (udp) did not answer (no answer within 0.2 s): the host may be down, or a firewall drops the packets\n`,
    });
  } finally {
    mute.close();
  }
});

test.each([
  [["--attempts", "0"], '--attempts must be a whole number from 1 to 100 (got "0")'],
  [["--timeout-ms", "fast"], '--timeout-ms must be a whole number from 1 to 60000 (got "fast")'],
  [["--port", "0", "1 + 1"], '--port must be a whole number from 1 to 65535 (got "0")'],
  [["--attempts", "-1"], '--attempts must be a whole number from 1 to 100 (got "-1")'],
])("spawned: bad arguments %p, exit 2", async (args, reason) => {
  const result = await runLesson(FILE, args);
  expect(result.code).toBe(2);
  expect(result.stderr).toStartWith(`${reason}\n\nusage:`);
});
