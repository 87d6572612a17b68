// 09-large-body: a body of any size with its Content-Length, made a piece at a time as the
// client reads it. 256 MiB cost the old practice server 2 GB and stalled every other client
// for seconds; here memory stays bounded and another client is served meanwhile.
import { describe, expect, test } from "bun:test";
import { startLargeBodyServer } from "../../03-http-client/09-large-body.ts";
import { largeBody } from "../../03-http-client/practice-responses.ts";
import { headerValues } from "../../03-http-client/http-response.ts";
import { inUse, runLesson, SLOW_TEST_MS, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { ask, sha256 } from "./raw-server.ts";

const FILE = "03-http-client/09-large-body.ts";
const track = tracker();

/** The server's resident memory, in MiB, from /proc. */
async function rssMiB(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
}

/** Asks for `path` and counts the bytes of the answer until the close, keeping none. */
function download(port: number, path: string): Promise<{ bytes: number; tail: string }> {
  const done = Promise.withResolvers<{ bytes: number; tail: string }>();
  let bytes = 0;
  let tail = "";
  void Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      open: (socket) => void socket.write(`GET ${path} HTTP/1.1\r\nHost: practice\r\n\r\n`),
      data(_socket, chunk) {
        bytes += chunk.length;
        tail = (tail + chunk.toString("latin1")).slice(-64);
      },
      close: () => done.resolve({ bytes, tail }),
      connectError: (_socket, error) => done.reject(error),
    },
  });
  return done.promise;
}

describe("09-large-body: any size, in bounded memory", () => {
  test("GET and HEAD: Content-Length announced, every byte sent; bad requests are one line", async () => {
    const server = track(startLargeBodyServer({}));
    const port = server.tcp.port;
    const got = await ask(port, "/large?bytes=3000000");
    expect(headerValues(got.parser.head?.headers ?? [], "content-length")).toEqual(["3000000"]);
    expect(sha256(got.body)).toBe(sha256(largeBody(0, 3_000_000)));
    const head = await ask(port, "HEAD /large HTTP/1.1\r\nHost: practice\r\n\r\n");
    expect(headerValues(head.parser.head?.headers ?? [], "content-length")).toEqual([
      String(5 * 1024 * 1024),
    ]);
    expect(head.raw.toString()).toEndWith("\r\n\r\n");
    const empty = await ask(port, "/large?bytes=0");
    expect(empty.body.length).toBe(0);
    for (const [path, status, text] of [
      ["/large?bytes=268435457", 400, "?bytes= takes 0 to 268435456\n"],
      ["/large?bytes=-1", 400, "?bytes= takes 0 to 268435456\n"],
      ["/small", 404, "only /large?bytes=N\n"],
    ] as const) {
      const answer = await ask(port, path);
      expect({ path, status: answer.parser.head?.status, body: answer.body.toString() }).toEqual({
        path,
        status,
        body: text,
      });
    }
  });

  test(
    "256 MiB: the server's memory stays bounded, and another client is served meanwhile",
    async () => {
      await using server = startLesson(FILE, ["--port", "0"]);
      const { port } = await server.listening();
      let peak = await rssMiB(server.proc.pid);
      // A measurement, not a wait: the memory every 50 ms while the download runs.
      const sampler = setInterval(async () => {
        peak = Math.max(peak, await rssMiB(server.proc.pid).catch(() => 0));
      }, 50);
      const big = download(port, "/large?bytes=268435456");
      const started = performance.now();
      const other = await ask(port, "/large?bytes=100");
      const otherMs = performance.now() - started;
      const { bytes, tail } = await big.finally(() => clearInterval(sampler));
      expect(other.body.equals(largeBody(0, 100))).toBe(true);
      expect(otherMs).toBeLessThan(1_000);
      expect(bytes).toBeGreaterThan(268_435_456);
      expect(tail).toBe(`line 0004194303 ${".".repeat(47)}\n`);
      expect(peak).toBeLessThan(150);
    },
    SLOW_TEST_MS,
  );

  test(
    "a client that asks and never reads: no more pieces are made, and --idle cuts it off",
    async () => {
      await using server = startLesson(FILE, ["--port", "0", "--idle", "1"]);
      const { port } = await server.listening();
      const before = await rssMiB(server.proc.pid);
      await using client = await TcpTestClient.connect(port);
      client.socket.pause();
      client.send("GET /large?bytes=268435456 HTTP/1.1\r\nHost: practice\r\n\r\n");
      await client.whenClosed;
      expect(await rssMiB(server.proc.pid)).toBeLessThan(before + 50);
    },
    SLOW_TEST_MS,
  );

  test("run as a student: stops on SIGTERM and says so; a port in use is one sentence", async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    await server.listening();
    const stopped = await server.stop("SIGTERM");
    expect({ code: stopped.code, last: stopped.stdout.trim().split("\n").at(-1) }).toEqual({
      code: 0,
      last: "stopped by SIGTERM: the port is free again",
    });
    const taken = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    const busy = await runLesson(FILE, ["--port", String(taken.port)]);
    expect({ code: busy.code, err: busy.stderr.trim() }).toEqual({
      code: 1,
      err: inUse(taken.port),
    });
  });
});
