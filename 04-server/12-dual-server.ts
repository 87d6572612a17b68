/**
 * @title TCP and UDP server
 * @summary One process answers TCP clients (one line, one reply) and UDP datagrams (one datagram, one reply) until Ctrl-C.
 * @run bun run 04-server/12-dual-server.ts [--host 127.0.0.1] [--port 65432] [--udp-port 65433] [--max-line 1024]
 * @python informe#server
 * @serves tcp "hello\n" -> "server (TCP) received: hello\n"
 * @serves udp "hello" padded to 64 -> "server (UDP) received: hello"
 * @limits idle --idle · memory 100 MiB
 *
 * The Informe ran two threads, one per protocol, and served one TCP client, whose "exit" also
 * stopped the server. Here one event loop serves both, for as many TCP clients as come, each with
 * its own line buffer, and every datagram as it comes. "exit" ends only that client's
 * conversation. A TCP message is a line (the stream has no other edges); a UDP message is
 * one datagram. A line over --max-line bytes gets an error and the connection is closed.
 */
import type { Socket, SocketHandler, TCPSocketListener, udp } from "bun";
import { Outbox } from "./02-accept.ts";
import { LineBuffer, LineTooLongError } from "./03-echo-once.ts";
import {
  announce,
  explainListenError,
  formatEndpoint,
  parseCli,
  parseHost,
  parsePort,
  stopOnSignals,
  wholeNumber,
} from "./cli.ts";

export const TCP_PORT = 65432;
export const UDP_PORT = 65433;
/** The Informe read with recv(1024); we keep that as the longest message, now enforced. */
export const MAX_MESSAGE_BYTES = 1024;
/** Replies a TCP client has not read yet; past this we stop reading from it until it does. */
const MAX_UNREAD_REPLIES = 64 * 1024;

/** What the server says to `message` over `protocol`, and whether the conversation is over. */
export function replyTo(protocol: "TCP" | "UDP", message: string) {
  if (message.trim().toLowerCase() === "exit")
    return { reply: `server (${protocol}): goodbye`, end: true };
  return { reply: `server (${protocol}) received: ${message}`, end: false };
}

type Client = { peer: string; lines: LineBuffer; outbox: Outbox; paused: boolean };

export async function startDualServer({
  host = "127.0.0.1",
  tcpPort = TCP_PORT,
  udpPort = UDP_PORT,
  maxMessageBytes = MAX_MESSAGE_BYTES,
  log = (_line: string): void => {},
} = {}) {
  /** Sends the reply (or the error) and, when the conversation is over, closes this client only. */
  function answer(socket: Socket<Client>, reply: string, end: boolean): void {
    const { outbox } = socket.data;
    outbox.send(`${reply}\n`);
    if (end)
      outbox.finish(); // FIN after the reply; this client only, the server goes on
    else if (outbox.pendingBytes > MAX_UNREAD_REPLIES && !socket.data.paused)
      ((socket.data.paused = true), socket.pause());
  }

  const connections: SocketHandler<Client> = {
    open(socket) {
      const peer = formatEndpoint(socket.remoteAddress, socket.remotePort);
      const lines = new LineBuffer(maxMessageBytes);
      socket.data = { peer, lines, outbox: new Outbox(socket), paused: false };
      log(`(TCP) ${peer} connected`);
    },
    data(socket, chunk) {
      const { peer, lines, outbox } = socket.data;
      if (outbox.finished) return; // said goodbye already: the rest is read and dropped
      try {
        for (const line of lines.push(chunk)) {
          const message = line.toString("utf8");
          log(`(TCP) ${peer}: ${message}`);
          const { reply, end } = replyTo("TCP", message);
          answer(socket, reply, end);
          if (end) return;
        }
      } catch (error) {
        if (!(error instanceof LineTooLongError)) throw error;
        log(`(TCP) ${peer} sent a line over ${maxMessageBytes} bytes: closing it`);
        answer(socket, `error: ${error.message}; closing this connection`, true);
      }
    },
    drain(socket) {
      socket.data.outbox.flush();
      if (socket.data.paused && socket.data.outbox.pendingBytes <= MAX_UNREAD_REPLIES / 2)
        ((socket.data.paused = false), socket.resume());
    },
    close: (socket) => log(`(TCP) ${socket.data.peer} left`),
    error() {},
  };

  const tooLong = `error: message longer than ${maxMessageBytes} bytes`;
  const datagrams: udp.SocketHandler<"buffer"> = {
    data(udpSocket, datagram, peerPort, peerAddress) {
      const peer = formatEndpoint(peerAddress, peerPort);
      const message = datagram.toString("utf8").replace(/\r?\n$/, ""); // `nc -u` sends a line
      const tooBig = datagram.length > maxMessageBytes;
      log(`(UDP) ${peer}: ${tooBig ? `${datagram.length} bytes, over the limit` : message}`);
      // "exit" gets a goodbye too, but there is no connection to end and nobody else to stop.
      const reply = tooBig ? tooLong : replyTo("UDP", message).reply;
      udpSocket.send(reply, peerPort, peerAddress);
    },
    error() {}, // an ICMP error from a client that left must not stop the server
  };
  // TCP first, then UDP; a failure names its own port (tcp is still undefined if TCP failed).
  let tcp: TCPSocketListener<Client> | undefined;
  try {
    tcp = Bun.listen({ hostname: host, port: tcpPort, socket: connections });
    const udp = await Bun.udpSocket({ hostname: host, port: udpPort, socket: datagrams });
    return { tcp, udp, stop: () => (tcp?.stop(true), udp.close()) };
  } catch (error) {
    tcp?.stop(true); // UDP failed after TCP bound: give the TCP port back too
    throw new Error(explainListenError(error, host, tcp ? udpPort : tcpPort), { cause: error });
  }
}

const usage = `usage: bun run 04-server/12-dual-server.ts [--host 127.0.0.1] [--port ${TCP_PORT}] [--udp-port ${UDP_PORT}] [--max-line ${MAX_MESSAGE_BYTES}]

Answers TCP lines on --port and UDP datagrams on --udp-port, from one process.
  --host IP        address to listen on (default 127.0.0.1; ::1 for IPv6)
  --port N         TCP port (default ${TCP_PORT}; 0 = any free port, and then --udp-port too)
  --udp-port N     UDP port (default ${UDP_PORT})
  --max-line N     longest message accepted, in bytes (default ${MAX_MESSAGE_BYTES})`;

if (import.meta.main) {
  const options = parseCli(
    usage,
    {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: String(TCP_PORT) },
      "udp-port": { type: "string" },
      "max-line": { type: "string", default: String(MAX_MESSAGE_BYTES) },
    },
    (values) => {
      const tcpPort = parsePort(values.port);
      const udpDefault = tcpPort === 0 ? "0" : String(UDP_PORT);
      const udpPort = parsePort(values["udp-port"] ?? udpDefault, "--udp-port");
      const maxMessageBytes = wholeNumber("--max-line", values["max-line"], 1, 65_507);
      return { host: parseHost(values.host), tcpPort, udpPort, maxMessageBytes };
    },
  );
  const server = await startDualServer({ ...options, log: console.log }).catch((error) => {
    console.error((error as Error).message);
    process.exit(1);
  });
  stopOnSignals(server.stop); // before `listening on`: see cli.ts
  announce(options.host, server);
}
