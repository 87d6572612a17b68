/**
 * @title IP address anatomy
 * @summary Everything Python's ipaddress module tells about an IPv4 or IPv6 address, interface or network: its forms, scope flags, masks and host range.
 * @run bun run 01-basics/06-ip-address.ts [ADDRESS...] [--as auto|address|interface|network] [--json]
 * @python Ip_address.py
 *
 * You see each address as text, as one integer and as a reverse-DNS name, its scope
 * (private, global, loopback, link-local, multicast) and, for a prefix, the network, masks,
 * size and usable hosts. The idea: an address is a 32- or 128-bit number and a prefix splits
 * it into network and host bits. The arithmetic is BigInt, no npm package: ./ipaddress.ts,
 * checked answer by answer against Python's own ipaddress.
 */
import { command, flag, usageError } from "../lib/cli.ts";
import { addressLines, describe, hostsRule, IpInputError, row } from "./ipaddress.ts";
import { scopeInWords, trueFlags } from "./ipaddress.ts";
import type { NetworkReport, Report } from "./ipaddress.ts";

/** What the lesson shows when run with no arguments. */
export const EXAMPLES = ["127.0.0.1", "192.168.1.10/24", "2001:db8::1/64", "::ffff:192.0.2.1"];

/** A network's rows: the prefix cuts the address into network bits and host bits. */
function networkLines(network: NetworkReport): string[] {
  const hostBits = network.max_prefixlen - network.prefixlen;
  const hostPart = `the host part is ${hostBits} of ${network.max_prefixlen} bits`;
  return [
    row("prefix length", `/${network.prefixlen}, so ${hostPart}`),
    row("netmask", `${network.netmask} (hostmask ${network.hostmask})`),
    row("network address", network.network_address),
    // IPv6 has no broadcast; Python still calls the last address broadcast_address.
    row(network.version === 4 ? "broadcast" : "last address", network.broadcast_address),
    row("addresses", `${network.num_addresses} (2^${hostBits})`),
    row("usable hosts", `${network.hosts.count}, ${hostsRule(network)}`),
    row("first, last host", `${network.hosts.first}, ${network.hosts.last}`),
    row("scope", scopeInWords(network)),
    row("true flags", trueFlags(network)),
  ];
}

/** The report as text for a person: what it is, then a row per fact. */
export function formatReport(report: Report): string {
  const title = `${report.compressed}: an IPv${report.version} ${report.kind}`;
  if (report.kind === "address") return [title, ...addressLines(report)].join("\n");
  if (report.kind === "network") return [title, ...networkLines(report)].join("\n");
  return [
    `${title}, one address on a network`,
    `  address ${report.ip.compressed}`,
    ...addressLines(report.ip),
    `  network ${report.network.compressed}`,
    ...networkLines(report.network),
  ].join("\n");
}

/** How `--as auto` reads a text; the other kinds are strict. */
const AUTO = 'no "/": an address; with one, a network if no host bits are set, else an interface';
const cli = command(
  "01-basics/06-ip-address.ts",
  "Describes IPv4 and IPv6 addresses, interfaces and networks as Python's ipaddress does.",
  {
    as: flag.choice(["auto", "address", "interface", "network"], "auto", AUTO),
    json: flag.bool("print JSON with Python's attribute names (an array for several)"),
  },
  { shown: "[ADDRESS...]", help: "192.0.2.1, 192.168.1.10/24, 2001:db8::/32 (default: examples)" },
);

if (import.meta.main) {
  const { words, as, json } = cli.parse();
  let reports: Report[] = [];
  try {
    // Describe everything before printing anything: one bad input, no half output.
    reports = (words.length > 0 ? words : EXAMPLES).map((text) => describe(text, as));
  } catch (error) {
    if (!(error instanceof IpInputError)) throw error;
    usageError(error.message, cli.usage);
  }
  if (json) console.log(JSON.stringify(words.length === 1 ? reports[0] : reports, null, 2));
  else console.log(reports.map(formatReport).join("\n\n"));
}
