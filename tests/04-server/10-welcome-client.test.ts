// Lesson 10, the welcome client: it reads until the server closes, however many reads that
// takes, and fails with one sentence on a refused, silent, endless or broken connection.
import { describe, expect, test } from "bun:test";
import { Outbox } from "../../lib/stream.ts";
import { startWelcomeServer } from "../../04-server/09-welcome-server.ts";
import { fetchWelcome } from "../../04-server/10-welcome-client.ts";
import { endpoint } from "../../lib/cli.ts";
import { closedPort, runLesson, tracker } from "../helpers.ts";

const track = tracker();
const FILE = "04-server/10-welcome-client.ts";

/** lib/cli.ts's sentence for a refused connection. */
const refused = (where: string): string =>
  `${where} (tcp) refused the connection: nothing listens there; start the server, or check --host and --port`;

describe("10-welcome-client in-process", () => {
  test("IPv4 and IPv6: the whole greeting, read until the close", async () => {
    for (const host of ["127.0.0.1", "::1"]) {
      const server = track(startWelcomeServer(host, 0));
      const before = Date.now();
      const welcome = await fetchWelcome(host, server.tcp.port);
      expect(welcome.server).toBe(endpoint(host, server.tcp.port));
      expect(welcome.message).toMatch(/^Hello \S+:\d+, welcome/);
      const time = Date.parse(welcome.message.match(/Server time: (\S+)\n$/)?.[1] ?? "");
      expect(time).toBeGreaterThanOrEqual(before - 1000);
      expect(time).toBeLessThanOrEqual(Date.now() + 1000);
      expect(welcome.bytes).toBe(Buffer.byteLength(welcome.message));
      expect(server.greeted()).toBe(1);
    }
  });

  test("it keeps reading until the close: a message in many writes arrives whole", async () => {
    // 320 KB: many reads.
    const body = "0123456789abcdef".repeat(20_000);
    const listener = track(
      Bun.listen<Outbox | undefined>({
        hostname: "127.0.0.1",
        port: 0,
        socket: {
          open(socket) {
            socket.data = new Outbox(socket);
            for (let at = 0; at < body.length; at += 1000)
              socket.data.send(body.slice(at, at + 1000));
            socket.data.end();
          },
          drain(socket) {
            socket.data?.flush();
          },
          data() {},
        },
      }),
    );
    const welcome = await fetchWelcome("127.0.0.1", listener.port, 5_000, 1024 * 1024);
    expect(welcome.message).toBe(body);
    expect(welcome.reads).toBeGreaterThan(1);
  });

  test("its failures: refused, silent, too much, reset mid-message", async () => {
    const closed = closedPort();
    await expect(fetchWelcome("127.0.0.1", closed)).rejects.toThrow(refused(`127.0.0.1:${closed}`));
    const silent = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    await expect(fetchWelcome("127.0.0.1", silent.port, 300)).rejects.toThrow(
      `127.0.0.1:${silent.port} did not send a message and close within 0.3 s: is it a welcome server?`,
    );
    const flood = track(
      Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        socket: {
          open(socket) {
            socket.write(Buffer.alloc(8192, 120));
          },
          data() {},
        },
      }),
    );
    const tooMuch = fetchWelcome("127.0.0.1", flood.port, 5_000, 4096);
    await expect(tooMuch).rejects.toThrow(
      `127.0.0.1:${flood.port} sent more than 4096 bytes without closing: is it a welcome server?`,
    );
    const reset = track(
      Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        socket: {
          open(socket) {
            socket.write("Hel");
            socket.terminate();
          },
          data() {},
        },
      }),
    );
    await expect(fetchWelcome("127.0.0.1", reset.port)).rejects.toThrow(
      `127.0.0.1:${reset.port} broke the connection after 3 bytes`,
    );
  });
});

describe("10-welcome-client as a student runs it", () => {
  test("with no arguments it starts lesson 09's server for this run and says so", async () => {
    const result = await runLesson(FILE);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /^no --host or --port: started 04-server\/09-welcome-server\.ts on 127\.0\.0\.1:\d+ for this run\n$/,
    );
    expect(result.stdout).toMatch(
      /complete when the server closed\):\n {2}Hello 127\.0\.0\.1:\d+, welcome/,
    );
  });

  test("--json prints one JSON document", async () => {
    const result = await runLesson(FILE, ["--json"]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(report.startedLocalServer).toBe(true);
    expect(String(report.message)).toMatch(/^Hello .* Server time: \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
    expect(report.bytes).toBe(Buffer.byteLength(String(report.message)));
  });

  test("against a closed port: one sentence, exit 1", async () => {
    const closed = closedPort();
    const result = await runLesson(FILE, ["--port", String(closed)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${refused(`127.0.0.1:${closed}`)}\n`);
    expect(result.stdout).toBe("");
  });

  test("bad flags: exit 2 with the reason and the usage; --help exits 0", async () => {
    for (const [args, reason] of [
      [["--port", "http"], '--port must be a whole number from 1 to 65535 (got "http")'],
      [["--timeout", "0"], '--timeout must be a number from 0.001 to 3600 (got "0")'],
      [["--port", "0"], '--port must be a whole number from 1 to 65535 (got "0")'],
      [["--host", ""], '--host must be a host name or an IP address (got "")'],
    ] as const) {
      const result = await runLesson(FILE, [...args]);
      expect(result.code).toBe(2);
      expect(result.stderr).toStartWith(`${reason}\n\nusage: bun run ${FILE}`);
    }
    expect((await runLesson(FILE, ["--help"])).code).toBe(0);
  });
});
