// lib/lines.ts: the server loop of a line protocol. Lines framed however they arrive, replies
// in order and bounded, idle and over-long clients shed, the last line of a half-close
// answered, turns shared between clients, and resets survived.
import { describe, expect, test } from "bun:test";
import { connectLines, type LineClient, serveLines } from "../../lib/lines.ts";
import { attack } from "../hostile/servers.ts";
import { TcpTestClient, tracker } from "../helpers.ts";

const track = tracker();

/** An upper-casing line server: "abc" -> "ABC"; logs who left and why. */
function upperServer(options: Partial<Parameters<typeof serveLines>[0]> = {}) {
  const left: string[] = [];
  let someoneLeft: () => void = () => {};
  const server = serveLines({
    host: "127.0.0.1",
    port: 0,
    line: (client, line) => client.send(`${String(line).toUpperCase()}\n`),
    close: (client, why) => {
      left.push(`${client.lines} ${why}`);
      someoneLeft();
    },
    ...options,
  });
  track(server);
  /** Resolves once a client's close has been told to the server. */
  const nextLeave = (): Promise<void> =>
    new Promise((resolve) => {
      someoneLeft = resolve;
    });
  return { server, port: server.tcp.port, left, nextLeave };
}

describe("serveLines", () => {
  test("each line gets its reply, in order, however the bytes were split", async () => {
    const { port } = upperServer();
    await using client = await TcpTestClient.connect(port);
    for (const piece of ["he", "llo\nwor", "ld\n", "a\r\nb\n"]) client.send(piece);
    await client.waitForText(/HELLO\nWORLD\nA\nB\n$/);
  });

  test("open's state is kept per client; close says how many lines and why", async () => {
    const seen: string[] = [];
    const left: string[] = [];
    const gone = Promise.withResolvers<void>();
    const server = track(
      serveLines<{ name: string }>({
        host: "127.0.0.1",
        port: 0,
        open: (client) => ({ name: `client from ${client.peer}` }),
        line: (client, line) => {
          seen.push(`${client.state.name}: ${line}`);
          client.send("ok\n");
        },
        close: (client, why) => {
          left.push(`${client.lines} ${why}`);
          gone.resolve();
        },
      }),
    );
    await using client = await TcpTestClient.connect(server.tcp.port);
    client.send("one\ntwo\n");
    await client.waitForText(/ok\nok\n/);
    client.end();
    await gone.promise;
    expect(seen).toEqual([
      expect.stringMatching(/^client from 127\.0\.0\.1:\d+: one$/),
      expect.stringMatching(/: two$/),
    ]);
    expect(left).toEqual(["2 left"]);
  });

  test("a half-close: the last line counts without \\n, then the server closes too", async () => {
    const { port } = upperServer();
    await using client = await TcpTestClient.connect(port);
    client.send("first\nlast");
    client.shutdown();
    await client.whenClosed;
    expect(client.text).toBe("FIRST\nLAST\n");
  });

  test("a line over maxLineBytes calls tooLong; the lines before it were answered", async () => {
    const { port } = upperServer({
      maxLineBytes: 10,
      tooLong: (client: LineClient<unknown>) => client.end("error: line too long\n"),
    });
    await using client = await TcpTestClient.connect(port);
    client.send("ok\nthis line is far too long\n");
    await client.whenClosed;
    expect(client.text).toBe("OK\nerror: line too long\n");
  });

  test("a client with no complete line for idleSeconds is closed, even one dripping bytes", async () => {
    const { port, left, nextLeave } = upperServer({ idleSeconds: 0.3 });
    const leaving = nextLeave();
    await using client = await TcpTestClient.connect(port);
    const drip = setInterval(() => client.send("x"), 50);
    await leaving;
    clearInterval(drip);
    expect(left).toEqual(["0 sent no line for 0.3 s"]);
  });

  test("a client that never reads is not answered past the high-water mark, and memory stays bounded", async () => {
    let answered = 0;
    const server = track(
      serveLines({
        host: "127.0.0.1",
        port: 0,
        highWater: 64 * 1024,
        line: (client) => {
          answered++;
          client.send("x".repeat(1000));
        },
      }),
    );
    const result = await attack([
      "flood",
      "127.0.0.1",
      server.tcp.port,
      Buffer.from("q\n").toString("hex"),
      1,
    ]);
    // 1000 bytes for 2: without the mark it would answer every line sent.
    expect(Number(result.sent_bytes) / 2).toBeGreaterThan(answered * 4);
  });

  test("a flooding client answers in turns: another client is served meanwhile", async () => {
    const { port } = upperServer();
    await using flooder = await TcpTestClient.connect(port);
    flooder.send("a\n".repeat(200_000));
    await using other = await TcpTestClient.connect(port);
    const started = performance.now();
    other.send("quick\n");
    await other.waitForText(/QUICK\n/);
    expect(performance.now() - started).toBeLessThan(500);
  });

  test("300 resets: every connection is closed, none throws, and the next client is served", async () => {
    const { port, left } = upperServer();
    const result = await attack(["resets", "127.0.0.1", port, 300]);
    expect(result.reset).toBe(300);
    await using client = await TcpTestClient.connect(port);
    client.send("still here\n");
    await client.waitForText(/STILL HERE\n/);
    expect(left.length).toBeGreaterThanOrEqual(290);
  });

  test("decode: lines as bytes, unchanged (invalid UTF-8 stays as it came)", async () => {
    const server = track(
      serveLines<undefined, Buffer>({
        host: "127.0.0.1",
        port: 0,
        decode: (bytes) => bytes,
        line: (client, line) => client.send(Buffer.concat([line, Buffer.from("\n")])),
      }),
    );
    await using client = await TcpTestClient.connect(server.tcp.port);
    client.send(new Uint8Array([0xff, 0xfe, 0x41, 10]));
    await client.until((received) => received.length === 4);
    expect([...client.received]).toEqual([0xff, 0xfe, 0x41, 10]);
  });

  test("reserve(): a reply computed later keeps its place before the ones after it", async () => {
    const server = track(
      serveLines({
        host: "127.0.0.1",
        port: 0,
        line: (client, line) => {
          if (line !== "slow") return client.send(`${line}\n`);
          const later = client.reserve();
          setTimeout(() => later("slow\n"), 50);
        },
      }),
    );
    await using client = await TcpTestClient.connect(server.tcp.port);
    client.send("one\nslow\ntwo\n");
    await client.waitForText(/one\nslow\ntwo\n/);
  });
});

