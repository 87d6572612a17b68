/**
 * What the chapter's hand-made practice servers read and send, as data: lesson
 * 08-raw-responses writes the `RAW_RESPONSES` byte for byte, lesson 09-large-body answers
 * `/large?bytes=N` with `largeAnswer()` and makes its body with `largeBody()`. Each response
 * is the exact text on the wire, CR LF and all, so a student can read here what a client
 * receives. Both servers read a request's head with a `RequestHead`.
 */
import { LineReader } from "../lib/stream.ts";

/**
 * A request head, read as it arrives: `push()` returns the request line (`GET /x HTTP/1.1`)
 * once the empty line ends the head. A line over 8 KiB sets `tooLong` (answer 431), and
 * the reader keeps nothing more.
 */
export class RequestHead {
  private readonly reader = new LineReader(8192);
  private requestLine: string | undefined;

  get tooLong(): boolean {
    return this.reader.tooLong;
  }

  push(chunk: Uint8Array): string | undefined {
    for (const line of this.reader.push(chunk)) {
      this.requestLine ??= line;
      if (line === "") return this.requestLine;
    }
    return undefined;
  }
}

/** The path a request line asks for, without its query: `/trailers`. */
export const pathOf = (requestLine: string): string =>
  requestLine.split(" ")[1]?.split("?")[0] ?? "";

/** Path -> the pieces of the response, written one after the other, a few ms apart. */
export const RAW_RESPONSES: Record<string, string[]> = {
  "/early-hints": [
    "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 24\r\n\r\nthe real answer, after\r\n",
  ],
  "/trailers": [
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n",
    "6;note=extensions-are-ignored\r\nhello \r\n",
    "6\r\nworld\n\r\n",
    "0\r\nX-Checksum: 12 bytes\r\n\r\n",
  ],
  "/close": [
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n",
    "no Content-Length, no chunks:\n",
    "this body ends when the server closes the connection\n",
  ],
  "/broken/status": ["HTPT/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n"],
  "/broken/chunk-size": [
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n",
  ],
  "/broken/short-body": ["HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly 21 bytes of 100\n"],
  "/broken/long-header": [`HTTP/1.1 200 OK\r\nX-Long: ${"x".repeat(16_384)}\r\n\r\n`],
  "/broken/many-headers": [`HTTP/1.1 200 OK\r\n${"X-Many: header\r\n".repeat(200)}\r\n`],
  "/broken/two-lengths": [
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello, ",
  ],
  // Promises 100 bytes, sends 10, then neither sends nor closes: only a timeout ends it.
  "/broken/stall": ["HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes "],
};
export const RAW_PATHS = Object.keys(RAW_RESPONSES);

/** The response that never ends: the server sends it, then neither sends nor closes. */
export const STALLED = RAW_RESPONSES["/broken/stall"];

/** The pieces for a path, or a 404 naming a path that exists. */
export function rawResponse(path: string): string[] {
  return RAW_RESPONSES[path] ?? [NOT_FOUND];
}

const NOT_FOUND =
  "HTTP/1.1 404 Not Found\r\nContent-Length: 29\r\n\r\nno such path: try /trailers\r\n";

/** The answer to a request head over 8 KiB (RFC 6585), from either server. */
export const HEAD_TOO_LONG =
  "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n";

/** The largest body `/large?bytes=N` makes: 256 MiB. */
export const MAX_LARGE_BYTES = 2 ** 28;

/**
 * The answer to a `/large` request line: the head, and how many body bytes follow it
 * (`largeBody()` makes them). `GET /large?bytes=N` (5 MiB without `bytes`); HEAD has the
 * same head and no body; anything else is a short 404 or 400, whole in its head.
 */
export function largeAnswer(requestLine: string): { head: string; bodyBytes: number } {
  const [method, target = ""] = requestLine.split(" ");
  const url = URL.parse(target, "http://practice");
  const bytes = url?.searchParams.get("bytes") ?? String(5 * 1024 * 1024);
  if (url?.pathname !== "/large") return whole("404 Not Found", "only /large?bytes=N\n");
  if (!/^\d{1,9}$/.test(bytes) || Number(bytes) > MAX_LARGE_BYTES)
    return whole("400 Bad Request", `?bytes= takes 0 to ${MAX_LARGE_BYTES}\n`);
  return { head: head("200 OK", Number(bytes)), bodyBytes: method === "HEAD" ? 0 : Number(bytes) };
}

const head = (status: string, length: number): string =>
  `HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${length}\r\n\r\n`;

const whole = (status: string, body: string) => ({
  head: `${head(status, body.length)}${body}`,
  bodyBytes: 0,
});

/** Bytes `offset` to `offset + length` of the body: numbered 64-byte lines, easy to check. */
export function largeBody(offset: number, length: number): Buffer {
  const first = Math.floor(offset / 64);
  const lines = Math.ceil((offset + length) / 64) - first;
  const piece = Buffer.alloc(lines * 64, `line 0000000000 ${".".repeat(47)}\n`);
  for (let line = 0; line < lines; line++)
    piece.write(String(first + line).padStart(10, "0"), line * 64 + 5, "latin1");
  return piece.subarray(offset - first * 64, offset - first * 64 + length);
}
