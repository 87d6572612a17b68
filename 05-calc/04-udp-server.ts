/**
 * @title UDP calculator server
 * @summary One datagram in, one out: `7 12 + 30` gets `7 OK 42`, sent only to the sender, never bigger.
 * @run bun run 05-calc/04-udp-server.ts [--host 127.0.0.1] [--port 65433] [--verbose]
 * @python udp/server_calc.py
 * @serves udp "7 12 + 30\n" -> "7 OK 42"
 * @limits memory 100 MiB
 *
 * Try `{ echo "7 12 + 30"; sleep 1; } | nc -u 127.0.0.1 65433`. A datagram is a whole
 * request, so there is nothing to frame; but it may be lost, duplicated or overtaken, so
 * it carries an id that the reply repeats. The reply goes to the datagram's source,
 * which may be forged: so it is never longer than the request (or `2 ^ 3000` would aim a
 * flood at a victim), and the ReplyGuard refuses the loops and floods a forged source
 * can start.
 */
import { command, endpoint, flag, serve } from "../lib/cli.ts";
import { ReplyGuard } from "../lib/udp.ts";
import { answerDatagram, QUICK_DIVISOR, UDP_PORT } from "./protocol.ts";

export async function startUdpServer({
  host = "127.0.0.1",
  port = UDP_PORT,
  verbose = false,
  log = console.log,
}) {
  const stats = { received: 0, answered: 0, withheld: 0 };
  const socket = await Bun.udpSocket({
    hostname: host,
    port,
    socket: {
      data(socket, datagram, peerPort, peerAddress) {
        stats.received++;
        // null: too short for even an error, or a reply itself (see answerDatagram).
        const reply = answerDatagram(datagram, QUICK_DIVISOR);
        // Its bytes once: the guard measures and remembers them, then they are sent.
        const bytes = reply === null ? undefined : Buffer.from(reply);
        const allowed = bytes !== undefined && guard.allows(peerAddress, peerPort, datagram, bytes);
        if (verbose) {
          const shown = allowed ? JSON.stringify(reply) : "(none)";
          log(`${endpoint(peerAddress, peerPort)}: ${JSON.stringify(`${datagram}`)} -> ${shown}`);
        }
        if (bytes === undefined || !allowed) {
          stats.withheld++;
          return;
        }
        // Only ever to the address the request came from, never one named inside it.
        // send() is false when the kernel's buffer is full: UDP may drop, the client resends.
        if (socket.send(bytes, peerPort, peerAddress)) stats.answered++;
      },
      // A client that left before its reply makes the kernel report "port unreachable"
      // (ICMP); without this handler that error would stop the whole server.
      error() {},
    },
  });
  // Never to itself, to a service port, an impossible source, or more than 1000/s to one.
  const guard = new ReplyGuard(socket);
  return {
    udp: { port: socket.port },
    stats,
    guard,
    stop() {
      socket.close();
      const { received, answered, withheld } = stats;
      log(`stopped: ${received} request(s), ${answered} answered, ${withheld} left unanswered`);
    },
  };
}

const cli = command("05-calc/04-udp-server.ts", "The UDP calculator, a datagram a request.", {
  host: flag.listen("127.0.0.1"),
  port: flag.port(UDP_PORT, "port to listen on; 0 takes any free port"),
  verbose: flag.bool("print every request and its reply"),
});

if (import.meta.main) {
  const { host, port, verbose } = cli.parse();
  const start = () => startUdpServer({ host, port, verbose });
  await serve(host, port, start, "try  { echo '7 12 + 30'; sleep 1; } | nc -u HOST PORT");
}
