/**
 * @title Echo server over TCP
 * @summary Send back every byte each client sends (RFC 862), with the guards of this chapter.
 * @run bun run 04-server/16-echo-tcp-server.ts [--host 127.0.0.1] [--port 7007] [--idle 60]
 * @python tcp/server_echo.py tcp_sockets_python.py#LocalEchoServer
 * @serves tcp "hello\n" -> "hello\n"
 * @limits idle --idle · memory 100 MiB
 *
 * Echo makes TCP's flow control visible: what the kernel does not take at once waits in the
 * client's `Outbox`, which stops reading a client that does not read (lesson 08); a client
 * that sends no line nor 64 bytes for --idle seconds is closed (lesson 07).
 */
import { command, flag, peerOf, serve } from "../lib/cli.ts";
import { IdleTimer, Outbox } from "../lib/stream.ts";

/** Every byte back, in order, until the client half-closes; then the rest, and FIN. */
export function echoOverTcp(host: string, port: number, { idle = 60, log = LOG } = {}) {
  const stats = { connections: 0, peakQueuedBytes: 0 };
  // allowHalfOpen: after the client's FIN we still owe it the end of its echo.
  const listener = Bun.listen<Client | undefined>({
    hostname: host,
    port,
    allowHalfOpen: true,
    socket: {
      open(socket) {
        const outbox = new Outbox(socket);
        const timer = new IdleTimer(idle * 1000, () => outbox.end());
        socket.data = { peer: peerOf(socket), outbox, idle: timer, echoed: 0 };
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
      drain: (socket) => socket.data?.outbox.flush(),
      end: (socket) => socket.data?.outbox.end(),
      close(socket) {
        const client = socket.data;
        if (!client) return;
        client.idle.stop();
        stats.connections--;
        log(`${client.peer} left; ${client.echoed} bytes echoed`);
      },
    },
  });
  return { tcp: listener, stats, stop: () => listener.stop(true) };
}

type Client = { peer: string; outbox: Outbox; idle: IdleTimer; echoed: number; slow?: boolean };
const LOG = (_: string): void => {};

const cli = command(
  "04-server/16-echo-tcp-server.ts",
  "Sends back every byte it receives over TCP (RFC 862), until Ctrl-C.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(7007, "port to listen on (7 needs root); 0 takes any free one"),
    idle: flag.whole(60, "seconds a client may send no line nor 64 bytes", { min: 1, max: 1e6 }),
  },
);

if (import.meta.main) {
  const { host, port, idle } = cli.parse();
  const start = () => echoOverTcp(host, port, { idle, log: console.log });
  const hint = "try  bun run 04-server/17-echo-tcp-client.ts --host HOST --port PORT";
  await serve(host, port, start, hint);
}
