// Lesson 13, the daytime client over TCP: it reads until the close, however the answer is
// split; every failure is one sentence.
import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { daytimeOverTcp } from "../../04-server/12-daytime-tcp-server.ts";
import { askDaytime } from "../../04-server/13-daytime-tcp-client.ts";
import { closedPort, runLesson, SLOW_TEST_MS, startLesson, tracker } from "../helpers.ts";

const track = tracker();
const FILE = "04-server/13-daytime-tcp-client.ts";

const refused = (where: string): string =>
  `${where} refused the connection: nothing listens there; start the server, or check --host and --port`;

/** A TCP listener for fake servers, closed with its connections after the test. */
const fakeTcpServer = (open: (socket: Socket<undefined>) => void) =>
  track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open, data() {}, error() {} } }));

describe("13-daytime-tcp-client in-process", () => {
  test("asks lesson 12's server: the time, read until the close", async () => {
    const now = new Date("2030-01-01T00:00:00Z");
    const server = track(daytimeOverTcp("127.0.0.1", 0, { now: () => now }));
    expect(await askDaytime("127.0.0.1", server.tcp.port)).toMatchObject({
      time: "Tue, 01 Jan 2030 00:00:00 GMT",
      bytes: 31,
    });
  });

  test("an answer written in pieces is read whole, up to the close", async () => {
    const listener = fakeTcpServer((socket) => {
      for (const piece of ["Tue, 01 Jan", " 2030 00:00", ":00 GMT\r\n"]) socket.write(piece);
      socket.end();
    });
    expect((await askDaytime("127.0.0.1", listener.port)).time).toBe(
      "Tue, 01 Jan 2030 00:00:00 GMT",
    );
  });

  test("failures are one sentence: refused, an answer that never ends, one too long", async () => {
    const closed = closedPort();
    await expect(askDaytime("127.0.0.1", closed)).rejects.toThrow(
      refused(`127.0.0.1:${closed} (tcp)`),
    );
    const neverCloses = fakeTcpServer((socket) => void socket.write("Tue\r\n"));
    await expect(askDaytime("127.0.0.1", neverCloses.port, 500)).rejects.toThrow(
      `127.0.0.1:${neverCloses.port} (tcp) did not finish its answer in 500 ms`,
    );
    const chatty = fakeTcpServer((socket) => void socket.write(Buffer.alloc(5000, 65)));
    await expect(askDaytime("127.0.0.1", chatty.port)).rejects.toThrow(
      `127.0.0.1:${chatty.port} (tcp) sent over 4096 bytes: not a daytime server`,
    );
  });
});

describe("13-daytime-tcp-client as a student runs it", () => {
  test("with no arguments it starts lesson 12's server for this run, says so, prints the time", async () => {
    const { code, stdout, stderr } = await runLesson(FILE);
    expect(code).toBe(0);
    expect(stderr).toMatch(
      /^no --host or --port: started 04-server\/12-daytime-tcp-server\.ts on 127\.0\.0\.1:\d+ for this run\n$/,
    );
    const time = stdout.match(/127\.0\.0\.1:\d+ \(tcp\) says: (.+)/)?.[1] ?? "";
    expect(Math.abs(Date.parse(time) - Date.now())).toBeLessThan(60_000);
    expect(stdout).toMatch(/31 bytes in [\d.]+ ms, complete when the server closed/);
  });

  test("--json against a spawned server: one JSON document", async () => {
    await using server = startLesson("04-server/12-daytime-tcp-server.ts", ["--port", "0"]);
    const { port } = await server.listening("tcp");
    const args = ["--host", "127.0.0.1", "--port", String(port), "--json"];
    const { code, stdout } = await runLesson(FILE, args);
    expect(code).toBe(0);
    const answer = JSON.parse(stdout) as { port: number; time: string; bytes: number };
    expect(answer).toMatchObject({ port, bytes: 31 });
    expect(answer.time).toMatch(/GMT$/);
  });

  test("a closed port: one sentence, exit 1", async () => {
    const closed = closedPort();
    const refusedRun = await runLesson(FILE, ["--port", String(closed)]);
    expect(refusedRun.code).toBe(1);
    expect(refusedRun.stderr.trim()).toBe(refused(`127.0.0.1:${closed} (tcp)`));
  });

  test(
    "against a server that never closes: one sentence, exit 1, and the process ends",
    async () => {
      const mute = fakeTcpServer(() => {});
      const run = await runLesson(FILE, ["--port", String(mute.port)]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `127.0.0.1:${mute.port} (tcp) did not finish its answer in 5000 ms\n`,
      );
    },
    SLOW_TEST_MS,
  );

  test.each([
    [["--port", "0"], '--port must be a whole number from 1 to 65535 (got "0")'],
    [["--host", ""], '--host must be a host name or an IP address (got "")'],
    [["--timeout", "0"], '--timeout must be a number from 0.001 to 3600 (got "0")'],
    [["--protocol", "udp"], "unknown flag --protocol: see the list below"],
  ])("%p: exit 2, the reason, then the usage", async (args, reason) => {
    const { code, stdout, stderr } = await runLesson(FILE, args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toStartWith(`${reason}\n\nusage: bun run ${FILE}`);
  });
});
