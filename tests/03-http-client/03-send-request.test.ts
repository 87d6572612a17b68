// 03-send-request: a request written by hand, byte for byte, and the first line of the reply
// however it is split. (Sending as a loop that waits for `drain` is 04-send-all's rubric.)
import { describe, expect, test } from "bun:test";
import { buildRequest, sendRequest } from "../../03-http-client/03-send-request.ts";
import { closedPort, runLesson } from "../helpers.ts";
import { rawServer } from "./raw-server.ts";

const FILE = "03-http-client/03-send-request.ts";

describe("03-send-request: a request written by hand", () => {
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
  });

  test("the first line of the reply, however it is split; a close without one is a sentence", async () => {
    using server = rawServer(["HT", "TP/1.1 2", "00 O", "K\r", "\nrest"]);
    const request = buildRequest({ host: "127.0.0.1", port: server.port });
    expect(await sendRequest("127.0.0.1", server.port, request)).toBe("HTTP/1.1 200 OK");
    expect(server.requests).toEqual([request]);
    using mute = rawServer([]);
    await expect(sendRequest("127.0.0.1", mute.port, request)).rejects.toThrow(
      "the server closed the connection without a reply",
    );
  });

  test("run as a student: the bytes with their CRLFs, and what the server got", async () => {
    const plain = await runLesson(FILE);
    expect(plain.code).toBe(0);
    const started = /started 03-http-client\/10-practice-server\.ts on 127\.0\.0\.1:(\d+)/;
    const port = plain.stderr.match(started)?.[1];
    expect(port).toBeDefined();
    expect(plain.stdout).toContain(`GET / HTTP/1.1\\r\\n\nHost: 127.0.0.1:${port}\\r\\n\n`);
    expect(plain.stdout).toContain("Connection: close\\r\\n\n\\r\\n\n");
    expect(plain.stdout).toMatch(/\nsent \d+ bytes; the server's first line: HTTP\/1\.1 200 OK\n$/);

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

    const refused = closedPort();
    const run = await runLesson(FILE, ["--port", String(refused)]);
    expect({ code: run.code, err: run.stderr.trim() }).toEqual({
      code: 1,
      err: `127.0.0.1:${refused} (tcp) refused the connection: nothing listens there; start the server, or check --host and --port`,
    });
    const bad = await runLesson(FILE, ["--path", "/a b"]);
    expect({ code: bad.code, first: bad.stderr.split("\n")[0] }).toEqual({
      code: 2,
      first: '--path must start with / and hold no spaces or control characters (got "/a b")',
    });
  });

  test("a reply whose first line never ends is refused at 8 KiB, in one sentence", async () => {
    using server = rawServer([`HTTP/1.1 200 ${"O".repeat(10_000)}`]);
    const request = buildRequest({ host: "127.0.0.1", port: server.port });
    await expect(sendRequest("127.0.0.1", server.port, request)).rejects.toThrow(
      "the server sent a line over 8192 bytes",
    );
  });
});
