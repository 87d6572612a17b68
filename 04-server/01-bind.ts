/**
 * @title Bind
 * @summary Claim an address and port, see what port 0 means, and what a second claim on the same port gets.
 * @run bun run 04-server/01-bind.ts [--host 127.0.0.1] [--port 5000]
 * @python server-01.py
 *
 * A server starts by binding: asking the kernel for one address and port, which from then on
 * belong to this process alone. You will see the port you got (ask for 0 and the kernel picks a
 * free one), and a second bind of the same port fail with "address in use". It holds the port
 * until Ctrl-C. Later lessons reuse its argument checks, error sentence and Ctrl-C handling.
 */
import type { TCPSocketListener } from "bun";
import { isIP } from "node:net";
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";

export const DEFAULT_PORT = 5000;

/** `127.0.0.1:5000`, or `[::1]:5000` for IPv6, where the brackets keep the port apart. */
export function formatEndpoint(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** One sentence for a failed bind: what happened and what to do about it. */
export function explainListenError(error: unknown, host: string, port: number): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE")
    return `port ${port} on ${host} is already in use: stop the program that holds it, or pick another port (--port 0 takes any free one)`;
  if (code === "EADDRNOTAVAIL")
    return `${host} is not an address of this machine: listen on 127.0.0.1, ::1, 0.0.0.0 or one of its own addresses`;
  if (code === "EACCES")
    return `port ${port} is privileged (below 1024) and needs administrator rights: pick a port above 1023`;
  return `could not listen on ${formatEndpoint(host, port)} (${code ?? (error as Error).message}): check --host and --port`;
}

/**
 * Parses a server's flags: `--host` (an IP address, never a name, so no resolver is asked),
 * `--port` (0 to 65535) and the whole-number options in `counts` with their defaults.
 * Prints usage and exits 0 on `--help`, 2 on anything malformed.
 */
export function parseServerArgs<Name extends string = never>(
  usage: string,
  counts: Record<Name, number> = {} as Record<Name, number>,
): { host: string; port: number; counts: Record<Name, number> } {
  try {
    const options: ParseArgsOptionsConfig = {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: String(DEFAULT_PORT) },
      help: { type: "boolean", short: "h" },
    };
    for (const name of Object.keys(counts)) options[name] = { type: "string" };
    const values: Record<string, unknown> = parseArgs({ options }).values;
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    const host = String(values.host);
    if (isIP(host) === 0) throw new Error(`--host must be an IP address like ::1 (got "${host}")`);
    const port = wholeNumber("port", values.port, 0, 65_535);
    const parsed = { ...counts };
    for (const name of Object.keys(counts) as Name[]) {
      const given = values[name];
      if (given !== undefined) parsed[name] = wholeNumber(name, given, 1, 1_000_000_000);
    }
    return { host, port, counts: parsed };
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
}

function wholeNumber(name: string, text: unknown, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(String(text)) || value < min || value > max)
    throw new Error(`--${name} must be a whole number from ${min} to ${max} (got "${text}")`);
  return value;
}

/** Runs `start` (which binds); on failure prints the one-sentence reason and exits 1. */
export function listenOrExit<Server>(start: () => Server, host: string, port: number): Server {
  try {
    return start();
  } catch (error) {
    console.error(explainListenError(error, host, port));
    process.exit(1);
  }
}

/** Ctrl-C (SIGINT) or SIGTERM: run `stop` (close the listener and clients) and exit 0. */
export function stopOnSignals(stop: () => void): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      stop();
      console.log(`stopped by ${signal}: the port is free again`);
      process.exit(0);
    });
  }
}

/** Binds `host:port`: Bun.listen does socket(), bind() and listen() in one call. */
export function bindPort(host: string, port: number): TCPSocketListener<undefined> {
  return Bun.listen({
    hostname: host,
    port,
    // The kernel completes handshakes on a listening port; this lesson just hangs up on them.
    socket: { open: (socket) => void socket.end(), data() {} },
  });
}

/** Tries to bind the same address and port again: the sentence it fails with, or null if it did not. */
export function bindAgain(host: string, port: number): string | null {
  try {
    bindPort(host, port).stop(true);
    return null;
  } catch (error) {
    return explainListenError(error, host, port);
  }
}

/** Which clients can reach a server bound to `host`. */
export function whoCanConnect(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "every interface: other machines can connect too";
  if (host.startsWith("127.") || host === "::1") return "loopback: only this machine can connect";
  return `only connections made to ${host} arrive here`;
}

const usage = `usage: bun run 04-server/01-bind.ts [--host 127.0.0.1] [--port ${DEFAULT_PORT}]

Binds a TCP port, shows which one it got, shows that a second bind of the same
port fails, then holds the port until Ctrl-C.
  --host IP     address to bind: 127.0.0.1 or ::1 (this machine only), 0.0.0.0 (every interface)
  --port N      port to bind, 0 lets the kernel pick a free one (default ${DEFAULT_PORT})`;

if (import.meta.main) {
  const { host, port } = parseServerArgs(usage);
  const listener = listenOrExit(() => bindPort(host, port), host, port);
  // Handle Ctrl-C before announcing the port: a signal that arrived first would kill us.
  stopOnSignals(() => listener.stop(true));
  console.log(`listening on ${formatEndpoint(listener.hostname, listener.port)} (tcp)`);
  console.log(
    port === 0
      ? `you asked for port 0, so the kernel chose a free one: ${listener.port}`
      : `port ${listener.port} is ours until this program exits`,
  );
  console.log(`family: ${isIP(host) === 6 ? "IPv6" : "IPv4"}; ${whoCanConnect(host)}`);
  const second = bindAgain(host, listener.port);
  console.log(`binding it a second time: ${second ?? "allowed (this system shares ports)"}`);
  console.log("holding the port: run this again elsewhere to see the error; Ctrl-C frees it");
}
