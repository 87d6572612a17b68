/**
 * @title TCP and UDP server
 * @summary One process answers TCP clients (a line, a reply) and UDP datagrams (a datagram, a reply) until Ctrl-C.
 * @run bun run 04-server/15-dual-server.ts [--host 127.0.0.1] [--port 65432] [--udp-port PORT] [--max-line 1024] [--idle 60]
 * @python informe#server
 * @serves tcp "hello\n" -> "server (TCP) received: hello\n"
 * @serves udp "hello" padded to 64 -> "server (UDP) received: hello"
 * @limits idle --idle · memory 100 MiB
 *
 * The Informe ran a thread per protocol and served one TCP client, whose "exit" stopped the
 * server. Here one event loop serves both, for as many TCP clients as come, and `exit` ends
 * only that conversation. A TCP message is a line (the stream has no other edges), a UDP
 * message a datagram, padded by the client with spaces so that the reply is never bigger
 * than the request. Messages are bytes: what comes in goes back as it came, valid UTF-8 or not.
 */
import { command, endpoint, flag, serve } from "../lib/cli.ts";
import { serveLines } from "../lib/lines.ts";
import { TokenBucket } from "../lib/rate.ts";
import { ReplyGuard } from "../lib/udp.ts";
import { replyTo, unpadded } from "./protocol.ts";

/** UDP: one datagram, one reply, with the padding trimmed; never bigger than the request. */
export async function dualOverUdp(host: string, port: number, maxMessageBytes: number, log: Log) {
  // A flood of datagrams must not become a flood of log lines: one a second at most.
  const logged = new TokenBucket(1, 3);
  const tooLong = Buffer.from(`error: message longer than ${maxMessageBytes} bytes`);
  const socket = await Bun.udpSocket({
    hostname: host,
    port,
    socket: {
      data(socket, datagram, peerPort, peerAddress) {
        const message = unpadded(datagram);
        const reply = message.length > maxMessageBytes ? tooLong : replyTo("UDP", message).reply;
        const allowed = guard.allows(peerAddress, peerPort, datagram, reply);
        if (allowed) socket.send(reply, peerPort, peerAddress);
        if (!logged.take()) return;
        const bigger = reply.length > datagram.length;
        const why = bigger ? "a reply never exceeds its request: pad it" : "refused by the guard";
        const what = allowed ? "answered" : `not answered (${why})`;
        log(`(UDP) ${endpoint(peerAddress, peerPort)}: ${datagram.length} bytes, ${what}`);
      },
      // An ICMP error from a client that left must not stop the server.
      error() {},
    },
  });
  const guard = new ReplyGuard(socket);
  return { socket, guard };
}

/**
 * TCP: a reply to each line, until `exit`. `serveLines` (lib/lines.ts) is lessons 03 to 07
 * in one: a LineReader, an Outbox and an IdleTimer for each client; what is left is the protocol.
 */
export function dualOverTcp(
  host: string,
  port: number,
  maxMessageBytes: number,
  idleSeconds: number,
  log: Log,
) {
  return serveLines({
    host,
    port,
    maxLineBytes: maxMessageBytes,
    idleSeconds,
    // Messages are bytes: what comes in goes back as it came, valid UTF-8 or not.
    decode: (bytes) => bytes,
    line(client, message) {
      const { reply, end } = replyTo("TCP", message);
      const line = Buffer.concat([reply, NEWLINE]);
      if (end) client.end(line);
      else client.send(line);
    },
    tooLong(client) {
      log(`(TCP) ${client.peer} sent a line over ${maxMessageBytes} bytes: closing it`);
      client.end(`error: line longer than ${maxMessageBytes} bytes; closing this connection\n`);
    },
    // One log line per client, however much it says: never one per message.
    close(client, why) {
      log(`(TCP) ${client.peer}: ${client.lines} message(s); closed (${why})`);
    },
  });
}

const NEWLINE = Buffer.from("\n");

type Log = (line: string) => void;

/** Both sockets, TCP first; if the UDP bind fails, TCP's port is given back too. */
export async function startDualServer(
  host: string,
  tcpPort: number,
  udpPort: number,
  { maxMessageBytes = 1024, idleSeconds = 60, log = (_: string) => {} } = {},
) {
  const tcp = dualOverTcp(host, tcpPort, maxMessageBytes, idleSeconds, log);
  try {
    const udp = await dualOverUdp(host, udpPort, maxMessageBytes, log);
    const stop = () => {
      tcp.stop();
      udp.socket.close();
    };
    return { tcp: tcp.tcp, udp: udp.socket, guard: udp.guard, stop };
  } catch (error) {
    tcp.stop();
    // The sentence must name the UDP port: serve() knows only the TCP one.
    throw Object.assign(error as Error, { port: udpPort });
  }
}

const cli = command(
  "04-server/15-dual-server.ts",
  "Answers TCP lines on --port and UDP datagrams on --udp-port, from one process.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(65432, "TCP port; 0 takes any free one (and then --udp-port too)"),
    "udp-port": flag.port(undefined, "UDP port (default 65433, or any free one with --port 0)"),
    "max-line": flag.whole(1024, "longest message, in bytes (the Informe's recv(1024))", {
      min: 1,
      max: 65_507,
    }),
    idle: flag.whole(60, "seconds a TCP client may go without a whole line", { min: 1, max: 1e6 }),
  },
);

if (import.meta.main) {
  const { host, port, "udp-port": udpGiven, "max-line": maxMessageBytes, idle } = cli.parse();
  const udpPort = udpGiven ?? (port === 0 ? 0 : 65433);
  const options = { maxMessageBytes, idleSeconds: idle, log: console.log };
  const start = () => startDualServer(host, port, udpPort, options);
  await serve(host, port, start, "try  nc HOST PORT, or  bun run 04-server/16-dual-client.ts");
}
