/**
 * @title Connect
 * @summary Open a TCP connection to a host and port, and show both of its ends.
 * @run bun run 03-http-client/02-connect.ts [--host HOST] [--port PORT] [--timeout 5] [--json]
 * @python socket-01.py socket-03.py
 *
 * Python made a socket object, then connected it; `Bun.connect` does both, and reports by
 * events: open, data, drain, close. A connection has two ends: the peer's address and port,
 * and ours, whose port the kernel picked. A name may have several addresses: we try each
 * in turn. With no --host and no --port it connects to the chapter's practice server.
 */
import type { Socket } from "bun";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { command, fail, flag, peerOrStart } from "../lib/cli.ts";
import { connect, endpoint, whyConnectFailed } from "../lib/cli.ts";

/** Connects to the first address of `host` that accepts, giving each `timeoutMs`. */
export async function connectTo(
  host: string,
  port: number,
  timeoutMs: number,
  resolver: Resolver = (name) => lookup(name, { all: true }),
) {
  const addresses = isIP(host) ? [{ address: host }] : await resolver(host);
  let lastError: unknown;
  for (const { address } of addresses) {
    const started = performance.now();
    try {
      // lib's connect() is Bun.connect with a time limit: a host that is down never
      // refuses, and the kernel would go on trying for two minutes.
      const socket = await connect(address, port, { data() {} }, timeoutMs);
      return { socket, ms: Math.round((performance.now() - started) * 10) / 10 };
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** The system resolver, or a stand-in: tests never ask a real DNS server. */
export type Resolver = (name: string) => Promise<{ address: string }[]>;

/** Both ends of a connection: ours, then theirs. */
export const ends = (socket: Socket<undefined>) => ({
  local: { address: socket.localAddress, port: socket.localPort, family: socket.localFamily },
  remote: { address: socket.remoteAddress, port: socket.remotePort },
});

const PRACTICE = new URL("10-practice-server.ts", import.meta.url).href;

if (import.meta.main) {
  const cli = command("03-http-client/02-connect.ts", "Connects over TCP, shows both ends.", {
    host: flag.host(undefined, "host name or IP address (default: the practice server)"),
    port: flag.port(undefined, "port (default 80, or the practice server's)", { min: 1 }),
    timeout: flag.decimal(5, "give up connecting after this many seconds", { min: 0.01 }),
    json: flag.bool("print one JSON document instead of text"),
  });
  const args = cli.parse();
  // With neither --host nor --port: the practice server, started in a process of its own.
  const peer = await peerOrStart(args, { serverFile: PRACTICE, defaultPort: 80 });
  const { host, port } = peer;
  const { socket, ms } = await connectTo(host, port, args.timeout * 1000).catch(async (error) =>
    fail(await whyConnectFailed(error, host, port)),
  );
  const { local, remote } = ends(socket);
  socket.end();
  await peer.local?.stop();
  if (args.json)
    console.log(
      JSON.stringify({ host, port, practice: !!peer.local, local, remote, connectMs: ms }),
    );
  else
    console.log(`connected to ${host} port ${port} in ${ms} ms, and closed again
  our end:   ${endpoint(local.address, local.port)} (${local.family}; the kernel picked the port)
  their end: ${endpoint(remote.address, remote.port)}`);
}
