/**
 * @title Hostname
 * @summary This machine's name, the addresses that name resolves to, and every address it answers to.
 * @run bun run 01-basics/01-hostname.ts [--json]
 * @python basics-01.py Gethostname.py
 *
 * A machine has one name but many addresses: one or more per network interface, IPv4 and
 * IPv6, plus loopback. The name's look-up (`gethostbyname` in the Python lab) goes through
 * the system resolver, /etc/hosts first, and may return only some of them, or none: worth
 * knowing before you tell a friend to connect to it by name.
 */
import { lookup } from "node:dns/promises";
import { hostname, type NetworkInterfaceInfo, networkInterfaces } from "node:os";
import { command, flag, whyLookupFailed } from "../lib/cli.ts";

/** The machine's name, what the resolver makes of it, and the addresses it really has. */
export async function describeHost(name = hostname()): Promise<HostReport> {
  const interfaces = interfaceAddresses();
  try {
    // `all: true` asks for every address, not only the first (gethostbyname's limit).
    const resolved = await lookup(name, { all: true });
    return { hostname: name, resolved, resolveError: null, interfaces };
  } catch (error) {
    return { hostname: name, resolved: [], resolveError: whyLookupFailed(error, name), interfaces };
  }
}

export interface HostReport {
  hostname: string;
  /** What the system resolver says the name means, and why it says nothing, if it does. */
  resolved: { address: string; family: number }[];
  resolveError: string | null;
  interfaces: InterfaceAddress[];
}

export type InterfaceAddress = { interface: string } & Pick<NetworkInterfaceInfo, Fields>;
type Fields = "address" | "family" | "cidr" | "internal";

/** Every address configured on this machine's interfaces, loopback included. */
export function interfaceAddresses(): InterfaceAddress[] {
  return Object.entries(networkInterfaces()).flatMap(([name, entries = []]) =>
    entries.map(({ address, family, cidr, internal }) => {
      return { interface: name, address, family, cidr, internal };
    }),
  );
}

/** One line for a person: interface, address/prefix, family, and who can reach the address. */
export function interfaceLine(entry: InterfaceAddress): string {
  let scope = "other machines may reach it";
  if (/^(fe80:|169\.254\.)/i.test(entry.address)) scope = "link-local: this network segment only";
  if (entry.internal) scope = "loopback: this machine only";
  const where = (entry.cidr ?? entry.address).padEnd(28);
  return `  ${entry.interface.padEnd(8)} ${where} ${entry.family}, ${scope}`;
}

const cli = command(
  "01-basics/01-hostname.ts",
  "Prints this machine's name, what the system resolver makes of it, and its addresses.",
  { json: flag.bool("print one JSON document instead of text") },
);

if (import.meta.main) {
  const { json } = cli.parse();
  const report = await describeHost();
  if (json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    const addresses = report.resolved.map((entry) => entry.address).join(", ");
    console.log(`host name: ${report.hostname}`);
    console.log(`  ${report.resolveError ?? `resolves to: ${addresses}`}`);
    console.log(`addresses on this machine's interfaces (${report.interfaces.length}):`);
    for (const entry of report.interfaces) console.log(interfaceLine(entry));
  }
}
