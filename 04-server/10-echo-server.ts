/**
 * @title Echo server
 * @summary Send back every byte each client sends (RFC 862), TCP and UDP, and let a client that never reads stall only itself.
 * @run bun run 04-server/10-echo-server.ts [--protocol tcp|udp|both] [--host 127.0.0.1] [--port 7007]
 * @python tcp/server_echo.py tcp_sockets_python.py#LocalEchoServer
 * @serves tcp "hello\n" -> "hello\n"
 * @serves udp "hello\n" -> "hello\n"
 * @limits idle --idle · memory 100 MiB
 *
 * Echo makes TCP's flow control visible. When `write()` takes less than it was given, the
 * kernel's buffer towards that client is full: we keep the rest, stop reading from that
 * client (`pause()`) and go on when it drains (`resume()`). A client that sends without
 * reading then fills its own buffers and waits; our memory stays flat, other clients go on.
 * The standard port, 7, needs root, so the default is 7007.
 */
import type { Socket, SocketHandler, TCPSocketListener, udp } from "bun";
import {
  announce,
  explainListenError,
  formatEndpoint,
  type Protocol,
  parseProtocolServerArgs,
  stopOnSignals,
} from "./cli.ts";

export const DEFAULT_PORT = 7007;
/** After pause() a few chunks already read may still arrive; more than this means a bug. */
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

class Connection {
  queue: Uint8Array[] = []; // bytes read but not yet taken by the kernel, in order
  queued = 0;
  echoed = 0;
  paused = false;
  pauses = 0;
  peerFinished = false; // the client half-closed: echo what is left, then close
  constructor(readonly peer: string) {}
}

export interface EchoServer {
  tcp?: TCPSocketListener<Connection>;
  udp?: udp.Socket<"buffer">;
  /** `peakQueuedBytes`: the most one connection ever had waiting, the proof of bounded memory. */
  stats: { connections: number; peakQueuedBytes: number; pausedNow: number };
  stop(): void;
}

export async function startEchoServer({
  host = "127.0.0.1",
  port = DEFAULT_PORT,
  protocols = ["tcp", "udp"] as Protocol[],
  log = (_line: string): void => {},
} = {}): Promise<EchoServer> {
  const stats = { connections: 0, peakQueuedBytes: 0, pausedNow: 0 };
  const server: EchoServer = { stats, stop: () => (server.tcp?.stop(true), server.udp?.close()) };

  /** Writes what is queued, in order; once all is taken, reads again (and closes if asked). */
  function flush(socket: Socket<Connection>): void {
    const state = socket.data;
    while (state.queue.length > 0) {
      const chunk = state.queue[0] as Uint8Array;
      const written = Math.max(socket.write(chunk), 0);
      state.queued -= written;
      state.echoed += written;
      if (written < chunk.length) {
        state.queue[0] = chunk.subarray(written); // the kernel is full again: wait for drain
        return;
      }
      state.queue.shift();
    }
    if (state.paused) {
      state.paused = false;
      stats.pausedNow--;
      socket.resume(); // it caught up: read what it sent meanwhile
    }
    if (state.peerFinished) socket.end();
  }

  const connections: SocketHandler<Connection> = {
    open(socket) {
      socket.data = new Connection(formatEndpoint(socket.remoteAddress, socket.remotePort));
      stats.connections++;
      log(`${socket.data.peer} connected`);
    },
    data(socket, chunk) {
      const state = socket.data;
      // Bytes already waiting go first, or the echo would come back out of order.
      const written = state.queued > 0 ? 0 : Math.max(socket.write(chunk), 0);
      state.echoed += written;
      if (written === chunk.length) return;
      state.queue.push(chunk.subarray(written));
      state.queued += chunk.length - written;
      stats.peakQueuedBytes = Math.max(stats.peakQueuedBytes, state.queued);
      if (state.queued > MAX_QUEUED_BYTES) {
        log(`${state.peer} sent ${state.queued} bytes past a pause: cut off`);
        socket.terminate();
      } else if (!state.paused) {
        if (state.pauses++ === 0) log(`${state.peer} reads slower than it sends: pausing it`);
        state.paused = true;
        stats.pausedNow++;
        socket.pause();
      }
    },
    drain: flush,
    end(socket) {
      socket.data.peerFinished = true;
      if (socket.data.queued === 0) socket.end();
    },
    close(socket) {
      stats.connections--;
      if (socket.data.paused) stats.pausedNow--;
      log(`${socket.data.peer} left; ${socket.data.echoed} bytes echoed`);
    },
    error() {},
  };
  const datagrams: udp.SocketHandler<"buffer"> = {
    // One datagram in, the same datagram out. If the kernel's buffer is full, send() says
    // false and the echo is lost: that is UDP, and the client's retry is the remedy.
    data: (udpSocket, datagram, peerPort, peerAddress) =>
      void udpSocket.send(datagram, peerPort, peerAddress),
    error() {}, // ICMP errors from clients that left must not kill the server
  };
  try {
    // allowHalfOpen: after the client's FIN we still owe it the rest of the echo.
    if (protocols.includes("tcp"))
      server.tcp = Bun.listen({ hostname: host, port, allowHalfOpen: true, socket: connections });
    if (protocols.includes("udp"))
      server.udp = await Bun.udpSocket({ hostname: host, port, socket: datagrams });
  } catch (error) {
    server.stop(); // a TCP port bound before the UDP bind failed is given back too
    throw new Error(explainListenError(error, host, port), { cause: error });
  }
  return server;
}

const usage = `usage: bun run 04-server/10-echo-server.ts [--protocol tcp|udp|both] [--host 127.0.0.1] [--port ${DEFAULT_PORT}]

Sends back every byte it receives (RFC 862), over TCP, UDP or both.
  --protocol  tcp, udp or both (default both; --port 0 gives each its own free port)
  --host      address to listen on (default 127.0.0.1; ::1 for IPv6)
  --port      port to listen on (default ${DEFAULT_PORT}; 0 takes any free port)`;

if (import.meta.main) {
  const options = parseProtocolServerArgs(usage, DEFAULT_PORT);
  const server = await startEchoServer({ ...options, log: console.log }).catch((error) => {
    console.error((error as Error).message);
    process.exit(1);
  });
  stopOnSignals(server.stop); // before `listening on`: see cli.ts
  announce(options.host, server);
}
