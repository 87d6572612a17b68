// 07-correct-responses: Bun.serve, a real HTTP server, frames each body itself: Content-Length,
// chunked for a stream, nothing for 204 and 304; a redirect; a 404; it counts an upload's body
// without keeping it. It takes --idle, stops cleanly, and says so when its port is taken.
import { describe, expect, test } from "bun:test";
import { upload } from "../../03-http-client/04-send-all.ts";
import { PAGES, serveCorrectResponses } from "../../03-http-client/07-correct-responses.ts";
import { headerValues } from "../../03-http-client/http-response.ts";
import { inUse, runLesson, SLOW_TEST_MS, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { ask } from "./raw-server.ts";

const FILE = "03-http-client/07-correct-responses.ts";
const track = tracker();

describe("07-correct-responses: what a real HTTP server sends", () => {
  test("Bun.serve's framing: Content-Length, chunked, none for 204 and 304; a redirect; a 404", async () => {
    const server = track(serveCorrectResponses({ index: () => "the list\n" }));
    const port = server.tcp.port;
    const index = await ask(port, "/");
    expect({ framing: index.parser.framing, body: index.body.toString() }).toEqual({
      framing: "content-length",
      body: "the list\n",
    });
    const chunked = await ask(port, "/chunked");
    expect(chunked.parser.framing).toBe("chunked");
    expect(chunked.body.toString()).toBe(
      [1, 2, 3, 4, 5].map((part) => `part ${part} of 5, sent on its own\n`).join(""),
    );
    const redirect = await ask(port, "/redirect");
    expect(redirect.parser.head?.status).toBe(301);
    expect(headerValues(redirect.parser.head?.headers ?? [], "location")).toEqual(["/"]);
    for (const [path, status] of [
      ["/no-content", 204],
      ["/not-modified", 304],
    ] as const) {
      const { parser } = await ask(port, path);
      expect({ status: parser.head?.status, framing: parser.framing }).toEqual({
        status,
        framing: "none",
      });
    }
    const head = await ask(
      port,
      "HEAD /chunked HTTP/1.1\r\nHost: practice\r\nConnection: close\r\n\r\n",
    );
    expect({ status: head.parser.head?.status, bytes: head.parser.bodyBytes }).toEqual({
      status: 200,
      bytes: 0,
    });
    const missing = await ask(port, "/nothing-here");
    expect(missing.parser.head?.status).toBe(404);
    expect(PAGES).toContain("/chunked");
  });

  test(
    "POST /upload: the body is counted as it arrives and never kept; a GET there is a 404",
    async () => {
      await using server = startLesson(FILE, ["--port", "0"]);
      const { port } = await server.listening();
      const answer = await ask(
        port,
        "POST /upload HTTP/1.1\r\nHost: practice\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
      );
      expect({ status: answer.parser.head?.status, body: answer.body.toString() }).toEqual({
        status: 200,
        body: "got 5 bytes\n",
      });
      expect((await ask(port, "/upload")).parser.head?.status).toBe(404);
      // 128 MiB, the most Bun.serve accepts: the server's peak memory stays far below it.
      const sent = await upload("127.0.0.1", port, 128 * 1024 * 1024);
      expect(sent.firstLine).toBe("HTTP/1.1 200 OK");
      const status = await Bun.file(`/proc/${server.proc.pid}/status`).text();
      const peakMiB = Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? 0) / 1024;
      expect(peakMiB).toBeGreaterThan(0);
      expect(peakMiB).toBeLessThan(100);
    },
    SLOW_TEST_MS,
  );

  test("run as a student: on IPv6 too; survives a bad client; stops on SIGTERM and says so", async () => {
    await using server = startLesson(FILE, ["--port", "0", "--host", "::1"]);
    const { host, port } = await server.listening();
    expect(host).toBe("::1");
    expect(server.stdout).toContain(`listening on [::1]:${port} (tcp)\n`);
    await using bad = await TcpTestClient.connect(port, "::1");
    bad.send(`GARBAGE ${"x".repeat(20_000)}\r\n\r\n`);
    await bad.whenClosed;
    const page = await ask(port, "/no-content", "::1");
    expect(page.parser.head?.status).toBe(204);
    const stopped = await server.stop("SIGTERM");
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain("stopped by SIGTERM: the port is free again");
  });

  test(
    "--idle: a client silent after its answer is closed by the server (Bun checks every few seconds)",
    async () => {
      await using server = startLesson(FILE, ["--port", "0", "--idle", "1"]);
      const { port } = await server.listening();
      await using client = await TcpTestClient.connect(port);
      // Keep-alive: no Connection: close, so only the idle limit ends this connection.
      client.send("GET /no-content HTTP/1.1\r\nHost: practice\r\n\r\n");
      await client.waitForText(/^HTTP\/1\.1 204/);
      const answered = performance.now();
      await client.whenClosed;
      expect(performance.now() - answered).toBeLessThan(8_000);
    },
    SLOW_TEST_MS,
  );

  test("run as a student: a port in use and a bad port are one sentence each", async () => {
    const taken = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    const busy = await runLesson(FILE, ["--port", String(taken.port)]);
    expect({ code: busy.code, err: busy.stderr.trim() }).toEqual({
      code: 1,
      err: inUse(taken.port),
    });
    for (const [flag, value, sentence] of [
      ["--port", "70000", '--port must be a whole number from 0 to 65535 (got "70000")'],
      ["--idle", "0", '--idle must be a whole number from 1 to 255 (got "0")'],
      [
        "--host",
        "localhost",
        '--host must be an IP address of this machine, like 127.0.0.1 or ::1 (got "localhost")',
      ],
    ]) {
      const bad = await runLesson(FILE, [flag as string, value as string]);
      expect({ code: bad.code, first: bad.stderr.split("\n")[0] }).toEqual({
        code: 2,
        first: sentence,
      });
    }
  });
});
