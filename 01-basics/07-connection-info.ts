/**
 * @title Connection info
 * @summary Both ends of one TCP connection - address, port, family - as the client and as the server see them.
 * @run bun run 01-basics/07-connection-info.ts [--host 127.0.0.1] [--port PORT] [--json]
 * @python tcp_sockets_python.py#connection_info
 *
 * A TCP connection is four numbers: two addresses, two ports. With no `--port` the script
 * starts its own listener and connects to it, so you see the same connection from both
 * sides: the client's local end is the server's peer, and the kernel chose the client's
 * port for you. With `--port` it connects to any server and shows the client's view.
 */
import type { Socket } from "bun";
import { parseArgs } from "node:util";

export interface Endpoint {
  address: string;
  port: number;
  family: "IPv4" | "IPv6";
}
/** One side's view: its own end (getsockname in Python) and the other end (getpeername). */
export interface View {
  local: Endpoint;
  peer: Endpoint;
}

export const viewOf = (socket: Socket<unknown>): View => ({
  local: { address: socket.localAddress, port: socket.localPort, family: socket.localFamily },
  peer: { address: socket.remoteAddress, port: socket.remotePort, family: socket.remoteFamily },
});

/** Connects to `host:port`, reads the client's view and closes; rejects with the reason. */
export async function clientView(host: string, port: number, timeoutMs = 5000): Promise<View> {
  const connecting = Bun.connect({ hostname: host, port, socket: { data() {}, error() {} } });
  let timer: Timer | undefined;
  const tooSlow = new Promise<never>((_, reject) => {
    const error = new Error(`no answer within ${timeoutMs} ms`);
    timer = setTimeout(() => reject(Object.assign(error, { code: "ETIMEDOUT" })), timeoutMs);
  });
  try {
    const socket = await Promise.race([connecting, tooSlow]);
    const view = viewOf(socket);
    socket.end();
    return view;
  } catch (error) {
    // Past the timeout the connect is still under way: close it if it ever completes.
    connecting.then((late) => late.end()).catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts a listener on `host`, port 0, connects to it, and returns both sides' views. */
export async function bothViews(host = "127.0.0.1"): Promise<{ client: View; server: View }> {
  const { promise: accepted, resolve } = Promise.withResolvers<View>();
  const listener = Bun.listen({
    hostname: host,
    port: 0,
    socket: { open: (socket) => resolve(viewOf(socket)), data() {}, error() {} },
  });
  try {
    const client = await clientView(host, listener.port);
    return { client, server: await accepted };
  } finally {
    listener.stop(true);
  }
}

const show = ({ address, port }: Pick<Endpoint, "address" | "port">): string =>
  address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;

/** One sentence for the reasons a connect or a listen fails. */
export function explain(error: Error & { code?: string }): string {
  switch (error.code) {
    case "ECONNREFUSED":
      return "connection refused: nothing listens on that port; start a server or check the port";
    case "ENOTFOUND":
      return "unknown host: check the name, or give an IP address";
    case "EAI_AGAIN": // the resolver could not ask any DNS server: offline, or DNS is down
      return "no DNS server answered for that name: check your network, or give an IP address";
    case "EADDRNOTAVAIL":
      return "that address is not on this machine, so nothing here can listen on it";
    default:
      return `${error.message}: check the host and port`;
  }
}

const usage = `usage: bun run 01-basics/07-connection-info.ts [--host HOST] [--port PORT] [--json]

  (no --port)  start a listener on HOST (default 127.0.0.1), connect to it, show both ends
  --port PORT  connect to a server already listening on HOST:PORT and show the client's end
  --json       print one JSON document instead of text`;

function readArgs() {
  const { values } = parseArgs({
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  if (!values.host) throw new Error("--host takes a name or an address, like 127.0.0.1 or ::1.");
  const port = values.port === undefined ? null : Number(values.port);
  if (port !== null && !(/^\d+$/.test(values.port ?? "") && port >= 1 && port <= 65535))
    throw new Error(`--port takes a number from 1 to 65535, not "${values.port}".`);
  return { host: values.host, port, json: values.json };
}

if (import.meta.main) {
  const args = await Promise.try(readArgs).catch((error: Error) => {
    console.error(`${error.message}\n\n${usage}`);
    process.exit(2);
  });
  const { host, port } = args;
  const target = show({ address: host, port: port ?? 0 });
  let report: { client: View; server: View | null };
  try {
    report = port ? { client: await clientView(host, port), server: null } : await bothViews(host);
  } catch (error) {
    const tried = port ? `connect to ${target}` : `listen on ${host} and connect to it`;
    console.error(`cannot ${tried}: ${explain(error as Error)}.`);
    process.exit(1);
  }
  if (args.json) console.log(JSON.stringify(report, null, 2));
  else {
    const columns = (who: string, local: string, peer: string, family: string): string =>
      `  ${who.padEnd(12)} ${local.padEnd(26)} ${peer.padEnd(26)} ${family}`;
    const row = (who: string, view: View): string =>
      columns(who, show(view.local), show(view.peer), view.local.family);
    console.log(
      report.server
        ? "started a listener and connected to it: one connection, seen from both ends"
        : `connected to ${target}; only the client's end is ours to see`,
    );
    console.log(columns("", "local (this end)", "peer (other end)", "family"));
    console.log(row("client sees", report.client));
    if (report.server) {
      console.log(row("server sees", report.server));
      console.log("The client's local end is the server's peer, and the other way round;");
      console.log(`the kernel chose the client's port, ${report.client.local.port}, by itself.`);
    }
  }
}
