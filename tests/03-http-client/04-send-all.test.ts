// 04-send-all: write() takes what fits in the kernel's buffer; a loop that waits for `drain`
// (Python's sendall) sends every byte. The lesson uploads a body to the practice server.
import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { createHash } from "node:crypto";
import { sendAll, upload } from "../../03-http-client/04-send-all.ts";
import { closedPort, runLesson, tracker } from "../helpers.ts";
import { rawServer, sha256 } from "./raw-server.ts";

const FILE = "03-http-client/04-send-all.ts";
const track = tracker();

/** A connection whose drain and close events sendAll can wait for. */
async function openWithEvents(port: number) {
  let wake = (): void => {};
  const closed = Promise.withResolvers<void>();
  const socket: Socket<undefined> = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data() {},
      drain: () => wake(),
      close() {
        wake();
        closed.resolve();
      },
    },
  });
  const drained = () => new Promise<void>((resolve) => (wake = resolve));
  return { socket, drained, closed: closed.promise };
}

/** A listener that counts (and hashes) what it receives, and resolves once it has `total`. */
function sink(total: number) {
  const received = createHash("sha256");
  let count = 0;
  const all = Promise.withResolvers<string>();
  const server = track(
    Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(_socket, chunk) {
          received.update(chunk);
          count += chunk.length;
          if (count === total) all.resolve(received.digest("hex"));
        },
      },
    }),
  );
  return { port: server.port, digest: all.promise };
}

describe("04-send-all: every byte, however little each write() takes", () => {
  test("sendAll delivers every byte of a large payload, waiting for drain when the kernel is full", async () => {
    const payload = Buffer.alloc(48 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4096) payload.writeUInt32BE(i, i);
    const server = sink(payload.length);
    const { socket, drained } = await openWithEvents(server.port);
    const { writes, waits, taken } = await sendAll(socket, payload, drained);
    expect(await server.digest).toBe(sha256(payload));
    socket.end();
    // 48 MiB never fits in one write: each wait for drain is followed by one more write.
    expect(waits).toBeGreaterThan(0);
    expect(writes).toBe(waits + 1);
    expect(taken.reduce((sum, each) => sum + each, 0)).toBe(payload.length);
    expect(taken[0]).toBeLessThan(payload.length);
  });

  test("sending to a closed connection is one sentence", async () => {
    const server = track(
      Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        socket: { open: (socket) => void socket.end(), data() {} },
      }),
    );
    const { socket, drained, closed } = await openWithEvents(server.port);
    await closed;
    await expect(sendAll(socket, Buffer.from("GET / HTTP/1.1\r\n\r\n"), drained)).rejects.toThrow(
      "the server closed the connection while we were sending",
    );
  });

  test("upload: a POST head with its Content-Length, then the body, and the reply's first line", async () => {
    using server = rawServer(["HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"]);
    const sent = await upload("127.0.0.1", server.port, 1000);
    expect(sent).toMatchObject({ writes: 1, waits: 0, firstLine: "HTTP/1.1 200 OK" });
    const head = `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Length: 1000\r\n\r\n`;
    expect(server.requests[0]).toStartWith(head);
    expect(sent.bytes).toBe(head.length + 1000);
  });

  test("run as a student: 16 MiB to the practice server, in several writes; --json; the errors", async () => {
    const plain = await runLesson(FILE);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(/started 03-http-client\/10-practice-server\.ts on 127\.0\.0\.1/);
    const [first, all, reply] = plain.stdout.trim().split("\n");
    const [, taken, total] = first?.match(/^the first write\(\) took (\d+) of (\d+) bytes/) ?? [];
    expect(Number(taken)).toBeLessThan(Number(total));
    expect(Number(total)).toBeGreaterThan(16 * 1024 * 1024);
    const [, writes, waits] = all?.match(/^sent them all in (\d+) write\(s\), after (\d+)/) ?? [];
    expect(Number(writes)).toBe(Number(waits) + 1);
    expect(reply).toBe("the server's first line: HTTP/1.1 200 OK");

    using server = rawServer(["HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"]);
    const json = await runLesson(FILE, ["--port", String(server.port), "--bytes", "10", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      writes: 1,
      waits: 0,
      firstLine: "HTTP/1.1 201 Created",
    });

    const refused = closedPort();
    const run = await runLesson(FILE, ["--port", String(refused)]);
    expect({ code: run.code, err: run.stderr.trim() }).toEqual({
      code: 1,
      err: `127.0.0.1:${refused} (tcp) refused the connection: nothing listens there; start the server, or check --host and --port`,
    });
    const bad = await runLesson(FILE, ["--bytes", "200000000"]);
    expect({ code: bad.code, first: bad.stderr.split("\n")[0] }).toEqual({
      code: 2,
      first: '--bytes must be a whole number from 0 to 134217728 (got "200000000")',
    });
  });
});
