// 12-http-client: status, headers, and a body framed three ways, over TCP or TLS. Every
// malformed response (built byte by byte by a raw server here) is the parser's one sentence;
// a refused port, a stall, an oversized body, an unknown host are one sentence each.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startPracticeServer } from "../../03-http-client/10-practice-server.ts";
import { httpRequest } from "../../03-http-client/12-http-client.ts";
import { largeBody, RAW_RESPONSES } from "../../03-http-client/practice-responses.ts";
import { headerValues } from "../../03-http-client/http-response.ts";
import { canUsePrivateNetwork, closedPort, PRIVATE_NETWORK, runLesson } from "../helpers.ts";
import { CA, pieces, rawServer, sha256 } from "./raw-server.ts";

const FILE = "03-http-client/12-http-client.ts";
const FRESH_PAGE = "<!doctype html>\n<p>made by this test</p>\n";
const CLOSE_BODY = (RAW_RESPONSES["/close"] ?? []).slice(1).join("");
const privateNetwork = await canUsePrivateNetwork();

describe("12-http-client: status, headers, and a body framed three ways", () => {
  let practice: Awaited<ReturnType<typeof startPracticeServer>>;
  let secure: Awaited<ReturnType<typeof startPracticeServer>>;
  beforeAll(async () => {
    practice = await startPracticeServer({});
    secure = await startPracticeServer({ tls: true });
  });
  afterAll(async () => {
    await practice.stop();
    await secure.stop();
  });
  const get = (path: string, options: Parameters<typeof httpRequest>[1] = {}) =>
    httpRequest(new URL(practice.url(path)), options);

  test("Bun.serve's framing: Content-Length, chunked, none for 204/304/HEAD, a redirect shown", async () => {
    const index = await get("/");
    expect({ status: index.status, framing: index.framing }).toEqual({
      status: 200,
      framing: "content-length",
    });
    expect(index.body.toString()).toContain(practice.url("/broken/stall"));
    const chunked = await get("/chunked");
    expect(chunked.framing).toBe("chunked");
    expect(chunked.body.toString()).toBe(
      [1, 2, 3, 4, 5].map((part) => `part ${part} of 5, sent on its own\n`).join(""),
    );
    const redirect = await get("/redirect");
    expect({ status: redirect.status, redirect: redirect.redirect }).toEqual({
      status: 301,
      redirect: practice.url("/"),
    });
    for (const [path, status] of [
      ["/no-content", 204],
      ["/not-modified", 304],
    ] as const) {
      const result = await get(path);
      expect({ status: result.status, framing: result.framing, bytes: result.bodyBytes }).toEqual({
        status,
        framing: "none",
        bytes: 0,
      });
    }
    const head = await get("/large", { method: "HEAD" });
    expect(headerValues(head.headers, "content-length")).toEqual([String(5 * 1024 * 1024)]);
    expect({ bytes: head.bodyBytes, framing: head.framing }).toEqual({ bytes: 0, framing: "none" });
    const large = await get("/large?bytes=3000000");
    expect(sha256(large.body)).toBe(sha256(largeBody(0, 3_000_000)));
  });

  test("the hand-written responses: a 103 skipped, trailers kept, a body that ends at the close", async () => {
    const early = await get("/early-hints");
    expect(early.informational.map(({ status, reason }) => ({ status, reason }))).toEqual([
      { status: 103, reason: "Early Hints" },
    ]);
    expect(early.body.toString()).toBe("the real answer, after\r\n");
    const trailers = await get("/trailers");
    expect({ body: trailers.body.toString(), trailers: trailers.trailers }).toEqual({
      body: "hello world\n",
      trailers: [["X-Checksum", "12 bytes"]],
    });
    const close = await get("/close");
    expect({ framing: close.framing, body: close.body.toString() }).toEqual({
      framing: "close",
      body: CLOSE_BODY,
    });
  });

  test("over TLS, a body framed by the close: complete, and the session described (it was read before the close)", async () => {
    const close = await httpRequest(new URL(secure.url("/close")), { ca: CA });
    expect({ framing: close.framing, body: close.body.toString() }).toEqual({
      framing: "close",
      body: CLOSE_BODY,
    });
    expect(close.session).toMatchObject({ verified: true, problem: null });
    expect(close.session?.cipher).toMatch(/^TLS_/);
    const trailers = await httpRequest(new URL(secure.url("/trailers")), { ca: CA });
    expect({ status: trailers.status, body: trailers.body.toString() }).toEqual({
      status: 200,
      body: "hello world\n",
    });
  });

  test("a response trickling in a few bytes at a time is read the same", async () => {
    const response =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n5\r\nhello\r\n1;x=y\r\n!\r\n0\r\nT: 1\r\n\r\n";
    using server = rawServer(pieces(response, 3));
    const result = await httpRequest(new URL(server.url));
    expect({ body: result.body.toString(), trailers: result.trailers }).toEqual({
      body: "hello!",
      trailers: [["T", "1"]],
    });
    expect(server.requests[0]).toBe(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`,
    );
  });

  const broken: [string, string[], string][] = [
    [
      "a bad status line",
      ["HTTP/1.1 OK\r\n\r\n"],
      'the response does not start with an HTTP status line (got "HTTP/1.1 OK"): is this port an HTTP server?',
    ],
    [
      "a bad chunk size",
      ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "4\r\nabcd\r\n", "-1\r\n"],
      'bad chunk size line "-1": expected a hexadecimal number of bytes',
    ],
    [
      "a body shorter than announced",
      ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "abc"],
      "the body is shorter than announced: the server closed the connection after 3 bytes of the 10 its Content-Length promised",
    ],
    [
      "an oversized header",
      [`HTTP/1.1 200 OK\r\nX-Big: ${"b".repeat(20_000)}\r\n\r\n`],
      "a header line is longer than 8192 bytes, too long to accept",
    ],
    [
      "too many headers",
      [`HTTP/1.1 200 OK\r\n${"X-Many: 1\r\n".repeat(150)}\r\n`],
      "too many header fields: more than 100",
    ],
    [
      "conflicting lengths",
      ["HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"],
      "conflicting Content-Length headers (3, 4): the body cannot be framed safely",
    ],
    ["no response at all", [], "the server closed the connection without sending any response"],
  ];
  test.each(broken)("malformed, built byte by byte: %s", async (_name, response, sentence) => {
    using server = rawServer(response);
    await expect(httpRequest(new URL(server.url))).rejects.toThrow(sentence);
  });

  test("over the size cap, announced or not, and a stall: each one sentence", async () => {
    using announced = rawServer(["HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"]);
    await expect(httpRequest(new URL(announced.url), { maxBytes: 1000 })).rejects.toThrow(
      "the server announces a body of 5000 bytes, more than the limit of 1000 (raise --max-bytes to accept it)",
    );
    using endless = rawServer(
      [
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        ...[1, 2, 3].map(() => `400\r\n${"x".repeat(1024)}\r\n`),
      ],
      { end: false },
    );
    await expect(httpRequest(new URL(endless.url), { maxBytes: 1000 })).rejects.toThrow(
      "the body passed the limit of 1000 bytes (raise --max-bytes to accept more)",
    );
    using stall = rawServer(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"], { end: false });
    await expect(httpRequest(new URL(stall.url), { idleMs: 300 })).rejects.toThrow(
      `127.0.0.1:${stall.port} sent nothing for 0.3 s and did not close`,
    );
  });

  test("a refused port is lib's sentence; https without the practice authority is refused", async () => {
    const port = closedPort();
    await expect(httpRequest(new URL(`http://127.0.0.1:${port}/`))).rejects.toThrow(
      `127.0.0.1:${port} (tcp) refused the connection: nothing listens there; start the server, or check --host and --port`,
    );
    await expect(httpRequest(new URL(secure.url("/trailers")))).rejects.toThrow(
      "the certificate of 127.0.0.1 is self-signed, so nobody vouches for it: if you trust it, pass it with --ca FILE (or --insecure)",
    );
  });

  test("run as a student: each practice path, and the malformed ones as sentences", async () => {
    const chunked = await runLesson(FILE, ["/chunked"]);
    expect(chunked.code).toBe(0);
    expect(chunked.stdout).toContain(
      "(no URL: started the practice server; try https://example.com/)\nHTTP/1.1 200 OK\n",
    );
    expect(chunked.stdout).toContain(
      "part 5 of 5, sent on its own\n--- 200 OK: 145 bytes of body, framed by chunked\n",
    );
    const redirect = await runLesson(FILE, ["/redirect"]);
    expect(redirect.stdout).toMatch(/\nLocation: \/\n/);
    expect(redirect.stdout).toMatch(
      /redirect to http:\/\/127\.0\.0\.1:\d+\/ \(not followed: run again with it\)\n$/,
    );
    const early = await runLesson(FILE, ["/early-hints"]);
    expect(early.stdout).toContain("(skipped: 103 Early Hints)\nHTTP/1.1 200 OK\n");
    const trailers = await runLesson(FILE, ["/trailers", "--tls"]);
    expect(trailers.stdout).toContain("hello world\ntrailer X-Checksum: 12 bytes\n");
    const close = await runLesson(FILE, ["/close", "--tls"]);
    expect({ code: close.code, stderr: close.stderr }).toEqual({ code: 0, stderr: "" });
    expect(close.stdout).toContain(`${CLOSE_BODY}--- 200 OK: 83 bytes of body, framed by close\n`);
    const large = await runLesson(FILE, ["/large"]);
    expect(large.stdout).toContain("\n(5242880 bytes not shown)\n");

    const expected: Record<string, string> = {
      "/broken/status":
        'the response does not start with an HTTP status line (got "HTPT/1.1 2OO OK"): is this port an HTTP server?',
      "/broken/chunk-size": 'bad chunk size line "zz": expected a hexadecimal number of bytes',
      "/broken/short-body":
        "the body is shorter than announced: the server closed the connection after 21 bytes of the 100 its Content-Length promised",
      "/broken/long-header": "a header line is longer than 8192 bytes, too long to accept",
      "/broken/many-headers": "too many header fields: more than 100",
      "/broken/two-lengths":
        "conflicting Content-Length headers (5, 7): the body cannot be framed safely",
    };
    for (const [path, sentence] of Object.entries(expected)) {
      const result = await runLesson(FILE, [path]);
      expect({ path, code: result.code, err: result.stderr.trim() }).toEqual({
        path,
        code: 1,
        err: sentence,
      });
    }
  });

  test("run as a student: URLs, good and bad", async () => {
    using server = rawServer([
      `HTTP/1.1 200 OK\r\nContent-Length: ${FRESH_PAGE.length}\r\n\r\n${FRESH_PAGE}`,
    ]);
    const fetched = await runLesson(FILE, [`127.0.0.1:${server.port}/page?x=1`]);
    expect(fetched.code).toBe(0);
    expect(fetched.stdout).toStartWith(
      `HTTP/1.1 200 OK\nContent-Length: ${FRESH_PAGE.length}\n\n${FRESH_PAGE}---`,
    );
    expect(server.requests[0]).toStartWith("GET /page?x=1 HTTP/1.1\r\n");
    for (const [url, sentence] of [
      ["ftp://example.com/", "only http(s):// URLs, not ftp://"],
      ["http://[::1", '"http://[::1" is not a URL: write it like http://example.com/path'],
      ["http://a b/", '"http://a b/" is not a URL: write it like http://example.com/path'],
    ]) {
      const bad = await runLesson(FILE, [url as string]);
      expect({ url, code: bad.code, first: bad.stderr.split("\n")[0] }).toEqual({
        url,
        code: 2,
        first: sentence,
      });
    }
  });

  test.skipIf(!privateNetwork)(
    "run as a student, offline (a private network namespace): an unknown name is lib's sentence (needs root for unshare)",
    async () => {
      for (const host of ["nothing.invalid", "example.com", "bad_host"]) {
        const run = await runLesson(FILE, [`http://${host}/`], { argvPrefix: PRIVATE_NETWORK });
        expect({ host, code: run.code, err: run.stderr.trim() }).toEqual({
          host,
          code: 1,
          err: `could not look up "${host}": no DNS server answered (is this machine offline?); give an IP address, or a name from /etc/hosts`,
        });
      }
    },
  );
});
