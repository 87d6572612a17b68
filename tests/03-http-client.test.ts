// 03-http-client: from a name to a correct HTTP/1.1 client, one step a lesson. Each lesson's
// exported functions are driven in-process, then the file is run as a student would. The
// bad inputs of the chapter (malformed responses built byte by byte by a raw server in this
// file, a stalled server, a refused port, an unknown host, oversized replies) each get the
// exact sentence expected. Only 127.0.0.1 (and ::1), only ports these tests opened, and no
// DNS server is ever asked: unknown hosts come from an injected resolver or `.invalid`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as resolve from "../03-http-client/01-resolve.ts";
import { connect, connectToHost } from "../03-http-client/02-connect.ts";
import {
  buildRequest,
  checkPath,
  readFirstLine,
  sendAll,
} from "../03-http-client/03-send-request.ts";
import { receive } from "../03-http-client/04-read-raw.ts";
import { certificateProblem, connectTls, describeTls } from "../03-http-client/05-tls.ts";
import { httpRequest } from "../03-http-client/06-http-client.ts";
import { httpGet } from "../03-http-client/07-http-get.ts";
import {
  clientTarget,
  PRACTICE_CERT,
  requestTarget,
  startPracticeServer,
} from "../03-http-client/08-practice-server.ts";
import { largeBody, PAGES } from "../03-http-client/09-correct-responses.ts";
import { RAW_PATHS, RAW_RESPONSES } from "../03-http-client/10-raw-responses.ts";
import * as commandLine from "../03-http-client/command-line.ts";
import {
  HttpResponseError,
  headerValues,
  ResponseParser,
  type ResponseLimits,
} from "../03-http-client/http-response.ts";
import { freePort, hasCommand, runLesson, startLesson, TcpTestClient } from "./helpers.ts";

const CA = readFileSync(PRACTICE_CERT, "utf8");
const FRESH_PAGE = "<!doctype html>\n<p>made by this test</p>\n";

// ---------------------------------------------------------------------------------------
// A raw HTTP server for the tests: it reads a request head (however it is split), then
// answers with exactly the bytes a test gives it, piece by piece, with a write loop that
// respects backpressure. It remembers every request it got.

type Piece = string | Uint8Array;
interface RawClient {
  head: string;
  answered: boolean;
  unsent: Buffer;
  then: (() => void) | null;
}

function flush(socket: Socket<RawClient>): void {
  const client = socket.data;
  while (client.unsent.length > 0) {
    const written = socket.write(client.unsent);
    if (written <= 0) return;
    client.unsent = client.unsent.subarray(written);
  }
  const then = client.then;
  client.then = null;
  then?.();
}

/** Writes every byte, resolving once the kernel has taken them all. */
function writeAll(socket: Socket<RawClient>, piece: Piece): Promise<void> {
  return new Promise((done) => {
    const bytes = typeof piece === "string" ? Buffer.from(piece, "latin1") : Buffer.from(piece);
    socket.data.unsent = Buffer.concat([socket.data.unsent, bytes]);
    socket.data.then = done;
    flush(socket);
  });
}

interface RawServer extends Disposable {
  port: number;
  url: string;
  requests: string[];
}

/**
 * `answer` gets the socket and the request head; the default writes `pieces` one at a time
 * (yielding to the event loop between them, so they tend to arrive as separate data events)
 * and then ends, unless `end` is false (a stalled server).
 */
function rawServer(pieces: Piece[], { end = true } = {}): RawServer {
  const requests: string[] = [];
  const listener = Bun.listen<RawClient>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { head: "", answered: false, unsent: Buffer.alloc(0), then: null };
      },
      async data(socket, chunk) {
        const client = socket.data;
        if (client.answered) return;
        client.head += chunk.toString("latin1");
        if (!client.head.includes("\r\n\r\n")) return;
        client.answered = true;
        requests.push(client.head);
        for (const piece of pieces) {
          await writeAll(socket, piece);
          await new Promise((next) => setImmediate(next));
        }
        if (end) socket.end();
      },
      drain: flush,
      error() {},
    },
  });
  return {
    port: listener.port,
    url: `http://127.0.0.1:${listener.port}/`,
    requests,
    [Symbol.dispose]: () => listener.stop(true),
  };
}

/** Splits text into pieces of `size` bytes, to send a response in many small writes. */
const pieces = (text: string, size: number): string[] =>
  Array.from({ length: Math.ceil(text.length / size) }, (_, i) =>
    text.slice(i * size, (i + 1) * size),
  );

/** A port nobody listens on: taken from the kernel, then released. */
const closedPort = (): Promise<number> => freePort();

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

