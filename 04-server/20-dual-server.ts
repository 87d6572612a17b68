/**
 * @title TCP and UDP server
 * @summary One process answers TCP clients (a line, a reply) and UDP datagrams (a datagram, a reply) until Ctrl-C.
 * @run bun run 04-server/20-dual-server.ts [--host 127.0.0.1] [--port 65432] [--udp-port PORT] [--max-line 1024] [--idle 60]
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
async function overUdp(host: string, port: number, maxMessageBytes: number, log: Log) {
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

/** Both sockets, TCP first; if the UDP bind fails, TCP's port is given back too. */
export async function startDualServer(host: string, ports: Ports, options: Options = {}) {
  const { maxMessageBytes = 1024, idleSeconds = 60, log = LOG } = options;
  // TCP: a reply to each line, until `exit`. serveLines (lib/lines.ts) is lessons 03 to 08 in
  // one: a LineReader, an Outbox and an IdleTimer for each client; what is left is the protocol.
  const tcp = serveLines({
    host,
    port: ports.tcp,
    maxLineBytes: maxMessageBytes,
    idleSeconds,
    // Messages are bytes: what comes in goes back as it came, valid UTF-8 or not.
    decode: (bytes) => bytes,
    line(client, message) {
      const { reply, end } = replyTo("TCP", message);
      if (end) client.end(Buffer.concat([reply, NEWLINE]));
      else client.send(Buffer.concat([reply, NEWLINE]));
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
  try {
    const udp = await overUdp(host, ports.udp, maxMessageBytes, log);
    const stop = () => {
      tcp.stop();
      udp.socket.close();
    };
    return { tcp: tcp.tcp, udp: udp.socket, guard: udp.guard, stop };
  } catch (error) {
    tcp.stop();
    // The sentence must name the UDP port: serve() knows only the TCP one.
    throw Object.assign(error as Error, { port: ports.udp });
  }
}

type Log = (line: string) => void;
type Ports = { tcp: number; udp: number };
type Options = { maxMessageBytes?: number; idleSeconds?: number; log?: Log };
const LOG: Log = () => {};
const NEWLINE = Buffer.from("\n");

const cli = command(
  "04-server/20-dual-server.ts",
  "Answers TCP lines on --port and UDP datagrams on --udp-port, from one process.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(65432, "TCP port; 0 takes any free one (and then --udp-port too)"),
    "udp-port": flag.port(undefined, "UDP port (default 65433, or any free one with --port 0)"),
    "max-line": flag.whole(1024, "longest message, in bytes", { min: 1, max: 65_507 }),
    idle: flag.whole(60, "seconds a TCP client may go without a whole line", { min: 1, max: 1e6 }),
  },
);

if (import.meta.main) {
  const { host, port, "udp-port": udpGiven, "max-line": maxMessageBytes, idle } = cli.parse();
  const ports = { tcp: port, udp: udpGiven ?? (port === 0 ? 0 : 65433) };
  const options = { maxMessageBytes, idleSeconds: idle, log: console.log };
  const start = () => startDualServer(host, ports, options);
  await serve(host, port, start, "try  nc HOST PORT, or  bun run 04-server/21-dual-client.ts");
}
