// 08-raw-responses: the hand-written responses of practice-responses.ts, correct and broken,
// from a plain TCP listener: a 1xx, trailers, a body framed by the close, the broken kinds; a
// head that never ends gets 431; a client that completes no request within --idle is cut
// off; one request per connection.
import { describe, expect, test } from "bun:test";
import { startRawServer } from "../../03-http-client/08-raw-responses.ts";
import { RAW_RESPONSES } from "../../03-http-client/practice-responses.ts";
import { inUse, runLesson, SLOW_TEST_MS, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { ask, CA } from "./raw-server.ts";

const FILE = "03-http-client/08-raw-responses.ts";
const track = tracker();
const KEY = await Bun.file(
  new URL("../../03-http-client/localhost-key.pem", import.meta.url),
).text();

describe("08-raw-responses: a response is only bytes", () => {
  test("over the wire: each path is its exact bytes, in pieces; the close ends /close", async () => {
    const server = track(startRawServer({}));
    const port = server.tcp.port;
    for (const path of [
      "/early-hints",
      "/trailers",
      "/close",
      "/broken/status",
      "/broken/two-lengths",
    ]) {
      await using client = await TcpTestClient.connect(port);
      client.send(`GET ${path}?ignored=1 HTTP/1.1\r\nHost: practice\r\n\r\n`);
      await client.whenClosed;
      expect({ path, text: client.received.toString("latin1") }).toEqual({
        path,
        text: (RAW_RESPONSES[path] ?? []).join(""),
      });
    }
    const close = await ask(port, "/close");
    expect({ framing: close.parser.framing, body: close.body.toString() }).toEqual({
      framing: "close",
      body: "no Content-Length, no chunks:\nthis body ends when the server closes the connection\n",
    });
    const trailers = await ask(port, "/trailers");
    expect(trailers.parser.trailers).toEqual([["X-Checksum", "12 bytes"]]);
    const missing = await ask(port, "/nothing-here");
    expect(missing.parser.head?.status).toBe(404);
  });

  test("a request head that never ends: 431 past 8 KiB, and the close", async () => {
    const server = track(startRawServer({}));
    await using endless = await TcpTestClient.connect(server.tcp.port);
    endless.send(`GET /${"a".repeat(9000)}`);
    await endless.whenClosed;
    expect(endless.text).toStartWith("HTTP/1.1 431 Request Header Fields Too Large\r\n");
  });

  test("over TLS, with the practice certificate: a body framed by the close still ends cleanly", async () => {
    const server = track(startRawServer({ tls: { cert: CA, key: KEY } }));
    const received: Buffer[] = [];
    const closed = Promise.withResolvers<void>();
    await Bun.connect({
      hostname: "127.0.0.1",
      port: server.tcp.port,
      tls: { ca: CA },
      socket: {
        // With TLS and no `handshake` handler, `open` comes once the handshake is done.
        open: (socket) => void socket.write("GET /close HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        data: (_socket, chunk) => void received.push(chunk),
        close: () => closed.resolve(),
      },
    });
    await closed.promise;
    expect(Buffer.concat(received).toString()).toBe((RAW_RESPONSES["/close"] ?? []).join(""));
  });

  test(
    "--idle: a client that completes no request, silent or dripping, is cut off; one being answered is not",
    async () => {
      await using server = startLesson(FILE, ["--port", "0", "--idle", "1"]);
      const { port } = await server.listening();
      await using silent = await TcpTestClient.connect(port);
      await using dripping = await TcpTestClient.connect(port);
      const started = performance.now();
      dripping.send("GET /tra");
      const drip = setInterval(() => dripping.send("x"), 300);
      await Promise.all([silent.whenClosed, dripping.whenClosed]).finally(() =>
        clearInterval(drip),
      );
      expect(performance.now() - started).toBeLessThan(3_000);
      // A client that asked is answered in full, although its answer is still being sent.
      await using stalled = await TcpTestClient.connect(port);
      stalled.send("GET /broken/stall HTTP/1.1\r\nHost: practice\r\n\r\n");
      await stalled.waitForText(/ten bytes $/);
    },
    SLOW_TEST_MS,
  );

  test("one request per connection: a client that sends on after it still gets its whole answer", async () => {
    const server = track(startRawServer({}));
    await using client = await TcpTestClient.connect(server.tcp.port);
    // The request, then 8 MiB more: far more than the kernel's buffers hold unread.
    client.send("GET /close HTTP/1.1\r\nHost: practice\r\n\r\n");
    client.send(Buffer.alloc(8 * 1024 * 1024, "y"));
    await client.waitForText(/closes the connection\n$/);
    expect(client.text).toStartWith("HTTP/1.1 200 OK\r\n");
  });

  test("run as a student: answers, stops on SIGTERM and says so; a port in use is one sentence", async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    const { port } = await server.listening();
    await server.waitFor(/--path \/trailers; Ctrl-C stops the server\n/);
    const early = await ask(port, "/early-hints");
    expect(early.parser.informational.map((head) => head.status)).toEqual([103]);
    const stopped = await server.stop("SIGTERM");
    expect({ code: stopped.code, line: stopped.stdout.trim().split("\n").at(-1) }).toEqual({
      code: 0,
      line: "stopped by SIGTERM: the port is free again",
    });
    const taken = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    const busy = await runLesson(FILE, ["--port", String(taken.port)]);
    expect({ code: busy.code, err: busy.stderr.trim() }).toEqual({
      code: 1,
      err: inUse(taken.port),
    });
  });
});
