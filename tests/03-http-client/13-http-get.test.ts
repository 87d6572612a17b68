// 13-http-get: the client as a tool. Every wait and every size bounded, each bound one
// sentence; the body streamed to a file with its SHA-256; one JSON document for scripts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { largeBody, RAW_RESPONSES } from "../../03-http-client/practice-responses.ts";
import { startPracticeServer } from "../../03-http-client/10-practice-server.ts";
import { httpGet } from "../../03-http-client/13-http-get.ts";
import { canUsePrivateNetwork, PRIVATE_NETWORK, runLesson, tracker } from "../helpers.ts";
import { rawServer, sha256 } from "./raw-server.ts";

const FILE = "03-http-client/13-http-get.ts";
const FRESH_PAGE = "<!doctype html>\n<p>made by this test</p>\n";
const track = tracker();
const privateNetwork = await canUsePrivateNetwork();

describe("13-http-get: bounded, saved as it arrives, --json for scripts", () => {
  let workdir: string;
  beforeAll(() => {
    workdir = mkdtempSync(join(tmpdir(), "http-get-"));
  });
  afterAll(() => rmSync(workdir, { recursive: true, force: true }));

  test("httpGet hands the body on as it arrives, piece by piece, and times the exchange", async () => {
    const practice = track(await startPracticeServer({}));
    const pieces: Buffer[] = [];
    const result = await httpGet(new URL(practice.url("/large")), (bytes) => pieces.push(bytes));
    const expected = largeBody(0, 5 * 1024 * 1024);
    expect({ bytes: result.bodyBytes, framing: result.framing }).toEqual({
      bytes: expected.length,
      framing: "content-length",
    });
    expect(pieces.length).toBeGreaterThan(1);
    expect(sha256(Buffer.concat(pieces))).toBe(sha256(expected));
    expect(Object.keys(result.timing)).toEqual(["connectMs", "firstByteMs", "totalMs"]);
    expect(result.timing.totalMs).toBeGreaterThanOrEqual(result.timing.firstByteMs);
    const trailers = await httpGet(new URL(practice.url("/trailers")), () => {});
    expect(trailers.trailers).toEqual([["X-Checksum", "12 bytes"]]);
  });

  test("run as a student: one JSON document, the body in base64 or in a file; HEAD", async () => {
    const json = await runLesson(FILE, ["/trailers", "--json"]);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({
      status: 200,
      reason: "OK",
      framing: "chunked",
      bodyBytes: 12,
      bodyFile: null,
      trailers: [["X-Checksum", "12 bytes"]],
    });
    expect(Buffer.from(report.body, "base64").toString()).toBe("hello world\n");
    expect(report.bodySha256).toBe(sha256(Buffer.from("hello world\n")));
    expect(Object.keys(report.timing)).toEqual(["connectMs", "firstByteMs", "totalMs"]);

    const file = join(workdir, "from-cli.txt");
    const saved = await runLesson(FILE, ["/large?bytes=123456", "--output", file, "--json"]);
    const savedReport = JSON.parse(saved.stdout);
    expect({
      body: savedReport.body,
      bodyFile: savedReport.bodyFile,
      bytes: savedReport.bodyBytes,
    }).toEqual({ body: undefined, bodyFile: file, bytes: 123456 });
    expect(readFileSync(file).equals(largeBody(0, 123456))).toBe(true);

    const head = await runLesson(FILE, ["/large", "--method", "head"]);
    expect(head.stdout).toMatch(/\ncontent-length: 5242880\n/i);
    expect(head.stdout).toContain("--- 200 OK: 0 bytes, framed by none\n");
  });

  test("run as a student, over TLS: a body framed by the close, and its session, in JSON", async () => {
    const run = await runLesson(FILE, ["/close", "--tls", "--json"]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    const report = JSON.parse(run.stdout);
    const body = (RAW_RESPONSES["/close"] ?? []).slice(1).join("");
    expect({
      framing: report.framing,
      body: Buffer.from(report.body, "base64").toString(),
    }).toEqual({
      framing: "close",
      body,
    });
    expect(report.tls).toMatchObject({ verified: true, problem: null });
  });

  test("run as a student: a file it cannot write is one sentence, before any download", async () => {
    using server = rawServer([
      `HTTP/1.1 200 OK\r\nContent-Length: ${FRESH_PAGE.length}\r\n\r\n${FRESH_PAGE}`,
    ]);
    const file = join(workdir, "no-such-folder", "page.html");
    const run = await runLesson(FILE, [server.url, "--output", file]);
    expect({ code: run.code, err: run.stderr.trim(), asked: server.requests.length }).toEqual({
      code: 1,
      err: `cannot write to ${file} (ENOENT): check --output names a file in a folder that exists`,
      asked: 0,
    });
  });

  test("run as a student: the limits, each one sentence", async () => {
    const capped = await runLesson(FILE, ["/large", "--max-bytes", "1000"]);
    expect({ code: capped.code, err: capped.stderr.trim() }).toEqual({
      code: 1,
      err: "the server announces a body of 5242880 bytes, more than the limit of 1000 (raise --max-bytes to accept it)",
    });
    const stalled = await runLesson(FILE, ["/broken/stall", "--idle-timeout", "0.4"]);
    expect(stalled.code).toBe(1);
    expect(stalled.stderr.trim()).toMatch(
      /^127\.0\.0\.1:\d+ sent nothing for 0\.4 s \(--idle-timeout\) and did not close$/,
    );
    const silent = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    const handshake = await runLesson(FILE, [
      `https://127.0.0.1:${silent.port}/`,
      "--connect-timeout",
      "0.3",
    ]);
    expect({ code: handshake.code, err: handshake.stderr.trim() }).toEqual({
      code: 1,
      err: `127.0.0.1:${silent.port} (tcp) did not answer (no answer within 0.3 s): the host may be down, or a firewall drops the packets`,
    });
    for (const [args, sentence] of [
      [["--method", "POST"], '--method must be GET or HEAD (got "POST")'],
      [
        ["--connect-timeout", "soon"],
        '--connect-timeout must be a number of at least 0.01 (got "soon")',
      ],
      [["--max-bytes=-5"], '--max-bytes must be a whole number of at least 1 (got "-5")'],
      [["--idle-timeout", "-2"], '--idle-timeout must be a number of at least 0.01 (got "-2")'],
      [["/", "/again"], "give at most 1 [URL|/PATH], not 2"],
    ] as const) {
      const bad = await runLesson(FILE, [...args]);
      expect({ args, code: bad.code, first: bad.stderr.split("\n")[0] }).toEqual({
        args,
        code: 2,
        first: sentence,
      });
    }
  });

  test.skipIf(!privateNetwork)(
    "run as a student, offline (a private network namespace): an unknown name is lib's sentence (needs root for unshare)",
    async () => {
      const run = await runLesson(FILE, ["https://example.com/"], { argvPrefix: PRIVATE_NETWORK });
      expect({ code: run.code, err: run.stderr.trim() }).toEqual({
        code: 1,
        err: 'could not look up "example.com": no DNS server answered (is this machine offline?); give an IP address, or a name from /etc/hosts',
      });
    },
  );
});
