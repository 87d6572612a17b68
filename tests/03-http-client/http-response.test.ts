// The rubric of http-response.ts, the chapter's HTTP/1.1 response parser: fed bytes in
// pieces of any size, it frames the body by Content-Length, chunks or the close, skips 1xx,
// knows HEAD, 204 and 304 have no body, and turns every malformed or oversized response into
// one sentence. No network: bytes in, a result or a sentence out.
import { describe, expect, test } from "bun:test";
import {
  HttpResponseError,
  ResponseParser,
  type ResponseLimits,
} from "../../03-http-client/http-response.ts";

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

  test("feed() for a socket's handlers: never throws; `complete` settles at the framing's end", async () => {
    const whole = new ResponseParser("GET");
    whole.feed(Buffer.from("HTTP/1.1 200 OK\r\nContent-Le"));
    whole.feed(Buffer.from("ngth: 2\r\n\r\nok and bytes after it"));
    // Complete before any close: the Content-Length said where the body ends.
    await whole.complete;
    expect({ done: whole.done, bytes: whole.bodyBytes }).toEqual({ done: true, bytes: 2 });
    whole.feed();

    const closeFramed = new ResponseParser("GET");
    closeFramed.feed(Buffer.from("HTTP/1.1 200 OK\r\n\r\nuntil the close"));
    expect(closeFramed.done).toBe(false);
    closeFramed.feed();
    await closeFramed.complete;

    const broken = new ResponseParser("GET");
    expect(() =>
      broken.feed(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab")),
    ).not.toThrow();
    broken.feed();
    await expect(broken.complete).rejects.toThrow(
      "the body is shorter than announced: the server closed the connection after 2 bytes of the 9 its Content-Length promised",
    );
    const given = new ResponseParser("GET");
    given.fail(new Error("nothing for 10 s"));
    await expect(given.complete).rejects.toThrow("nothing for 10 s");
  });
});
