/**
 * @title Large body
 * @summary Send a body of any size in bounded memory: a piece at a time, as fast as the client reads.
 * @run bun run 03-http-client/08-large-body.ts [--host 127.0.0.1] [--port 8082] [--idle 60]
 * @python new
 * @serves tcp "GET /large?bytes=64 HTTP/1.1\r\nHost: practice\r\n\r\n" -> "HTTP/1.1 200"
 * @limits idle --idle · memory 100 MiB
 *
 * Built whole before its first byte left, `/large?bytes=268435456` (256 MiB) cost the practice
 * server 2 GB of memory, and every other client waited 4.6 s while it was made. Here the
 * body is made 1 MiB at a time, the next piece only when the Outbox has room: a slow reader
 * gets it slowly, and each download holds about 2 MiB. The head still says Content-Length:
 * the size is known before a byte of the body exists.
 */
import type { Socket } from "bun";
import { command, flag, serve } from "../lib/cli.ts";
import { IdleTimer, LineReader, Outbox } from "../lib/stream.ts";

export function startLargeBodyServer({ host = "127.0.0.1", port = 0, idle = 60, tls }: Options) {
  const listener = Bun.listen<Download>({
    hostname: host,
    port,
    tls,
    socket: {
      open(socket) {
        // Touched when the request is complete, and as the client takes the body.
        const timer = new IdleTimer(idle * 1000, () => socket.terminate());
        const outbox = new Outbox(socket);
        socket.data = { reader: new LineReader(8192), outbox, timer, size: -1, sent: 0 };
      },
      data(socket, chunk) {
        const download = socket.data;
        if (download.size >= 0) return;
        for (const line of download.reader.push(chunk)) {
          download.request ??= line;
          if (line === "") return start(socket, download.request);
        }
        if (download.reader.tooLong) reply(socket, "431 Request Header Fields Too Large", "");
      },
      // The client took what waited: make the next pieces.
      drain(socket) {
        socket.data.outbox.flush();
        pump(socket);
      },
      // A client that resets at once may be closed before `open` ran: no data then.
      close(socket) {
        socket.data?.timer.stop();
        if (socket.data) socket.data.closed = true;
      },
      error() {},
    },
  });
  return { tcp: listener, stop: () => listener.stop(true) };
}

/** Makes pieces while the Outbox has room, four a turn so that other clients get theirs. */
function pump(socket: Socket<Download>): void {
  const download = socket.data;
  for (let made = 0; made < 4; made++) {
    if (download.closed || download.sent === download.size || download.outbox.full) return;
    const length = Math.min(PIECE_BYTES, download.size - download.sent);
    download.outbox.send(largeBody(download.sent, length));
    download.outbox.flush();
    download.sent += length;
    download.timer.touch();
    if (download.sent === download.size) download.outbox.end();
  }
  // The kernel took it all, so no `drain` will come: go on at the next turn.
  setImmediate(() => pump(socket));
}

/** Bytes `offset` to `offset + length` of the body: numbered 64-byte lines, easy to check. */
export function largeBody(offset: number, length: number): Buffer {
  const first = Math.floor(offset / 64);
  const lines = Math.ceil((offset + length) / 64) - first;
  const piece = Buffer.alloc(lines * 64, `line 0000000000 ${".".repeat(47)}\n`);
  for (let line = 0; line < lines; line++)
    piece.write(String(first + line).padStart(10, "0"), line * 64 + 5, "latin1");
  return piece.subarray(offset - first * 64, offset - first * 64 + length);
}

/** `GET /large?bytes=N` (or HEAD): the head at once, the body as the client reads it. */
function start(socket: Socket<Download>, requestLine: string): void {
  // One request per connection: what the client sends after it is not read at all.
  socket.data.outbox.hold();
  const [method, target = ""] = requestLine.split(" ");
  const url = URL.parse(target, "http://practice");
  const bytes = url?.searchParams.get("bytes") ?? String(5 * 1024 * 1024);
  if (url?.pathname !== "/large") return reply(socket, "404 Not Found", "only /large?bytes=N\n");
  if (!/^\d{1,9}$/.test(bytes) || Number(bytes) > MAX_BYTES)
    return reply(socket, "400 Bad Request", `?bytes= takes 0 to ${MAX_BYTES}\n`);
  socket.data.size = method === "HEAD" ? 0 : Number(bytes);
  socket.data.timer.touch();
  socket.data.outbox.send(head("200 OK", Number(bytes)));
  if (socket.data.size === 0) socket.data.outbox.end();
  pump(socket);
}

function reply(socket: Socket<Download>, status: string, body: string): void {
  socket.data.size = 0;
  socket.data.outbox.send(`${head(status, body.length)}${body}`);
  socket.data.outbox.end();
}

const head = (status: string, length: number): string =>
  `HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${length}\r\n\r\n`;

const MAX_BYTES = 2 ** 28;
const PIECE_BYTES = 1024 * 1024;

/** `idle`: the seconds a client may take to complete its request, or the next piece. */
type Options = { host?: string; port?: number; idle?: number; tls?: { cert: string; key: string } };

interface Download {
  reader: LineReader;
  request?: string;
  outbox: Outbox;
  timer: IdleTimer;
  /** Bytes of body to send (-1 until the request is complete), and sent so far. */
  size: number;
  sent: number;
  closed?: boolean;
}

if (import.meta.main) {
  const cli = command("03-http-client/08-large-body.ts", "Serves /large?bytes=N (default 5 MiB)", {
    host: flag.listen("127.0.0.1"),
    port: flag.port(8082, "port to listen on (0 for any free port)"),
    idle: flag.whole(60, "cut off a client idle this many seconds", { min: 1, max: 255 }),
  });
  const { host, port, idle } = cli.parse();
  const hint =
    "try  bun run 03-http-client/04-read-raw.ts --host HOST --port PORT --path /large?bytes=200";
  await serve(host, port, () => startLargeBodyServer({ host, port, idle }), hint);
}
