// Lesson 22, the load generator: N connections of ping-pong against an echo server, counted
// in a fixed histogram; a refused, hung-up or silent server is one sentence, not a table of zeros.
import { describe, expect, test } from "bun:test";
import { echoOverTcp } from "../../04-server/16-echo-tcp-server.ts";
import { runLoad } from "../../04-server/22-load.ts";
import { closedPort, runLesson, SLOW_TEST_MS, tracker } from "../helpers.ts";

const track = tracker();
const FILE = "04-server/22-load.ts";

const refused = (where: string): string =>
  `${where} refused the connection: nothing listens there; start the server, or check --host and --port`;

describe("22-load in-process", () => {
  test("a bounded count of ping-pongs against lesson 16, with percentiles in order", async () => {
    const server = track(echoOverTcp("127.0.0.1", 0));
    const result = await runLoad("127.0.0.1", server.tcp.port, {
      connections: 4,
      warmupMs: 50,
      durationMs: 20_000,
      maxRequests: 2_000,
    });
    expect(result.requests).toBe(2_000);
    expect(result.connections).toBe(4);
    expect(result.requestsPerSecond).toBeGreaterThan(0);
    expect(result.p50Ms).toBeLessThanOrEqual(result.p99Ms);
  });

  test("refused, and a server that hangs up mid-run, are one sentence each", async () => {
    const closed = closedPort();
    await expect(runLoad("127.0.0.1", closed, { connections: 2 })).rejects.toThrow(
      refused(`127.0.0.1:${closed} (tcp)`),
    );
    // This server hangs up on the first request of each connection.
    const listener = track(
      Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        socket: {
          data(socket) {
            socket.end();
          },
          error() {},
        },
      }),
    );
    await expect(
      runLoad("127.0.0.1", listener.port, { connections: 3, warmupMs: 10, durationMs: 200 }),
    ).rejects.toThrow(`127.0.0.1:${listener.port} closed 3 connections early`);
  });
});

describe("22-load as a student runs it", () => {
  test("with no --port it starts lesson 16's server as a child and prints one JSON document", async () => {
    const args = ["--connections", "5", "--seconds", "1", "--requests", "3000", "--json"];
    const { code, stdout } = await runLesson(FILE, args);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as {
      server: string;
      requests: number;
      connections: number;
      p50Ms: number;
    };
    expect(report).toMatchObject({ requests: 3000, connections: 5 });
    expect(report.server).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(report.p50Ms).toBeGreaterThan(0);
  });

  test("as text: the figures, and that it started the server", async () => {
    const { code, stdout } = await runLesson(FILE, [
      "--connections",
      "2",
      "--seconds",
      "1",
      "--requests",
      "500",
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^no --port: started lesson 16's server as a child, 127\.0\.0\.1:\d+\n/);
    expect(stdout).toMatch(
      /\n {2}500 answers in [\d.]+ s: \d+ req\/s\n {2}latency p50 [\d.]+ ms, p99 [\d.]+ ms\n$/,
    );
  });

  test(
    "against a server that never answers: one sentence, exit 1, not a table of zeros",
    async () => {
      const mute = track(
        Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {}, error() {} } }),
      );
      const run = await runLesson(FILE, [
        "--port",
        String(mute.port),
        "--connections",
        "2",
        "--seconds",
        "1",
      ]);
      expect(run.code).toBe(1);
      expect(run.stdout).not.toContain("req/s");
      expect(run.stderr).toBe(`127.0.0.1:${mute.port} sent nothing back: is it an echo server?\n`);
    },
    SLOW_TEST_MS,
  );

  test("a bad --connections is exit 2", async () => {
    const { code, stderr } = await runLesson(FILE, ["--connections", "0"]);
    expect(code).toBe(2);
    expect(stderr).toStartWith('--connections must be a whole number from 1 to 10000 (got "0")');
  });
});
