/**
 * What every script of this chapter does with its command line, so that each lesson shows
 * only its own idea (the protocol itself is in protocol.ts): read and check the flags
 * (`--help`; a bad one is one sentence and the usage, exit 2), write addresses as people
 * do, and end the way the book promises: a server prints `listening on HOST:PORT (tcp)`
 * and stops cleanly on Ctrl-C or SIGTERM; a failure is one sentence, not a stack trace (a
 * client's connect has a time limit, so that "nobody answers" is a sentence too).
 */
import type { Socket, SocketHandler } from "bun";

export interface CalcServer {
  port: number;
  stop(): void | Promise<void>;
}

/** Where a server tells what happens (default console.log); tests pass a quiet one. */
export type Log = (line: string) => void;

export interface ServerOptions {
  host?: string;
  port?: number;
  log?: Log;
}

/** `host:port`, with an IPv6 address in brackets (`[::1]:65432`). */
export const endpoint = (host: string, port: number): string =>
  `${host.includes(":") ? `[${host}]` : host}:${port}`;

/** A numeric flag's value, checked: a sentence that names the flag when it is wrong. */
export function parseFlag(
  flag: string,
  text: string,
  min: number,
  max: number,
  whole = true,
): number {
  const value = Number(text);
  const fits = /^-?(\d+\.?\d*|\.\d+)$/.test(text) && value >= min && value <= max;
  if (fits && (!whole || Number.isInteger(value))) return value;
  throw new Error(
    `--${flag} must be a ${whole ? "whole " : ""}number from ${min} to ${max}, not "${text}"`,
  );
}

const WHY: Record<string, string> = {
  ECONNREFUSED: "connection refused; is the calculator server running there?",
  ENOTFOUND: "unknown host: the name does not resolve; check --host",
  EAI_AGAIN: "the name could not be looked up (no DNS server answered); check --host",
  ENETUNREACH: "no route to that network; check --host and your network",
  EHOSTUNREACH: "no route to that host; check --host and your network",
};

/** Why a connection failed, and what to do, in words (Bun's own messages are vaguer). */
export function reason(error: unknown): string {
  const { code = "", message } = error as NodeJS.ErrnoException;
  return WHY[code] ?? message;
}

/** How long a TCP client waits for the server to accept before it gives up. */
export const CONNECT_TIMEOUT_MS = 5_000;

/**
 * `Bun.connect` to `host:port`, given up after `timeoutMs`. A host that is down, or a firewall
 * that drops packets, never refuses: the kernel resends its SYN for about two minutes. Bun
 * cannot call a pending connect off, so a socket that opens after we gave up is closed at
 * once, and a script that gave up exits instead of waiting for the kernel.
 */
export async function connectWithin<Data = undefined>(
  host: string,
  port: number,
  socket: SocketHandler<Data>,
  timeoutMs = CONNECT_TIMEOUT_MS,
): Promise<Socket<Data>> {
  let timer: Timer | undefined;
  const late = new Promise<never>((_, reject) => {
    const why = `no answer within ${timeoutMs / 1000} s; is the host up, and is that its address?`;
    timer = setTimeout(
      () => reject(Object.assign(new Error(why), { code: "ETIMEDOUT" })),
      timeoutMs,
    );
  });
  const connecting = Bun.connect({ hostname: host, port, socket });
  try {
    return await Promise.race([connecting, late]);
  } catch (error) {
    connecting.then(
      (socket) => socket.terminate(),
      () => {},
    );
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** A --port value; 0 asks the system for any free port. */
export const parsePort = (text: string): number => parseFlag("port", text, 0, 65535);

/** Runs `parse` (parseArgs and checks): --help prints usage, exit 0; a mistake, exit 2. */
export function commandLine<T extends { values: { help?: boolean } }>(
  usage: string,
  parse: () => T,
): T {
  try {
    const parsed = parse();
    if (!parsed.values.help) return parsed;
    console.log(usage);
  } catch (error) {
    // parseArgs suggests "after --" for an argument like -5; `bun run` keeps that -- for
    // itself, so the usage says what works instead (a space first: " -5 + 3").
    const message = (error as Error).message.replace(/\. To specify a positional .*$/s, "");
    console.error(`${message}\n\n${usage}`);
    process.exit(2);
  }
  process.exit(0);
}

/** Every server of the chapter: one `listening on` line, a sentence if it cannot bind, Ctrl-C stops. */
export async function serve(
  protocol: "tcp" | "udp",
  host: string,
  port: number,
  start: () => CalcServer | Promise<CalcServer>,
): Promise<void> {
  try {
    const server = await start();
    // Handlers first: whoever reads the listening line may send Ctrl-C the moment it does.
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, async () => {
        await server.stop();
        process.exit(0);
      });
    }
    console.log(`listening on ${endpoint(host, server.port)} (${protocol})`);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    console.error(
      code === "EADDRINUSE"
        ? `could not listen on ${endpoint(host, port)}: port ${port} is already in use; stop the other program or choose another --port (0 = any free port)`
        : `could not listen on ${endpoint(host, port)} (${message}): is --host an address of this machine?`,
    );
    process.exit(1);
  }
}
