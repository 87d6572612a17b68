/**
 * @title Hostname
 * @summary This machine's name, the addresses that name resolves to, and every address it answers to.
 * @run bun run 01-basics/01-hostname.ts [--json]
 * @python basics-01.py Gethostname.py
 *
 * A machine has one name but many addresses: one or more per network interface, IPv4
 * and IPv6, plus loopback. The name's look-up (what `gethostbyname` did in the Python
 * lab) goes through the system resolver, /etc/hosts first, and may return only some
 * of them - or none, which is worth knowing before you tell a friend to connect to it.
 */
import { lookup } from "node:dns/promises";
import { hostname, networkInterfaces } from "node:os";
import { parseArgs } from "node:util";

export interface InterfaceAddress {
  interface: string;
  address: string;
  family: "IPv4" | "IPv6";
  cidr: string | null;
  internal: boolean;
}

export interface HostReport {
  hostname: string;
  /** What the system resolver says the name means; empty when it cannot resolve it. */
  resolved: { address: string; family: 4 | 6 }[];
  /** Why `resolved` is empty, when it is. */
  resolveError: string | null;
  interfaces: InterfaceAddress[];
}

/** Every address configured on this machine's interfaces, loopback included. */
export function interfaceAddresses(): InterfaceAddress[] {
  return Object.entries(networkInterfaces()).flatMap(([name, entries]) =>
    (entries ?? []).map((entry) => ({
      interface: name,
      address: entry.address,
      family: entry.family,
      cidr: entry.cidr,
      internal: entry.internal,
    })),
  );
}

/** One line for a person: interface, address/prefix, family, and who can reach the address. */
export function interfaceLine({
  interface: name,
  address,
  cidr,
  family,
  internal,
}: InterfaceAddress): string {
  const scope = internal
    ? "loopback: this machine only"
    : /^(fe80:|169\.254\.)/i.test(address)
      ? "link-local: this network segment only"
      : "other machines may reach it";
  return `  ${name.padEnd(8)} ${(cidr ?? address).padEnd(28)} ${family}, ${scope}`;
}

export async function describeHost(name: string = hostname()): Promise<HostReport> {
  try {
    // `all: true` asks for every address, not just the first (gethostbyname's limit).
    const resolved = await lookup(name, { all: true });
    return {
      hostname: name,
      resolved: resolved.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 })),
      resolveError: null,
      interfaces: interfaceAddresses(),
    };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    return { hostname: name, resolved: [], resolveError: code, interfaces: interfaceAddresses() };
  }
}

const usage = `usage: bun run 01-basics/01-hostname.ts [--json]

Prints this machine's host name, what the system resolver makes of it, and
every address on its network interfaces.
  --json   print one JSON document instead of text`;

if (import.meta.main) {
  let json = false;
  try {
    const { values } = parseArgs({
      options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    json = values.json ?? false;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }

  const report = await describeHost();
  if (json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(`host name: ${report.hostname}`);
    if (report.resolveError) {
      console.log(
        `  the system resolver cannot resolve it (${report.resolveError}): other machines may not find it by name either`,
      );
    } else {
      console.log(`  resolves to: ${report.resolved.map((entry) => entry.address).join(", ")}`);
    }
    console.log(`addresses on this machine's interfaces (${report.interfaces.length}):`);
    for (const entry of report.interfaces) console.log(interfaceLine(entry));
  }
}
