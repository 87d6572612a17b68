// 03-send-request: a request written by hand, byte for byte, sent with a loop that waits for
// `drain` like Python's sendall(), and the first line of the reply however it is split.
import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { createHash } from "node:crypto";
import {
  buildRequest,
  checkPath,
  sendAll,
  sendRequest,
} from "../../03-http-client/03-send-request.ts";
import { runLesson, tracker } from "../helpers.ts";
import { rawServer, sha256 } from "./raw-server.ts";

const FILE = "03-http-client/03-send-request.ts";
const track = tracker();

/** A connection whose drain and close events sendAll can wait for. */
async function openWithEvents(port: number) {
  let wake = (_open: boolean): void => {};
  const closed = Promise.withResolvers<void>();
  const socket: Socket<undefined> = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data() {},
      drain: () => wake(true),
      close() {
        wake(false);
        closed.resolve();
      },
    },
  });
  const drained = () => new Promise<boolean>((resolve) => (wake = resolve));
  return { socket, drained, closed: closed.promise };
}

describe("03-send-request: a request written by hand, sent with backpressure", () => {
  test("the request head, byte for byte", () => {
    // Ports in a request line are just numbers here: nothing is bound or connected.
    const [http, https, other] = [80, 443, 8443];
    expect(buildRequest({ host: "example.com", port: http })).toBe(
      "GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: sockets-lab/1.0\r\nAccept: */*\r\nConnection: close\r\n\r\n",
    );
    expect(
      buildRequest({ method: "HEAD", host: "127.0.0.1", port: other, path: "/x?y=1" }),
    ).toStartWith("HEAD /x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n");
    expect(buildRequest({ host: "::1", port: other, defaultPort: https })).toContain(
      "\r\nHost: [::1]:8443\r\n",
    );
    expect(buildRequest({ host: "example.com", port: https, defaultPort: https })).toContain(
      "\r\nHost: example.com\r\n",
    );
    expect(checkPath("/a/b?c=d")).toBe("/a/b?c=d");
    for (const path of ["a", "/a b", "/a\r\nX: y", ""])
      expect(() => checkPath(path)).toThrow(
        `--path must start with / and hold no spaces or control characters (got "${path}")`,
      );
  });

  test("sendAll delivers every byte of a large payload, waiting for drain when the kernel is full", async () => {
    const payload = Buffer.alloc(48 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4096) payload.writeUInt32BE(i, i);
    const received = createHash("sha256");
    let count = 0;
    const all = Promise.withResolvers<void>();
    const server = track(
      Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        socket: {
          data(_socket, chunk) {
            received.update(chunk);
            count += chunk.length;
            if (count === payload.length) all.resolve();
          },
        },
      }),
    );
    const { socket, drained } = await openWithEvents(server.port);
    const { writes, waits } = await sendAll(socket, payload, drained);
    await all.promise;
    socket.end();
    expect(received.digest("hex")).toBe(sha256(payload));
    // 48 MiB never fits in one write: each wait for drain is followed by one more write.
    expect(waits).toBeGreaterThan(0);
    expect(writes).toBe(waits + 1);
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

  test("the first line of the reply, however it is split; a close without one is a sentence", async () => {
    using server = rawServer(["HT", "TP/1.1 2", "00 O", "K\r", "\nrest"]);
    const request = buildRequest({ host: "127.0.0.1", port: server.port });
    const sent = await sendRequest("127.0.0.1", server.port, request);
    expect(sent).toEqual({ writes: 1, waits: 0, firstLine: "HTTP/1.1 200 OK" });
    expect(server.requests).toEqual([request]);
    using mute = rawServer([]);
    await expect(sendRequest("127.0.0.1", mute.port, request)).rejects.toThrow(
      "the server closed the connection without a reply",
    );
  });

  test("run as a student: the bytes with their CRLFs, and what the server got", async () => {
    const plain = await runLesson(FILE);
    expect(plain.code).toBe(0);
    const port = plain.stdout.match(/practice server on 127\.0\.0\.1:(\d+)/)?.[1];
    expect(plain.stdout).toContain(`GET / HTTP/1.1\\r\\n\nHost: 127.0.0.1:${port}\\r\\n\n`);
    expect(plain.stdout).toContain("Connection: close\\r\\n\n\\r\\n\n");
    expect(plain.stdout).toMatch(/sent \d+ bytes in 1 write\(s\), after 0 wait\(s\) for drain/);
    expect(plain.stdout).toContain("the server's first line: HTTP/1.1 200 OK");

    using server = rawServer(["HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n"]);
    const json = await runLesson(FILE, [
      "--port",
      String(server.port),
      "--path",
      "/tea?pot=1",
      "--json",
    ]);
    const report = JSON.parse(json.stdout);
    expect(report.firstLine).toBe("HTTP/1.1 418 I'm a teapot");
    expect(server.requests).toEqual([report.request]);
    expect(report.request).toBe(
      buildRequest({ host: "127.0.0.1", port: server.port, path: "/tea?pot=1" }),
    );
    expect(report.bytes).toBe(report.request.length);

    const bad = await runLesson(FILE, ["--path", "/a b"]);
    expect({ code: bad.code, first: bad.stderr.split("\n")[0] }).toEqual({
      code: 2,
      first: '--path must start with / and hold no spaces or control characters (got "/a b")',
    });
  });
});