// ---------------------------------------------------------------------------------------
describe("http-response.ts: the parser, fed bytes in pieces of any size", () => {
  const parse = (
    response: string,
    { method = "GET", split = 0, end = true, limits = {} as Partial<ResponseLimits> } = {},
  ) => {
    const body: Buffer[] = [];
    const parser = new ResponseParser(method, (bytes) => body.push(Buffer.from(bytes)), limits);
    const bytes = Buffer.from(response, "latin1");
    if (split === 0) parser.push(bytes);
    else for (let i = 0; i < bytes.length; i += split) parser.push(bytes.subarray(i, i + split));
    if (end && !parser.done) parser.end();
    return { parser, body: Buffer.concat(body).toString("latin1") };
  };
  const fails = (response: string, options: Parameters<typeof parse>[1] = {}): string => {
    try {
      parse(response, options);
    } catch (error) {
      expect(error).toBeInstanceOf(HttpResponseError);
      return (error as Error).message;
    }
    throw new Error("the response was accepted");
  };

  const lengthFramed =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
  const chunked =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "6;name=ignored\r\nhello \r\n6\r\nworld\n\r\n0\r\nX-Checksum: 12\r\nX-Other: yes\r\n\r\n";

  test("Content-Length: the same result whether the bytes come whole or one by one", () => {
    for (const split of [0, 1, 2, 7]) {
      const { parser, body } = parse(lengthFramed, { split, end: false });
      expect(parser.done).toBe(true);
      expect(parser.head).toEqual({
        httpVersion: "1.1",
        status: 200,
        reason: "OK",
        headers: [
          ["Content-Type", "text/plain"],
          ["Content-Length", "5"],
        ],
      });
      expect({ body, framing: parser.framing, bytes: parser.bodyBytes }).toEqual({
        body: "hello",
        framing: "content-length",
        bytes: 5,
      });
    }
  });

  test("chunked, with extensions and trailers, split at every possible place", () => {
    for (let cut = 1; cut < chunked.length; cut++) {
      const parser = new ResponseParser("GET", () => {});
      const body: string[] = [];
      const byParts = new ResponseParser("GET", (bytes) => body.push(bytes.toString()));
      parser.push(Buffer.from(chunked));
      byParts.push(Buffer.from(chunked.slice(0, cut)));
      byParts.push(Buffer.from(chunked.slice(cut)));
      expect({ cut, done: byParts.done, body: body.join("") }).toEqual({
        cut,
        done: true,
        body: "hello world\n",
      });
      expect(byParts.trailers).toEqual([
        ["X-Checksum", "12"],
        ["X-Other", "yes"],
      ]);
      expect(parser.framing).toBe("chunked");
    }
  });

  test("no length and no chunks: the body ends only when the server closes", () => {
    const { parser, body } = parse("HTTP/1.0 200 OK\r\n\r\nuntil the end", { end: false });
    expect(parser.done).toBe(false);
    parser.end();
    expect({ done: parser.done, framing: parser.framing, body }).toEqual({
      done: true,
      framing: "close",
      body: "until the end",
    });
  });

  test("HEAD, 204 and 304 have no body, whatever the headers say", () => {
    const head = parse("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", {
      method: "HEAD",
      end: false,
    });
    expect({ done: head.parser.done, framing: head.parser.framing }).toEqual({
      done: true,
      framing: "none",
    });
    for (const status of ["204 No Content", "304 Not Modified"]) {
      const { parser } = parse(`HTTP/1.1 ${status}\r\nETag: "x"\r\n\r\n`, { end: false });
      expect({ status, done: parser.done, bytes: parser.bodyBytes }).toEqual({
        status,
        done: true,
        bytes: 0,
      });
    }
  });

  test("1xx responses are skipped and kept aside; the final response follows", () => {
    const { parser, body } = parse(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" +
        lengthFramed,
      { split: 3 },
    );
    expect(parser.informational.map((head) => head.status)).toEqual([100, 103]);
    expect(parser.informational[1]?.headers).toEqual([["Link", "</a.css>"]]);
    expect({ status: parser.head?.status, body }).toEqual({ status: 200, body: "hello" });
  });

  test("lenient where RFC 9112 allows: bare LF line ends, folded headers, Transfer-Encoding over Content-Length", () => {
    const bareLf = parse("HTTP/1.1 200 OK\nContent-Length: 2\n\nok");
    expect(bareLf.body).toBe("ok");
    const folded = parse("HTTP/1.1 200 OK\r\nX-Long: one\r\n  two\r\nContent-Length: 0\r\n\r\n");
    expect(folded.parser.head?.headers[0]).toEqual(["X-Long", "one two"]);
    const both = parse(
      "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    );
    expect({ framing: both.parser.framing, body: both.body }).toEqual({
      framing: "chunked",
      body: "ok",
    });
    const sameTwice = parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok");
    expect(sameTwice.body).toBe("ok");
  });

  test("each malformed response is one sentence saying what is wrong", () => {
    expect(fails("HTTP/1.1 OK\r\n\r\n")).toBe(
      'the response does not start with an HTTP status line (got "HTTP/1.1 OK"): is this port an HTTP server?',
    );
    expect(fails("SSH-2.0-OpenSSH_9.2\r\n")).toStartWith(
      'the response does not start with an HTTP status line (got "SSH-2.0-OpenSSH_9.2")',
    );
    expect(fails("HTTP/2 200\r\n\r\n")).toBe(
      "the server answered in HTTP/2, which this HTTP/1.1 client does not speak",
    );
    expect(fails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")).toBe(
      'bad chunk size line "zz": expected a hexadecimal number of bytes',
    );
    expect(
      fails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n"),
    ).toBe("a chunk is longer than its announced size (its data was not followed by CRLF)");
    expect(fails("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")).toBe(
      "the body is shorter than announced: the server closed the connection after 3 bytes of the 10 its Content-Length promised",
    );
    expect(fails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")).toBe(
      "the server closed the connection in the middle of the chunked body (after 3 bytes), before its last chunk",
    );
    expect(fails("")).toBe("the server closed the connection without sending any response");
    expect(fails("HTTP/1.1 2")).toBe(
      "the server closed the connection in the middle of the status line",
    );
    expect(fails("HTTP/1.1 200 OK\r\nServer: x\r\n")).toBe(
      "the server closed the connection before the end of the headers",
    );
    expect(fails("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n")).toBe(
      'malformed header line "no colon here": expected "Name: value"',
    );
    expect(fails("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello")).toBe(
      "conflicting Content-Length headers (5, 7): the body cannot be framed safely",
    );
    expect(fails("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")).toBe(
      'the Content-Length "-1" is not a number of bytes',
    );
    expect(fails("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")).toBe(
      "the server switched protocols (101), which this client never asked for",
    );
    for (const code of ["000", "099", "600", "999"])
      expect(fails(`HTTP/1.1 ${code} Odd\r\nContent-Length: 0\r\n\r\n`)).toBe(
        `the status code ${code} is not an HTTP one (100 to 599)`,
      );
    expect(fails("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n")).toBe(
      "the server closed the connection after an informational (1xx) response, before the real one",
    );
    // Data running past its chunk's size, far enough that no CRLF comes within a line's limit.
    expect(
      fails(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok${"x".repeat(9000)}`, {
        end: false,
      }),
    ).toBe("a chunk is longer than its announced size (its data was not followed by CRLF)");
  });

  test("field values: only SP and HTAB are trimmed, a bare CR becomes a space", () => {
    const { parser } = parse(
      "HTTP/1.1 200 OK\r\nX-Nbsp: \t a\xa0 \r\nX-Cr: a\rb\r\nContent-Length: 0\r\n\r\n",
    );
    expect(parser.head?.headers.slice(0, 2)).toEqual([
      ["X-Nbsp", "a\xa0"],
      ["X-Cr", "a b"],
    ]);
  });

  test("limits: a header too long, too many headers, a body over the cap", () => {
    const long = `HTTP/1.1 200 OK\r\nX-Long: ${"x".repeat(9000)}\r\n\r\n`;
    expect(fails(long)).toBe("a header line is longer than 8192 bytes, too long to accept");
    // Also when the line never ends: the parser does not wait for a newline forever.
    expect(fails(long.slice(0, 8500), { end: false })).toBe(
      "a header line is longer than 8192 bytes, too long to accept",
    );
    expect(fails(`${"HTTP/1.1 200 OK".padEnd(9000, "!")}`, { end: false })).toBe(
      "the status line is longer than 8192 bytes: is this port an HTTP server?",
    );
    // Folded lines are not fields and each is short, yet together they are bounded too.
    const folded = `HTTP/1.1 200 OK\r\nX-Fold: a\r\n${` ${"f".repeat(1000)}\r\n`.repeat(70)}\r\n`;
    expect(fails(folded, { end: false })).toBe(
      "the headers are over 65536 bytes in all, too large to accept",
    );
    const longTrailers = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 1\r\n${` ${"t".repeat(1000)}\r\n`.repeat(70)}`;
    expect(fails(longTrailers, { end: false })).toBe(
      "the trailers are over 65536 bytes in all, too large to accept",
    );
    const many = `HTTP/1.1 200 OK\r\n${"X-Many: 1\r\n".repeat(101)}\r\n`;
    expect(fails(many)).toBe("too many header fields: more than 100");
    expect(
      parse(`HTTP/1.1 200 OK\r\n${"X-Many: 1\r\n".repeat(100)}Content-Length: 0\r\n\r\n`, {
        limits: { maxHeaders: 101 },
      }).parser.done,
    ).toBe(true);
    const limits = { maxBodyBytes: 10 };
    expect(fails("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", { limits })).toBe(
      "the server announces a body of 11 bytes, more than the limit of 10 (raise --max-bytes to accept it)",
    );
    expect(
      fails(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n",
        { limits },
      ),
    ).toBe("the body passed the limit of 10 bytes (raise --max-bytes to accept more)");
    expect(fails(`HTTP/1.0 200 OK\r\n\r\n${"y".repeat(11)}`, { limits })).toBe(
      "the body passed the limit of 10 bytes (raise --max-bytes to accept more)",
    );
  });
});

// ---------------------------------------------------------------------------------------
describe("command-line.ts: what every script of the chapter does with its flags", () => {
  test("command-line numbers: ports and seconds, each wrong one a sentence", () => {
    expect(commandLine.parsePort("443")).toBe(443);
    expect(commandLine.parsePort("0", "port", 0)).toBe(0);
    expect(() => commandLine.parsePort("0")).toThrow(
      '--port must be a whole number from 1 to 65535, not "0"',
    );
    expect(() => commandLine.parsePort("65536")).toThrow("from 1 to 65535");
    expect(() => commandLine.parsePort("8o")).toThrow('not "8o"');
    expect(() => commandLine.parsePort("65535", "port", 0, 65534)).toThrow(
      '--port must be a whole number from 0 to 65534, not "65535"',
    );
    expect(commandLine.parseSeconds("timeout", "0.25", 5)).toBe(250);
    expect(commandLine.parseSeconds("timeout", undefined, 5)).toBe(5000);
    expect(() => commandLine.parseSeconds("timeout", "0", 5)).toThrow(
      '--timeout must be a number of seconds above 0, not "0"',
    );
    expect(() => commandLine.parseSeconds("idle-timeout", "-1", 5)).toThrow(
      "--idle-timeout must be",
    );
    expect(commandLine.formatEndpoint("::1", 80)).toBe("[::1]:80");
    expect(commandLine.formatEndpoint("127.0.0.1", 80)).toBe("127.0.0.1:80");
  });

  test("a PEM file for --ca: a missing file and a file that is not PEM are one sentence each", () => {
    expect(commandLine.readPem(PRACTICE_CERT)).toBe(CA);
    expect(() => commandLine.readPem("/no/such/ca.pem")).toThrow(
      "cannot read /no/such/ca.pem (ENOENT): give a PEM file",
    );
    const folder = mkdtempSync(join(tmpdir(), "not-pem-"));
    try {
      const notPem = join(folder, "ca.txt");
      writeFileSync(notPem, "a certificate, honest\n");
      expect(() => commandLine.readPem(notPem)).toThrow(
        `${notPem} is not a PEM file (no "-----BEGIN" line): give a PEM certificate`,
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------
describe("01-resolve: names to addresses", () => {
  const notFound = Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" });

  test("an IP literal is its own answer, and the resolver is not asked", async () => {
    let asked = 0;
    const resolver: resolve.Resolver = async () => (asked++, []);
    expect(await resolve.resolveHost("127.0.0.1", resolver)).toEqual([
      { address: "127.0.0.1", family: 4 },
    ]);
    expect(await resolve.resolveHost("[::1]", resolver)).toEqual([{ address: "::1", family: 6 }]);
    expect(asked).toBe(0);
  });

  test("localhost resolves from /etc/hosts; the resolver's order is kept", async () => {
    const addresses = await resolve.resolveHost("localhost");
    expect(addresses.every(({ address }) => address === "127.0.0.1" || address === "::1")).toBe(
      true,
    );
    expect(addresses.length).toBeGreaterThan(0);
    const answer = [
      { address: "2001:db8::1", family: 6 },
      { address: "192.0.2.7", family: 4 },
    ];
    expect(await resolve.resolveHost("www.example.com", async () => answer)).toEqual([
      { address: "2001:db8::1", family: 6 },
      { address: "192.0.2.7", family: 4 },
    ]);
  });

  test("unknown hosts: from the resolver, or under .invalid without asking anyone", async () => {
    let asked = 0;
    const failing: resolve.Resolver = async () => {
      asked++;
      throw notFound;
    };
    const sentence = (host: string): string =>
      `unknown host ${host}: no address was found for that name; check the spelling`;
    await expect(resolve.resolveHost("no-such-host.example", failing)).rejects.toThrow(
      sentence("no-such-host.example"),
    );
    await expect(resolve.resolveHost("nothing.invalid", failing)).rejects.toThrow(
      sentence("nothing.invalid"),
    );
    await expect(resolve.resolveHost("empty.example", async () => [])).rejects.toThrow(
      sentence("empty.example"),
    );
    const offline = Object.assign(new Error("timeout"), { code: "EAI_AGAIN" });
    await expect(
      resolve.resolveHost("far.example", async () => Promise.reject(offline)),
    ).rejects.toThrow(
      "looking up far.example failed (EAI_AGAIN): are you offline? try an IP address",
    );
    expect(asked).toBe(1);
  });

  test("hostile or malformed names are refused before any look-up", async () => {
    let asked = 0;
    const resolver: resolve.Resolver = async () => (asked++, [{ address: "192.0.2.1", family: 4 }]);
    for (const host of [
      "bad_host!",
      "-lead.example",
      "a..b",
      "",
      "x y",
      `${"a".repeat(64)}.com`,
      "a/b",
      "host\r\nX: 1",
    ]) {
      expect(resolve.isValidHost(host)).toBe(false);
      await expect(resolve.resolveHost(host, resolver)).rejects.toThrow(
        resolve.invalidHostMessage(host),
      );
    }
    for (const host of [
      "example.com",
      "localhost",
      "a-b.c0",
      "example.com.",
      "::1",
      "[::1]",
      "10.0.0.1",
    ])
      expect({ host, valid: resolve.isValidHost(host) }).toEqual({ host, valid: true });
    expect(asked).toBe(0);
    expect(resolve.invalidHostMessage("bad_host!")).toBe(
      '"bad_host!" is not a valid host name: use letters, digits, hyphens and dots (like example.com) or an IP address',
    );
  });

  test("run as a student: localhost by default, --json, and the errors", async () => {
    const plain = await runLesson("03-http-client/01-resolve.ts");
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(
      "(no --host given: resolving localhost; try --host example.com)",
    );
    expect(plain.stdout).toMatch(
      /localhost has \d address\(es\), found in [\d.]+ ms:\n {2}127\.0\.0\.1 {2}\(IPv4\)/,
    );

    const json = await runLesson("03-http-client/01-resolve.ts", ["--host", "::1", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      host: "::1",
      addresses: [{ address: "::1", family: 6 }],
    });

    const unknown = await runLesson("03-http-client/01-resolve.ts", ["--host", "nothing.invalid"]);
    expect(unknown).toMatchObject({ code: 1, stdout: "" });
    expect(unknown.stderr.trim()).toBe(
      "unknown host nothing.invalid: no address was found for that name; check the spelling",
    );

    const bad = await runLesson("03-http-client/01-resolve.ts", ["--host", "bad_host!"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toStartWith(`${resolve.invalidHostMessage("bad_host!")}\n\nusage: `);
    const extra = await runLesson("03-http-client/01-resolve.ts", ["example.com"]);
    expect({ code: extra.code, first: extra.stderr.split("\n")[0] }).toEqual({
      code: 2,
      first: 'unexpected argument "example.com"',
    });
  });
});

// ---------------------------------------------------------------------------------------
describe("02-connect: a TCP connection and its two ends", () => {
  test("both ends are what the server sees, in reverse", async () => {
    const seen = Promise.withResolvers<{ address: string; port: number }>();
    using server = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: (socket) => seen.resolve({ address: socket.remoteAddress, port: socket.remotePort }),
        data() {},
      },
    });
    const connection = await connect("127.0.0.1", server.port);
    try {
      const { socket } = connection;
      expect({ address: socket.remoteAddress, port: socket.remotePort }).toEqual({
        address: "127.0.0.1",
        port: server.port,
      });
      expect(await seen.promise).toEqual({ address: socket.localAddress, port: socket.localPort });
      expect(connection.where).toBe(`127.0.0.1:${server.port}`);
      expect(connection.connectMs).toBeGreaterThan(0);
    } finally {
      connection.close();
    }
  });

  test("bytes that arrive before anyone listens are handed over, then the close", async () => {
    using server = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { open: (socket) => void socket.end("hello before you asked\n"), data() {} },
    });
    const connection = await connect("127.0.0.1", server.port);
    const closed = Promise.withResolvers<Error | null>();
    let text = "";
    // Wait for the close first, so everything surely came before listen().
    await new Promise<void>((done) => {
      connection.listeners.close = () => done();
    });
    connection.listen({ data: (chunk) => (text += chunk), close: closed.resolve });
    expect(await closed.promise).toBeNull();
    expect(text).toBe("hello before you asked\n");
  });

  test("a refused port is one sentence; the next address of the name is then tried", async () => {
    const port = await closedPort();
    await expect(connect("127.0.0.1", port)).rejects.toThrow(
      `cannot connect to 127.0.0.1:${port}: nothing listens there (connection refused); check the port, or start the server`,
    );
    using server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    // 127.0.0.2 is loopback too, but nothing listens there on this port.
    const resolver: resolve.Resolver = async () => [
      { address: "127.0.0.2", family: 4 },
      { address: "127.0.0.1", family: 4 },
    ];
    const connection = await connectToHost("two-addresses.example", server.port, { resolver });
    expect(connection.socket.remoteAddress).toBe("127.0.0.1");
    connection.close();
    await expect(connectToHost("no-such.invalid", 80)).rejects.toThrow(
      "unknown host no-such.invalid",
    );
  });

  test("TLS options Bun refuses at once (a --ca that is no certificate) are one sentence", async () => {
    using server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const ca = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
    await expect(
      connect("127.0.0.1", server.port, { timeoutMs: 300, tls: { ca } }),
    ).rejects.toThrow(`cannot connect to 127.0.0.1:${server.port}: Invalid CA (check --ca)`);
  });

  test("a TLS handshake that never comes ends at the connect timeout", async () => {
    using silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const started = performance.now();
    await expect(
      connect("127.0.0.1", silent.port, { timeoutMs: 300, tls: { rejectUnauthorized: false } }),
    ).rejects.toThrow(`no connection to 127.0.0.1:${silent.port} within 0.3 s: is it up?`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });

  test.skipIf(!hasCommand("python3"))(
    "a SYN nobody answers (a full accept queue) ends at the connect timeout (needs Debian package python3)",
    async () => {
      // A listener with backlog 0 that never accepts: after one queued connection, the
      // kernel drops further SYNs, so a connect hangs the way it does to a dead host.
      const child = Bun.spawn(
        [
          "python3",
          "-c",
          "import socket,sys\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()",
        ],
        { stdin: "pipe", stdout: "pipe", stderr: "ignore" },
      );
      try {
        const reader = child.stdout.getReader();
        const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
        const first = await connect("127.0.0.1", port, { timeoutMs: 5_000 }); // fills the queue
        await expect(connect("127.0.0.1", port, { timeoutMs: 300 })).rejects.toThrow(
          `no connection to 127.0.0.1:${port} within 0.3 s: is it up?`,
        );
        // Run as a student: the sentence, then the exit, although the kernel still retries
        // the SYN for minutes (the lesson would hang there if it waited for it).
        const spawned = await runLesson(
          "03-http-client/02-connect.ts",
          ["--port", String(port), "--timeout", "0.3"],
          { timeoutMs: 15_000 },
        );
        expect({ code: spawned.code, err: spawned.stderr.trim() }).toEqual({
          code: 1,
          err: `no connection to 127.0.0.1:${port} within 0.3 s: is it up?`,
        });
        first.close();
      } finally {
        child.kill();
        await child.exited;
      }
    },
  );

  test("run as a student: the practice server by default, both ends, --json, the errors", async () => {
    const plain = await runLesson("03-http-client/02-connect.ts");
    expect(plain.code).toBe(0);
    const port = plain.stdout.match(/started the practice server on 127\.0\.0\.1:(\d+)/)?.[1];
    expect(port).toBeDefined();
    expect(plain.stdout).toMatch(
      new RegExp(`connected to 127\\.0\\.0\\.1 port ${port} in [\\d.]+ ms`),
    );
    expect(plain.stdout).toMatch(
      /our end: {3}127\.0\.0\.1:\d+ \(IPv4; the kernel picked the port\)/,
    );
    expect(plain.stdout).toContain(`their end: 127.0.0.1:${port}`);

    using server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const json = await runLesson("03-http-client/02-connect.ts", [
      "--port",
      String(server.port),
      "--json",
    ]);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ host: "127.0.0.1", port: server.port, practice: false });
    expect(report.remote).toEqual({ address: "127.0.0.1", port: server.port });
    expect(report.local.port).toBeGreaterThan(0);

    const refusedPort = await closedPort();
    const refused = await runLesson("03-http-client/02-connect.ts", [
      "--host",
      "127.0.0.1",
      "--port",
      String(refusedPort),
    ]);
    expect(refused).toMatchObject({ code: 1, stdout: "" });
    expect(refused.stderr.trim()).toBe(
      `cannot connect to 127.0.0.1:${refusedPort}: nothing listens there (connection refused); check the port, or start the server`,
    );
    for (const [args, sentence] of [
      [["--port", "0"], '--port must be a whole number from 1 to 65535, not "0"'],
      [["--port", "http"], '--port must be a whole number from 1 to 65535, not "http"'],
      [["--timeout", "0"], '--timeout must be a number of seconds above 0, not "0"'],
      [["--host", "a..b"], resolve.invalidHostMessage("a..b")],
    ] as const) {
      const bad = await runLesson("03-http-client/02-connect.ts", [...args]);
      expect({ args, code: bad.code, first: bad.stderr.split("\n")[0] }).toEqual({
        args,
        code: 2,
        first: sentence,
      });
    }
  });
});

// ---------------------------------------------------------------------------------------
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
        `--path must start with / and hold no spaces or control characters, not "${path}"`,
      );
  });

  test("sendAll delivers every byte of a large payload, waiting for drain when the kernel is full", async () => {
    const payload = Buffer.alloc(48 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4096) payload.writeUInt32BE(i, i);
    const received = createHash("sha256");
    let count = 0;
    const all = Promise.withResolvers<void>();
    using server = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(_socket, chunk) {
          received.update(chunk);
          count += chunk.length;
          if (count === payload.length) all.resolve();
        },
      },
    });
    const connection = await connect("127.0.0.1", server.port);
    const onClose = (): void => {};
    connection.listen({ close: onClose });
    const { writes, waits } = await sendAll(connection, payload);
    await all.promise;
    // Every wait borrowed the listeners and gave them back: none is left wrapped.
    expect(connection.listeners).toEqual({ close: onClose });
    connection.close();
    expect(received.digest("hex")).toBe(sha256(payload));
    expect(waits).toBeGreaterThan(0); // 48 MiB never fits in one write
    expect(writes).toBe(waits + 1);
  });

  test("sending to a closed connection is one sentence", async () => {
    using server = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { open: (s) => void s.end(), data() {} },
    });
    const connection = await connect("127.0.0.1", server.port);
    await new Promise<void>((done) => connection.listen({ close: () => done() }));
    await expect(sendAll(connection, "GET / HTTP/1.1\r\n\r\n")).rejects.toThrow(
      `127.0.0.1:${server.port} closed the connection while we were sending`,
    );
  });

  test("the first line of the reply, however it is split", async () => {
    using server = rawServer(["HT", "TP/1.1 2", "00 O", "K\r", "\nrest"]);
    const connection = await connect("127.0.0.1", server.port);
    await sendAll(connection, buildRequest({ host: "127.0.0.1", port: server.port }));
    expect(await readFirstLine(connection)).toBe("HTTP/1.1 200 OK");
    connection.close();
    expect(server.requests[0]).toBe(buildRequest({ host: "127.0.0.1", port: server.port }));
  });

  test("run as a student: the bytes with their CRLFs, and what the server got", async () => {
    const plain = await runLesson("03-http-client/03-send-request.ts");
    expect(plain.code).toBe(0);
    const port = plain.stdout.match(/practice server on 127\.0\.0\.1:(\d+)/)?.[1];
    expect(plain.stdout).toContain(`GET / HTTP/1.1\\r\\n\nHost: 127.0.0.1:${port}\\r\\n\n`);
    expect(plain.stdout).toContain("Connection: close\\r\\n\n\\r\\n\n");
    expect(plain.stdout).toMatch(/sent \d+ bytes in 1 write\(s\), after 0 wait\(s\) for drain/);
    expect(plain.stdout).toContain("the server's first line: HTTP/1.1 200 OK");

    using server = rawServer(["HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n"]);
    const json = await runLesson("03-http-client/03-send-request.ts", [
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

    const bad = await runLesson("03-http-client/03-send-request.ts", ["--path", "/a b"]);
    expect({ code: bad.code, first: bad.stderr.split("\n")[0] }).toEqual({
      code: 2,
      first: '--path must start with / and hold no spaces or control characters, not "/a b"',
    });
  });
});

