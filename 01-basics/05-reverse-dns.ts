/**
 * @title Reverse DNS
 * @summary An IP address to its host name, aliases and addresses, like Python's gethostbyaddr.
 * @run bun run 01-basics/05-reverse-dns.ts [ADDRESS] [--server IP:PORT] [--json]
 * @python Dns.py
 *
 * A reverse look-up asks "what is 10.0.0.1 called?": PTR records under the address written
 * backwards (1.0.0.10.in-addr.arpa) in DNS, plain lines in /etc/hosts. Whoever runs the
 * reverse zone can write any name there, so the lesson looks the name up again: only a name
 * that leads back to the address is worth trusting.
 */
import { lookup, lookupService, Resolver, reverse } from "node:dns/promises";
import { isIP } from "node:net";
import { command, fail, flag, UsageError, usageError, whyLookupFailed } from "../lib/cli.ts";
import { type HostEntry, printHostEntry, serverFlag, SYSTEM_RESOLVER } from "./dns-names.ts";
import { plainAddress, reverseName } from "./ipaddress.ts";

/** The names of `address` from the system resolver, and the addresses of the first name. */
async function askSystem(address: string) {
  // getnameinfo, behind lookupService(), gives the official name (a number when there is
  // none); dns.reverse() drops the first name of an /etc/hosts line, but has the others.
  const { hostname } = await lookupService(address, 0);
  if (isIP(hostname) !== 0) return { names: [], addresses: [] };
  const others = await reverse(address).catch((): string[] => []);
  const found = await lookup(hostname, { all: true }).catch(() => []);
  return { names: [hostname, ...others], addresses: found.map((entry) => entry.address) };
}

/** The same from one DNS server alone (Resolver.reverse() would read /etc/hosts first). */
async function askServer(address: string, server: string) {
  const resolver = new Resolver({ timeout: 1000, tries: 2 });
  resolver.setServers([server]);
  const names = await resolver.resolvePtr(reverseName(address));
  if (names[0] === undefined) return { names, addresses: [] };
  const v4 = await resolver.resolve4(names[0]).catch((): string[] => []);
  const v6 = await resolver.resolve6(names[0]).catch((): string[] => []);
  return { names, addresses: [...v4, ...v6] };
}

/** gethostbyaddr's triple for `address` (name, aliases, addresses), and the forward check. */
export async function lookupAddress(address: string, server?: string): Promise<HostEntry> {
  const asked = plainAddress(address);
  const answeredBy = server ? `DNS server ${server}` : SYSTEM_RESOLVER;
  const asking = server ? askServer(asked, server) : askSystem(asked);
  const found = await asking.catch((error: NodeJS.ErrnoException) => {
    // NXDOMAIN (ENOTFOUND) and NODATA are answers: there is no name.
    if (error.code !== "ENOTFOUND" && error.code !== "ENODATA")
      throw new Error(whyLookupFailed(error, address));
    return { names: [], addresses: [] };
  });
  const [hostname, ...aliases] = [...new Set(found.names)];
  if (hostname === undefined)
    throw new NoNameError(`${address} has no name: ${answeredBy} knows none; use the address.`);
  const confirmed = found.addresses.some((entry) => plainAddress(entry) === asked);
  return { address, hostname, aliases, addresses: found.addresses, confirmed, answeredBy };
}

/** The look-up found no name: an answer, told apart from a failure to ask. */
export class NoNameError extends Error {}

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
  const entry = await lookupAddress(words[0] ?? "127.0.0.1", server).catch((error: Error) =>
    error instanceof UsageError ? usageError(error.message, cli.usage) : fail(error.message),
  );
  printHostEntry(entry, json);
}
