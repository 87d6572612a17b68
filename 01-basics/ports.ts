/**
 * Ports and their names, for the lessons that look them up (04) and scan them (07, 08), so
 * that each page shows only its idea.
 *
 * - The services database, /etc/services (Debian package netbase): its lines of
 *   `name port/protocol [aliases...]`, read in full by lesson 04, which also takes queries
 *   (`22/tcp`, `53`, `domain`) checked here.
 * - What both scans share: the same port list (`--ports 22,80,8000-8100`, the syntax of
 *   nmap's `-p`), the TCP names of open ports, and the same report, as text or as JSON;
 *   lesson 08 also shows its progress on a terminal.
 */
import { existsSync, readFileSync } from "node:fs";
import { Explained, type Flag, flag, UsageError } from "../lib/cli.ts";

// ---------------------------------------------------------------------------------------
// The services database (lesson 04)

export type ServiceEntry = { name: string; port: number; protocol: string; aliases: string[] };
export type Query = { port: number; protocol: string | null } | { name: string };

/** Lines of `name port/protocol [aliases...] [# comment]`; anything else is skipped. */
export function parseServices(text: string): ServiceEntry[] {
  return text.split("\n").flatMap((line) => {
    const [name, where = "", ...aliases] = line.replace(/#.*/, "").trim().split(/\s+/);
    const [, port, protocol] = /^(\d+)\/(\w+)$/.exec(where) ?? [];
    if (!name || !port || !protocol) return [];
    return [{ name, port: Number(port), protocol: protocol.toLowerCase(), aliases }];
  });
}

/**
 * The database in `file`, or an Explained error (a failure, exit 1): an empty one would
 * answer "no such service" to everything.
 */
export function loadServices(file: string): ServiceEntry[] {
  const hint =
    file === "/etc/services"
      ? "install Debian package netbase, or pass --services FILE"
      : "check the path given to --services";
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new Explained(`cannot read the services database ${file} (${code}): ${hint}.`);
  }
  const entries = parseServices(text);
  if (entries.length > 0) return entries;
  throw new Explained(`${file} holds no service lines (like "ssh 22/tcp"): ${hint}.`);
}

/**
 * `22/tcp`, `22` (every protocol) or `domain`; a UsageError (one sentence, exit 2) when it is
 * none of these, or names a protocol the database does not have.
 */
export function parseQuery(text: string, entries: ServiceEntry[]): Query {
  const [, digits, protocolText] = /^(\d+)(?:\/(.*))?$/.exec(text) ?? [];
  if (digits === undefined && /^[a-z0-9][\w.+-]*$/i.test(text)) return { name: text };
  const forms = "PORT/PROTOCOL (22/tcp), a PORT (53) or a service name (domain)";
  if (digits === undefined) throw new UsageError(`${JSON.stringify(text)} is not ${forms}.`);
  const port = Number(digits);
  if (port > 65535)
    throw new UsageError(`${digits} is not a port number: ports run from 0 to 65535.`);
  const protocol = protocolText?.toLowerCase() ?? null;
  const known = [...new Set(entries.map((entry) => entry.protocol))];
  if (protocol === null || known.includes(protocol)) return { port, protocol };
  const which = `use one of ${known.join(", ")}`;
  throw new UsageError(
    `${JSON.stringify(protocolText)} is not a protocol in the services database: ${which}.`,
  );
}

// ---------------------------------------------------------------------------------------
// The scans (lessons 07 and 08)

/** What one port answered. A self-connect is a phantom open port: nobody listens there. */
export type Answer = "open" | "closed" | "self-connect" | "filtered";

/** `"22,80,8000-8100"` to sorted unique ports; throws one sentence about the first bad part. */
export function parsePorts(spec: string): number[] {
  const wanted = new Uint8Array(65536);
  for (const part of spec.split(",")) {
    const match = part.trim().match(/^(\d+)(?:-(\d+))?$/);
    if (!match) throw new Error(`"${part}" is not a port or a range: write e.g. 22,80,8000-8100.`);
    const first = Number(match[1]);
    const last = Number(match[2] ?? match[1]);
    const outside = first < 1 ? first : last > 65535 ? last : null;
    if (outside !== null) throw new Error(`port ${outside} is out of range: use 1 to 65535.`);
    if (first > last) throw new Error(`range ${part} runs backwards: write ${last}-${first}.`);
    wanted.fill(1, first, last + 1);
  }
  const ports: number[] = [];
  for (let port = 1; port <= 65535; port++) {
    if (wanted[port] === 1) ports.push(port);
  }
  return ports;
}

