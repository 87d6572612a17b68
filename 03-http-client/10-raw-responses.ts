/**
 * @title Raw responses
 * @summary Hand-written HTTP responses, correct and broken, sent as bytes from a raw TCP listener.
 * @run bun run 03-http-client/10-raw-responses.ts [--host 127.0.0.1] [--port 8081]
 * @python new
 * @serves tcp "GET /close HTTP/1.1\r\nHost: practice\r\n\r\n" -> "HTTP/1.1 200"
 * @limits idle --idle · memory 100 MiB
 *
 * An HTTP response is just bytes on a TCP connection, so a plain `Bun.listen` server can
 * send any of them: a 103 before the real answer, a chunked body with trailers, a body
 * that ends when the connection does, and the broken kinds a client must survive. Each
 * path below is the exact text sent; a client that reads them learns what can go wrong.
 */
import type { Socket, TLSOptions } from "bun";
import { parseCommandLine, parsePort, serveUntilStopped } from "./command-line.ts";

/** Path -> the pieces of the response, written one after the other. */
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
  "/broken/long-header": [
    `HTTP/1.1 200 OK\r\nX-Long: ${"x".repeat(16_384)}\r\nContent-Length: 0\r\n\r\n`,
  ],
  "/broken/many-headers": [
    `HTTP/1.1 200 OK\r\n${"X-Many: header\r\n".repeat(200)}Content-Length: 0\r\n\r\n`,
  ],
  "/broken/two-lengths": [
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello, ",
  ],
  // Promises 100 bytes, sends 10, then neither sends nor closes: only an idle timeout ends it.
  "/broken/stall": ["HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes "],
};
export const RAW_PATHS = Object.keys(RAW_RESPONSES);

const NOT_FOUND =
  "HTTP/1.1 404 Not Found\r\nContent-Length: 29\r\n\r\nno such path: try /trailers\r\n";
const TOO_LONG = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n";
const MAX_REQUEST_HEAD = 8192;

interface Client {
  request: string;
  answered: boolean;
  unsent: Buffer;
  endWhenSent: boolean;
}

/** Writes what the kernel takes now and keeps the rest for `drain` (write() may take less). */
function flush(socket: Socket<Client>): void {
  const client = socket.data;
  while (client.unsent.length > 0) {
    const written = socket.write(client.unsent);
    if (written <= 0) return;
    client.unsent = client.unsent.subarray(written);
  }
  if (client.endWhenSent) socket.end();
}

function answer(socket: Socket<Client>, pieces: string[], end: boolean): void {
  socket.data.answered = true;
  for (const piece of pieces) {
    socket.data.unsent = Buffer.concat([socket.data.unsent, Buffer.from(piece, "latin1")]);
    flush(socket); // one write per piece, so they may well arrive as separate data events
  }
  socket.data.endWhenSent = end;
  flush(socket);
}

export function startRawServer({
  host = "127.0.0.1",
  port = 0,
  tls,
}: { host?: string; port?: number; tls?: TLSOptions } = {}) {
  return Bun.listen<Client>({
    hostname: host,
    port,
    tls,
    socket: {
      open(socket) {
        socket.data = { request: "", answered: false, unsent: Buffer.alloc(0), endWhenSent: false };
      },
      data(socket, chunk) {
        const client = socket.data;
        if (client.answered) return; // one request per connection
        // The request head ends at the first empty line; it may arrive in several pieces.
        client.request += chunk.toString("latin1");
        const end = client.request.search(/\r?\n\r?\n/);
        if (end < 0) {
          if (client.request.length > MAX_REQUEST_HEAD) answer(socket, [TOO_LONG], true);
          return;
        }
        const path = client.request.split(/\r?\n/)[0]?.split(" ")[1]?.split("?")[0] ?? "";
        const pieces = RAW_RESPONSES[path];
        answer(socket, pieces ?? [NOT_FOUND], path !== "/broken/stall");
      },
      drain: flush,
      error() {}, // a client that vanishes is not our problem
    },
  });
}

const usage = `usage: bun run 03-http-client/10-raw-responses.ts [--host H] [--port N]

Serves the hand-written responses (08-practice-server.ts starts this too):
  ${RAW_PATHS.join("\n  ")}
  --host H   address to listen on (default 127.0.0.1)
  --port N   port (default 8081; 0 = any free port)`;

if (import.meta.main) {
  const flags = { host: { type: "string" }, port: { type: "string" } } as const;
  const { host, port } = parseCommandLine(usage, flags, (values) => ({
    host: values.host ?? "127.0.0.1",
    port: parsePort(values.port ?? "8081", "port", 0),
  }));
  serveUntilStopped(host, port, () => {
    const server = startRawServer({ host, port });
    return { port: server.port, stop: () => server.stop(true) };
  });
}