// ---------------------------------------------------------------------------------------
describe("04-read-raw: everything until the close, with an idle timeout and a size cap", () => {
  test("reads every piece until the close, counting the data events", async () => {
    const response = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nfirst piece, second piece, third";
    using server = rawServer(pieces(response, 10));
    const connection = await connect("127.0.0.1", server.port);
    await sendAll(connection, buildRequest({ host: "127.0.0.1", port: server.port }));
    const chunks: Buffer[] = [];
    const { bytes, events } = await receive(connection, { onData: (chunk) => !chunks.push(chunk) });
    expect(Buffer.concat(chunks).toString()).toBe(response);
    expect(bytes).toBe(response.length);
    expect(events).toBe(chunks.length);
  });

  test("a server that stalls without closing: the idle timeout, as a sentence", async () => {
    using server = rawServer(["HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes "], {
      end: false,
    });
    const connection = await connect("127.0.0.1", server.port);
    await sendAll(connection, buildRequest({ host: "127.0.0.1", port: server.port }));
    let got = 0;
    await expect(
      receive(connection, {
        idleTimeoutMs: 300,
        onData: (chunk) => ((got += chunk.length), false),
      }),
    ).rejects.toThrow(
      `127.0.0.1:${server.port} sent nothing for 0.3 s (--idle-timeout) and did not close`,
    );
    expect(got).toBe("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes ".length);
  });

  test("a server that sends too much: the size cap, as a sentence", async () => {
    using server = rawServer([`HTTP/1.0 200 OK\r\n\r\n${"z".repeat(100_000)}`]);
    const connection = await connect("127.0.0.1", server.port);
    await sendAll(connection, buildRequest({ host: "127.0.0.1", port: server.port }));
    await expect(receive(connection, { maxBytes: 1000 })).rejects.toThrow(
      "the response passed 1000 bytes (--max-bytes): stopped",
    );
    expect(commandLine.parseMaxBytes("12")).toBe(12);
    expect(() => commandLine.parseMaxBytes("1e3")).toThrow(
      '--max-bytes must be a whole number of bytes above 0, not "1e3"',
    );
  });

  test("a reset in the middle is one sentence", async () => {
    using server = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data: (socket) => (socket.write("HTTP/1.1 200 OK\r\n"), socket.terminate()) },
    });
    const connection = await connect("127.0.0.1", server.port);
    await sendAll(connection, buildRequest({ host: "127.0.0.1", port: server.port }));
    await expect(receive(connection)).rejects.toThrow(
      `the connection to 127.0.0.1:${server.port} broke (ECONNRESET)`,
    );
  });

  test("run as a student: the raw response, then the count; --json; the cap and the stall", async () => {
    const plain = await runLesson("03-http-client/04-read-raw.ts", []);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/\nHTTP\/1\.1 200 OK\r\n/);
    expect(plain.stdout).toMatch(
      /\n--- \d+ bytes in \d+ data event\(s\) \([\d, .]+\); then the server closed, after \d+ ms\n$/,
    );

    using server = rawServer(
      pieces("HTTP/1.1 200 OK\r\nContent-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz", 16),
    );
    const json = await runLesson("03-http-client/04-read-raw.ts", [
      "--port",
      String(server.port),
      "--json",
    ]);
    const report = JSON.parse(json.stdout);
    expect(Buffer.from(report.base64, "base64").toString()).toBe(
      "HTTP/1.1 200 OK\r\nContent-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz",
    );
    expect(report.sizes.reduce((a: number, b: number) => a + b, 0)).toBe(report.bytes);

    const capped = await runLesson("03-http-client/04-read-raw.ts", [
      "--path",
      "/large",
      "--max-bytes",
      "5000",
    ]);
    expect({ code: capped.code, err: capped.stderr.trim() }).toEqual({
      code: 1,
      err: "the response passed 5000 bytes (--max-bytes): stopped",
    });
    using stall = rawServer(["HTTP/1.1 200 OK\r\n"], { end: false });
    const stalled = await runLesson("03-http-client/04-read-raw.ts", [
      "--port",
      String(stall.port),
      "--idle-timeout",
      "0.3",
    ]);
    expect({ code: stalled.code, err: stalled.stderr.trim() }).toEqual({
      code: 1,
      err: `127.0.0.1:${stall.port} sent nothing for 0.3 s (--idle-timeout) and did not close`,
    });
    const bad = await runLesson("03-http-client/04-read-raw.ts", ["--max-bytes", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toStartWith('--max-bytes must be a whole number of bytes above 0, not "0"');
  });
});

