/**
 * The command line the chapter's three clients share (the protocol is in ntp-packet.ts):
 * their flags, which server they ask (with no --host, this chapter's server, started
 * in-process, so the lessons work offline), and failures as one sentence each.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { getSystemErrorMessage, parseArgs } from "node:util";
import { startNtpServer } from "./04-sntp-server.ts";
import * as ntp from "./ntp-packet.ts";

/** A failure to report in one sentence: no answer, or an answer we cannot use. */
export class NtpError extends Error {}

/**
 * The error a socket call throws when the system will not send there at all (no route on
 * an offline machine, a broadcast address, an IPv6 address without its interface), as an
 * NtpError; any other error is passed on unchanged.
 */
export function cannotSend(where: string, error: unknown): unknown {
  const { errno, code } = error as NodeJS.ErrnoException;
  if (typeof errno !== "number") return error;
  return new NtpError(
    `Cannot send to ${where}: ${getSystemErrorMessage(-Math.abs(errno))} (${code}); check the address and this machine's network.`,
  );
}

export const endpoint = (address: string, port: number): string =>
  `${address.includes(":") ? `[${address}]` : address}:${port}`;

/** `--host`/`--port` when given, else this chapter's server, started here on a free port. */
export async function chooseServer(host?: string, port?: number) {
  if (host === undefined && port === undefined) {
    const local = await startNtpServer({ port: 0 });
    const about = `this chapter's server, started in this process (no --host given), at `;
    return { host: local.host, address: local.host, port: local.port, about, local };
  }
  host ??= "127.0.0.1";
  // Bun's UDP sockets take IP addresses, so a name is looked up first.
  const found = isIP(host) ? { address: host } : await lookup(host).catch(() => null);
  if (!found) throw new NtpError(`Cannot find the address of ${host}: check the name.`);
  const about = host === found.address ? "" : `${host} at `;
  return { host, address: found.address, port: port ?? 123, about, local: null };
}

/** Parses the flags the chapter's clients share; prints usage for --help, exits 2 on a bad one. */
export function clientFlags(usage: string, withSamples = false) {
  try {
    const { values } = parseArgs({
      options: {
        ...{ host: { type: "string" }, port: { type: "string" }, json: { type: "boolean" } },
        ...{ timeout: { type: "string", default: "2" }, help: { type: "boolean", short: "h" } },
        ...(withSamples ? { samples: { type: "string", default: "4" } } : {}),
      },
    });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    const { port, timeout, samples = "1" } = values as typeof values & { samples?: string };
    if (port !== undefined && !(/^\d{1,5}$/.test(port) && +port >= 1 && +port <= 65535))
      throw new TypeError(`--port must be a whole number from 1 to 65535, not "${port}".`);
    if (!/^\d*\.?\d+$/.test(timeout) || !(+timeout > 0 && +timeout <= 60))
      throw new TypeError(
        `--timeout must be seconds, more than 0 and at most 60, not "${timeout}".`,
      );
    if (!/^\d{1,2}$/.test(samples) || +samples < 1 || +samples > 20)
      throw new TypeError(`--samples must be a whole number from 1 to 20, not "${samples}".`);
    const portNumber = port === undefined ? undefined : +port;
    return { ...values, port: portNumber, timeoutMs: +timeout * 1000, samples: +samples };
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
}

/** Unix ms as UTC to the nanosecond, as NTP can: 2025-03-01T12:00:00.123456789Z. */
export const utc = (ms: number): string => ntp.formatTimestamp(ntp.toNtpTimestamp(ms));

export const REAL_THING = "For the real thing add --host pool.ntp.org --port 123.";
