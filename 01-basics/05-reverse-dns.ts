/**
 * @title Reverse DNS
 * @summary An IP address to its host name, aliases and addresses, like Python's gethostbyaddr.
 * @run bun run 01-basics/05-reverse-dns.ts [ADDRESS] [--server IP:PORT] [--json]
 * @python Dns.py
 *
 * A reverse look-up asks "what is 10.0.0.1 called?". DNS keeps the answer as PTR records
 * under the address written backwards (1.0.0.10.in-addr.arpa), /etc/hosts as plain lines.
 * Whoever runs the reverse zone can write any name there, so the lesson looks the name up
 * again and says whether it leads back to the address: only then is the name worth trusting.
 */
import { lookup, lookupService, Resolver, reverse } from "node:dns/promises";
import { isIP } from "node:net";
import { command, fail, flag, UsageError, usageError, whyLookupFailed } from "../lib/cli.ts";
import { serverFlag, SYSTEM_RESOLVER } from "./dns-names.ts";
import { type AddressReport, describeAddress, parseInput } from "./ipaddress.ts";

/** The names of `address` from the system resolver, and the addresses of the first name. */
async function askSystem(address: string): Promise<Names> {
  // getnameinfo, behind lookupService(), gives the official name (a number when there is
  // none); dns.reverse() drops the first name of an /etc/hosts line, but has the others.
  const { hostname } = await lookupService(address, 0);
  if (isIP(hostname) !== 0) return { names: [], addresses: [] };
  const others = await reverse(address).catch((): string[] => []);
  const found = await lookup(hostname, { all: true }).catch(() => []);
  return { names: [hostname, ...others], addresses: found.map((entry) => entry.address) };
}

/** The same from one DNS server alone (Resolver.reverse() would read /etc/hosts first). */
async function askServer(address: string, server: string): Promise<Names> {
  const resolver = new Resolver({ timeout: 1000, tries: 2 });
  resolver.setServers([server]);
  const names = await resolver.resolvePtr(reverseName(address));
  if (names[0] === undefined) return { names, addresses: [] };
  const v4 = await resolver.resolve4(names[0]).catch((): string[] => []);
  const v6 = await resolver.resolve6(names[0]).catch((): string[] => []);
  return { names, addresses: [...v4, ...v6] };
}

type Names = { names: string[]; addresses: string[] };

/** gethostbyaddr's triple for `address` (name, aliases, addresses), and the forward check. */
export async function lookupAddress(address: string, server?: string) {
  const asked = plainAddress(address);
  const source = server ? `DNS server ${server}` : SYSTEM_RESOLVER;
  const found = await (server ? askServer(asked, server) : askSystem(asked)).catch(
    (error: NodeJS.ErrnoException) => {
      // NXDOMAIN (ENOTFOUND) and NODATA are answers: there is no name.
      if (error.code === "ENOTFOUND" || error.code === "ENODATA")
        return { names: [], addresses: [] };
      throw new Error(whyLookupFailed(error, address));
    },
  );
  const [hostname, ...aliases] = [...new Set(found.names)];
  if (hostname === undefined)
    throw new NoNameError(`${address} has no name: ${source} knows none; use the address.`);
  const confirmed = found.addresses.some((entry) => plainAddress(entry) === asked);
  return { address, hostname, aliases, addresses: found.addresses, confirmed };
}

export type HostEntry = Awaited<ReturnType<typeof lookupAddress>>;

/** The look-up found no name: an answer, told apart from a failure to ask. */
export class NoNameError extends Error {}

/** `address` read as Python's ip_address would, without its zone; one sentence if it is not one. */
function read(address: string): AddressReport {
  try {
    return describeAddress(parseInput(address.replace(/%.*/, ""), "address"));
  } catch {
    const advice = "give one like 127.0.0.1 or ::1 (for a name, use 02-resolve.ts)";
    throw new UsageError(`${JSON.stringify(address)} is not an IP address: ${advice}.`);
  }
}

/** The DNS name that holds an address's PTR records: 10.0.0.1 -> 1.0.0.10.in-addr.arpa. */
export const reverseName = (address: string): string => read(address).reverse_pointer;

/**
 * What a look-up asks about: the address without its zone (fe80::1%eth0 names a link), and
 * the IPv4 address inside ::ffff:192.0.2.1 (an IPv4 peer as an IPv6 socket sees it).
 */
export function plainAddress(address: string): string {
  const report = read(address);
  return report.ipv4_mapped ?? report.compressed;
}

const cli = command(
  "01-basics/05-reverse-dns.ts",
  "Prints the host name, aliases and addresses of ADDRESS, and whether the name leads back.",
  {
    server: serverFlag("ask this DNS server alone, e.g. 127.0.0.1:5353"),
    json: flag.bool("print one JSON document instead of text"),
  },
  { shown: "[ADDRESS]", help: "an IPv4 or IPv6 address (default 127.0.0.1)", max: 1 },
);

if (import.meta.main) {
  const { words, server, json } = cli.parse();
  const answeredBy = server ? `DNS server ${server}` : SYSTEM_RESOLVER;
  const entry = await lookupAddress(words[0] ?? "127.0.0.1", server).catch((error: Error) =>
    error instanceof UsageError ? usageError(error.message, cli.usage) : fail(error.message),
  );
  if (json) {
    console.log(JSON.stringify({ ...entry, answeredBy }, null, 2));
  } else {
    const { address, hostname, aliases, addresses, confirmed } = entry;
    const trust = confirmed ? "leads back to the address" : "does not lead back: do not trust it";
    console.log(`${address} is ${hostname} (aliases: ${aliases.join(", ") || "none"})`);
    console.log(`${hostname} resolves to ${addresses.join(", ") || "nothing"}: the name ${trust}`);
    console.log(`answered by ${answeredBy}`);
  }
}
