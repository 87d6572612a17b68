/**
 * @title Daytime server
 * @summary Tell every TCP client and every UDP datagram what time it is (RFC 867), then forget them.
 * @run bun run 04-server/08-daytime-server.ts [--protocol tcp|udp|both] [--host 127.0.0.1] [--port 1313]
 * @python tcp_sockets_python.py#LocalDaytimeServer
 * @serves tcp "" -> /\d\d:\d\d:\d\d/
 * @serves udp "what time is it?\n" padded to 64 -> /\d\d:\d\d:\d\d/
 * @limits memory 100 MiB
 *
 * Daytime is the smallest real protocol: over TCP the server writes one line and closes,
 * and the close is how the client knows the answer is complete; over UDP any datagram gets
 * one datagram back. The standard port, 13, is below 1024 and needs root, so we default to
 * 1313, for TCP and UDP alike: the two protocols have separate port numbers, like on 13.
 */
import type { SocketHandler, TCPSocketListener, udp } from "bun";
import {
  announce,
  explainListenError,
  formatEndpoint,
  type Protocol,
  parseProtocolServerArgs,
  stopOnSignals,
} from "./cli.ts";

export const DEFAULT_PORT = 1313;

/** RFC 867 leaves the format free; we send the HTTP Date format, one line, ending CRLF. */
export const daytimeLine = (date: Date): string => `${date.toUTCString()}\r\n`;

export type DaytimeServer = { tcp?: TCPSocketListener; udp?: udp.Socket<"buffer">; stop(): void };

/** Binds the protocols asked for; a failed bind rejects with one sentence (explainListenError). */
export async function startDaytimeServer({
  host = "127.0.0.1",
  port = DEFAULT_PORT,
  protocols = ["tcp", "udp"] as Protocol[],
  now = () => new Date(),
  log = (_line: string): void => {},
} = {}): Promise<DaytimeServer> {
  const server: DaytimeServer = { stop: () => (server.tcp?.stop(true), server.udp?.close()) };
  const connections: SocketHandler<undefined> = {
    // The whole protocol: one short line, then close. end(data) is safe for a line this small
    // (one write takes it); a long reply would need a write/drain loop first.
    open(client) {
      log(`telling ${formatEndpoint(client.remoteAddress, client.remotePort)} the time (tcp)`);
      client.end(daytimeLine(now()));
    },
    data() {}, // anything the client sends is ignored, as RFC 867 says
    error() {},
  };
  const datagrams: udp.SocketHandler<"buffer"> = {
    data(udpSocket, _datagram, peerPort, peerAddress) {
      log(`telling ${formatEndpoint(peerAddress, peerPort)} the time (udp)`);
      udpSocket.send(daytimeLine(now()), peerPort, peerAddress);
    },
    // Without it, an ICMP "port unreachable" from a client that left would kill the server.
    error() {},
  };
  try {
    if (protocols.includes("tcp"))
      server.tcp = Bun.listen({ hostname: host, port, socket: connections });
    if (protocols.includes("udp"))
      server.udp = await Bun.udpSocket({ hostname: host, port, socket: datagrams });
  } catch (error) {
    server.stop(); // a TCP port bound before the UDP bind failed is given back too
    throw new Error(explainListenError(error, host, port), { cause: error });
  }
  return server;
}

const usage = `usage: bun run 04-server/08-daytime-server.ts [--protocol tcp|udp|both] [--host 127.0.0.1] [--port ${DEFAULT_PORT}]

Answers every TCP connection and every UDP datagram with the current time (RFC 867).
  --protocol  tcp, udp or both (default both; --port 0 gives each its own free port)
  --host      IP address to listen on (default 127.0.0.1; ::1 for IPv6, 0.0.0.0 for all)
  --port      port to listen on (default ${DEFAULT_PORT}; 0 takes any free port)`;

if (import.meta.main) {
  const options = parseProtocolServerArgs(usage, DEFAULT_PORT);
  const server = await startDaytimeServer({ ...options, log: console.log }).catch((error) => {
    console.error((error as Error).message);
    process.exit(1);
  });
  stopOnSignals(server.stop); // before `listening on`: see cli.ts
  announce(options.host, server);
}
