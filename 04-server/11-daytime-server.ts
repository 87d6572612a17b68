/**
 * @title Daytime server
 * @summary Tell every TCP client, and every UDP datagram big enough for the answer, what time it is (RFC 867).
 * @run bun run 04-server/11-daytime-server.ts [--protocol tcp|udp|both] [--host 127.0.0.1] [--port 1313]
 * @python tcp_sockets_python.py#LocalDaytimeServer
 * @serves tcp "" -> /\d\d:\d\d:\d\d/
 * @serves udp "what time is it?\n" padded to 64 -> /\d\d:\d\d:\d\d/
 * @limits memory 100 MiB
 *
 * Daytime is the smallest real protocol: over TCP the server writes one line and closes (the
 * close tells the client the answer is complete); over UDP a datagram gets one back. RFC 867
 * answers any datagram, even an empty one, but 31 bytes for 0 would make us an amplifier: a
 * `ReplyGuard` (lesson 10) lets only datagrams of 31 bytes or more be answered, so clients
 * pad their request. Port 13 needs root: both protocols default to 1313.
 */
import { command, endpoint, flag, peerOf, serve } from "../lib/cli.ts";
import { TokenBucket } from "../lib/rate.ts";
import { Outbox } from "../lib/stream.ts";
import { ReplyGuard } from "../lib/udp.ts";
import { daytimeLine } from "./protocol.ts";

/** TCP: each client gets one line, then FIN. What it sends is not even read. */
export function daytimeOverTcp(host: string, port: number, now: () => Date, log: Log) {
  return Bun.listen<Outbox | undefined>({
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
        log(`told ${peer} the time (tcp)`);
      },
      drain(socket) {
        socket.data?.flush();
      },
      data() {},
    },
  });
}

/** UDP: a datagram, if the guard allows, gets the line as one datagram. */
export async function daytimeOverUdp(host: string, port: number, now: () => Date, log: Log) {
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
        if (allowed) log(`told ${peer} the time (udp)`);
        else log(`did not answer ${peer} (udp): ${datagram.length} bytes, refused by the guard`);
      },
      // Without it, an ICMP "port unreachable" from a client that left would kill the server.
      error() {},
    },
  });
  const guard = new ReplyGuard(socket);
  return { socket, guard };
}

type Log = (line: string) => void;

/** Binds the protocols asked for, TCP first; if UDP fails, TCP's port is given back too. */
export async function startDaytimeServer(
  host: string,
  port: number,
  { protocols = ["tcp", "udp"], now = () => new Date(), log = (_: string) => {} } = {},
) {
  const tcp = protocols.includes("tcp") ? daytimeOverTcp(host, port, now, log) : undefined;
  try {
    const udp = protocols.includes("udp") ? await daytimeOverUdp(host, port, now, log) : undefined;
    const stop = () => {
      tcp?.stop(true);
      udp?.socket.close();
    };
    return { tcp, udp: udp?.socket, guard: udp?.guard, stop };
  } catch (error) {
    tcp?.stop(true);
    throw error;
  }
}

const cli = command(
  "04-server/11-daytime-server.ts",
  "Tells the time (RFC 867) to every TCP client and UDP datagram of 31 bytes or more.",
  {
    protocol: flag.choice(["tcp", "udp", "both"], "both", "what to serve (--port 0: a port each)"),
    host: flag.listen("127.0.0.1"),
    port: flag.port(1313, "port to listen on, for TCP and UDP; 0 takes any free one"),
  },
);

if (import.meta.main) {
  const { protocol, host, port } = cli.parse();
  const protocols = protocol === "both" ? ["tcp", "udp"] : [protocol];
  const start = () => startDaytimeServer(host, port, { protocols, log: console.log });
  const client = "bun run 04-server/12-daytime-client.ts --protocol udp --host HOST --port PORT";
  await serve(host, port, start, protocol === "udp" ? `try  ${client}` : "try  nc HOST PORT");
}
