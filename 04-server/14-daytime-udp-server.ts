/**
 * @title Daytime server over UDP
 * @summary Answer every UDP datagram big enough for the answer with the time (RFC 867).
 * @run bun run 04-server/14-daytime-udp-server.ts [--host 127.0.0.1] [--port 1313]
 * @python new
 * @serves udp "what time is it?\n" padded to 64 -> /\d\d:\d\d:\d\d/
 * @limits memory 100 MiB
 *
 * Over UDP a datagram gets one datagram back, the same line as lesson 12's. RFC 867 answers
 * any datagram, even an empty one, but 31 bytes for 0 would make us an amplifier: the
 * `ReplyGuard` of lesson 11 lets only datagrams of 31 bytes or more be answered, so clients
 * pad their request. It also keeps the server out of loops, and the log to a line a second.
 */
import { command, endpoint, flag, serve } from "../lib/cli.ts";
import { TokenBucket } from "../lib/rate.ts";
import { ReplyGuard } from "../lib/udp.ts";
import { daytimeLine } from "./protocol.ts";

/** A datagram, if the guard allows, gets the line as one datagram. */
export async function daytimeOverUdp(
  host: string,
  port: number,
  { now = () => new Date(), log = LOG } = {},
) {
  // A flood of datagrams must not become a flood of log lines: one a second at most.
  const logged = new TokenBucket(1, 3);
  const socket = await Bun.udpSocket({
    hostname: host,
    port,
    socket: {
      data(socket, datagram, peerPort, peerAddress) {
        const reply = daytimeLine(now());
        const allowed = guard.allows(peerAddress, peerPort, datagram, reply);
        if (allowed) socket.send(reply, peerPort, peerAddress);
        if (!logged.take()) return;
        const peer = endpoint(peerAddress, peerPort);
        if (allowed) log(`told ${peer} the time`);
        else log(`did not answer ${peer}: ${datagram.length} bytes, refused by the guard`);
      },
      // Without it, an ICMP "port unreachable" from a client that left would kill the server.
      error() {},
    },
  });
  const guard = new ReplyGuard(socket);
  return { udp: socket, guard, stop: () => socket.close() };
}

const LOG = (_: string): void => {};

const cli = command(
  "04-server/14-daytime-udp-server.ts",
  "Tells the time (RFC 867) to every UDP datagram of 31 bytes or more.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(1313, "port to listen on; 0 takes any free one"),
  },
);

if (import.meta.main) {
  const { host, port } = cli.parse();
  const start = () => daytimeOverUdp(host, port, { log: console.log });
  const client = "bun run 04-server/15-daytime-udp-client.ts --host HOST --port PORT";
  await serve(host, port, start, `try  ${client}`);
}
