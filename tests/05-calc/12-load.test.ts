/**
 * Lesson 05/12, the load generator: percentiles by nearest rank, a plan that is the same
 * every run, every reply checked against the expected one, over TCP (closed loops, pipelined)
 * and UDP (through a proxy that drops and holds datagrams by number); then the script as a
 * student runs it, in words and as JSON with rounded figures, and its bad arguments.
 */
import { expect, test } from "bun:test";
import { startUdpServer } from "../../05-calc/04-udp-server.ts";
import { startConcurrentServer } from "../../05-calc/06-concurrent-server.ts";
import { percentiles, plan, runLoad } from "../../05-calc/12-load.ts";
import { UdpProxy } from "../fixtures/udp-proxy.ts";
import { closedPort, runLesson, startLesson, tracker } from "../helpers.ts";
import { lesson } from "./support.ts";

const track = tracker();
const quiet = (): void => {};
const FILE = lesson("12-load");

async function udpServer(): Promise<number> {
  const server = await startUdpServer({ port: 0, log: quiet });
  track({ stop: () => server.stop() });
  return server.udp.port;
}

test("percentiles: nearest rank, rounded to the microsecond", () => {
  const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
  expect(percentiles(samples)).toEqual({ count: 100, p50: 50, p90: 90, p99: 99 });
  expect(percentiles([])).toEqual({ count: 0, p50: 0, p90: 0, p99: 0 });
  expect(percentiles([7])).toEqual({ count: 1, p50: 7, p90: 7, p99: 7 });
  expect(percentiles([0.9407370000000004])).toEqual({
    count: 1,
    p50: 0.941,
    p90: 0.941,
    p99: 0.941,
  });
});

test("plan: the same every time, heavy requests exactly at the ratio, cheap ones never ERR", () => {
  const jobs = plan(1000, 0.1, "isprime 97");
  expect(plan(1000, 0.1, "isprime 97")).toEqual(jobs);
  expect(jobs.filter((job) => job.heavy).length).toBe(100);
  expect(plan(50, 0, "isprime 97").some((job) => job.heavy)).toBe(false);
  for (const job of jobs.filter((entry) => !entry.heavy)) expect(job.expected).toStartWith("OK ");
});

test("runLoad over TCP: every request answered and checked, cheap and heavy apart", async () => {
  const server = track(startConcurrentServer({ port: 0, log: quiet }));
  const report = await runLoad({
    host: "127.0.0.1",
    port: server.tcp.port,
    connections: 8,
    requests: 400,
    heavyRatio: 0.05,
    heavy: "isprime 1000003",
  });
  expect(report).toMatchObject({
    target: `127.0.0.1:${server.tcp.port} (tcp)`,
    sent: 400,
    answered: 400,
    errors: 0,
    lost: 0,
  });
  expect([report.cheap.count, report.heavy.count]).toEqual([380, 20]);
  expect(report.rate).toBeGreaterThan(0);
  expect(report.cheap.p50).toBeLessThanOrEqual(report.cheap.p99);
});

test("runLoad --pipeline: several requests in flight per connection, every reply matched to its own", async () => {
  const tcp = track(startConcurrentServer({ port: 0, log: quiet }));
  for (const [port, udp] of [
    [tcp.tcp.port, false],
    [await udpServer(), true],
  ] as const) {
    const load = { connections: 3, pipeline: 8, requests: 600, heavyRatio: 0 };
    const report = await runLoad({ host: "127.0.0.1", port, udp, ...load });
    // Every cheap request's reply differs: one matched to the wrong request would be an error.
    expect(report).toMatchObject({ sent: 600, answered: 600, errors: 0, lost: 0 });
  }
});

test("runLoad counts wrong answers as errors", async () => {
  const liar = track(
    Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(socket, chunk) {
          socket.write("OK 0\n".repeat(chunk.toString().split("\n").length - 1));
        },
      },
    }),
  );
  const load = { connections: 2, requests: 20, heavyRatio: 0 };
  const report = await runLoad({ host: "127.0.0.1", port: liar.port, ...load });
  expect(report).toMatchObject({ answered: 20, errors: 20, lost: 0 });
});

