/**
 * What the chapter's three clients share that is not the protocol: how they take their
 * flags, which server they ask (with no --host, this chapter's server, started in-process,
 * so the lessons work offline), and how they put fields and times into words.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { startNtpServer } from "./04-sntp-server.ts";
import * as ntp from "./ntp-packet.ts";

/** A failure to report in one sentence: no answer, or an answer we cannot use. */
export class NtpError extends Error {}

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
    if (!(+timeout > 0 && +timeout <= 60))
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

/** One field of a packet: its value as decoded, and what it means in words. */
export interface FieldReading {
  field: string;
  value: number | string;
  meaning: string;
}

/** Every field of a packet, in wire order, as a person (or a JSON reader) wants it. */
export function describePacket(packet: ntp.NtpPacket): FieldReading[] {
  const { stratum } = packet;
  const milliseconds = (seconds: number): string => `${(seconds * 1000).toFixed(3)} ms`;
  return [
    { field: "leap", value: packet.leap, meaning: ntp.LEAP_MEANINGS[packet.leap] ?? "" },
    { field: "version", value: packet.version, meaning: `NTPv${packet.version}` },
    { field: "mode", value: packet.mode, meaning: ntp.MODE_NAMES[packet.mode] ?? "" },
    {
      field: "stratum",
      value: stratum,
      meaning:
        stratum === 0
          ? "kiss-o'-death: a message, not the time"
          : stratum === 1
            ? "primary: it reads a reference clock itself"
            : stratum < 16
              ? `secondary: ${stratum - 1} server(s) between it and a reference clock`
              : "unsynchronized",
    },
    {
      field: "poll",
      value: packet.poll,
      meaning: `polling interval 2^${packet.poll} s = ${2 ** packet.poll} s`,
    },
    {
      field: "precision",
      value: packet.precision,
      meaning: `its clock ticks in 2^${packet.precision} s = ${(2 ** packet.precision * 1e6).toFixed(3)} µs`,
    },
    {
      field: "rootDelay",
      value: packet.rootDelay,
      meaning: `${milliseconds(packet.rootDelay)} round trip to its reference clock`,
    },
    {
      field: "rootDispersion",
      value: packet.rootDispersion,
      meaning: `${milliseconds(packet.rootDispersion)} of error it admits to`,
    },
    {
      field: "referenceId",
      value: ntp.referenceIdText(stratum, packet.referenceId),
      meaning:
        stratum <= 1
          ? "text: the kind of clock (or a kiss code)"
          : "the IPv4 address of its server (a hash, for IPv6)",
    },
    {
      field: "referenceTimestamp",
      value: ntp.formatTimestamp(packet.referenceTimestamp),
      meaning: "when its clock was last set",
    },
    {
      field: "originTimestamp",
      value: ntp.hexTimestamp(packet.originTimestamp),
      meaning: "our request's transmit field, echoed back",
    },
    {
      field: "receiveTimestamp",
      value: ntp.formatTimestamp(packet.receiveTimestamp),
      meaning: "T2: our request reached it",
    },
    {
      field: "transmitTimestamp",
      value: ntp.formatTimestamp(packet.transmitTimestamp),
      meaning: "T3: this reply left it",
    },
  ];
}
