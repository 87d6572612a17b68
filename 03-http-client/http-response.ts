/**
 * An HTTP/1.1 response parser (RFC 9112) for the chapter's clients, 12-http-client.ts and
 * 13-http-get.ts.
 *
 * It is fed bytes as they arrive, in pieces of any size: a status line or a header may
 * be split across two `data` events, and one event may hold the end of the headers and
 * the start of the body. It keeps only the unfinished line, hands body bytes on as they
 * come, and knows when the response is complete from its framing:
 *
 *   - no body: a HEAD request, 1xx (skipped; the real answer follows), 204, 304
 *   - `Transfer-Encoding: chunked`: hex size lines, data, a zero chunk, then trailers
 *   - `Content-Length: N`: exactly N bytes
 *   - neither: the body runs until the server closes the connection
 *
 * Every line, each head and the body have a size limit, so a hostile server cannot make
 * it hold unbounded bytes. Anything it cannot frame safely, or that passes a limit, is an
 * `HttpResponseError` whose message is one sentence for a person: what was wrong.
 *
 * A client drives it from its socket's handlers with `feed()`, which never throws, and
 * awaits `complete`: whole at the end of its framing, or the sentence for what went wrong.
 */

export class HttpResponseError extends Error {
  override name = "HttpResponseError";
}

export interface ResponseLimits {
  /** Longest status line, header or chunk-size line, in bytes. */
  maxLineBytes: number;
  /** Most bytes in one head (status line and fields, folded lines included), or in the trailers. */
  maxHeadBytes: number;
  /** Most header fields in one head (and in the trailers). */
  maxHeaders: number;
  /** Largest body; more is an error, not a silent cut. */
  maxBodyBytes: number;
}

export const DEFAULT_LIMITS: ResponseLimits = {
  maxLineBytes: 8192,
  maxHeadBytes: 64 * 1024,
  maxHeaders: 100,
  maxBodyBytes: 64 * 1024 * 1024,
};

export type Framing = "none" | "content-length" | "chunked" | "close";
export type Header = [name: string, value: string];

export interface ResponseHead {
  httpVersion: string;
  status: number;
  reason: string;
  headers: Header[];
}

/** Every value of a header (names are case-insensitive), in the order received. */
export function headerValues(headers: Header[], name: string): string[] {
  const wanted = name.toLowerCase();
  return headers.filter(([key]) => key.toLowerCase() === wanted).map(([, value]) => value);
}

type State =
  | "status"
  | "headers"
  | "length-body"
  | "chunk-size"
  | "chunk-data"
  | "chunk-end"
  | "trailers"
  | "close-body"
  | "done";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_INFORMATIONAL = 10;
/** Shows a piece of a bad line in an error message, with control bytes made visible. */
const quote = (line: string): string =>
  JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line);

/**
 * A field value without the whitespace around it: only SP and HTAB (JavaScript's trim()
 * would also eat byte 0xA0), and a bare CR becomes a space (RFC 9112 section 2.2).
 */
const fieldValue = (text: string): string =>
  text.replace(/^[ \t]+|[ \t]+$/g, "").replaceAll("\r", " ");

export class ResponseParser {
  /** 1xx responses received before the final one (103 Early Hints, 100 Continue). */
  readonly informational: ResponseHead[] = [];
  head: ResponseHead | null = null;
  framing: Framing = "none";
  trailers: Header[] = [];
  bodyBytes = 0;
  private state: State = "status";
  private pending: Buffer = Buffer.alloc(0);
  private fields: Header[] = [];
  /** Body bytes still expected: of the whole body (Content-Length) or of the current chunk. */
  private remaining = 0;
  /** Bytes of the head (or trailers) so far: line limits alone do not bound folded lines. */
  private headBytes = 0;
  private readonly limits: ResponseLimits;
  private readonly settled = Promise.withResolvers<void>();

  constructor(
    private readonly method: string,
    private readonly onBody: (bytes: Buffer) => void = () => {},
    limits: Partial<ResponseLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    // Nobody may be waiting yet (a connection refused before the request was sent):
    // that rejection is not "unhandled", whoever awaits `complete` later still gets it.
    this.settled.promise.catch(() => {});
  }

  /**
   * Resolves once the whole response has arrived (the end of its framing, not the close),
   * or rejects with the first error: a malformed response, or what `fail()` was given.
   */
  get complete(): Promise<void> {
    return this.settled.promise;
  }

  /**
   * For a socket's handlers: `feed(chunk)` pushes bytes, `feed()` says the server closed.
   * It never throws: an error rejects `complete` instead.
   */
  feed(chunk?: Uint8Array): void {
    try {
      if (chunk === undefined) this.end();
      else this.push(chunk);
      if (this.done) this.settled.resolve();
    } catch (error) {
      this.settled.reject(error);
    }
  }

