/**
 * @title Daytime server
 * @summary Tell every TCP client and every UDP datagram what time it is (RFC 867), then forget them.
 * @run bun run 04-server/08-daytime-server.ts [--protocol tcp|udp|both] [--host 127.0.0.1] [--port 1313]
 * @python tcp_sockets_python.py#LocalDaytimeServer
 *
 * Daytime is the smallest real protocol: over TCP the server writes one line and closes,
 * and the close is how the client knows the answer is complete; over UDP any datagram gets
 * one datagram back. The standard port, 13, is below 1024 and needs root, so we default to
 * 1313, for TCP and UDP alike: the two protocols have separate port numbers, like on 13.
 */
import type { Socket, TCPSocketListener, udp } from "bun";
import { isIP } from "node:net";
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { explainListenError, formatEndpoint, stopOnSignals } from "./01-bind.ts";

export const DEFAULT_PORT = 1313;
export type Protocol = "tcp" | "udp";

/** RFC 867 leaves the format free; we send the HTTP Date format, one line, ending CRLF. */
export const daytimeLine = (date: Date): string => `${date.toUTCString()}\r\n`;

/**
 * The book's CLI rules for the lessons from here on: --help prints usage and exits 0; a bad
 * flag (or a `check` that throws) prints one sentence and the usage, and exits 2.
 */
export function parseCli<const Options extends ParseArgsOptionsConfig, Result>(
  usage: string,
  options: Options,
  check: (values: ReturnType<typeof parseArgs<{ options: Options }>>["values"]) => Result,
): Result {
  try {
    const { values } = parseArgs({
      options: { ...options, help: { type: "boolean", short: "h" } },
    });
    if (!(values as { help?: boolean }).help) return check(values);
    console.log(usage);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
  process.exit(0);
}

/** A port flag: 0 (any free port) to 65535; other whole-number flags give their own bounds. */
export function parsePort(text: string, flag = "--port", min = 0, max = 65_535): number {
  if (/^\d+$/.test(text) && Number(text) >= min && Number(text) <= max) return Number(text);
  throw new Error(`${flag} must be a whole number from ${min} to ${max} (got "${text}")`);
}

/** `--host` takes an IP address, as in lesson 01: no resolver is asked. */
export function parseHost(host: string): string {
  if (isIP(host) !== 0) return host;
  throw new Error(`--host must be an IP address like ::1 (got "${host}")`);
}

/** The flags of the daytime and echo servers: `--protocol tcp|udp|both`, `--host`, `--port`. */
export function parseServerCli(usage: string, defaultPort: number) {
  const options = {
    protocol: { type: "string", default: "both" },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: String(defaultPort) },
  } as const;
  return parseCli(usage, options, ({ protocol, host, port }) => {
    if (!["tcp", "udp", "both"].includes(protocol))
      throw new Error(`--protocol must be tcp, udp or both (got "${protocol}")`);
    const protocols = (protocol === "both" ? ["tcp", "udp"] : [protocol]) as Protocol[];
    return { protocols, host: parseHost(host), port: parsePort(port) };
  });
}

export type DaytimeServer = { tcp?: TCPSocketListener; udp?: udp.Socket<"buffer">; stop(): void };

/** Binds the protocols asked for; a failed bind rejects with lesson 01's one sentence. */
export async function startDaytimeServer({
  host = "127.0.0.1",
  port = DEFAULT_PORT,
  protocols = ["tcp", "udp"] as Protocol[],
  now = () => new Date(),
  log = (_line: string): void => {},
} = {}): Promise<DaytimeServer> {
  const server: DaytimeServer = { stop: () => (server.tcp?.stop(true), server.udp?.close()) };
  const failed = (error: unknown): never => {
    server.stop();
    throw new Error(explainListenError(error, host, port), { cause: error });
  };
  if (protocols.includes("tcp")) {
    const socket = {
      // The whole protocol: one short line, then close (one write takes a line this small).
      open(client: Socket<undefined>) {
        log(`telling ${formatEndpoint(client.remoteAddress, client.remotePort)} the time (tcp)`);
        client.end(daytimeLine(now()));
      },
      data() {}, // anything the client sends is ignored, as RFC 867 says
      error() {},
    };
    try {
      server.tcp = Bun.listen({ hostname: host, port, socket });
    } catch (error) {
      failed(error);
    }
  }
  if (protocols.includes("udp")) {
    const socket: udp.SocketHandler<"buffer"> = {
      data(udpSocket, _datagram, peerPort, peerAddress) {
        log(`telling ${formatEndpoint(peerAddress, peerPort)} the time (udp)`);
        udpSocket.send(daytimeLine(now()), peerPort, peerAddress);
      },
      // Without it, an ICMP "port unreachable" from a client that left would kill the server.
      error() {},
    };
    try {
      server.udp = await Bun.udpSocket({ hostname: host, port, socket }); // may throw, not reject
    } catch (error) {
      failed(error);
    }
  }
  return server;
}

/** Prints `listening on HOST:PORT (tcp|udp)` for each socket the server bound. */
export function announce(
  host: string,
  sockets: { tcp?: { port: number }; udp?: { port: number } },
) {
  if (sockets.tcp) console.log(`listening on ${formatEndpoint(host, sockets.tcp.port)} (tcp)`);
  if (sockets.udp) console.log(`listening on ${formatEndpoint(host, sockets.udp.port)} (udp)`);
}

const usage = `usage: bun run 04-server/08-daytime-server.ts [--protocol tcp|udp|both] [--host 127.0.0.1] [--port ${DEFAULT_PORT}]

Answers every TCP connection and every UDP datagram with the current time (RFC 867).
  --protocol  tcp, udp or both (default both; --port 0 gives each its own free port)
  --host      IP address to listen on (default 127.0.0.1; ::1 for IPv6, 0.0.0.0 for all)
  --port      port to listen on (default ${DEFAULT_PORT}; 0 takes any free port)`;

if (import.meta.main) {
  const options = parseServerCli(usage, DEFAULT_PORT);
  const server = await startDaytimeServer({ ...options, log: console.log }).catch((error) => {
    console.error((error as Error).message);
    process.exit(1);
  });
  stopOnSignals(server.stop); // before the "listening on" line: a Ctrl-C may follow it at once
  announce(options.host, server);
}
