/**
 * The edges every lesson of this chapter shares, kept here so that each lesson shows only its
 * own idea: reading flags (`--help` exits 0; a bad flag is one sentence, the usage, exit 2),
 * writing an endpoint, the one sentence for a failed bind or a failed connection, the
 * `listening on` line, stopping on Ctrl-C or SIGTERM, and starting a server lesson as a child.
 */
import { isIP } from "node:net";
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";

export type Protocol = "tcp" | "udp";

/** The port of the Python lab's servers (server-01…05.py, servidor.py): lessons 01-06. */
export const LAB_PORT = 5000;

/** `127.0.0.1:5000`, or `[::1]:5000` for IPv6, where the brackets keep the port apart. */
export function formatEndpoint(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Parses the flags in `options` (plus `--help`) and hands their values to `check`, which turns
 * them into what the lesson needs or throws one sentence. Prints usage and exits 0 on --help;
 * prints the sentence and the usage and exits 2 on anything malformed.
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

/** A flag that must be a whole number from `min` to `max`. */
export function wholeNumber(flag: string, text: string, min: number, max: number): number {
  if (/^\d+$/.test(text) && Number(text) >= min && Number(text) <= max) return Number(text);
  throw new Error(`${flag} must be a whole number from ${min} to ${max} (got "${text}")`);
}

/** A port flag: a server may ask for 0 (any free port); a client needs 1 or more. */
export const parsePort = (text: string, flag = "--port", min = 0): number =>
  wholeNumber(flag, text, min, 65_535);

/** A server's `--host` is an IP address, never a name, so no resolver is asked. */
export function parseHost(host: string): string {
  if (isIP(host) !== 0) return host;
  throw new Error(`--host must be an IP address like ::1 (got "${host}")`);
}

/** A client's `--host` may be a name too; only an empty or spaced one is refused up front. */
export function parsePeerHost(host: string): string {
  if (host !== "" && !/\s/.test(host)) return host;
  throw new Error(`--host must be a host name or an IP address (got "${host}")`);
}

/**
 * The flags of servers 01-06: `--host`, `--port` (LAB_PORT) and the whole-number options in
 * `counts`, with their defaults. A million at most: `--idle` seconds become a timer, and a
 * timer longer than 2^31 ms (24.8 days) fires at once.
 */
export function parseServerArgs<Name extends string = never>(
  usage: string,
  counts: Record<Name, number> = {} as Record<Name, number>,
): { host: string; port: number; counts: Record<Name, number> } {
  const options: ParseArgsOptionsConfig = {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: String(LAB_PORT) },
  };
  for (const [name, value] of Object.entries(counts))
    options[name] = { type: "string", default: String(value) };
  return parseCli(usage, options, (values: Record<string, unknown>) => {
    const [host, port] = [parseHost(String(values.host)), parsePort(String(values.port))];
    const parsed = { ...counts };
    for (const name of Object.keys(counts) as Name[])
      parsed[name] = wholeNumber(`--${name}`, String(values[name]), 1, 1_000_000);
    return { host, port, counts: parsed };
  });
}

/** The flags of the daytime and echo servers: `--protocol tcp|udp|both`, `--host`, `--port`. */
export function parseProtocolServerArgs(usage: string, defaultPort: number) {
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

/** The flags of the daytime and echo clients; with no --host and no --port they start a server. */
export const CLIENT_FLAGS = {
  protocol: { type: "string", default: "tcp" },
  host: { type: "string" },
  port: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

/** Checks a client's `--protocol` (tcp or udp), `--host` and `--port` (1 to 65535). */
export function checkClientFlags<Values extends { protocol: string; host?: string; port?: string }>(
  values: Values,
): Omit<Values, "protocol" | "host" | "port"> & {
  protocol: Protocol;
  host?: string;
  port?: number;
} {
  if (values.protocol !== "tcp" && values.protocol !== "udp")
    throw new Error(`--protocol must be tcp or udp (got "${values.protocol}")`);
  const protocol: Protocol = values.protocol;
  const host = values.host === undefined ? undefined : parsePeerHost(values.host);
  const port = values.port === undefined ? undefined : parsePort(values.port, "--port", 1);
  return { ...values, protocol, host, port };
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

/** Runs `start` (which binds); on failure prints the one-sentence reason and exits 1. */
export function listenOrExit<Server>(start: () => Server, host: string, port: number): Server {
  try {
    return start();
  } catch (error) {
    console.error(explainListenError(error, host, port));
    process.exit(1);
  }
}

/**
 * Ctrl-C (SIGINT) or SIGTERM: run `stop` (close the listeners and their clients) and exit 0.
 * Call it before printing `listening on`: a signal sent as soon as that line shows would
 * otherwise find no handler and kill the process with 130 or 143.
 */
export function stopOnSignals(stop: () => void): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      stop();
      console.log(`stopped by ${signal}: the port is free again`);
      process.exit(0);
    });
  }
}

/** Prints `listening on HOST:PORT (tcp|udp)` for each socket a server bound. */
export function announce(
  host: string,
  sockets: { tcp?: { port: number }; udp?: { port: number } },
) {
  if (sockets.tcp) console.log(`listening on ${formatEndpoint(host, sockets.tcp.port)} (tcp)`);
  if (sockets.udp) console.log(`listening on ${formatEndpoint(host, sockets.udp.port)} (udp)`);
}

/** One sentence, with what to do, for a client's failed connect or send (lessons 09-14). */
export function explainClientError(error: unknown, host: string, port: number, protocol: Protocol) {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOTFOUND") return `cannot find the host '${host}': check the name.`;
  const where = `${formatEndpoint(host, port)} (${protocol})`;
  if (code === "ECONNREFUSED")
    return `${where} refused: nothing listens there (check the port, or start the server first).`;
  if (code === "EMSGSIZE") return `${where}: a datagram carries at most 65507 bytes; send less.`;
  return `${where} failed: ${(error as Error).message}; check the address and your network.`;
}

/**
 * Starts a server lesson of this chapter in its own process (`bun run 04-server/FILE ARGS`) and
 * resolves once it prints `listening on HOST:PORT (tcp)`, with that port and a way to stop it.
 */
export async function spawnServer(file: string, args: string[]) {
  const child = Bun.spawn(["bun", "run", `${import.meta.dir}/${file}`, ...args], {
    stdout: "pipe",
  });
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let [seen, port] = ["", ""];
  while (!port) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${file} exited before listening: ${seen.trim()}`);
    seen += value;
    port = seen.match(/listening on \S+:(\d+) \(tcp\)/)?.[1] ?? "";
  }
  void (async () => {
    while (!(await reader.read()).done); // keep reading its log: a full pipe would block it
  })();
  const stop = async (): Promise<void> => {
    child.kill("SIGTERM");
    await child.exited;
  };
  return { port: Number(port), stop };
}
