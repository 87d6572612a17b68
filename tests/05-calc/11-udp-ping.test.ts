/**
 * Lesson 05/11, ping over UDP: one datagram at a time, asked once; a lost datagram is a lost
 * sample and the loop goes on (a proxy drops and holds datagrams by number); a late reply is
 * never taken for the next request's. Then the script as a student runs it.
 */
import { expect, test } from "bun:test";
import { startUdpServer } from "../../05-calc/04-udp-server.ts";
import { pingUdp } from "../../05-calc/11-udp-ping.ts";
import { UdpProxy } from "../fixtures/udp-proxy.ts";
import { runLesson, startLesson, tracker } from "../helpers.ts";
import { closedUdpPort, lesson, rejection } from "./support.ts";

const track = tracker();
const FILE = lesson("11-udp-ping");

async function udpServer(): Promise<number> {
  const server = await startUdpServer({ port: 0, log() {} });
  track({ stop: () => server.stop() });
  return server.udp.port;
}

test("pingUdp(): one sample per request, each its own reply", async () => {
  const port = await udpServer();
  const samples = await Array.fromAsync(pingUdp("2 ^ 100", { port, count: 3 }));
  expect(samples.map((sample) => sample.reply)).toEqual(
    Array(3).fill("OK 1267650600228229401496703205376"),
  );
  for (const sample of samples) expect(sample.ms).toBeGreaterThan(0);
});

test("a lost request is a lost sample, and the loop goes on", async () => {
  const port = await udpServer();
  await using proxy = await UdpProxy.start({ port }, { drop: { "to-server": [2] } });
  const samples = await Array.fromAsync(
    pingUdp("1 + 1", { port: proxy.port, count: 3, timeoutMs: 600 }),
  );
  expect(samples.map((sample) => sample.reply)).toEqual(["OK 2", null, "OK 2"]);
});

test("a late reply is not the answer to the next request", async () => {
  const port = await udpServer();
  // Reply 1 is held until the next datagram (request 2), then delivered right after it.
  await using proxy = await UdpProxy.start({ port }, { hold: { "to-client": [1] } });
  const samples = await Array.fromAsync(
    pingUdp("20 + 22", { port: proxy.port, count: 2, timeoutMs: 300 }),
  );
  expect(samples.map((sample) => sample.reply)).toEqual([null, "OK 42"]);
  await proxy.until((event) => event.action === "released");
});

test("nothing listening: the kernel's port unreachable ends it, as a refusal", async () => {
  const port = await closedUdpPort();
  const failed = await rejection(Array.fromAsync(pingUdp("1 + 1", { port, timeoutMs: 5_000 })));
  expect(failed).not.toBeNull();
});

test("spawned with no --host/--port: starts lesson 04's server (said on stderr), five samples and a summary", async () => {
  const result = await runLesson(FILE, []);
  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(
    /^no --host or --port: started 05-calc\/04-udp-server\.ts on 127\.0\.0\.1:\d+ for this run\n$/,
  );
  const out = result.stdout.split("\n");
  for (const line of out.slice(0, 5)) expect(line).toMatch(/^#\d OK 42 in \d+\.\d\d ms$/);
  expect(out[5]).toMatch(/^127\.0\.0\.1:\d+ \(udp\): 5 sent, 0 lost; min\/avg\/max [\d./]+ ms$/);
});

test("spawned: --json against a spawned server, its times rounded", async () => {
  await using server = startLesson(lesson("04-udp-server"), ["--port", "0"]);
  const { port } = await server.listening("udp");
  const args = ["--port", String(port), "--count", "2", "--json", "factor 12"];
  const result = await runLesson(FILE, args);
  expect(result.code).toBe(0);
  expect(result.stdout).not.toMatch(/\d\.\d{4,}/);
  const report = JSON.parse(result.stdout);
  expect(report).toMatchObject({
    server: `127.0.0.1:${port} (udp)`,
    request: "factor 12",
    sent: 2,
    lost: 0,
  });
  expect(report.samples.map((sample: { reply: string }) => sample.reply)).toEqual([
    "OK 2 2 3",
    "OK 2 2 3",
  ]);
});

test("spawned: a server that drops everything: each sample lost, exit 0 (loss is UDP's way)", async () => {
  const mute = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data() {} } });
  try {
    const args = ["--port", String(mute.port), "--count", "2", "--timeout-ms", "100"];
    const result = await runLesson(FILE, args);
    expect(result).toEqual({
      code: 0,
      stdout: `#1 lost: no reply within 100 ms\n#2 lost: no reply within 100 ms\n127.0.0.1:${mute.port} (udp): 2 sent, 2 lost\n`,
      stderr: "",
    });
  } finally {
    mute.close();
  }
});

test("spawned: nothing on that port is one sentence, exit 1; bad flags exit 2", async () => {
  const port = await closedUdpPort();
  const refused = await runLesson(FILE, ["--port", String(port)]);
  expect(refused).toEqual({
    code: 1,
    stdout: "",
    stderr: `127.0.0.1:${port} (udp): port unreachable, nothing listens on that UDP port; start the server, or check --host and --port\n`,
  });
  for (const [args, why] of [
    [["--count", "-1"], '--count must be a whole number from 1 to 10000 (got "-1")'],
    [["--port", "0"], '--port must be a whole number from 1 to 65535 (got "0")'],
  ] as const) {
    const result = await runLesson(FILE, [...args]);
    expect({ code: result.code, why: result.stderr.split("\n")[0] }).toEqual({ code: 2, why });
  }
});
