// Lesson 18, the echo server over UDP (RFC 862): each datagram back as it came, byte for byte,
// unless the ReplyGuard sees a loop or a forged source.
import { describe, expect, test } from "bun:test";
import { echoOverUdp } from "../../04-server/18-echo-udp-server.ts";
import { logCollector, runLesson, startLesson, tracker, udpRequest } from "../helpers.ts";
import { notAnAddress, serverConventions } from "./conventions.ts";

const track = tracker();
const FILE = "04-server/18-echo-udp-server.ts";

serverConventions(FILE, "udp");

describe("18-echo-udp-server in-process", () => {
  test("a binary datagram comes back byte for byte; over IPv6 too", async () => {
    const server = track(await echoOverUdp("127.0.0.1", 0));
    const datagram = crypto.getRandomValues(new Uint8Array(1400));
    const reply = await udpRequest(server.udp.port, datagram);
    expect(Buffer.compare(reply, Buffer.from(datagram))).toBe(0);
    const v6 = track(await echoOverUdp("::1", 0));
    expect((await udpRequest(v6.udp.port, "six", { hostname: "::1" })).toString()).toBe("six");
  });

  test("a datagram from its own address and port is not echoed: no loop (the old echo looped for ever)", async () => {
    const logged = logCollector();
    const server = track(await echoOverUdp("127.0.0.1", 0, logged.log));
    const udp = server.udp;
    udp.send("loop?\n", udp.port, "127.0.0.1");
    await logged.waitFor(/did not echo 127\.0\.0\.1:\d+: refused by the guard/);
    expect(server.guard.refused["own address"]).toBe(1);
    expect((await udpRequest(udp.port, "after\n")).toString()).toBe("after\n");
    expect(server.guard.refusedTotal).toBe(1);
  });

  test("the same datagram bounced straight back is our own reply: it is not echoed again", async () => {
    const server = track(await echoOverUdp("127.0.0.1", 0));
    const replies: Buffer[] = [];
    const got = Promise.withResolvers<void>();
    const client = await Bun.udpSocket({
      hostname: "127.0.0.1",
      socket: {
        data(socket, data, port, address) {
          replies.push(Buffer.from(data));
          // Echo the echo, as a second naive echo server would.
          if (replies.length === 1) socket.send(data, port, address);
          got.resolve();
        },
        error() {},
      },
    });
    track({ stop: () => client.close() });
    client.send("ping-pong?", server.udp.port, "127.0.0.1");
    await got.promise;
    // A third datagram proves the server still answers, and that the bounce got nothing.
    client.send("next", server.udp.port, "127.0.0.1");
    await udpRequest(server.udp.port, "still here");
    expect(server.guard.refused.echoed).toBe(1);
  });

  test("a UDP port in use fails the start", async () => {
    const holder = await Bun.udpSocket({ hostname: "127.0.0.1" });
    try {
      await expect(echoOverUdp("127.0.0.1", holder.port)).rejects.toMatchObject({
        code: "EADDRINUSE",
      });
    } finally {
      holder.close();
    }
  });
});

describe("18-echo-udp-server as a student runs it", () => {
  test("--host ::1: the echo over IPv6; its hint names the client; SIGTERM exits 0", async () => {
    await using server = startLesson(FILE, ["--host", "::1", "--port", "0"]);
    const udp = await server.listening("udp");
    expect(udp.host).toBe("::1");
    await server.waitFor(/try {2}bun run 04-server\/19-echo-udp-client\.ts --host ::1 --port \d+/);
    expect((await udpRequest(udp.port, "six", { hostname: "::1" })).toString()).toBe("six");
    const { code, stdout } = await server.stop("SIGTERM");
    expect(code).toBe(0);
    expect(stdout).not.toContain("(tcp)");
  });

  test.each([
    [["--port", "70000"], '--port must be a whole number from 0 to 65535 (got "70000")'],
    [["--idle", "5"], "unknown flag --idle: see the list below"],
    [["--host", "localhost"], notAnAddress("localhost")],
  ])("bad arguments %p: exit 2, the reason, then the usage", async (args, reason) => {
    const { code, stderr } = await runLesson(FILE, args);
    expect(code).toBe(2);
    expect(stderr).toStartWith(`${reason}\n\nusage: bun run ${FILE}`);
  });
});