// ---------------------------------------------------------------------------------------
describe("05-tls: the handshake, and our own check of the certificate", () => {
  let practice: ReturnType<typeof startPracticeServer>;
  beforeAll(() => {
    practice = startPracticeServer({ tls: true });
  });
  afterAll(() => practice.stop());

  test("with the practice certificate trusted: verified, and the session described", async () => {
    const connection = await connectTls("127.0.0.1", practice.port, { ca: CA });
    const session = describeTls(connection);
    connection.close();
    expect(session).toMatchObject({
      verified: true,
      problem: null,
      subject: "CN=localhost, O=sockets-lab practice (not a real authority)",
    });
    expect(session.issuer).toBe(session.subject);
    expect(session.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(session.names).toBe("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    expect(session.sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const byName = await connectTls("localhost", practice.port, { ca: CA });
    expect(describeTls(byName).verified).toBe(true);
    byName.close();
  });

  test("without it: refused, with the reason; --insecure goes on but says so", async () => {
    await expect(connectTls("127.0.0.1", practice.port)).rejects.toThrow(
      "the certificate of 127.0.0.1 is self-signed, so nobody vouches for it: if you trust it, pass it with --ca FILE (or --insecure)",
    );
    const insecure = await connectTls("127.0.0.1", practice.port, { insecure: true });
    const session = describeTls(insecure);
    insecure.close();
    expect({ verified: session.verified, problem: session.problem }).toEqual({
      verified: false,
      problem: "self signed certificate",
    });
  });

  test("a certificate for other names is refused even when its authority is trusted", async () => {
    const elsewhere = startPracticeServer({ host: "127.0.0.2", tls: true });
    try {
      await expect(connectTls("127.0.0.2", elsewhere.port, { ca: CA })).rejects.toThrow(
        "the certificate is not for 127.0.0.2 but for other names (DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1): use one of those",
      );
    } finally {
      elsewhere.stop();
    }
  });

  test("a port that does not speak TLS, and the other certificate problems, in words", async () => {
    const plain = startPracticeServer({});
    try {
      await expect(connectTls("127.0.0.1", plain.port, { ca: CA, insecure: true })).rejects.toThrow(
        `no TLS handshake with 127.0.0.1:${plain.port} (EPROTO): does that port speak TLS?`,
      );
    } finally {
      plain.stop();
    }
    const coded = (code: string): Error => Object.assign(new Error(code), { code });
    expect(certificateProblem(coded("CERT_HAS_EXPIRED"), "old.example")).toBe(
      "the certificate of old.example has expired",
    );
    expect(certificateProblem(coded("UNABLE_TO_GET_ISSUER_CERT_LOCALLY"), "corp.example")).toBe(
      "the certificate of corp.example is not signed by an authority we trust (UNABLE_TO_GET_ISSUER_CERT_LOCALLY): see --ca FILE",
    );
  });

  test("run as a student: the practice server checked against its own certificate; the errors", async () => {
    const plain = await runLesson("03-http-client/05-tls.ts");
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(`(trusting its certificate, ${PRACTICE_CERT})`);
    expect(plain.stdout).toContain("  issued by: itself (self-signed)");
    expect(plain.stdout).toContain("verified: yes: signed by an authority we trust, for 127.0.0.1");

    const json = await runLesson("03-http-client/05-tls.ts", [
      "--port",
      String(practice.port),
      "--ca",
      PRACTICE_CERT,
      "--json",
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      port: practice.port,
      verified: true,
      practice: false,
    });

    const untrusted = await runLesson("03-http-client/05-tls.ts", [
      "--port",
      String(practice.port),
    ]);
    expect({ code: untrusted.code, err: untrusted.stderr.trim() }).toEqual({
      code: 1,
      err: "the certificate of 127.0.0.1 is self-signed, so nobody vouches for it: if you trust it, pass it with --ca FILE (or --insecure)",
    });
    const insecure = await runLesson("03-http-client/05-tls.ts", [
      "--port",
      String(practice.port),
      "--insecure",
    ]);
    expect(insecure.code).toBe(0);
    expect(insecure.stdout).toContain(
      "verified: NO (self signed certificate): going on only because of --insecure",
    );
    const folder = mkdtempSync(join(tmpdir(), "bad-ca-"));
    try {
      // Shaped like PEM, but Bun cannot read a certificate from it: one sentence, at once.
      const badCa = join(folder, "ca.pem");
      writeFileSync(badCa, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
      const refused = await runLesson("03-http-client/05-tls.ts", ["--ca", badCa]);
      expect({ code: refused.code, err: refused.stderr.trim() }).toEqual({
        code: 1,
        err: expect.stringMatching(
          /^cannot connect to 127\.0\.0\.1:\d+: Invalid CA \(check --ca\)$/,
        ),
      });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    const missing = await runLesson("03-http-client/05-tls.ts", ["--ca", "/no/such/ca.pem"]);
    expect({ code: missing.code, first: missing.stderr.split("\n")[0] }).toEqual({
      code: 2,
      first: "cannot read /no/such/ca.pem (ENOENT): give a PEM file",
    });
  });
});

// ---------------------------------------------------------------------------------------
describe("06-http-client: status, headers, and a body framed three ways", () => {
  let practice: ReturnType<typeof startPracticeServer>;
  beforeAll(() => {
    practice = startPracticeServer({});
  });
  afterAll(() => practice.stop());
  const get = (path: string, options: Parameters<typeof httpRequest>[1] = {}) =>
    httpRequest(new URL(practice.url(path)), options);

  test("Bun.serve's framing: Content-Length, chunked, none for 204/304/HEAD, a redirect shown", async () => {
    const index = await get("/");
    expect({ status: index.status, framing: index.framing }).toEqual({
      status: 200,
      framing: "content-length",
    });
    expect(index.body?.toString()).toContain(practice.url("/broken/stall"));
    const chunked = await get("/chunked");
    expect(chunked.framing).toBe("chunked");
    expect(chunked.body?.toString()).toBe(
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
    expect(sha256(large.body ?? Buffer.alloc(0))).toBe(sha256(largeBody(3_000_000)));
  });

  test("the hand-written responses: a 103 skipped, trailers kept, a body that ends at the close", async () => {
    const early = await get("/early-hints");
    expect(early.informational).toEqual([{ status: 103, reason: "Early Hints" }]);
    expect(early.body?.toString()).toBe("the real answer, after\r\n");
    const trailers = await get("/trailers");
    expect({ body: trailers.body?.toString(), trailers: trailers.trailers }).toEqual({
      body: "hello world\n",
      trailers: [["X-Checksum", "12 bytes"]],
    });
    const close = await get("/close");
    expect(close.framing).toBe("close");
    expect(close.body?.toString()).toBe(RAW_RESPONSES["/close"]?.slice(1).join(""));
  });

  test("a response trickling in a few bytes at a time is read the same", async () => {
    const response =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n5\r\nhello\r\n1;x=y\r\n!\r\n0\r\nT: 1\r\n\r\n";
    using server = rawServer(pieces(response, 3));
    const result = await httpRequest(new URL(server.url));
    expect({ body: result.body?.toString(), trailers: result.trailers }).toEqual({
      body: "hello!",
      trailers: [["T", "1"]],
    });
  });

  const broken: [string, Piece[], string][] = [
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
        ..."abc".split("").map(() => `400\r\n${"x".repeat(1024)}\r\n`),
      ],
      { end: false },
    );
    await expect(httpRequest(new URL(endless.url), { maxBytes: 1000 })).rejects.toThrow(
      "the body passed the limit of 1000 bytes (raise --max-bytes to accept more)",
    );
    using stall = rawServer(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"], { end: false });
    await expect(httpRequest(new URL(stall.url), { idleTimeoutMs: 300 })).rejects.toThrow(
      `127.0.0.1:${stall.port} sent nothing for 0.3 s (--idle-timeout) and did not close`,
    );
  });

  test("a refused port, an unknown host (from an injected resolver), https with the practice CA", async () => {
    const port = await closedPort();
    await expect(httpRequest(new URL(`http://127.0.0.1:${port}/`))).rejects.toThrow(
      `cannot connect to 127.0.0.1:${port}: nothing listens there (connection refused); check the port, or start the server`,
    );
    const notFound = Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" });
    await expect(
      httpRequest(new URL("http://www.no-such-host.example/"), {
        resolver: () => Promise.reject(notFound),
      }),
    ).rejects.toThrow(
      "unknown host www.no-such-host.example: no address was found for that name; check the spelling",
    );
    const secure = startPracticeServer({ tls: true });
    try {
      const result = await httpRequest(new URL(secure.url("/trailers")), { ca: CA });
      expect({
        status: result.status,
        verified: result.tls?.verified,
        body: result.body?.toString(),
      }).toEqual({
        status: 200,
        verified: true,
        body: "hello world\n",
      });
    } finally {
      secure.stop();
    }
  });

  test("run as a student: each practice path, and the malformed ones as sentences", async () => {
    const chunked = await runLesson("03-http-client/06-http-client.ts", ["/chunked"]);
    expect(chunked.code).toBe(0);
    expect(chunked.stdout).toContain(
      "(no URL: started the practice server; try https://example.com/)\nHTTP/1.1 200 OK\n",
    );
    expect(chunked.stdout).toContain(
      "part 5 of 5, sent on its own\n--- 200 OK: 145 bytes of body, framed by chunked;",
    );
    const redirect = await runLesson("03-http-client/06-http-client.ts", ["/redirect"]);
    expect(redirect.stdout).toMatch(/\nLocation: \/\n/);
    expect(redirect.stdout).toMatch(
      /redirect to http:\/\/127\.0\.0\.1:\d+\/ \(not followed: run again with that URL\)\n$/,
    );
    const early = await runLesson("03-http-client/06-http-client.ts", ["/early-hints"]);
    expect(early.stdout).toContain("(skipped: 103 Early Hints)\nHTTP/1.1 200 OK\n");
    const trailers = await runLesson("03-http-client/06-http-client.ts", ["/trailers", "--tls"]);
    expect(trailers.stdout).toContain("hello world\ntrailer X-Checksum: 12 bytes\n");
    const large = await runLesson("03-http-client/06-http-client.ts", ["/large"]);
    expect(large.stdout).toContain(
      "(5242880 bytes of body not shown: 07-http-get.ts --output FILE saves them)",
    );

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
      const result = await runLesson("03-http-client/06-http-client.ts", [path]);
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
    const fetched = await runLesson("03-http-client/06-http-client.ts", [
      `127.0.0.1:${server.port}/page?x=1`,
    ]);
    expect(fetched.code).toBe(0);
    expect(fetched.stdout).toStartWith(
      `HTTP/1.1 200 OK\nContent-Length: ${FRESH_PAGE.length}\n\n${FRESH_PAGE}---`,
    );
    expect(server.requests[0]).toStartWith("GET /page?x=1 HTTP/1.1\r\n");

    const unknown = await runLesson("03-http-client/06-http-client.ts", [
      "http://nothing.invalid/",
    ]);
    expect({ code: unknown.code, err: unknown.stderr.trim() }).toEqual({
      code: 1,
      err: "unknown host nothing.invalid: no address was found for that name; check the spelling",
    });
    for (const [url, sentence] of [
      ["ftp://example.com/", "only http(s):// URLs, not ftp://"],
      ["http://bad_host/", resolve.invalidHostMessage("bad_host")],
      ["http://[::1", '"http://[::1" is not a URL: write it like http://example.com/path'],
    ]) {
      const bad = await runLesson("03-http-client/06-http-client.ts", [url as string]);
      expect({ url, code: bad.code, first: bad.stderr.split("\n")[0] }).toEqual({
        url,
        code: 2,
        first: sentence,
      });
    }
  });
});

// ---------------------------------------------------------------------------------------
describe("07-http-get: bounded, saved as it arrives, --json for scripts", () => {
  let workdir: string;
  beforeAll(() => {
    workdir = mkdtempSync(join(tmpdir(), "http-get-"));
  });
  afterAll(() => rmSync(workdir, { recursive: true, force: true }));

  test("httpGet streams a large body to a file, with its SHA-256", async () => {
    const practice = startPracticeServer({});
    try {
      const file = join(workdir, "large.txt");
      const result = await httpGet(new URL(practice.url("/large")), { output: file });
      const expected = largeBody(5 * 1024 * 1024);
      expect({ body: result.body, bodyFile: result.bodyFile, bytes: result.bodyBytes }).toEqual({
        body: null,
        bodyFile: file,
        bytes: expected.length,
      });
      expect(sha256(readFileSync(file))).toBe(sha256(expected));
      expect(result.bodySha256).toBe(sha256(expected));
      const kept = await httpGet(new URL(practice.url("/trailers")));
      expect(kept.bodySha256).toBe(sha256(Buffer.from("hello world\n")));
    } finally {
      practice.stop();
    }
  });

  test("run as a student: one JSON document, the body in base64 or in a file", async () => {
    const json = await runLesson("03-http-client/07-http-get.ts", ["/trailers", "--json"]);
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
    const saved = await runLesson("03-http-client/07-http-get.ts", [
      "/large?bytes=123456",
      "--output",
      file,
      "--json",
    ]);
    const savedReport = JSON.parse(saved.stdout);
    expect({
      body: savedReport.body,
      bodyFile: savedReport.bodyFile,
      bytes: savedReport.bodyBytes,
    }).toEqual({ body: undefined, bodyFile: file, bytes: 123456 });
    expect(readFileSync(file).equals(largeBody(123456))).toBe(true);

    const head = await runLesson("03-http-client/07-http-get.ts", ["/large", "--method", "head"]);
    expect(head.stdout).toMatch(/\ncontent-length: 5242880\n/i);
    expect(head.stdout).toContain("--- 200 OK: 0 bytes of body, framed by none;");
  });

  test("run as a student: a file it cannot write is one sentence, before any download", async () => {
    using server = rawServer([
      `HTTP/1.1 200 OK\r\nContent-Length: ${FRESH_PAGE.length}\r\n\r\n${FRESH_PAGE}`,
    ]);
    const file = join(workdir, "no-such-folder", "page.html");
    const run = await runLesson("03-http-client/07-http-get.ts", [server.url, "--output", file]);
    expect({ code: run.code, err: run.stderr.trim(), asked: server.requests.length }).toEqual({
      code: 1,
      err: `cannot write to ${file} (ENOENT): check --output names a file in a folder that exists`,
      asked: 0,
    });
  });

  test("run as a student: the limits, each one sentence", async () => {
    const capped = await runLesson("03-http-client/07-http-get.ts", [
      "/large",
      "--max-bytes",
      "1000",
    ]);
    expect({ code: capped.code, err: capped.stderr.trim() }).toEqual({
      code: 1,
      err: "the server announces a body of 5242880 bytes, more than the limit of 1000 (raise --max-bytes to accept it)",
    });
    const stalled = await runLesson("03-http-client/07-http-get.ts", [
      "/broken/stall",
      "--idle-timeout",
      "0.4",
    ]);
    expect(stalled.code).toBe(1);
    expect(stalled.stderr.trim()).toMatch(
      /^127\.0\.0\.1:\d+ sent nothing for 0\.4 s \(--idle-timeout\) and did not close$/,
    );
    using silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const handshake = await runLesson("03-http-client/07-http-get.ts", [
      `https://127.0.0.1:${silent.port}/`,
      "--connect-timeout",
      "0.3",
    ]);
    expect({ code: handshake.code, err: handshake.stderr.trim() }).toEqual({
      code: 1,
      err: `no connection to 127.0.0.1:${silent.port} within 0.3 s: is it up?`,
    });
    for (const [args, sentence] of [
      [["--method", "POST"], '--method must be GET or HEAD, not "POST"'],
      [
        ["--connect-timeout", "soon"],
        '--connect-timeout must be a number of seconds above 0, not "soon"',
      ],
      [["--max-bytes=-5"], '--max-bytes must be a whole number of bytes above 0, not "-5"'],
      [["/", "/again"], 'unexpected argument "/again"'],
    ] as const) {
      const bad = await runLesson("03-http-client/07-http-get.ts", [...args]);
      expect({ args, code: bad.code, first: bad.stderr.split("\n")[0] }).toEqual({
        args,
        code: 2,
        first: sentence,
      });
    }
  });
});

// ---------------------------------------------------------------------------------------
describe("08/09/10: the practice servers", () => {
  test("startPracticeServer: URLs on the right listener, clientTarget and requestTarget", async () => {
    const practice = startPracticeServer({});
    try {
      expect(practice.url("/chunked")).toBe(`http://127.0.0.1:${practice.port}/chunked`);
      expect(practice.url("/broken/stall")).toBe(
        `http://127.0.0.1:${practice.rawPort}/broken/stall`,
      );
      expect(PAGES).toContain("/large");
      expect(RAW_PATHS).toContain("/trailers");
    } finally {
      practice.stop();
    }
    const given = clientTarget({ host: "example.com" }, 80);
    expect({ host: given.host, port: given.port, practice: given.practice }).toEqual({
      host: "example.com",
      port: 80,
      practice: false,
    });
    expect(() => clientTarget({ port: "99999" }, 80)).toThrow(
      '--port must be a whole number from 1 to 65535, not "99999"',
    );
    const started = clientTarget({ json: true }, 80);
    try {
      expect(started.practice).toBe(true);
      const connection = await connect(started.host, started.port);
      connection.close();
    } finally {
      started.stop();
    }
    const target = requestTarget("example.com/a b", {});
    expect(target.url.href).toBe("http://example.com/a%20b");
    expect(requestTarget("http://example.com/", { tls: true }).url.href).toBe(
      "https://example.com/",
    );
  });

  test("the hand-written correct responses frame their bodies exactly", () => {
    for (const path of ["/early-hints", "/trailers"]) {
      const parser = new ResponseParser("GET", () => {});
      parser.push(Buffer.from((RAW_RESPONSES[path] ?? []).join(""), "latin1"));
      expect({ path, done: parser.done }).toEqual({ path, done: true });
    }
    expect(largeBody(130).toString()).toBe(
      `line 0000000000 ${".".repeat(47)}\nline 0000000001 ${".".repeat(47)}\nli`,
    );
  });

  test("run as a student: 08 listens on two ports, answers, survives a bad client, stops on SIGINT", async () => {
    await using server = startLesson("03-http-client/08-practice-server.ts", ["--port", "0"]);
    const { host, port } = await server.listening("tcp");
    expect(host).toBe("127.0.0.1");
    const rawPort = Number(
      (await server.waitFor(/hand-written responses on 127\.0\.0\.1:(\d+)/))[1],
    );
    // A client that sends garbage and hangs up, on each port; then real requests still work.
    for (const target of [port, rawPort]) {
      const bad = await Bun.connect({ hostname: "127.0.0.1", port: target, socket: { data() {} } });
      bad.write(`GARBAGE ${"x".repeat(20_000)}\r\n\r\n`);
      bad.terminate();
    }
    const page = await httpRequest(new URL(`http://127.0.0.1:${port}/chunked`));
    expect(page.status).toBe(200);
    const raw = await httpRequest(new URL(`http://127.0.0.1:${rawPort}/trailers`));
    expect(raw.trailers).toEqual([["X-Checksum", "12 bytes"]]);
    // A request head that never ends: the raw listener answers 431 past 8 KiB, and closes.
    await using endless = await TcpTestClient.connect(rawPort);
    endless.send(`GET /${"a".repeat(9000)}`);
    await endless.whenClosed;
    expect(endless.text).toStartWith("HTTP/1.1 431 Request Header Fields Too Large\r\n");
    const missing = await httpRequest(new URL(`http://127.0.0.1:${rawPort}/nothing-here`));
    expect(missing.status).toBe(404);
    const stopped = await server.stop("SIGINT");
    expect(stopped.code).toBe(0);
  });

  test("run as a student: 09 and 10 alone, on IPv6 too, stop on SIGTERM", async () => {
    await using correct = startLesson("03-http-client/09-correct-responses.ts", [
      "--port",
      "0",
      "--host",
      "::1",
    ]);
    const six = await correct.listening("tcp");
    expect(six.host).toBe("::1");
    expect(correct.stdout).toContain(`listening on [::1]:${six.port} (tcp)`);
    const page = await httpRequest(new URL(`http://[::1]:${six.port}/no-content`));
    expect(page.status).toBe(204);
    expect((await correct.stop("SIGTERM")).code).toBe(0);

    await using raw = startLesson("03-http-client/10-raw-responses.ts", ["--port", "0"]);
    const { port } = await raw.listening("tcp");
    await expect(
      httpRequest(new URL(`http://127.0.0.1:${port}/broken/two-lengths`)),
    ).rejects.toThrow("conflicting Content-Length");
    expect((await raw.stop("SIGTERM")).code).toBe(0);
  });

  test("run as a student: a port in use and a bad port are one sentence each", async () => {
    using taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    for (const file of ["09-correct-responses.ts", "10-raw-responses.ts"]) {
      const busy = await runLesson(`03-http-client/${file}`, ["--port", String(taken.port)]);
      expect({ file, code: busy.code, err: busy.stderr.trim() }).toEqual({
        file,
        code: 1,
        err: `port ${taken.port} on 127.0.0.1 is already in use: stop the other program, or pass --port 0`,
      });
    }
    const busy = await runLesson("03-http-client/08-practice-server.ts", [
      "--port",
      String(taken.port),
    ]);
    expect(busy.code).toBe(1);
    expect(busy.stderr.trim()).toMatch(
      new RegExp(
        `^port ${taken.port} or ${taken.port + 1} on 127\\.0\\.0\\.1 is already in use: stop the other program, or pass --port 0$`,
      ),
    );
    // 08 takes the next port too, so its highest is 65534.
    for (const [file, port, sentence] of [
      [
        "08-practice-server.ts",
        "70000",
        '--port must be a whole number from 0 to 65534, not "70000"',
      ],
      [
        "08-practice-server.ts",
        "65535",
        '--port must be a whole number from 0 to 65534, not "65535"',
      ],
      [
        "09-correct-responses.ts",
        "70000",
        '--port must be a whole number from 0 to 65535, not "70000"',
      ],
    ]) {
      const bad = await runLesson(`03-http-client/${file}`, ["--port", port as string]);
      expect({ file, code: bad.code, first: bad.stderr.split("\n")[0] }).toEqual({
        file,
        code: 2,
        first: sentence,
      });
    }
  });
});

describe("the chapter's tour", () => {
  test("runs every lesson over loopback and exits 0", async () => {
    const { code, stdout, stderr } = await runLesson("03-http-client/tour.ts", [], {
      timeoutMs: 60_000,
    });
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toContain("$ bun run 03-http-client/06-http-client.ts /chunked");
    expect(stdout).toContain("bad chunk size line");
  }, 90_000);
});
