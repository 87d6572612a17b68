// 05-read-raw: everything until the server closes, as it came, with the data events counted.
import { describe, expect, test } from "bun:test";
import { readRaw } from "../../03-http-client/05-read-raw.ts";
import { closedPort, runLesson, tracker } from "../helpers.ts";
import { pieces, rawServer } from "./raw-server.ts";

const FILE = "03-http-client/05-read-raw.ts";
const track = tracker();

describe("05-read-raw: everything until the close", () => {
  test("reads every piece until the close, one data event or many", async () => {
    const response = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nfirst piece, second piece, third";
    using server = rawServer(pieces(response, 10));
    const chunks = await readRaw("127.0.0.1", server.port, "/");
    expect(Buffer.concat(chunks).toString()).toBe(response);
    expect(chunks.length).toBeGreaterThan(0);
    expect(server.requests[0]).toBe(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`,
    );
  });

  test("bytes that arrive at once, before the request is even sent, are kept, then the close", async () => {
    using server = rawServer(["hello before you asked\n"], { atOnce: true });
    const chunks = await readRaw("127.0.0.1", server.port, "/");
    expect(Buffer.concat(chunks).toString()).toBe("hello before you asked\n");
  });

  test("a reset in the middle is one sentence", async () => {
    const server = track(
      Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        socket: {
          data(socket) {
            socket.write("HTTP/1.1 200 OK\r\n");
            socket.terminate();
          },
        },
      }),
    );
    await expect(readRaw("127.0.0.1", server.port, "/")).rejects.toThrow(
      `the connection to 127.0.0.1:${server.port} broke (ECONNRESET)`,
    );
  });

  test("run as a student: the raw response, then the count; --json; the errors", async () => {
    const plain = await runLesson(FILE);
    expect(plain.code).toBe(0);
    // The practice server's `/`: the note that it was started goes to stderr.
    expect(plain.stderr).toMatch(
      /^no --host or --port: started 03-http-client\/10-practice-server/,
    );
    expect(plain.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(plain.stdout).toMatch(
      /\n--- \d+ bytes in \d+ data event\(s\) \([\d, .]+\); then the server closed, after \d+ ms\n$/,
    );

    using server = rawServer(
      pieces("HTTP/1.1 200 OK\r\nContent-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz", 16),
    );
    const json = await runLesson(FILE, ["--port", String(server.port), "--json"]);
    const report = JSON.parse(json.stdout);
    expect(Buffer.from(report.base64, "base64").toString()).toBe(
      "HTTP/1.1 200 OK\r\nContent-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz",
    );
    expect(report.sizes.reduce((a: number, b: number) => a + b, 0)).toBe(report.bytes);
    expect(report.events).toBe(report.sizes.length);

    const port = closedPort();
    const refused = await runLesson(FILE, ["--port", String(port)]);
    expect({ code: refused.code, err: refused.stderr.trim() }).toEqual({
      code: 1,
      err: `127.0.0.1:${port} (tcp) refused the connection: nothing listens there; start the server, or check --host and --port`,
    });
    const bad = await runLesson(FILE, ["--path", "/a\tb"]);
    expect({ code: bad.code, first: bad.stderr.split("\n")[0] }).toEqual({
      code: 2,
      first: '--path must start with / and hold no spaces or control characters (got "/a\tb")',
    });
  });
});
