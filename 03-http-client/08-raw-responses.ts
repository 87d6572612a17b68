/**
 * @title Raw responses
 * @summary Hand-written HTTP responses, correct and broken, sent as bytes from a plain TCP listener.
 * @run bun run 03-http-client/08-raw-responses.ts [--host 127.0.0.1] [--port 8081] [--idle 60]
 * @python new
 * @serves tcp "GET /close HTTP/1.1\r\nHost: practice\r\n\r\n" -> "HTTP/1.1 200"
 * @limits idle --idle · memory 100 MiB
 *
 * An HTTP response is only bytes on a TCP connection, so a plain `Bun.listen` server can send
 * any of them: a 103 before the real answer, a chunked body with trailers, a body that ends
 * when the connection does, and the broken kinds a client must survive. The bytes are data,
 * in practice-responses.ts; this page sends them in pieces a few ms apart. One request per
 * connection; a client that completes none within --idle seconds is cut off.
 */
import type { Socket } from "bun";
import { command, flag, serve } from "../lib/cli.ts";
import { IdleTimer, Outbox } from "../lib/stream.ts";
import { HEAD_TOO_LONG, pathOf, RAW_PATHS, rawResponse } from "./practice-responses.ts";
import { RequestHead, STALLED } from "./practice-responses.ts";

export function startRawServer({ host = "127.0.0.1", port = 0, idle = 60, tls }: Options) {
  const listener = Bun.listen<Client>({
    hostname: host,
    port,
    tls,
    socket: {
      open(socket) {
        // The idle clock is touched once, when the request is complete: a drip never does.
        const timer = new IdleTimer(idle * 1000, () => socket.terminate());
        socket.data = { head: new RequestHead(), outbox: new Outbox(socket), timer };
      },
      // Endless short header lines are dropped until the idle clock runs out.
      data(socket, chunk) {
        const { head } = socket.data;
        const request = head.push(chunk);
        if (request !== undefined) answer(socket, rawResponse(pathOf(request)));
        else if (head.tooLong) answer(socket, [HEAD_TOO_LONG]);
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

/** Sends the pieces 5 ms apart, so they may well arrive as separate data events. */
function answer(socket: Socket<Client>, pieces: string[], index = 0): void {
  const client = socket.data;
  // One request per connection: stop reading, or a client that sends on would be read
  // for nothing, at gigabytes a second (the Outbox holds the input, and sees a reset).
  if (index === 0) client.outbox.hold();
  client.timer.touch();
  client.outbox.send(pieces[index] ?? "");
  if (index + 1 < pieces.length)
    client.next = setTimeout(() => answer(socket, pieces, index + 1), 5);
  else if (pieces !== STALLED) client.outbox.end();
}

type Options = { host?: string; port?: number; idle?: number; tls?: { cert: string; key: string } };
type Client = { head: RequestHead; outbox: Outbox; timer: IdleTimer; next?: Timer };

if (import.meta.main) {
  const cli = command("03-http-client/08-raw-responses.ts", `Serves ${RAW_PATHS.join(" ")}`, {
    host: flag.listen("127.0.0.1"),
    port: flag.port(8081, "port to listen on (0 for any free port)"),
    idle: flag.whole(60, "seconds a client has to send its request", { min: 1, max: 255 }),
  });
  const { host, port, idle } = cli.parse();
  const hint = "try  bun run 03-http-client/05-read-raw.ts --port PORT --path /trailers";
  await serve(host, port, () => startRawServer({ host, port, idle }), hint);
}