  /** Gives up from outside (a timeout, say): `complete` rejects with `error`. */
  fail(error: Error): void {
    this.settled.reject(error);
  }

  /** True once the whole response (head, body and trailers) has arrived. */
  get done(): boolean {
    return this.state === "done";
  }

  /** Feeds the next bytes from the connection; throws `HttpResponseError` on a malformed response. */
  push(chunk: Uint8Array): void {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    while (data.length > 0 && this.state !== "done") {
      const used = this.step(data);
      if (used === 0) break; // an unfinished line: wait for more bytes
      data = data.subarray(used);
    }
    // Bytes after a complete response are ignored: we asked for `Connection: close`.
    this.pending = this.state === "done" ? Buffer.alloc(0) : Buffer.from(data);
  }

  /** The server closed the connection: fine only if the framing says the response is complete. */
  end(): void {
    const got = `${this.bodyBytes} byte${this.bodyBytes === 1 ? "" : "s"}`;
    switch (this.state) {
      case "done":
        return;
      case "close-body":
        this.state = "done";
        return;
      case "status":
        throw new HttpResponseError(
          this.pending.length > 0
            ? "the server closed the connection in the middle of the status line"
            : this.informational.length > 0
              ? "the server closed the connection after an informational (1xx) response, before the real one"
              : "the server closed the connection without sending any response",
        );
      case "headers":
        throw new HttpResponseError(
          "the server closed the connection before the end of the headers",
        );
      case "length-body":
        throw new HttpResponseError(
          `the body is shorter than announced: the server closed the connection after ${got} of the ${this.bodyBytes + this.remaining} its Content-Length promised`,
        );
      default:
        throw new HttpResponseError(
          `the server closed the connection in the middle of the chunked body (after ${got}), before its last chunk`,
        );
    }
  }

  /** Consumes what it can from the front of `data`; returns how many bytes (0 = need more). */
  private step(data: Buffer): number {
    switch (this.state) {
      case "length-body":
      case "chunk-data":
      case "close-body": {
        const taken =
          this.state === "close-body" ? data.length : Math.min(this.remaining, data.length);
        this.body(data.subarray(0, taken));
        if (this.state === "close-body") return taken;
        this.remaining -= taken;
        if (this.remaining === 0) this.state = this.state === "length-body" ? "done" : "chunk-end";
        return taken;
      }
      default: {
        const newline = data.indexOf(0x0a);
        if (newline < 0) {
          if (data.length > this.limits.maxLineBytes) this.lineTooLong();
          return 0;
        }
        if (newline > this.limits.maxLineBytes) this.lineTooLong();
        if (this.state === "status" || this.state === "headers" || this.state === "trailers") {
          this.headBytes += newline + 1;
          if (this.headBytes > this.limits.maxHeadBytes)
            throw new HttpResponseError(
              `the ${this.state === "trailers" ? "trailers are" : "headers are"} over ${this.limits.maxHeadBytes} bytes in all, too large to accept`,
            );
        }
        // RFC 9112 lets a recipient accept a bare LF as a line end; we drop one CR before it.
        const end = newline > 0 && data[newline - 1] === 0x0d ? newline - 1 : newline;
        this.line(data.toString("latin1", 0, end));
        return newline + 1;
      }
    }
  }

  private line(line: string): void {
    switch (this.state) {
      case "status":
        return this.statusLine(line);
      case "headers":
      case "trailers":
        return line === "" ? this.endOfFields() : this.field(line);
      case "chunk-size":
        return this.chunkSize(line);
      case "chunk-end":
        if (line !== "")
          throw new HttpResponseError(
            "a chunk is longer than its announced size (its data was not followed by CRLF)",
          );
        this.state = "chunk-size";
        return;
    }
  }

  private statusLine(line: string): void {
    const version = line.match(/^(HTTP\/(\d)(?:\.\d)?) /);
    if (version && version[2] !== "1")
      throw new HttpResponseError(
        `the server answered in ${version[1]}, which this HTTP/1.1 client does not speak`,
      );
    const match = line.match(/^HTTP\/1\.(\d) (\d{3})(?: (.*))?$/);
    if (!match)
      throw new HttpResponseError(
        `the response does not start with an HTTP status line (got ${quote(line)}): is this port an HTTP server?`,
      );
    if (!/^[1-5]/.test(match[2] ?? ""))
      throw new HttpResponseError(`the status code ${match[2]} is not an HTTP one (100 to 599)`);
    this.head = {
      httpVersion: `1.${match[1]}`,
      status: Number(match[2]),
      reason: match[3] ?? "",
      headers: [],
    };
    this.fields = this.head.headers;
    this.state = "headers";
  }

