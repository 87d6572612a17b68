/**
 * @title Echo server over UDP
 * @summary Send every UDP datagram back as it came (RFC 862), unless the guard sees a loop or a forged source.
 * @run bun run 04-server/18-echo-udp-server.ts [--host 127.0.0.1] [--port 7007]
 * @python new
 * @serves udp "hello\n" -> "hello\n"
 * @limits memory 100 MiB
 *
 * Over UDP the echo is one datagram for one datagram: the same bytes, never more. That is
 * exactly the server lesson 11 made loop for ever; here a `ReplyGuard` (lib/udp.ts) decides
 * every reply: never to itself, never to the old answering ports, never our own reply coming
 * back, at most a thousand a second to one source. Port 7 needs root: ours defaults to 7007.
 */
import { command, endpoint, flag, serve } from "../lib/cli.ts";
import { TokenBucket } from "../lib/rate.ts";
import { ReplyGuard } from "../lib/udp.ts";

/** Each datagram back as it came, unless the guard sees a loop or a forged source. */
export async function echoOverUdp(host: string, port: number, log = LOG) {
  // A flood of refusals must not become a flood of log lines: one a second at most.
  const logged = new TokenBucket(1, 3);
  const socket = await Bun.udpSocket({
    hostname: host,
    port,
    socket: {
      data(socket, datagram, peerPort, peerAddress) {
        if (guard.allows(peerAddress, peerPort, datagram, datagram))
          socket.send(datagram, peerPort, peerAddress);
        else if (logged.take())
          log(`did not echo ${endpoint(peerAddress, peerPort)}: refused by the guard`);
      },
      // ICMP errors from clients that left must not kill the server.
      error() {},
    },
  });
  const guard = new ReplyGuard(socket);
  return { udp: socket, guard, stop: () => socket.close() };
}

const LOG = (_: string): void => {};

const cli = command(
  "04-server/18-echo-udp-server.ts",
  "Sends back every UDP datagram it receives (RFC 862), until Ctrl-C.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(7007, "port to listen on; 0 takes any free one"),
  },
);

if (import.meta.main) {
  const { host, port } = cli.parse();
  const start = () => echoOverUdp(host, port, console.log);
  await serve(
    host,
    port,
    start,
    "try  bun run 04-server/19-echo-udp-client.ts --host HOST --port PORT",
  );
}
