/**
 * @title UDP calculator server
 * @summary One datagram in, one out: `7 12 + 30` gets `7 OK 42`, sent only to the sender, never bigger.
 * @run bun run 05-calc/03-udp-server.ts [--host 127.0.0.1] [--port 65433] [--verbose]
 * @python udp/server_calc.py
 * @serves udp "7 12 + 30\n" -> "7 OK 42"
 * @limits memory 100 MiB
 *
 * Try `{ echo "7 12 + 30"; sleep 1; } | nc -u 127.0.0.1 65433`. A datagram is a whole
 * request, so there is nothing to frame; but it may be lost, duplicated or overtaken, so it
 * carries an id that the reply repeats. The reply goes to the datagram's source, which may be
 * forged: so it is never longer than the request (or `2 ^ 3000` would aim a flood at a victim),
 * and a datagram that is itself a reply gets none (or two servers could ping-pong for ever).
 */
import { parseArgs } from "node:util";
import { type CalcServer, commandLine, endpoint, parsePort } from "./command-line.ts";
import { serve, type ServerOptions } from "./command-line.ts";
import { answerDatagram, UDP_PORT } from "./protocol.ts";

export interface UdpServerStats {
  received: number;
  answered: number;
  /** Not answered: too short for even an error, or a reply themselves (see answerDatagram). */
  withheld: number;
}

export interface UdpCalcServer extends CalcServer {
  stats: UdpServerStats;
}

export async function startUdpServer({
  host = "127.0.0.1",
  port = UDP_PORT,
  log = console.log,
  verbose = false,
}: ServerOptions & { verbose?: boolean } = {}): Promise<UdpCalcServer> {
  const stats: UdpServerStats = { received: 0, answered: 0, withheld: 0 };
  const socket = await Bun.udpSocket({
    hostname: host,
    port,
    socket: {
      data(socket, datagram, peerPort, peerAddress) {
        stats.received++;
        const reply = answerDatagram(datagram);
        const peer = endpoint(peerAddress, peerPort);
        if (verbose) log(`${peer}: ${JSON.stringify(datagram.toString())} -> ${reply ?? "(none)"}`);
        if (reply === null) {
          stats.withheld++;
          return;
        }
        // Only ever to the address the request came from, never one named inside it.
        // send() is false when the kernel's buffer is full: UDP may drop, the client resends.
        if (socket.send(reply, peerPort, peerAddress)) stats.answered++;
      },
      // A client that left before its reply makes the kernel report "port unreachable"
      // (ICMP); without this handler that error would stop the whole server.
      // Bun 1.4.5 passes the error as the first argument, not the second as typed.
      error(...args: unknown[]) {
        const error = args.find((arg) => arg instanceof Error);
        if (verbose) log(`ignored: ${error?.message ?? "socket error"}`);
      },
    },
  });
  return {
    port: socket.port,
    stats,
    stop() {
      socket.close();
      const { received, answered, withheld } = stats;
      log(`stopped: ${received} request(s), ${answered} answered, ${withheld} left unanswered`);
    },
  };
}

const usage = `usage: bun run 05-calc/03-udp-server.ts [--host 127.0.0.1] [--port 65433] [--verbose]
  --host     address to listen on (default 127.0.0.1; ::1 for IPv6)
  --port     port to listen on (default 65433; 0 = any free port)
  --verbose  print every request and its reply`;

if (import.meta.main) {
  const { values, port } = commandLine(usage, () => {
    const { values } = parseArgs({
      options: {
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: String(UDP_PORT) },
        verbose: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
    });
    return { values, port: parsePort(values.port) };
  });
  const { host, verbose } = values;
  await serve("udp", host, port, () => startUdpServer({ host, port, verbose }));
}
