/**
 * @title Large body
 * @summary Send a body of any size in bounded memory: a piece at a time, as fast as the client reads.
 * @run bun run 03-http-client/09-large-body.ts [--host 127.0.0.1] [--port 8082] [--idle 60]
 * @python new
 * @serves tcp "GET /large?bytes=64 HTTP/1.1\r\nHost: practice\r\n\r\n" -> "HTTP/1.1 200"
 * @limits idle --idle · memory 100 MiB
 *
 * Built whole before its first byte left, `/large?bytes=268435456` (256 MiB) cost 2 GB of
 * memory and stalled every other client for 4.6 s. Here the body is made 1 MiB at a time, the
 * next piece only when the Outbox has room: a slow reader gets it slowly, and each download
 * holds about 2 MiB. Its head still says Content-Length: the size is known before the body.
 */
import type { Socket } from "bun";
import { command, flag, serve } from "../lib/cli.ts";
import { IdleTimer, Outbox } from "../lib/stream.ts";
import { HEAD_TOO_LONG, largeAnswer, largeBody, RequestHead } from "./practice-responses.ts";

export function startLargeBodyServer({ host = "127.0.0.1", port = 0, idle = 60, tls }: Options) {
  const listener = Bun.listen<Download>({
    hostname: host,
    port,
    tls,
    socket: {
      open(socket) {
        // Touched as the client takes the body: one that asks and never reads is cut off.
        const timer = new IdleTimer(idle * 1000, () => socket.terminate());
        const outbox = new Outbox(socket);
        socket.data = { head: new RequestHead(), outbox, timer, size: 0, sent: 0 };
      },
      data(socket, chunk) {
        const download = socket.data;
        const request = download.head.push(chunk);
        if (request === undefined && !download.head.tooLong) return;
        const answer = request ? largeAnswer(request) : { head: HEAD_TOO_LONG, bodyBytes: 0 };
        // One request per connection: what the client sends after it is not read at all.
        download.outbox.hold();
        download.size = answer.bodyBytes;
        download.outbox.send(answer.head);
        if (answer.bodyBytes === 0) download.outbox.end();
        pump(socket);
      },
      // The client took what waited: make the next pieces.
      drain: (socket) => pump(socket),
      // A client that resets at once may be closed before `open` ran: no data then.
      close: (socket) => socket.data?.timer.stop(),
      error() {},
    },
  });
  return { tcp: listener, stop: () => listener.stop(true) };
}

/** Makes the next piece of the body, if the Outbox has room for it. */
function pump(socket: Socket<Download>): void {
  const download = socket.data;
  download.outbox.flush();
  if (socket.readyState !== 1 || download.outbox.full || download.sent === download.size) return;
  const length = Math.min(1024 * 1024, download.size - download.sent);
  download.outbox.send(largeBody(download.sent, length));
  download.sent += length;
  download.timer.touch();
  if (download.sent === download.size) download.outbox.end();
  // The kernel may take it all, and then no `drain` comes: go on at the next turn.
  setImmediate(() => pump(socket));
}

type Options = { host?: string; port?: number; idle?: number; tls?: { cert: string; key: string } };
/** Bytes of body to send, and sent so far. */
type Download = { head: RequestHead; outbox: Outbox; timer: IdleTimer; size: number; sent: number };

if (import.meta.main) {
  const cli = command("03-http-client/09-large-body.ts", "Serves /large?bytes=N (default 5 MiB)", {
    host: flag.listen("127.0.0.1"),
    port: flag.port(8082, "port to listen on (0 for any free port)"),
    idle: flag.whole(60, "cut off a client idle this many seconds", { min: 1, max: 255 }),
  });
  const { host, port, idle } = cli.parse();
  const hint = "try  bun run 03-http-client/05-read-raw.ts --port PORT --path /large?bytes=200";
  await serve(host, port, () => startLargeBodyServer({ host, port, idle }), hint);
}
