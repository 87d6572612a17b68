// 06-read-limits: lesson 05's read with its two guards. A server that stalls without closing
// ends at the idle timeout, one that sends too much at the size cap: each one sentence.
import { describe, expect, test } from "bun:test";
import { readLimited } from "../../03-http-client/06-read-limits.ts";
import { runLesson, SLOW_TEST_MS, startLesson } from "../helpers.ts";
import { rawServer } from "./raw-server.ts";

const FILE = "03-http-client/06-read-limits.ts";
const roomy = { idleMs: 10_000, maxBytes: 1 << 20 };

describe("06-read-limits: an idle timeout and a size cap", () => {
  test("a server that stalls without closing: the idle timeout, as a sentence", async () => {
    const head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes ";
    using server = rawServer([head], { end: false });
    const started = performance.now();
    await expect(
      readLimited("127.0.0.1", server.port, "/", { ...roomy, idleMs: 300 }),
    ).rejects.toThrow(
      `127.0.0.1:${server.port} sent nothing for 0.3 s (--idle-timeout) and did not close`,
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });

  test("a server that sends too much: the size cap, as a sentence; within it, all of it", async () => {
    const response = `HTTP/1.0 200 OK\r\n\r\n${"z".repeat(100_000)}`;
    using server = rawServer([response]);
    await expect(
      readLimited("127.0.0.1", server.port, "/", { ...roomy, maxBytes: 1000 }),
    ).rejects.toThrow("the response passed 1000 bytes (--max-bytes): stopped");
    const chunks = await readLimited("127.0.0.1", server.port, "/", roomy);
    expect(Buffer.concat(chunks).toString()).toBe(response);
  });

  test(
    "run as a student: the practice server by default; the cap, the stall (lesson 08's /broken/stall), a bad flag",
    async () => {
      const plain = await runLesson(FILE);
      expect(plain.code).toBe(0);
      expect(plain.stdout).toMatch(/\n--- \d+ bytes in \d+ data event\(s\), within limits\n$/);

      const capped = await runLesson(FILE, ["--path", "/chunked", "--max-bytes", "100"]);
      expect({ code: capped.code, err: capped.stderr.trim().split("\n").at(-1) }).toEqual({
        code: 1,
        err: "the response passed 100 bytes (--max-bytes): stopped",
      });
      await using raw = startLesson("03-http-client/08-raw-responses.ts", ["--port", "0"]);
      const { port } = await raw.listening();
      const stalled = await runLesson(FILE, [
        ...["--port", String(port), "--path", "/broken/stall", "--idle-timeout", "0.3"],
      ]);
      expect({ code: stalled.code, err: stalled.stderr.trim() }).toEqual({
        code: 1,
        err: `127.0.0.1:${port} sent nothing for 0.3 s (--idle-timeout) and did not close`,
      });
      const bad = await runLesson(FILE, ["--max-bytes", "0"]);
      expect({ code: bad.code, first: bad.stderr.split("\n")[0] }).toEqual({
        code: 2,
        first: '--max-bytes must be a whole number of at least 1 (got "0")',
      });
    },
    SLOW_TEST_MS,
  );

  test("a path is percent-encoded: a space or a CRLF cannot break the request line", async () => {
    using server = rawServer(["HTTP/1.1 204 No Content\r\n\r\n"]);
    const run = await runLesson(FILE, ["--port", String(server.port), "--path", "/a b\r\nX: 1"]);
    expect(run.code).toBe(0);
    expect(server.requests[0]).toStartWith("GET /a%20b%0D%0AX:%201 HTTP/1.1\r\n");
  });
});
