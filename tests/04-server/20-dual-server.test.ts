// Lesson 20, the TCP and UDP server of the Informe: a reply per line over TCP, per datagram
// over UDP, from one process; `exit` ends one conversation. Messages are bytes; UDP replies
// are never bigger than their request; the log and the memory stay bounded whatever comes.
import { describe, expect, test } from "bun:test";
import { startDualServer } from "../../04-server/20-dual-server.ts";
import { padded } from "../../04-server/protocol.ts";
import { attack } from "../hostile/servers.ts";
import {
  inUse,
  logCollector,
  runLesson,
  SLOW_TEST_MS,
  startLesson,
  TcpTestClient,
  tracker,
  udpRequest,
} from "../helpers.ts";
import { serverConventions } from "./conventions.ts";

const track = tracker();
const FILE = "04-server/20-dual-server.ts";

serverConventions(FILE);

/** A UDP socket whose port number is free for TCP (it is not always: try again until it is). */
async function udpPortFreeForTcp() {
  for (;;) {
    const holder = await Bun.udpSocket({ hostname: "127.0.0.1" });
    try {
      Bun.listen({ hostname: "127.0.0.1", port: holder.port, socket: { data() {} } }).stop(true);
      return holder;
    } catch {
      holder.close();
    }
  }
}