  private field(line: string): void {
    const last = this.fields.at(-1);
    if (/^[ \t]/.test(line) && last) {
      // Obsolete line folding: a user agent must replace it with a space (RFC 9112 5.2).
      last[1] = `${last[1]} ${fieldValue(line)}`;
      return;
    }
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name))
      throw new HttpResponseError(`malformed header line ${quote(line)}: expected "Name: value"`);
    if (this.fields.length >= this.limits.maxHeaders)
      throw new HttpResponseError(`too many header fields: more than ${this.limits.maxHeaders}`);
    this.fields.push([name, fieldValue(line.slice(colon + 1))]);
  }

  private endOfFields(): void {
    if (this.state === "trailers") {
      this.state = "done";
      return;
    }
    const head = this.head as ResponseHead;
    if (head.status >= 100 && head.status < 200) {
      if (head.status === 101)
        throw new HttpResponseError(
          "the server switched protocols (101), which this client never asked for",
        );
      if (this.informational.push(head) > MAX_INFORMATIONAL)
        throw new HttpResponseError(`more than ${MAX_INFORMATIONAL} informational (1xx) responses`);
      this.head = null;
      this.headBytes = 0; // the real response's head gets a limit of its own
      this.state = "status";
      return;
    }
    this.chooseFraming(head);
  }

  /** RFC 9112 section 6.3, in order: no body, chunked, Content-Length, until close. */
  private chooseFraming(head: ResponseHead): void {
    if (this.method === "HEAD" || head.status === 204 || head.status === 304) {
      this.framing = "none";
      this.state = "done";
      return;
    }
    const codings = headerValues(head.headers, "transfer-encoding")
      .flatMap((value) => value.split(","))
      .map((coding) => coding.trim().toLowerCase())
      .filter((coding) => coding !== "");
    if (codings.length > 0) {
      // Transfer-Encoding wins over Content-Length; if chunked is not last, only close ends it.
      this.framing = codings.at(-1) === "chunked" ? "chunked" : "close";
      this.state = this.framing === "chunked" ? "chunk-size" : "close-body";
      return;
    }
    const lengths = headerValues(head.headers, "content-length").flatMap((value) =>
      value.split(",").map((part) => part.trim()),
    );
    if (lengths.length === 0) {
      this.framing = "close";
      this.state = "close-body";
      return;
    }
    const bad = lengths.find((value) => !/^\d{1,15}$/.test(value));
    if (bad !== undefined)
      throw new HttpResponseError(`the Content-Length ${quote(bad)} is not a number of bytes`);
    if (new Set(lengths.map(Number)).size > 1)
      throw new HttpResponseError(
        `conflicting Content-Length headers (${[...new Set(lengths)].join(", ")}): the body cannot be framed safely`,
      );
    this.framing = "content-length";
    this.remaining = Number(lengths[0]);
    if (this.remaining > this.limits.maxBodyBytes)
      throw new HttpResponseError(
        `the server announces a body of ${this.remaining} bytes, more than the limit of ${this.limits.maxBodyBytes} (raise --max-bytes to accept it)`,
      );
    this.state = this.remaining === 0 ? "done" : "length-body";
  }

  private chunkSize(line: string): void {
    // chunk-size [ ; extensions ]: the extensions are allowed and ignored.
    const size = line
      .split(";")[0]
      ?.trim()
      .match(/^0*([0-9a-fA-F]{1,13})$/)?.[1];
    if (size === undefined)
      throw new HttpResponseError(
        `bad chunk size line ${quote(line)}: expected a hexadecimal number of bytes`,
      );
    this.remaining = Number.parseInt(size, 16);
    if (this.remaining === 0) {
      this.fields = this.trailers;
      this.headBytes = 0;
      this.state = "trailers";
    } else {
      this.state = "chunk-data";
    }
  }

  private body(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.bodyBytes += bytes.length;
    if (this.bodyBytes > this.limits.maxBodyBytes)
      throw new HttpResponseError(
        `the body passed the limit of ${this.limits.maxBodyBytes} bytes (raise --max-bytes to accept more)`,
      );
    this.onBody(bytes);
  }

  private lineTooLong(): never {
    const limit = `longer than ${this.limits.maxLineBytes} bytes`;
    throw new HttpResponseError(
      this.state === "status"
        ? `the status line is ${limit}: is this port an HTTP server?`
        : this.state === "headers" || this.state === "trailers"
          ? `a header line is ${limit}, too long to accept`
          : this.state === "chunk-end"
            ? "a chunk is longer than its announced size (its data was not followed by CRLF)"
            : `a chunk-size line is ${limit}: the chunked body is malformed`,
    );
  }
}
