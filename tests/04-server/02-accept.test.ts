// Lesson 02, accept: each client is described (address, port, family, our end) and greeted;
// when the first has gone the listener closes. A client that resets at once is nobody.
import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { accept } from "../../04-server/02-accept.ts";
import { Outbox } from "../../lib/stream.ts";
import { attack } from "../hostile/servers.ts";
import { logCollector, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { connectError, serverConventions } from "./conventions.ts";

const track = tracker();
const FILE = "04-server/02-accept.ts";

serverConventions(FILE);

describe("02-accept in-process", () => {
  test("the greeting goes out through an Outbox: what write() did not take is sent on drain, then FIN", () => {
    const written: string[] = [];
    let shutdowns = 0;
    // A kernel that takes 4 bytes per write.
    const socket = {
      write: (data: Parameters<Socket["write"]>[0]) => {
        const chunk = Buffer.from(data as string).subarray(0, 4);
        written.push(chunk.toString());
        return chunk.length;
      },
      shutdown: () => void shutdowns++,
      pause() {},
      resume() {},
      terminate() {},
      readyState: 1 as const,
    };
    const outbox = new Outbox(socket as unknown as Socket);
    outbox.send("hello world");
    outbox.end();
    expect(outbox.queuedBytes).toBe(7);
    expect(shutdowns).toBe(0);
    // As the drain handler would.
    outbox.flush();
    outbox.flush();
    expect(written.join("")).toBe("hello world");
    expect(outbox.queuedBytes).toBe(0);
    expect(shutdowns).toBe(1);
  });

  test("reports the client's address, port and family, greets it, and stops listening once it has gone", async () => {
    const server = track(accept("127.0.0.1", 0));
    const port = server.tcp.port;
    await using tcp = await TcpTestClient.connect(port);
    const clientPort = tcp.socket.localPort;
    expect(await server.first).toEqual({
      peer: `127.0.0.1:${clientPort}`,
      family: "IPv4",
      local: `127.0.0.1:${port}`,
    });
    await tcp.whenClosed;
    expect(tcp.text).toBe(
      `hello 127.0.0.1:${clientPort}: you reached 127.0.0.1:${port} over IPv4\n`,
    );
    await server.gone;
    expect(await connectError(port)).toBe("ECONNREFUSED");
  });

  test("over IPv6", async () => {
    const server = track(accept("::1", 0));
    await using tcp = await TcpTestClient.connect(server.tcp.port, "::1");
    expect((await server.first).family).toBe("IPv6");
    await tcp.waitForText(/over IPv6\n$/);
  });

  test("a client who comes while the first is still there is greeted too; the first one's leaving ends it", async () => {
    const logged = logCollector();
    const server = track(accept("127.0.0.1", 0, logged.log));
    await using first = await TcpTestClient.connect(server.tcp.port);
    await first.waitForText(/^hello /);
    await using second = await TcpTestClient.connect(server.tcp.port);
    await second.whenClosed;
    expect(second.text).toStartWith("hello 127.0.0.1:");
    await logged.waitFor(/accepted a client from 127\.0\.0\.1:\d+ \(IPv4\)/);
    expect(logged.lines.filter((line) => line.startsWith("accepted")).length).toBe(2);
    first.end();
    await server.gone;
    expect(await connectError(server.tcp.port)).toBe("ECONNREFUSED");
  });

  test("clients that reset at once: none crashes it; one that came and went before we saw it is nobody", async () => {
    const logged = logCollector();
    const server = track(accept("127.0.0.1", 0, logged.log));
    await attack(["resets", "127.0.0.1", server.tcp.port, 50]);
    // A reset client that reached `open` with its address is a client: it may be the first.
    const late = TcpTestClient.connect(server.tcp.port).catch(() => undefined);
    const info = await server.first;
    (await late)?.socket.terminate();
    expect(info.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    for (const line of logged.lines.filter((line) => !line.startsWith("accepted")))
      expect(line).toMatch(/^a client \(.*\) came and went before we saw it$/);
  });
});

describe("02-accept as a student runs it", () => {
  test("prints who connected and exits 0 by itself", async () => {
    await using lesson = startLesson(FILE, ["--port", "0"]);
    const { port } = await lesson.listening("tcp");
    expect(
      await lesson.waitFor(/waiting for a client: try {2}nc 127\.0\.0\.1 \d+; Ctrl-C/),
    ).toBeTruthy();
    await using tcp = await TcpTestClient.connect(port);
    const clientPort = tcp.socket.localPort;
    await tcp.whenClosed;
    const result = await lesson.finished();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `accepted a client from 127.0.0.1:${clientPort} (IPv4) on 127.0.0.1:${port}\n`,
    );
    expect(result.stdout).toContain(
      `127.0.0.1:${clientPort} has gone: one client served, so exiting\n`,
    );
  });

  test("300 resets (the old lesson died of the first, a TypeError): it accepts one of them or the next client, exit 0", async () => {
    await using lesson = startLesson(FILE, ["--port", "0"]);
    const { port } = await lesson.listening("tcp");
    await attack(["resets", "127.0.0.1", port, 300]);
    if (lesson.proc.exitCode === null) {
      const next = await TcpTestClient.connect(port).catch(() => undefined);
      await next?.whenClosed;
    }
    const result = await lesson.finished();
    expect(result.stdout).toMatch(/accepted a client from 127\.0\.0\.1:\d+ \(IPv4\)/);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
  });
});
