/**
 * @title IP address anatomy
 * @summary Everything Python's ipaddress module tells about an IPv4 or IPv6 address, interface or network: its forms, scope flags, masks and host range.
 * @run bun run 01-basics/05-ip-address.ts [192.168.1.10/24 ...] [--as auto|address|interface|network] [--json]
 * @python Ip_address.py
 *
 * You will see each address as text, as one integer and as a reverse-DNS name, its scope
 * (private, global, loopback, link-local, multicast) and, for a prefix, the network, masks,
 * size and usable hosts. The idea: an address is a 32- or 128-bit number and a prefix splits
 * it into network and host bits. No npm package: BigInt is all the arithmetic needs, in
 * ./ipaddress.ts, which the tests check answer by answer against Python's own ipaddress.
 */
import { parseArgs } from "node:util";
import { describe, IpInputError, type ReadAs } from "./ipaddress.ts";
import type { AddressReport, Flags, NetworkReport, Report } from "./ipaddress.ts";

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
  return [
    row(
      "prefix length",
      `/${network.prefixlen}, so the host part is ${hostBits} of ${network.max_prefixlen} bits`,
    ),
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

const usage = `usage: bun run 01-basics/05-ip-address.ts [TEXT ...] [--as KIND] [--json]

Describes each IPv4 or IPv6 address (192.0.2.1, fe80::1%eth0), interface (an
address with its prefix, 192.168.1.10/24) or network (10.0.0.0/8) as Python's
ipaddress module does. With no TEXT it describes a few examples.
  --as KIND  auto (the default): no "/" is an address; with "/" it is a network
             when no host bits are set, else an interface. Or address, interface,
             network (strict: an address with host bits set is an error)
  --json     print JSON with Python's attribute names as keys: one object for
             one TEXT, else an array`;

if (import.meta.main) {
  let inputs: string[] = [];
  let as: ReadAs = "auto";
  let json = false;
  try {
    const { values, positionals } = parseArgs({
      allowPositionals: true,
      options: {
        as: { type: "string", default: "auto" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    const kinds = ["auto", "address", "interface", "network"];
    if (!kinds.includes(values.as))
      throw new Error(`--as takes ${kinds.join(", ")}, not "${values.as}".`);
    as = values.as as ReadAs;
    json = values.json ?? false;
    inputs = positionals;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }

  let reports: Report[];
  try {
    // Describe everything before printing anything: one bad input, no half output.
    reports = (inputs.length > 0 ? inputs : EXAMPLES).map((text) => describe(text, as));
  } catch (error) {
    if (!(error instanceof IpInputError)) throw error;
    console.error(`${error.message}\n\n${usage}`);
    process.exit(2);
  }
  if (json) console.log(JSON.stringify(inputs.length === 1 ? reports[0] : reports, null, 2));
  else console.log(reports.map(formatReport).join("\n\n"));
}