test("runLoad over UDP through a lossy proxy: exactly the dropped datagrams are lost", async () => {
  const port = await udpServer();
  const drop = { "to-server": [3, 7], "to-client": [10] };
  await using proxy = await UdpProxy.start({ port }, { drop });
  const report = await runLoad({
    host: "127.0.0.1",
    port: proxy.port,
    udp: true,
    connections: 1,
    requests: 30,
    heavyRatio: 0,
    timeoutMs: 500,
  });
  expect(report).toMatchObject({ sent: 30, answered: 27, lost: 3, errors: 0 });
});

test("runLoad over UDP: a held (late) reply is lost, and never taken for the next request's", async () => {
  const port = await udpServer();
  await using proxy = await UdpProxy.start({ port }, { hold: { "to-client": [4] } });
  const report = await runLoad({
    host: "127.0.0.1",
    port: proxy.port,
    udp: true,
    connections: 1,
    requests: 12,
    heavyRatio: 0,
    timeoutMs: 500,
  });
  expect(report).toMatchObject({ sent: 12, answered: 11, lost: 1, errors: 0 });
});

test("runLoad against a mute TCP server ends: each client loses one request and stops", async () => {
  const mute = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  const report = await runLoad({
    host: "127.0.0.1",
    port: mute.port,
    connections: 3,
    requests: 100,
    timeoutMs: 100,
  });
  expect(report).toMatchObject({ sent: 3, answered: 0, lost: 3 });
});

test("spawned with no --host/--port: a small run against its own server, in words", async () => {
  const args = ["--requests", "60", "--connections", "3", "--heavy-ratio", "0.1"];
  const result = await runLesson(FILE, args);
  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(
    /^no --host or --port: started 05-calc\/06-concurrent-server\.ts on 127\.0\.0\.1:\d+ for this run\n$/,
  );
  expect(result.stdout).toMatch(
    /^127\.0\.0\.1:\d+ \(tcp\): 60 of 60 answered in [\d.]+ s, [\d,]+ req\/s; 0 wrong or ERR, 0 lost\n {2}cheap \(54\): p50 [\d.]+ ms, p90 [\d.]+ ms, p99 [\d.]+ ms\n {2}heavy \(6\): p50/,
  );
});

test("spawned: --udp --json against a spawned UDP server is one JSON document, its figures rounded", async () => {
  await using server = startLesson(lesson("04-udp-server"), ["--port", "0"]);
  const { port } = await server.listening("udp");
  const args = ["--udp", "--port", String(port), "--requests", "50", "--heavy-ratio", "0"];
  const result = await runLesson(FILE, [...args, "--json"]);
  expect(result.code).toBe(0);
  // Seconds, rates and milliseconds: at most three decimals, never 0.9407370000000004.
  expect(result.stdout).not.toMatch(/\d\.\d{4,}/);
  expect(JSON.parse(result.stdout)).toMatchObject({
    target: `127.0.0.1:${port} (udp)`,
    sent: 50,
    answered: 50,
    lost: 0,
    errors: 0,
  });
});

test("spawned: refused is one sentence, exit 1; bad flags exit 2", async () => {
  const port = closedPort();
  const refused = await runLesson(FILE, ["--port", String(port), "--requests", "5"]);
  expect(refused).toEqual({
    code: 1,
    stdout: "",
    stderr: `127.0.0.1:${port} (tcp) refused the connection: nothing listens there; start the server, or check --host and --port\n`,
  });
  for (const [args, reason] of [
    [["--heavy-ratio", "2"], '--heavy-ratio must be a number from 0 to 1 (got "2")'],
    [["--connections", "0"], '--connections must be a whole number from 1 to 1000 (got "0")'],
    [["--pipeline", "0"], '--pipeline must be a whole number from 1 to 1000 (got "0")'],
    [["--max-seconds", "x"], '--max-seconds must be a whole number from 1 to 600 (got "x")'],
    [["--requests", "-5"], '--requests must be a whole number from 1 to 1000000 (got "-5")'],
  ] as const) {
    const result = await runLesson(FILE, [...args]);
    expect({ code: result.code, reason: result.stderr.split("\n")[0] }).toEqual({
      code: 2,
      reason,
    });
  }
});