/** The `--ports` flag: a list of ports, checked like every flag before the scan starts. */
const portsFlag: Flag<number[]> = {
  help: "ports and ranges, e.g. 22,80,8000-8100 (default 1-1024)",
  placeholder: "LIST",
  shown: "1-1024",
  fallback: parsePorts("1-1024"),
  parse: parsePorts,
};

/** The command line both scans take (lesson 08 adds --workers), for lib's `command()`. */
export const SCAN_FLAGS = {
  ports: portsFlag,
  concurrency: flag.whole(100, "connects in flight at once (more for a far host)", { min: 1 }),
  timeout: flag.whole(1000, "ms a silent port gets before it counts as filtered", {
    min: 1,
    max: 600_000,
    placeholder: "MS",
  }),
};
export const HOST = {
  shown: "[HOST]",
  help: "the host to scan, a name or an address (default 127.0.0.1)",
  max: 1,
};

/** How many connects may be in flight at once, and how long each may wait. */
export type Limits = { concurrency: number; timeoutMs: number };

/** The TCP service names of /etc/services, the file Python's getservbyport reads. */
export function tcpServiceNames(path = "/etc/services"): Map<number, string> {
  const text = existsSync(path) ? readFileSync(path, "utf8") : "";
  // Reversed, so that the first name of a port is the one the Map keeps.
  const entries = [...text.matchAll(/^([\w.+-]+)\s+(\d+)\/tcp\b/gm)].reverse();
  return new Map(entries.map((entry) => [Number(entry[2]), entry[1] ?? ""]));
}

// Read once, before any scan: a scan that ends with many connects still pending may have no
// file descriptor left to open the file with.
const SERVICES = tcpServiceNames();

export interface ScanReport {
  host: string;
  address: string;
  open: { port: number; service: string | null }[];
  /** Refused ports, self-connects included. */
  closed: number;
  filtered: number[];
  selfConnects: number;
  elapsedMs: number;
}

/** The report of a scan: `answerOf(i)` is what `ports[i]` answered; `started` from performance.now(). */
export function scanReport(
  host: string,
  address: string,
  ports: readonly number[],
  answerOf: (index: number) => Answer | undefined,
  started: number,
): ScanReport {
  const elapsedMs = Math.round(performance.now() - started);
  const report: ScanReport = {
    host,
    address,
    open: [],
    closed: 0,
    filtered: [],
    selfConnects: 0,
    elapsedMs,
  };
  for (const [index, port] of ports.entries()) {
    const answer = answerOf(index);
    if (answer === "open") report.open.push({ port, service: SERVICES.get(port) ?? null });
    if (answer === "filtered") report.filtered.push(port);
    if (answer === "closed" || answer === "self-connect") report.closed++;
    if (answer === "self-connect") report.selfConnects++;
  }
  return report;
}

/** Prints the report: one JSON document, or the open ports and the totals for a person. */
export function printReport(report: ScanReport, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  const { host, address, open, closed, filtered, selfConnects, elapsedMs } = report;
  const total = open.length + closed + filtered.length;
  console.log(`${host} (${address}): ${total} TCP ports in ${elapsedMs} ms`);
  for (const { port, service } of open) console.log(`  ${port}/tcp\topen\t${service ?? ""}`);
  const silent = `${filtered.length} filtered ${filtered.slice(0, 20).join(" ")}`.trimEnd();
  console.log(`${open.length} open, ${closed} closed, ${silent}`);
  if (selfConnects > 0) console.log(`${selfConnects} self-connect(s), counted as closed`);
}

/** `12345/65535` on stderr while a scan runs, for a person at a terminal, not for a pipe. */
export class ProgressLine {
  private tty: boolean | undefined;

  // Asked at the first tick, not before: process.stderr takes some 15 ms to make, as long as
  // a scan of a thousand ports.
  readonly show = (done: number, total: number): void => {
    this.tty ??= process.stderr.isTTY;
    if (this.tty) process.stderr.write(`\r${done}/${total}`);
  };

  /** Rubs the line out, before the report. */
  clear(): void {
    if (this.tty) process.stderr.write("\r\x1b[2K");
  }
}