describe("connectLines", () => {
  test("send lines, await each reply, walk the rest with for await until the server closes", async () => {
    const { port } = upperServer();
    const server = await connectLines("127.0.0.1", port);
    server.send("one\n");
    expect(await server.next()).toBe("ONE");
    server.send("two\nthree\n");
    server.end();
    const rest: string[] = [];
    for await (const line of server) rest.push(line);
    expect(rest).toEqual(["TWO", "THREE"]);
    expect(await server.next()).toBeUndefined();
  });

  test("a server that says nothing: next() rejects with ETIMEDOUT at its limit", async () => {
    const { port } = upperServer();
    const server = await connectLines("127.0.0.1", port);
    const error = await server.next(100).catch((caught: unknown) => caught);
    expect((error as NodeJS.ErrnoException).code).toBe("ETIMEDOUT");
    server.close();
  });

  test("a refused connection rejects with ECONNREFUSED", async () => {
    const { port } = upperServer();
    const probe = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    const closed = probe.port;
    probe.stop(true);
    expect(port).not.toBe(closed);
    const error = await connectLines("127.0.0.1", closed).catch((caught: unknown) => caught);
    expect((error as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });

  test("a server line over maxLineBytes is an error, not a hang", async () => {
    const server = track(
      serveLines({
        host: "127.0.0.1",
        port: 0,
        line: (client) => client.send(`${"x".repeat(100)}\n`),
      }),
    );
    const connection = await connectLines("127.0.0.1", server.tcp.port, { maxLineBytes: 10 });
    connection.send("go\n");
    const error = await connection.next(2_000).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe("the server sent a line over 10 bytes");
    connection.close();
  });
});