describe("20-dual-server in-process", () => {
  test("TCP: lines however split or joined; CRLF; `exit` closes that client only", async () => {
    const server = track(await startDualServer("127.0.0.1", { tcp: 0, udp: 0 }));
    await using first = await TcpTestClient.connect(server.tcp.port);
    await using second = await TcpTestClient.connect(server.tcp.port);
    for (const piece of ["hel", "lo\r\nwor", "ld\n"]) first.send(piece);
    await first.waitForText(/received: world\n/);
    expect(first.text).toBe("server (TCP) received: hello\nserver (TCP) received: world\n");
    first.send("exit\n");
    await first.whenClosed;
    expect(first.text).toEndWith("server (TCP): goodbye\n");
    second.send("still there?\n");
    await second.waitForText(/still there\?\n/);
    expect(second.text).toBe("server (TCP) received: still there?\n");
  });

  test("TCP: a last line without a newline, then the end of input, still gets its reply (the old server dropped it)", async () => {
    const server = track(await startDualServer("127.0.0.1", { tcp: 0, udp: 0 }));
    await using client = await TcpTestClient.connect(server.tcp.port);
    client.send("one\ntwo, unterminated");
    client.shutdown();
    await client.whenClosed;
    expect(client.text).toBe(
      "server (TCP) received: one\nserver (TCP) received: two, unterminated\n",
    );
  });

  test("a line over the limit: an error, that connection closed, the others served", async () => {
    const logged = logCollector();
    const server = track(
      await startDualServer(
        "127.0.0.1",
        { tcp: 0, udp: 0 },
        { maxMessageBytes: 16, log: logged.log },
      ),
    );
    await using bad = await TcpTestClient.connect(server.tcp.port);
    await using good = await TcpTestClient.connect(server.tcp.port);
    bad.send("x".repeat(17));
    await bad.whenClosed;
    expect(bad.text).toBe("error: line longer than 16 bytes; closing this connection\n");
    good.send(`${"y".repeat(16)}\n`);
    await good.waitForText(/\n$/);
    expect(good.text).toBe(`server (TCP) received: ${"y".repeat(16)}\n`);
    await logged.waitFor(/sent a line over 16 bytes: closing it/);
  });

  test("TCP: messages are bytes: invalid UTF-8 comes back as it came", async () => {
    const server = track(await startDualServer("127.0.0.1", { tcp: 0, udp: 0 }));
    await using client = await TcpTestClient.connect(server.tcp.port);
    const broken = Buffer.from([0x61, 0xff, 0xfe, 0xc3, 0x28, 0x0a]);
    client.send(broken);
    await client.until((received) => received.includes(0x0a));
    expect(client.received).toEqual(
      Buffer.concat([Buffer.from("server (TCP) received: "), broken]),
    );
  });

  test("UDP: a reply per padded datagram; `exit` says goodbye and the server goes on; too long is refused", async () => {
    const server = track(await startDualServer("127.0.0.1", { tcp: 0, udp: 0 }));
    const port = server.udp.port;
    expect((await udpRequest(port, padded(Buffer.from("hola\n")))).toString()).toBe(
      "server (UDP) received: hola",
    );
    expect((await udpRequest(port, padded(Buffer.from("exit")))).toString()).toBe(
      "server (UDP): goodbye",
    );
    expect((await udpRequest(port, padded(Buffer.from("after")))).toString()).toBe(
      "server (UDP) received: after",
    );
    const long = "z".repeat(1025);
    expect((await udpRequest(port, long)).toString()).toBe("error: message longer than 1024 bytes");
  });

  test("UDP: no reply bigger than its request (a short datagram gets none), and bytes, not text (the old server tripled invalid UTF-8)", async () => {
    const logged = logCollector();
    const server = track(
      await startDualServer("127.0.0.1", { tcp: 0, udp: 0 }, { log: logged.log }),
    );
    const port = server.udp.port;
    const broken = Buffer.alloc(1024, 0xff);
    const reply = await udpRequest(port, padded(broken));
    expect(reply).toEqual(Buffer.concat([Buffer.from("server (UDP) received: "), broken]));
    expect(reply.length).toBeLessThanOrEqual(padded(broken).length);
    // Unpadded, "hello" would get 28 bytes for 5: refused, and said so in the log.
    await expect(udpRequest(port, "hello", { attempts: 1, waitMs: 300 })).rejects.toThrow(
      "no UDP reply",
    );
    await logged.waitFor(
      /\(UDP\) 127\.0\.0\.1:\d+: 5 bytes, not answered \(a reply never exceeds its request: pad it\)/,
    );
    expect(server.guard.refused.bigger).toBe(1);
  });

  test("UDP: a datagram from its own address and port is not answered: no loop", async () => {
    const logged = logCollector();
    const server = track(
      await startDualServer("127.0.0.1", { tcp: 0, udp: 0 }, { log: logged.log }),
    );
    server.udp.send(padded(Buffer.from("loop?")), server.udp.port, "127.0.0.1");
    await logged.waitFor(/not answered/);
    expect(server.guard.refused["own address"]).toBe(1);
    expect((await udpRequest(server.udp.port, padded(Buffer.from("hi")))).toString()).toBe(
      "server (UDP) received: hi",
    );
    expect(server.guard.refusedTotal).toBe(1);
  });

  test("a UDP port in use fails the start, naming that port, and gives the TCP port back", async () => {
    const holder = await udpPortFreeForTcp();
    try {
      // TCP binds holder.port (free for TCP), then UDP fails: the TCP port must be free again.
      const ports = { tcp: holder.port, udp: holder.port };
      await expect(startDualServer("127.0.0.1", ports)).rejects.toMatchObject({
        code: "EADDRINUSE",
        port: holder.port,
      });
      const again = Bun.listen({ hostname: "127.0.0.1", port: holder.port, socket: { data() {} } });
      again.stop(true);
    } finally {
      holder.close();
    }
  });

  test("a TCP client that drips bytes but never ends a line is closed after the idle time", async () => {
    const server = track(
      await startDualServer("127.0.0.1", { tcp: 0, udp: 0 }, { idleSeconds: 0.3 }),
    );
    await using dripper = await TcpTestClient.connect(server.tcp.port);
    const drip = setInterval(() => dripper.send("x"), 50);
    try {
      await dripper.whenClosed;
    } finally {
      clearInterval(drip);
    }
    expect(dripper.text).toBe("");
  });
});

