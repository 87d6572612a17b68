// Lesson 11, the daytime server (RFC 867): over TCP one line, then the close; over UDP one
// datagram back, but only to a datagram at least as big as the answer, and never in a loop.
import { describe, expect, test } from "bun:test";
import { startDaytimeServer } from "../../04-server/11-daytime-server.ts";
import { DAYTIME_REQUEST, daytimeLine } from "../../04-server/protocol.ts";
import { attack } from "../hostile/servers.ts";
import {
  inUse,
  logCollector,
  runLesson,
  startLesson,
  TcpTestClient,
  tracker,
  udpRequest,
} from "../helpers.ts";
import { notAnAddress, serverConventions } from "./conventions.ts";

const track = tracker();
const FILE = "04-server/11-daytime-server.ts";

serverConventions(FILE);

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

describe("11-daytime-server in-process", () => {
  test("TCP: one line of time, then the server closes; UDP: a padded datagram gets the same line", async () => {
    const now = new Date("2024-02-29T12:34:56Z");
    const logged = logCollector();
    const server = track(
      await startDaytimeServer("127.0.0.1", 0, { now: () => now, log: logged.log }),
    );
    await using client = await TcpTestClient.connect(server.tcp?.port ?? 0);
    await client.whenClosed;
    expect(client.text).toBe("Thu, 29 Feb 2024 12:34:56 GMT\r\n");
    expect(client.text).toBe(daytimeLine(now));
    const reply = await udpRequest(server.udp?.port ?? 0, DAYTIME_REQUEST);
    expect(reply.toString()).toBe(daytimeLine(now));
    await logged.waitFor(/^told 127\.0\.0\.1:\d+ the time \(tcp\)$/);
    await logged.waitFor(/^told 127\.0\.0\.1:\d+ the time \(udp\)$/);
  });

  test("UDP: no reply bigger than its request; an empty datagram gets nothing (the old server sent 31 bytes for 0)", async () => {
    const server = track(await startDaytimeServer("127.0.0.1", 0, { protocols: ["udp"] }));
    expect(server.tcp).toBeUndefined();
    const port = server.udp?.port ?? 0;
    for (const [refused, size] of [0, 1, 30].entries()) {
      expect((await afterSmall(port, size)).length).toBe(31);
      expect({ size, refused: server.guard?.refused.bigger }).toEqual({
        size,
        refused: refused + 1,
      });
    }
    for (const size of [31, 64, 1200]) {
      expect((await udpRequest(port, Buffer.alloc(size, 32))).length).toBe(31);
    }
    expect(server.guard?.refused.bigger).toBe(3);
  });

  test("UDP: a datagram from its own address and port is not answered: no loop", async () => {
    const logged = logCollector();
    const server = track(
      await startDaytimeServer("127.0.0.1", 0, { protocols: ["udp"], log: logged.log }),
    );
    const udp = server.udp;
    if (!udp) throw new Error("no UDP socket");
    // The server's own socket sends to itself: the datagram comes "from" the server.
    udp.send(DAYTIME_REQUEST, udp.port, "127.0.0.1");
    await logged.waitFor(/did not answer 127\.0\.0\.1:\d+ \(udp\): 64 bytes, refused by the guard/);
    expect(server.guard?.refused["own address"]).toBe(1);
    // Still serving, and the loop never started: one refusal, no more.
    expect(Date.parse((await udpRequest(udp.port, DAYTIME_REQUEST)).toString())).toBeGreaterThan(0);
    expect(server.guard?.refusedTotal).toBe(1);
  });

  test("over IPv6 (::1)", async () => {
    const server = track(await startDaytimeServer("::1", 0));
    await using client = await TcpTestClient.connect(server.tcp?.port ?? 0, "::1");
    await client.whenClosed;
    expect(client.text).toMatch(/ GMT\r\n$/);
    const reply = await udpRequest(server.udp?.port ?? 0, DAYTIME_REQUEST, { hostname: "::1" });
    expect(reply.toString()).toMatch(/ GMT\r\n$/);
  });

  test("a port in use fails the start; when UDP fails, the TCP port is given back", async () => {
    const first = track(await startDaytimeServer("127.0.0.1", 0, { protocols: ["tcp"] }));
    const tcpPort = first.tcp?.port ?? 0;
    await expect(
      startDaytimeServer("127.0.0.1", tcpPort, { protocols: ["tcp"] }),
    ).rejects.toMatchObject({
      code: "EADDRINUSE",
    });
    const holder = await Bun.udpSocket({ hostname: "127.0.0.1" });
    try {
      // TCP binds holder.port (free for TCP), then UDP fails: the TCP port must be free again.
      await expect(startDaytimeServer("127.0.0.1", holder.port)).rejects.toMatchObject({
        code: "EADDRINUSE",
      });
      const again = track(
        await startDaytimeServer("127.0.0.1", holder.port, { protocols: ["tcp"] }),
      );
      expect(again.tcp?.port).toBe(holder.port);
    } finally {
      holder.close();
    }
  });
});

