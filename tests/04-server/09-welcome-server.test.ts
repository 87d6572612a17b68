// Lesson 09, the welcome server: each client gets one greeting with the server's time, then
// the close that tells it the message is complete; until Ctrl-C.
import { describe, expect, test } from "bun:test";
import { startWelcomeServer, welcomeMessage } from "../../04-server/09-welcome-server.ts";
import { attack } from "../hostile/servers.ts";
import { logCollector, runLesson, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { serverConventions } from "./conventions.ts";

const track = tracker();
const FILE = "04-server/09-welcome-server.ts";

serverConventions(FILE);

describe("09-welcome-server in-process", () => {
  test("the welcome message names the client and carries the time in ISO 8601", () => {
    const when = new Date("2026-03-01T10:20:30.400Z");
    const message = welcomeMessage("127.0.0.1:4242", when);
    expect(message).toStartWith("Hello 127.0.0.1:4242, welcome");
    expect(message).toEndWith("Server time: 2026-03-01T10:20:30.400Z\n");
  });

  test("each client gets the greeting and then the close; the server counts them", async () => {
    const logged = logCollector();
    const server = track(startWelcomeServer("127.0.0.1", 0, logged.log));
    for (const expected of [1, 2]) {
      await using client = await TcpTestClient.connect(server.tcp.port);
      // Read it while the socket is open: Bun looks it up lazily.
      const clientPort = client.socket.localPort;
      // What the client sends is read and dropped: it does not cut the greeting short.
      client.send("hello?\n");
      await client.whenClosed;
      expect(client.text).toStartWith(`Hello 127.0.0.1:${clientPort}, welcome`);
      expect(server.greeted()).toBe(expected);
    }
    await logged.waitFor(/^welcomed 127\.0\.0\.1:\d+ \(client 2\)$/);
  });
});

describe("09-welcome-server as a student runs it", () => {
  test("its hint names the client lesson; the client talks to it over IPv6; it counts and stops on SIGINT", async () => {
    await using server = startLesson(FILE, ["--host", "::1", "--port", "0"]);
    const { port } = await server.listening("tcp");
    await server.waitFor(
      /try {2}bun run 04-server\/10-welcome-client\.ts --host ::1 --port \d+; Ctrl-C/,
    );
    const client = await runLesson("04-server/10-welcome-client.ts", [
      "--host",
      "::1",
      "--port",
      String(port),
    ]);
    expect(client.code).toBe(0);
    expect(client.stdout).toStartWith(`message from [::1]:${port} (`);
    expect(client.stderr).not.toContain("started");
    await server.waitFor(/welcomed \[::1\]:\d+ \(client 1\)/);
    const stopped = await server.stop("SIGINT");
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain("greeted 1 client(s)");
  });

  test("300 resets (the old lesson died of them with a TypeError): still greeting, nothing on stderr", async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    const { port } = await server.listening("tcp");
    expect((await attack(["resets", "127.0.0.1", port, 300])).reset).toBe(300);
    await using client = await TcpTestClient.connect(port);
    await client.whenClosed;
    expect(client.text).toContain("welcome");
    const stopped = await server.stop("SIGTERM");
    expect({ code: stopped.code, stderr: stopped.stderr }).toEqual({ code: 0, stderr: "" });
  });
});
