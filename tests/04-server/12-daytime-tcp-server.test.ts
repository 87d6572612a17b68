// Lesson 12, the daytime server over TCP (RFC 867): one line of time, then the close; what
// the client sends is not even read.
import { describe, expect, test } from "bun:test";
import { daytimeOverTcp } from "../../04-server/12-daytime-tcp-server.ts";
import { daytimeLine } from "../../04-server/protocol.ts";
import { attack } from "../hostile/servers.ts";
import { logCollector, runLesson, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { notAnAddress, serverConventions } from "./conventions.ts";

const track = tracker();
const FILE = "04-server/12-daytime-tcp-server.ts";

serverConventions(FILE);

describe("12-daytime-tcp-server in-process", () => {
  test("one line of time, then the server closes; each client is logged", async () => {
    const now = new Date("2024-02-29T12:34:56Z");
    const logged = logCollector();
    const server = track(daytimeOverTcp("127.0.0.1", 0, { now: () => now, log: logged.log }));
    await using client = await TcpTestClient.connect(server.tcp.port);
    await client.whenClosed;
    expect(client.text).toBe("Thu, 29 Feb 2024 12:34:56 GMT\r\n");
    expect(client.text).toBe(daytimeLine(now));
    await logged.waitFor(/^told 127\.0\.0\.1:\d+ the time$/);
  });

  test("what a client sends is not read: a chatty client still gets its line and the close", async () => {
    const server = track(daytimeOverTcp("127.0.0.1", 0));
    await using client = await TcpTestClient.connect(server.tcp.port);
    client.send("what time is it?\n".repeat(1000));
    await client.whenClosed;
    expect(client.text).toMatch(/^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n$/);
  });

  test("over IPv6 (::1)", async () => {
    const server = track(daytimeOverTcp("::1", 0));
    await using client = await TcpTestClient.connect(server.tcp.port, "::1");
    await client.whenClosed;
    expect(client.text).toMatch(/ GMT\r\n$/);
  });

  test("a port in use fails the start", async () => {
    const first = track(daytimeOverTcp("127.0.0.1", 0));
    expect(() => daytimeOverTcp("127.0.0.1", first.tcp.port)).toThrow(
      expect.objectContaining({ code: "EADDRINUSE" }),
    );
  });
});

describe("12-daytime-tcp-server as a student runs it", () => {
  test("answers nc-style clients, stops on SIGTERM with exit 0", async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    const { port } = await server.listening("tcp");
    await server.waitFor(/try {2}nc 127\.0\.0\.1 \d+; Ctrl-C stops the server/);
    await using client = await TcpTestClient.connect(port);
    await client.whenClosed;
    expect(Math.abs(Date.parse(client.text) - Date.now())).toBeLessThan(60_000);
    await server.waitFor(/told 127\.0\.0\.1:\d+ the time/);
    const { code, stdout } = await server.stop("SIGTERM");
    expect(code).toBe(0);
    expect(stdout).toContain("stopped by SIGTERM");
    expect(stdout).not.toContain("(udp)");
  });

  test.each([
    [["--port", "70000"], '--port must be a whole number from 0 to 65535 (got "70000")'],
    [["--port", "-1"], '--port must be a whole number from 0 to 65535 (got "-1")'],
    [["--port", "12abc"], '--port must be a whole number from 0 to 65535 (got "12abc")'],
    [["--protocol", "udp"], "unknown flag --protocol: see the list below"],
    [["--host", "localhost"], notAnAddress("localhost")],
  ])("bad arguments %p: exit 2, the reason, then the usage", async (args, reason) => {
    const { code, stderr } = await runLesson(FILE, args);
    expect(code).toBe(2);
    expect(stderr).toStartWith(`${reason}\n\nusage: bun run ${FILE}`);
  });

  test("300 resets: still telling the time, nothing on stderr", async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    const { port } = await server.listening("tcp");
    expect((await attack(["resets", "127.0.0.1", port, 300])).reset).toBe(300);
    await using client = await TcpTestClient.connect(port);
    await client.whenClosed;
    expect(client.text).toMatch(/ GMT\r\n$/);
    const stopped = await server.stop();
    expect({ code: stopped.code, stderr: stopped.stderr }).toEqual({ code: 0, stderr: "" });
  });
});
