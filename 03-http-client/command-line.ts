/**
 * What every script of this chapter does with its command line, so that each lesson can
 * show only its own idea: read the flags (`--help`, or one sentence and the usage for a
 * bad one), check numbers and files, and end the way the book promises: a client says
 * what went wrong in one sentence (exit 1), a server prints `listening on HOST:PORT (tcp)`
 * and stops cleanly on Ctrl-C or SIGTERM.
 */
import { readFileSync } from "node:fs";
import { type ParseArgsConfig, parseArgs } from "node:util";

/** `1.2.3.4:80` or `[::1]:80`, as people write an address with its port. */
export const formatEndpoint = (address: string, port: number): string =>
  address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;

/** A port from the command line: a whole number; 0 ("any free port") only for servers. */
export function parsePort(text: string, flag = "port", lowest = 1, highest = 65535): number {
  if (/^\d+$/.test(text) && Number(text) >= lowest && Number(text) <= highest) return Number(text);
  throw new Error(`--${flag} must be a whole number from ${lowest} to ${highest}, not "${text}"`);
}

/** Seconds from the command line (decimals allowed) as milliseconds, `fallback` if absent. */
export function parseSeconds(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback * 1000;
  if (/^\d*\.?\d+$/.test(text) && Number(text) > 0) return Number(text) * 1000;
  throw new Error(`--${flag} must be a number of seconds above 0, not "${text}"`);
}

/** --max-bytes: a whole number of bytes above 0 (default 64 MiB). */
export function parseMaxBytes(text: string | undefined): number {
  if (text === undefined) return 64 * 1024 * 1024;
  if (/^\d+$/.test(text) && Number.isSafeInteger(Number(text)) && Number(text) > 0)
    return Number(text);
  throw new Error(`--max-bytes must be a whole number of bytes above 0, not "${text}"`);
}

/** The text of a PEM file (a certificate for --ca), or a sentence saying why it will not do. */
export function readPem(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ${file} (${code}): give a PEM file`);
  }
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text))
    throw new Error(`${file} is not a PEM file (no "-----BEGIN" line): give a PEM certificate`);
  return text;
}

type Options = NonNullable<ParseArgsConfig["options"]>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ options: O }>>["values"];

/**
 * `--help` prints the usage and exits 0; a bad flag, or a sentence thrown by `check`, is
 * printed with the usage and exits 2. Returns what `check` makes of the flags.
 */
export function parseCommandLine<O extends Options, R>(
  usage: string,
  options: O,
  check: (values: Parsed<O>, positionals: string[]) => R,
  maxPositionals = 0,
): R {
  try {
    const all = { ...options, help: { type: "boolean", short: "h" } } as const;
    const { values, positionals } = parseArgs({ options: all, allowPositionals: true });
    if ((values as { help?: boolean }).help) {
      console.log(usage);
      process.exit(0);
    }
    const extra = positionals[maxPositionals];
    if (extra !== undefined) throw new Error(`unexpected argument "${extra}"`);
    return check(values as Parsed<O>, positionals);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
}

/**
 * Runs a client's work, then stops the practice server it may have started. A failure is
 * its one sentence on stderr and exit 1, at once: a connect that timed out may still be
 * waiting in the kernel (Bun cannot call it off) and would keep the process alive for
 * another two minutes.
 */
export async function runClient(work: () => Promise<void>, stopPractice = (): void => {}) {
  try {
    await work();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    stopPractice();
    process.exit(1);
  }
  stopPractice();
}

/**
 * Starts a server and keeps it until Ctrl-C (SIGINT) or SIGTERM, then closes it and exits 0.
 * The signal handlers go in before the `listening on` line: a test (or a script) may send
 * SIGTERM the moment it reads that line, and without a handler that kills us (exit 143).
 */
export function serveUntilStopped<S extends { port: number; stop(): void }>(
  host: string,
  port: number | string,
  start: () => S,
): S {
  let server: S | undefined;
  const stop = (): never => (server?.stop(), process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    server = start();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    console.error(
      code === "EADDRINUSE"
        ? `port ${port} on ${host} is already in use: stop the other program, or pass --port 0`
        : `cannot listen on ${host} port ${port} (${code}): check --host and --port`,
    );
    process.exit(1);
  }
  console.log(`listening on ${formatEndpoint(host, server.port)} (tcp)`);
  return server;
}
