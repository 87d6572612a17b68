/**
 * @title Daytime server over TCP
 * @summary Tell every TCP client what time it is (RFC 867): one line, then the close.
 * @run bun run 04-server/12-daytime-tcp-server.ts [--host 127.0.0.1] [--port 1313]
 * @python tcp_sockets_python.py#LocalDaytimeServer
 * @serves tcp "" -> /\d\d:\d\d:\d\d/
 * @limits memory 100 MiB
 *
 * Daytime is the smallest real protocol: the server writes one line of time and closes, and
 * the close tells the client that the answer is complete. What the client sends is not even
 * read. Port 13 needs root, so ours defaults to 1313. Lesson 14 tells the time over UDP.
 */
import { command, flag, peerOf, serve } from "../lib/cli.ts";
import { Outbox } from "../lib/stream.ts";
import { daytimeLine } from "./protocol.ts";

/** Each client gets one line, then FIN. What it sends is not even read. */
export function daytimeOverTcp(
  host: string,
  port: number,
  { now = () => new Date(), log = LOG } = {},
) {
  const listener = Bun.listen<Outbox | undefined>({
    hostname: host,
    port,
    socket: {
      open(socket) {
        // Read the peer's address first: Bun looks it up lazily, and after end() it is gone.
        const peer = peerOf(socket);
        socket.data = new Outbox(socket);
        socket.data.send(daytimeLine(now()));
        // FIN once it is out, and nothing read (RFC 867 ignores what the client sends).
        socket.data.end();
        socket.data.hold();
        log(`told ${peer} the time`);
      },
      drain: (socket) => socket.data?.flush(),
      data() {},
    },
  });
  return { tcp: listener, stop: () => listener.stop(true) };
}

const LOG = (_: string): void => {};

const cli = command(
  "04-server/12-daytime-tcp-server.ts",
  "Tells the time (RFC 867) to every TCP client, then closes the connection.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(1313, "port to listen on; 0 takes any free one"),
  },
);

if (import.meta.main) {
  const { host, port } = cli.parse();
  const start = () => daytimeOverTcp(host, port, { log: console.log });
  await serve(host, port, start, "try  nc HOST PORT");
}