describe("20-dual-server as a student runs it", () => {
  test("--port 0 gives both protocols free ports; a UDP port in use names that port; a bad --max-line", async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    const tcp = await server.listening("tcp");
    const udp = await server.listening("udp");
    expect((await udpRequest(udp.port, padded(Buffer.from("hi")))).toString()).toBe(
      "server (UDP) received: hi",
    );
    await using client = await TcpTestClient.connect(tcp.port);
    client.send("hi\n");
    await client.waitForText(/hi\n/);
    client.socket.end();
    await server.waitFor(/\(TCP\) 127\.0\.0\.1:\d+: 1 message\(s\); closed \(left\)/);
    const busy = await runLesson(FILE, ["--port", "0", "--udp-port", String(udp.port)]);
    expect(busy.code).toBe(1);
    expect(busy.stderr.trim()).toBe(inUse(udp.port));
    const bad = await runLesson(FILE, ["--max-line", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toStartWith('--max-line must be a whole number from 1 to 65507 (got "0")');
    expect((await server.stop()).code).toBe(0);
  });

  test("--host ::1: TCP and UDP over IPv6, and the client talks to it there", async () => {
    await using server = startLesson(FILE, ["--host", "::1", "--port", "0"]);
    const tcp = await server.listening("tcp");
    const udp = await server.listening("udp");
    expect([tcp.host, udp.host]).toEqual(["::1", "::1"]);
    const reply = await udpRequest(udp.port, padded(Buffer.from("hi")), { hostname: "::1" });
    expect(reply.toString()).toBe("server (UDP) received: hi");
    const ports = ["--host", "::1", "--port", String(tcp.port), "--udp-port", String(udp.port)];
    const client = await runLesson("04-server/21-dual-client.ts", ["--protocol", "tcp", ...ports], {
      input: "over six\nexit\n",
    });
    expect(client.code).toBe(0);
    expect(client.stdout).toContain("server replied: server (TCP) received: over six\n");
    await server.waitFor(/\(TCP\) \[::1\]:\d+: 2 message\(s\); closed \(left\)/);
    expect((await server.stop("SIGTERM")).code).toBe(0);
  });

  test(
    "5.5 MB of empty lines from a client that never reads: a bounded log and memory, and it stops when the client leaves (the old one logged 64 MB and grew to 448 MB)",
    async () => {
      await using server = startLesson(FILE, ["--port", "0"]);
      const { port } = await server.listening("tcp");
      await server.waitFor(/Ctrl-C stops the server\n/);
      const linesBefore = server.stdout.split("\n").length;
      const flooder = await TcpTestClient.connect(port);
      flooder.socket.pause();
      flooder.send(Buffer.alloc(5_500_000, 0x0a));
      // The server answers until its Outbox for this client is full, then stops reading it.
      await using bystander = await TcpTestClient.connect(port);
      bystander.send("still served?\n");
      await bystander.waitForText(/still served\?\n/);
      const status = await Bun.file(`/proc/${server.proc.pid}/status`).text();
      expect(Number(status.match(/VmRSS:\s+(\d+) kB/)?.[1]) * 1024).toBeLessThan(100 * 1024 * 1024);
      flooder.socket.terminate();
      await server.waitFor(/message\(s\); closed/);
      // One line for the client that left: not one per message.
      const logged = server.stdout.split("\n").slice(linesBefore - 1, -1);
      expect(logged).toEqual([
        expect.stringMatching(/^\(TCP\) 127\.0\.0\.1:\d+: \d+ message\(s\); closed \(.+\)$/),
      ]);
      bystander.send("and now?\n");
      await bystander.waitForText(/and now\?\n/, 1_000);
    },
    SLOW_TEST_MS,
  );

  test("300 resets: still serving, nothing on stderr", async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    const { port } = await server.listening("tcp");
    expect((await attack(["resets", "127.0.0.1", port, 300])).reset).toBe(300);
    await using client = await TcpTestClient.connect(port);
    client.send("after\n");
    await client.waitForText(/received: after\n/);
    const stopped = await server.stop();
    expect({ code: stopped.code, stderr: stopped.stderr }).toEqual({ code: 0, stderr: "" });
  });
});
