/**
 * @title IP address anatomy
 * @summary Everything Python's ipaddress module tells about an IPv4 or IPv6 address, interface or network: its forms, scope flags, masks and host range.
 * @run bun run 01-basics/06-ip-address.ts [ADDRESS...] [--as auto|address|interface|network] [--json]
 * @python Ip_address.py
 *
 * You will see each address as text, as one integer and as a reverse-DNS name, its scope
 * (private, global, loopback, link-local, multicast) and, for a prefix, the network, masks,
 * size and usable hosts. The idea: an address is a 32- or 128-bit number and a prefix splits
 * it into network and host bits. No npm package: BigInt is all the arithmetic needs, in
 * ./ipaddress.ts, which the tests check answer by answer against Python's own ipaddress.
 */
import { command, flag, usageError } from "../lib/cli.ts";
import { describe, IpInputError } from "./ipaddress.ts";
import type { AddressReport, Flags, NetworkReport, Report } from "./ipaddress.ts";

/** How `--as auto` reads a text; the other kinds are strict. */
const AUTO = 'no "/": an address; with one, a network if no host bits are set, else an interface';

/** What the lesson shows when run with no arguments. */
export const EXAMPLES = ["127.0.0.1", "192.168.1.10/24", "2001:db8::1/64", "::ffff:192.0.2.1"];

/** The flags in plain words; the order matters (224.0.0.1 is multicast and global). */
export function scopeInWords(flags: Flags): string {
  if (flags.is_unspecified) return "unspecified: means 'any address' when binding";
  if (flags.is_loopback) return "loopback: only this machine reaches it";
  if (flags.is_link_local) return "link-local: only the local network segment";
  if (flags.is_multicast) return "multicast: a group of receivers, not one machine";
  if (flags.is_global) return "global: reachable over the public internet";
  if (flags.is_private) return "private or special-purpose: not routed on the internet";
  return "neither private nor global (shared or reserved space)";
}

const trueFlags = (flags: Flags): string =>
  Object.entries(flags)
    .filter(([name, on]) => name.startsWith("is_") && on === true)
    .map(([name]) => name)
    .join(", ") || "none";

/** What Python's hosts() leaves out, so "usable hosts" means something. */
export function hostsRule(network: NetworkReport): string {
  const hostBits = network.max_prefixlen - network.prefixlen;
  if (hostBits === 0) return "the one address";
  if (hostBits === 1) return "both: a point-to-point link needs no network or broadcast address";
  if (network.version === 4) return "all but the network and broadcast addresses";
  return "all but the first, the Subnet-Router anycast address";
}

const row = (label: string, value: string): string => `    ${label.padEnd(17)} ${value}`;

function addressLines(address: AddressReport): string[] {
  const lines = [
    row("exploded", address.exploded),
    row("as an integer", address.int),
    row("reverse pointer", address.reverse_pointer),
    row("scope", scopeInWords(address)),
    row("true flags", trueFlags(address)),
  ];
  if (address.ipv4_mapped) lines.push(row("IPv4-mapped", `the IPv4 ${address.ipv4_mapped}`));
  if (address.sixtofour) lines.push(row("6to4", `tunnels to the IPv4 ${address.sixtofour}`));
  const [server, client] = address.teredo ?? [];
  if (server && client) lines.push(row("Teredo", `server ${server}, client ${client}`));
  if (address.scope_id) lines.push(row("zone", `%${address.scope_id}, the link it is on`));
  return lines;
}

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

/** The report as text for a person. */
export function formatReport(report: Report): string {
  const family = `IPv${report.version}`;
  if (report.kind === "address")
    return [`${report.compressed}: an ${family} address`, ...addressLines(report)].join("\n");
  if (report.kind === "network")
    return [`${report.compressed}: an ${family} network`, ...networkLines(report)].join("\n");
  return [
    `${report.compressed}: an ${family} interface, one address on a network`,
    `  address ${report.ip.compressed}`,
    ...addressLines(report.ip),
    `  network ${report.network.compressed}`,
    ...networkLines(report.network),
  ].join("\n");
}

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
