/**
 * @title Echo server
 * @summary Send back every byte each client sends (RFC 862), over TCP and UDP, with every guard of this chapter.
 * @run bun run 04-server/13-echo-server.ts [--protocol tcp|udp|both] [--host 127.0.0.1] [--port 7007] [--idle 60]
 * @python tcp/server_echo.py tcp_sockets_python.py#LocalEchoServer
 * @serves tcp "hello\n" -> "hello\n"
 * @serves udp "hello\n" -> "hello\n"
 * @limits idle --idle · memory 100 MiB
 *
 * Echo makes TCP's flow control visible. Most of the time the kernel takes the whole echo at
 * once; what it does not take goes to the client's `Outbox`, which stops reading a client
 * that does not read (lesson 07) and notices one that vanished while paused. A client that
 * sends no line and no 64-byte chunk for --idle seconds is closed (lesson 06). Over UDP a
 * `ReplyGuard` (lesson 10) keeps the echo out of loops. Port 7 needs root: the default is 7007.
 */
import { command, endpoint, flag, peerOf, serve } from "../lib/cli.ts";
import { TokenBucket } from "../lib/rate.ts";
import { IdleTimer, Outbox } from "../lib/stream.ts";
import { ReplyGuard } from "../lib/udp.ts";

/** TCP: every byte back, in order, until the client half-closes; then the rest, and FIN. */
export function echoOverTcp(
  host: string,
  port: number,
  idleMs: number,
  log: Log,
  stats = { connections: 0, peakQueuedBytes: 0 },
) {
  // allowHalfOpen: after the client's FIN we still owe it the end of its echo.
  return Bun.listen<Client | undefined>({
    hostname: host,
    port,
    allowHalfOpen: true,
    socket: {
      open(socket) {
        const peer = peerOf(socket);
        const outbox = new Outbox(socket);
        socket.data = { peer, outbox, idle: new IdleTimer(idleMs, () => outbox.end()), echoed: 0 };
        stats.connections++;
      },
      data(socket, chunk) {
        const client = socket.data;
        if (!client || client.outbox.ended) return;
        client.echoed += chunk.length;
        // A line, or a real chunk of data, is progress; a byte now and then is not.
        if (chunk.length >= 64 || chunk.includes(10)) client.idle.touch();
        // Nothing waiting: write at once. Only what the kernel did not take goes to the Outbox.
        const written = client.outbox.queuedBytes === 0 ? Math.max(0, socket.write(chunk)) : 0;
        if (written === chunk.length) return;
        client.outbox.send(chunk.subarray(written));
        stats.peakQueuedBytes = Math.max(stats.peakQueuedBytes, client.outbox.queuedBytes);
        if (client.outbox.full && !client.slow) {
          client.slow = true;
          log(`${client.peer} reads slower than it sends: not reading it until it catches up`);
        }
      },
      drain(socket) {
        socket.data?.outbox.flush();
      },
      end(socket) {
        socket.data?.outbox.end();
      },
      close(socket) {
        const client = socket.data;
        if (!client) return;
        client.idle.stop();
        stats.connections--;
        log(`${client.peer} left; ${client.echoed} bytes echoed`);
      },
    },
  });
}

/** UDP: each datagram back as it came, unless the guard sees a loop or a forged source. */
export async function echoOverUdp(host: string, port: number, log: Log) {
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
          log(`did not echo ${endpoint(peerAddress, peerPort)} (udp): refused by the guard`);
      },
      // ICMP errors from clients that left must not kill the server.
      error() {},
    },
  });
  const guard = new ReplyGuard(socket);
  return { socket, guard };
}

interface Client {
  peer: string;
  outbox: Outbox;
  idle: IdleTimer;
  echoed: number;
  slow?: boolean;
}

type Log = (line: string) => void;

/** Binds the protocols asked for, TCP first; if UDP fails, TCP's port is given back too. */
export async function startEchoServer(
  host: string,
  port: number,
  { protocols = ["tcp", "udp"], idleMs = 60_000, log = (_: string) => {} } = {},
) {
  const stats = { connections: 0, peakQueuedBytes: 0 };
  const tcp = protocols.includes("tcp") ? echoOverTcp(host, port, idleMs, log, stats) : undefined;
  try {
    const udp = protocols.includes("udp") ? await echoOverUdp(host, port, log) : undefined;
    const stop = () => {
      tcp?.stop(true);
      udp?.socket.close();
    };
    return { tcp, udp: udp?.socket, guard: udp?.guard, stats, stop };
  } catch (error) {
    tcp?.stop(true);
    throw error;
  }
}

const cli = command(
  "04-server/13-echo-server.ts",
  "Sends back every byte it receives (RFC 862), over TCP, UDP or both.",
  {
    protocol: flag.choice(["tcp", "udp", "both"], "both", "what to serve (--port 0: a port each)"),
    host: flag.listen("127.0.0.1"),
    port: flag.port(7007, "port to listen on, for TCP and UDP; 0 takes any free one"),
    idle: flag.whole(60, "seconds a client may send no line nor 64 bytes", { min: 1, max: 1e6 }),
  },
);

if (import.meta.main) {
  const { protocol, host, port, idle } = cli.parse();
  const protocols = protocol === "both" ? ["tcp", "udp"] : [protocol];
  const start = () =>
    startEchoServer(host, port, { protocols, idleMs: idle * 1000, log: console.log });
  const client = "bun run 04-server/14-echo-client.ts --host HOST --port PORT";
  await serve(host, port, start, `try  ${client}${protocol === "udp" ? " --protocol udp" : ""}`);
}
