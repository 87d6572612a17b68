/**
 * Lesson 05/04, the UDP calculator server: one datagram in, one out, with the id repeated and
 * a newline; never a reply bigger than the request, never a reply to a reply; the ReplyGuard's
 * own address and per-source rate; quick work only; and the server as a student runs it.
 */
import { expect, test } from "bun:test";
import { startUdpServer } from "../../05-calc/04-udp-server.ts";
import { inUse, runLesson, startLesson, tracker, udpRequest } from "../helpers.ts";
import { exchange, lesson, SLOW } from "./support.ts";

const track = tracker();
const quiet = (): void => {};
const FILE = lesson("04-udp-server");
const stopAfter = <T extends { stop(): void }>(server: T) =>
  track({ ...server, stop: () => server.stop() });

test("answers each datagram to its sender with the id repeated and a newline", async () => {
  const server = stopAfter(await startUdpServer({ port: 0, log: quiet }));
  expect((await udpRequest(server.udp.port, "7 12 + 30")).toString()).toBe("7 OK 42\n");
  expect((await udpRequest(server.udp.port, `x9 1 / 0${" ".repeat(40)}\n`)).toString()).toBe(
    "x9 ERR division-by-zero: cannot divide by zero\n",
  );
});

test("replies from one socket read as separate lines (as nc -u prints them)", async () => {
  const server = stopAfter(await startUdpServer({ port: 0, log: quiet }));
  const replies = await exchange(server.udp.port, ["1 1 + 1", "2 2 + 2"], (got) => got.length >= 2);
  expect(replies.toSorted().join("")).toBe("1 OK 2\n2 OK 4\n");
});

test("a request too short for its reply gets no reply at all: the next request's reply comes first", async () => {
  const server = stopAfter(await startUdpServer({ port: 0, log: quiet }));
  // One socket, and the server answers in order: once the reply to 2 is in, a reply to 1
  // would have come before it.
  const replies = await exchange(server.udp.port, ["1 2 ^ 64", "2 1 + 1"], (got) =>
    got.some((reply) => reply.startsWith("2 ")),
  );
  expect(replies[0]).toBe("2 OK 2\n");
  expect(replies.some((reply) => reply.startsWith("1 "))).toBe(false);
  expect(server.stats.withheld).toBeGreaterThanOrEqual(1);
});

test("a padded request gets the big reply; a half-padded one the short error", async () => {
  const server = stopAfter(await startUdpServer({ port: 0, log: quiet }));
  const ask = async (text: string) => (await udpRequest(server.udp.port, text)).toString();
  expect(await ask(`3 2 ^ 64${" ".repeat(18)}`)).toBe("3 OK 18446744073709551616\n");
  expect(await ask(`4 2 ^ 64${" ".repeat(40)}`)).toBe("4 OK 18446744073709551616\n");
  expect(await ask(`5 2 ^ 200${" ".repeat(40)}`)).toBe("5 ERR reply-too-large: needs 67 bytes\n");
});

test("a datagram that is a reply gets no reply, so no loop with another server", async () => {
  const server = stopAfter(await startUdpServer({ port: 0, log: quiet }));
  // As above: once the reply to 2 is in, a reply to the first datagram would be in too.
  const first = "1 ERR unknown-op".padEnd(60);
  const replies = await exchange(server.udp.port, [first, "2 1 + 1"], (got) =>
    got.some((reply) => reply.startsWith("2 ")),
  );
  expect(replies).toEqual(["2 OK 2\n"]);
  expect(server.stats.withheld).toBeGreaterThanOrEqual(1);
});

test("quick work only: isprime of a big prime gets ERR too-heavy at once", async () => {
  const server = stopAfter(await startUdpServer({ port: 0, log: quiet }));
  const started = performance.now();
  const reply = (await udpRequest(server.udp.port, `1 ${SLOW}`.padEnd(128))).toString();
  expect(reply).toStartWith("1 ERR too-heavy: isprime would try divisors past 100000,");
  expect(performance.now() - started).toBeLessThan(500);
});

test("the ReplyGuard knows the server's own address: it never answers itself", async () => {
  const server = stopAfter(await startUdpServer({ port: 0, log: quiet }));
  const request = Buffer.from("7 12 + 30");
  expect(server.guard.allows("127.0.0.1", server.udp.port, request, "7 OK 42\n")).toBe(false);
  expect(server.guard.refused["own address"]).toBe(1);
});

test("one source gets at most the guard's burst (2000) and 1000 a second: the rest is refused", async () => {
  const server = stopAfter(await startUdpServer({ port: 0, log: quiet }));
  const socket = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data() {}, error() {} } });
  try {
    // In batches the server reads before the next: the kernel's buffer drops none.
    for (let sent = 0; sent < 4000;) {
      for (let i = 0; i < 100; i++) socket.send(`${sent + i} 1 + 1`, server.udp.port, "127.0.0.1");
      sent += 100;
      while (server.stats.received < sent) await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    socket.close();
  }
  expect(server.stats.received).toBe(4000);
  expect(server.guard.refused.rate).toBeGreaterThan(1000);
  expect(server.stats.answered).toBeLessThan(3000);
});

test("spawned: listening line (udp), --verbose logs each request, Ctrl-C prints the counts", async () => {
  await using server = startLesson(FILE, ["--port", "0", "--verbose"]);
  const { port } = await server.listening("udp");
  // 8 bytes: a reply ("1 OK 42" and its newline) is never bigger than its request.
  expect((await udpRequest(port, "1 6 * 7\n")).toString()).toBe("1 OK 42\n");
  await server.waitFor(/127\.0\.0\.1:\d+: "1 6 \* 7\\n" -> "1 OK 42\\n"/);
  const { code, stdout } = await server.stop("SIGINT");
  expect(code).toBe(0);
  expect(stdout).toMatch(
    /stopped: \d+ request\(s\), \d+ answered, 0 left unanswered\nstopped by SIGINT: the port is free again\n$/,
  );
});

test("spawned: SIGTERM says it stopped too", async () => {
  await using server = startLesson(FILE, ["--port", "0"]);
  await server.listening("udp");
  const { code, stdout } = await server.stop("SIGTERM");
  expect(code).toBe(0);
  expect(stdout).toEndWith("stopped by SIGTERM: the port is free again\n");
});

test("spawned: UDP port in use is one sentence, exit 1", async () => {
  const holder = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data() {}, error() {} } });
  try {
    const result = await runLesson(FILE, ["--port", String(holder.port)]);
    expect(result).toEqual({ code: 1, stdout: "", stderr: `${inUse(holder.port)}\n` });
  } finally {
    holder.close();
  }
});

test("spawned: a --host that is not an IP address is refused before binding, exit 2", async () => {
  const result = await runLesson(FILE, ["--host", "not-an-address", "--port", "0"]);
  expect(result.code).toBe(2);
  expect(result.stderr).toStartWith(
    '--host must be an IP address of this machine, like 127.0.0.1 or ::1 (got "not-an-address")\n\nusage: bun run 05-calc/04-udp-server.ts',
  );
});