describe("11-daytime-server as a student runs it", () => {
  test("listens on TCP and UDP, answers nc-style clients, stops on SIGTERM with exit 0", async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    const tcp = await server.listening("tcp");
    const udp = await server.listening("udp");
    await server.waitFor(/try {2}nc 127\.0\.0\.1 \d+; Ctrl-C stops the server/);
    await using client = await TcpTestClient.connect(tcp.port);
    await client.whenClosed;
    const before = Date.now();
    expect(Math.abs(Date.parse(client.text) - before)).toBeLessThan(60_000);
    const reply = await udpRequest(udp.port, `${"\n".padEnd(40)}`);
    expect(Math.abs(Date.parse(reply.toString()) - before)).toBeLessThan(60_000);
    await server.waitFor(/told 127\.0\.0\.1:\d+ the time \(udp\)/);
    const { code, stdout } = await server.stop("SIGTERM");
    expect(code).toBe(0);
    expect(stdout).toContain("stopped by SIGTERM");
  });

  test("--protocol udp over IPv6 binds only UDP, and its hint names the client", async () => {
    await using server = startLesson(FILE, ["--protocol", "udp", "--host", "::1", "--port", "0"]);
    const { host, port } = await server.listening("udp");
    expect(host).toBe("::1");
    await server.waitFor(
      /try {2}bun run 04-server\/12-daytime-client\.ts --protocol udp --host ::1 --port \d+/,
    );
    expect((await udpRequest(port, DAYTIME_REQUEST, { hostname: "::1" })).toString()).toMatch(
      /GMT\r\n$/,
    );
    const { code, stdout } = await server.stop();
    expect(code).toBe(0);
    expect(stdout).not.toContain("(tcp)");
  });

  test("a UDP port in use: one sentence naming the port, exit 1", async () => {
    const holder = await Bun.udpSocket({ hostname: "127.0.0.1" });
    try {
      const { code, stderr } = await runLesson(FILE, [
        "--protocol",
        "udp",
        "--port",
        String(holder.port),
      ]);
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(inUse(holder.port));
    } finally {
      holder.close();
    }
  });

  test.each([
    [["--port", "70000"], '--port must be a whole number from 0 to 65535 (got "70000")'],
    [["--port", "-1"], '--port must be a whole number from 0 to 65535 (got "-1")'],
    [["--port", "12abc"], '--port must be a whole number from 0 to 65535 (got "12abc")'],
    [["--protocol", "sctp"], '--protocol must be tcp, udp or both (got "sctp")'],
    [["--host", "localhost"], notAnAddress("localhost")],
  ])("bad arguments %p: exit 2, the reason, then the usage", async (args, reason) => {
    const { code, stderr } = await runLesson(FILE, args);
    expect(code).toBe(2);
    expect(stderr).toStartWith(`${reason}\n\nusage: bun run ${FILE}`);
  });

  test("300 resets: still telling the time, nothing on stderr", async () => {
    await using server = startLesson(FILE, ["--port", "0", "--protocol", "tcp"]);
    const { port } = await server.listening("tcp");
    expect((await attack(["resets", "127.0.0.1", port, 300])).reset).toBe(300);
    await using client = await TcpTestClient.connect(port);
    await client.whenClosed;
    expect(client.text).toMatch(/ GMT\r\n$/);
    const stopped = await server.stop();
    expect({ code: stopped.code, stderr: stopped.stderr }).toEqual({ code: 0, stderr: "" });
  });
});
