// Lesson 21, the client of the TCP and UDP server: a reply is a line over TCP and a datagram
// over UDP, its request padded so the server may answer; `exit` ends only this conversation.
import { describe, expect, test } from "bun:test";
import { startDualServer } from "../../04-server/20-dual-server.ts";
import { talkOverTcp, talkOverUdp } from "../../04-server/21-dual-client.ts";
import { closedPort, runLesson, startLesson, tracker } from "../helpers.ts";

const track = tracker();
const FILE = "04-server/21-dual-client.ts";

const refused = (where: string): string =>
  `${where} refused the connection: nothing listens there; start the server, or check --host and --port`;

describe("21-dual-client in-process", () => {
  test("conversations over TCP and UDP with lesson 20's server", async () => {
    const server = track(await startDualServer("127.0.0.1", { tcp: 0, udp: 0 }));
    const tcp = await talkOverTcp("127.0.0.1", server.tcp.port);
    try {
      expect(await tcp.say("one")).toBe("server (TCP) received: one");
      expect(await tcp.say("two")).toBe("server (TCP) received: two");
      expect(await tcp.say("exit")).toBe("server (TCP): goodbye");
    } finally {
      tcp.close();
    }
    const udp = talkOverUdp("127.0.0.1", server.udp.port);
    expect(await udp.say("three")).toBe("server (UDP) received: three");
    expect(server.guard.refusedTotal).toBe(0);
  });

  test("UDP: each message goes out padded to 1200 bytes, so a careful server may answer it", async () => {
    const sizes: number[] = [];
    const socket = await Bun.udpSocket({
      hostname: "127.0.0.1",
      socket: {
        data(s, data, port) {
          sizes.push(data.length);
          s.send("ok", port, "127.0.0.1");
        },
        error() {},
      },
    });
    track({ stop: () => socket.close() });
    expect(await talkOverUdp("127.0.0.1", socket.port).say("hi")).toBe("ok");
    expect(sizes).toEqual([1200]);
  });
});

describe("21-dual-client as a student runs it", () => {
  test("with no arguments: starts the server, says what to type, asks tcp or udp, talks until exit", async () => {
    const tcpRun = await runLesson(FILE, [], { input: "tcp\nhello\nexit\nnot sent\n" });
    expect(tcpRun.code).toBe(0);
    expect(tcpRun.stderr).toMatch(
      /^no --host or --port: started 04-server\/20-dual-server\.ts on 127\.0\.0\.1:\d+ for this run\n$/,
    );
    expect(tcpRun.stdout).toBe(
      [
        "answer tcp or udp, then type messages; `exit` ends",
        "server replied: server (TCP) received: hello",
        "server replied: server (TCP): goodbye",
        "conversation over; the server goes on",
        "",
      ].join("\n"),
    );
    const udpRun = await runLesson(FILE, [], { input: "smoke signals\nudp\nhi ✓\n" });
    expect(udpRun.code).toBe(0);
    expect(udpRun.stdout).toContain('please answer tcp or udp (got "smoke signals")');
    expect(udpRun.stdout).toContain("server replied: server (UDP) received: hi ✓");
  });

  test("one client's exit ends its conversation only: the spawned server serves the next", async () => {
    await using server = startLesson("04-server/20-dual-server.ts", ["--port", "0"]);
    const tcp = await server.listening("tcp");
    const udp = await server.listening("udp");
    const ports = [
      "--host",
      "127.0.0.1",
      "--port",
      String(tcp.port),
      "--udp-port",
      String(udp.port),
    ];
    const first = await runLesson(FILE, ["--protocol", "tcp", ...ports], { input: "a\nexit\n" });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("server replied: server (TCP): goodbye");
    const second = await runLesson(FILE, ["--protocol", "tcp", ...ports], { input: "b\n" });
    expect(second.code).toBe(0);
    expect(second.stdout).toStartWith("type a message and Enter; `exit` ends\n");
    expect(second.stdout).toContain("server replied: server (TCP) received: b");
    const third = await runLesson(FILE, ["--protocol", "udp", ...ports], { input: "exit\n" });
    expect(third.code).toBe(0);
    expect(third.stdout).toContain("server replied: server (UDP): goodbye");
    expect(server.proc.exitCode).toBeNull();
  });

  test("a line over the server's limit gets its error, then a clear failure", async () => {
    const input = `tcp\n${"w".repeat(1025)}\nmore\n`;
    const { code, stdout, stderr } = await runLesson(FILE, [], { input });
    expect(stdout).toContain(
      "server replied: error: line longer than 1024 bytes; closing this connection",
    );
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(/\n127\.0\.0\.1:\d+ closed the connection without a reply$/);
  });

  test("refused (exit 1) and a bad --protocol (exit 2)", async () => {
    const closed = closedPort();
    const run = await runLesson(FILE, ["--protocol", "tcp", "--port", String(closed)], {
      input: "hello\n",
    });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(refused(`127.0.0.1:${closed} (tcp)`));
    const bad = await runLesson(FILE, ["--protocol", "http"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toStartWith('--protocol must be tcp or udp (got "http")');
  });

  test.each([
    [["--udp-port", "0"], '--udp-port must be a whole number from 1 to 65535 (got "0")'],
    [["--host", " "], '--host must be a host name or an IP address (got " ")'],
  ])("%p: exit 2, the reason, then the usage", async (args, reason) => {
    const { code, stdout, stderr } = await runLesson(FILE, args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toStartWith(`${reason}\n\nusage: bun run ${FILE}`);
  });
});
