/**
 * @title Raw responses
 * @summary Hand-written HTTP responses, correct and broken, sent as bytes from a plain TCP listener.
 * @run bun run 03-http-client/07-raw-responses.ts [--host 127.0.0.1] [--port 8081] [--idle 60]
 * @python new
 * @serves tcp "GET /close HTTP/1.1\r\nHost: practice\r\n\r\n" -> "HTTP/1.1 200"
 * @limits idle --idle · memory 100 MiB
 *
 * An HTTP response is only bytes on a TCP connection, so a plain `Bun.listen` server can send
 * any of them: a 103 before the real answer, a chunked body with trailers, a body that ends
 * when the connection does, and the broken kinds a client must survive. Each path below is
 * the exact text sent, in pieces a few ms apart. One request per connection; a client that
 * completes none within --idle seconds is cut off.
 */
import type { Socket } from "bun";
import { command, flag, serve } from "../lib/cli.ts";
import { IdleTimer, LineReader, Outbox } from "../lib/stream.ts";

export function startRawServer({ host = "127.0.0.1", port = 0, idle = 60, tls }: Options) {
  const listener = Bun.listen<Client>({
    hostname: host,
    port,
    tls,
    socket: {
      open(socket) {
        // The idle clock is touched once, when the request is complete: a drip never does.
        const timer = new IdleTimer(idle * 1000, () => socket.terminate());
        const outbox = new Outbox(socket);
        socket.data = { reader: new LineReader(8192), outbox, timer, answered: false };
      },
      data(socket, chunk) {
        const client = socket.data;
        if (client.answered) return;
        // The head's lines: the request line first, then headers up to an empty line. A line
        // over 8 KiB is refused; endless short ones are dropped until the idle clock runs out.
        for (const line of client.reader.push(chunk)) {
          client.path ??= line.split(" ")[1]?.split("?")[0] ?? "";
          if (line !== "") continue;
          // One request per connection: stop reading, or a client that sends on would be read
          // for nothing, at gigabytes a second (the Outbox holds the input, and sees a reset).
          client.outbox.hold();
          return answer(socket, RAW_RESPONSES[client.path] ?? [NOT_FOUND]);
        }
        if (client.reader.tooLong) answer(socket, [TOO_LONG]);
      },
      drain: (socket) => socket.data.outbox.flush(),
      // A client that resets at once may be closed before `open` ran: no data then.
      close(socket) {
        clearTimeout(socket.data?.next);
        socket.data?.timer.stop();
      },
      error() {},
    },
  });
  return { tcp: listener, stop: () => listener.stop(true) };
}

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
  "/broken/long-header": [`HTTP/1.1 200 OK\r\nX-Long: ${"x".repeat(16_384)}\r\n\r\n`],
  "/broken/many-headers": [`HTTP/1.1 200 OK\r\n${"X-Many: header\r\n".repeat(200)}\r\n`],
  "/broken/two-lengths": [
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello, ",
  ],
  // Promises 100 bytes, sends 10, then neither sends nor closes: only a timeout ends it.
  "/broken/stall": ["HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes "],
};
export const RAW_PATHS = Object.keys(RAW_RESPONSES);

const NOT_FOUND =
  "HTTP/1.1 404 Not Found\r\nContent-Length: 29\r\n\r\nno such path: try /trailers\r\n";
const TOO_LONG = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n";

/** Sends the pieces 5 ms apart, so they may well arrive as separate data events. */
function answer(socket: Socket<Client>, pieces: string[], index = 0): void {
  const client = socket.data;
  client.answered = true;
  client.timer.touch();
  client.outbox.send(pieces[index] ?? "");
  if (index + 1 < pieces.length)
    client.next = setTimeout(() => answer(socket, pieces, index + 1), 5);
  else if (pieces !== RAW_RESPONSES["/broken/stall"]) client.outbox.end();
}

/** `idle`: the seconds a client has to complete its request. */
type Options = { host?: string; port?: number; idle?: number; tls?: { cert: string; key: string } };

interface Client {
  reader: LineReader;
  path?: string;
  outbox: Outbox;
  timer: IdleTimer;
  answered: boolean;
  next?: Timer;
}

if (import.meta.main) {
  const cli = command("03-http-client/07-raw-responses.ts", `Serves ${RAW_PATHS.join(" ")}`, {
    host: flag.listen("127.0.0.1"),
    port: flag.port(8081, "port to listen on (0 for any free port)"),
    idle: flag.whole(60, "cut off a client with no request in this many seconds", {
      min: 1,
      max: 255,
    }),
  });
  const { host, port, idle } = cli.parse();
  const hint =
    "try  bun run 03-http-client/04-read-raw.ts --host HOST --port PORT --path /trailers";
  await serve(host, port, () => startRawServer({ host, port, idle }), hint);
}
