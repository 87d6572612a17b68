/**
 * @title Connection info
 * @summary Both ends of one TCP connection - address, port, family - as the client and as the server see them.
 * @run bun run 01-basics/09-connection-info.ts [--host 127.0.0.1] [--port PORT] [--json]
 * @python tcp_sockets_python.py#connection_info
 *
 * A TCP connection is four numbers: two addresses, two ports. With no `--port` the lesson
 * connects to a listener of its own and shows both sides' views: the client's local end is
 * the server's peer. With `--port` it connects to any server: only the client's view.
 */
import type { Socket } from "bun";
import { command, connect, endpoint, fail, flag } from "../lib/cli.ts";
import { whyConnectFailed, whyListenFailed } from "../lib/cli.ts";

/** Listens on `host`, port 0, connects to itself, and returns both sides' views. */
export async function bothViews(host = "127.0.0.1"): Promise<{ client: View; server: View }> {
  const accepted = Promise.withResolvers<View>();
  const open = (socket: Socket<unknown>): void => accepted.resolve(viewOf(socket));
  const listener = Bun.listen({ hostname: host, port: 0, socket: { open, data() {} } });
  try {
    const client = await clientView(host, listener.port);
    return { client, server: await accepted.promise };
  } finally {
    listener.stop(true);
  }
}

/** Connects to `host:port` (giving up after `timeoutMs`), reads the client's view, closes. */
export async function clientView(host: string, port: number, timeoutMs?: number): Promise<View> {
  const socket = await connect(host, port, { data() {} }, timeoutMs);
  const view = viewOf(socket);
  socket.end();
  return view;
}

/** One side's view: its own end (getsockname in Python) and the other end (getpeername). */
export type View = Record<"local" | "peer", { address: string; port: number; family: Family }>;
type Family = "IPv4" | "IPv6";

/** A line of the table: who sees it, then this end, the other end and the family. */
function row(who: string, { local, peer }: View): string {
  const ends = [local, peer].map((end) => endpoint(end.address, end.port).padEnd(26));
  return `  ${who.padEnd(12)} ${ends.join(" ")} ${local.family}`;
}

export const viewOf = (socket: Socket<unknown>): View => ({
  local: { address: socket.localAddress, port: socket.localPort, family: socket.localFamily },
  peer: { address: socket.remoteAddress, port: socket.remotePort, family: socket.remoteFamily },
});

const cli = command(
  "01-basics/09-connection-info.ts",
  "Shows both ends of a TCP connection: with no --port, of one it makes to a listener of its own.",
  {
    host: flag.host("127.0.0.1", "the host to connect to (with no --port: listen on)"),
    port: flag.port(undefined, "connect to a server already listening there", { min: 1 }),
    json: flag.bool("print one JSON document instead of text"),
  },
);

if (import.meta.main) {
  const { host, port, json } = cli.parse();
  const failed = async (error: unknown) => fail(await whyConnectFailed(error, host, port ?? 0));
  const report: { client: View; server: View | null } = port
    ? { client: await clientView(host, port).catch(failed), server: null }
    : await bothViews(host).catch((error: unknown) => fail(whyListenFailed(error, host, 0)));
  if (json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log("               local (this end)           peer (other end)           family");
    console.log(row("client sees", report.client));
    if (report.server) {
      console.log(row("server sees", report.server));
      const chosen = report.client.local.port;
      console.log(`The client's end is the server's peer; the kernel chose its port, ${chosen}.`);
    }
  }
}
