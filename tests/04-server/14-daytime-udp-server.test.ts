// Lesson 14, the daytime server over UDP (RFC 867): one datagram back, but only to a datagram
// at least as big as the answer, never in a loop, and a log of a line a second at most.
import { describe, expect, test } from "bun:test";
import { daytimeOverUdp } from "../../04-server/14-daytime-udp-server.ts";
import { DAYTIME_REQUEST, daytimeLine } from "../../04-server/protocol.ts";
import { logCollector, runLesson, startLesson, tracker, udpRequest } from "../helpers.ts";
import { notAnAddress, serverConventions } from "./conventions.ts";

const track = tracker();
const FILE = "04-server/14-daytime-udp-server.ts";

serverConventions(FILE, "udp");

/**
 * Sends `size` bytes, then a padded request, from one socket, and resolves with the first
 * reply. Loopback keeps their order: if the small one were answered, its reply would come first.
 */
async function afterSmall(port: number, size: number): Promise<Buffer> {
  const reply = Promise.withResolvers<Buffer>();
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(_socket, data) {
        reply.resolve(Buffer.from(data));
      },
      error() {},
    },
  });
  try {
    socket.send(Buffer.alloc(size, 32), port, "127.0.0.1");
    socket.send(DAYTIME_REQUEST, port, "127.0.0.1");
    return await reply.promise;
  } finally {
    socket.close();
  }
}

describe("14-daytime-udp-server in-process", () => {
  test("a padded datagram gets the line of time as one datagram, and is logged", async () => {
    const now = new Date("2024-02-29T12:34:56Z");
    const logged = logCollector();
    const server = track(await daytimeOverUdp("127.0.0.1", 0, { now: () => now, log: logged.log }));
    const reply = await udpRequest(server.udp.port, DAYTIME_REQUEST);
    expect(reply.toString()).toBe(daytimeLine(now));
    await logged.waitFor(/^told 127\.0\.0\.1:\d+ the time$/);
  });

  test("no reply bigger than its request; an empty datagram gets nothing (the old server sent 31 bytes for 0)", async () => {
    const server = track(await daytimeOverUdp("127.0.0.1", 0));
    const port = server.udp.port;
    for (const [refused, size] of [0, 1, 30].entries()) {
      expect((await afterSmall(port, size)).length).toBe(31);
      expect({ size, refused: server.guard.refused.bigger }).toEqual({
        size,
        refused: refused + 1,
      });
    }
    for (const size of [31, 64, 1200]) {
      expect((await udpRequest(port, Buffer.alloc(size, 32))).length).toBe(31);
    }
    expect(server.guard.refused.bigger).toBe(3);
  });

  test("a datagram from its own address and port is not answered: no loop", async () => {
    const logged = logCollector();
    const server = track(await daytimeOverUdp("127.0.0.1", 0, { log: logged.log }));
    const udp = server.udp;
    // The server's own socket sends to itself: the datagram comes "from" the server.
    udp.send(DAYTIME_REQUEST, udp.port, "127.0.0.1");
    await logged.waitFor(/did not answer 127\.0\.0\.1:\d+: 64 bytes, refused by the guard/);
    expect(server.guard.refused["own address"]).toBe(1);
    // Still serving, and the loop never started: one refusal, no more.
    expect(Date.parse((await udpRequest(udp.port, DAYTIME_REQUEST)).toString())).toBeGreaterThan(0);
    expect(server.guard.refusedTotal).toBe(1);
  });

  test("over IPv6 (::1)", async () => {
    const server = track(await daytimeOverUdp("::1", 0));
    const reply = await udpRequest(server.udp.port, DAYTIME_REQUEST, { hostname: "::1" });
    expect(reply.toString()).toMatch(/ GMT\r\n$/);
  });

  test("a UDP port in use fails the start", async () => {
    const holder = await Bun.udpSocket({ hostname: "127.0.0.1" });
    try {
      await expect(daytimeOverUdp("127.0.0.1", holder.port)).rejects.toMatchObject({
        code: "EADDRINUSE",
      });
    } finally {
      holder.close();
    }
  });
});

describe("14-daytime-udp-server as a student runs it", () => {
  test("answers a padded request, its hint names the client, stops on SIGTERM with exit 0", async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    const { port } = await server.listening("udp");
    await server.waitFor(
      /try {2}bun run 04-server\/15-daytime-udp-client\.ts --host 127\.0\.0\.1 --port \d+/,
    );
    const reply = await udpRequest(port, `${"\n".padEnd(40)}`);
    expect(Math.abs(Date.parse(reply.toString()) - Date.now())).toBeLessThan(60_000);
    await server.waitFor(/told 127\.0\.0\.1:\d+ the time/);
    const { code, stdout } = await server.stop("SIGTERM");
    expect(code).toBe(0);
    expect(stdout).toContain("stopped by SIGTERM");
    expect(stdout).not.toContain("(tcp)");
  });

  test("over IPv6, the hint names the client at ::1", async () => {
    await using server = startLesson(FILE, ["--host", "::1", "--port", "0"]);
    const { host, port } = await server.listening("udp");
    expect(host).toBe("::1");
    await server.waitFor(
      /try {2}bun run 04-server\/15-daytime-udp-client\.ts --host ::1 --port \d+/,
    );
    expect((await udpRequest(port, DAYTIME_REQUEST, { hostname: "::1" })).toString()).toMatch(
      /GMT\r\n$/,
    );
    expect((await server.stop()).code).toBe(0);
  });

  test.each([
    [["--port", "70000"], '--port must be a whole number from 0 to 65535 (got "70000")'],
    [["--protocol", "tcp"], "unknown flag --protocol: see the list below"],
    [["--host", "localhost"], notAnAddress("localhost")],
  ])("bad arguments %p: exit 2, the reason, then the usage", async (args, reason) => {
    const { code, stderr } = await runLesson(FILE, args);
    expect(code).toBe(2);
    expect(stderr).toStartWith(`${reason}\n\nusage: bun run ${FILE}`);
  });
});
