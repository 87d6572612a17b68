/**
 * @title Resolve a name
 * @summary Turn a host name into the IP addresses a socket can connect to, before any connection.
 * @run bun run 03-http-client/01-resolve.ts [--host HOST] [--json]
 * @python socket-02.py
 *
 * A socket connects to an address, never to a name: `example.com` must first become
 * something like 93.184.215.14. The Python lab's `gethostbyname` gave one IPv4 address;
 * a name may have several, IPv4 and IPv6, and a client should be ready to try each.
 * With no --host this resolves `localhost`, which /etc/hosts answers offline.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { command, fail, flag, UsageError, whyLookupFailed } from "../lib/cli.ts";

/** The system resolver, or a stand-in (tests use one: they never ask real DNS servers). */
export type Resolver = (name: string) => Promise<{ address: string; family: number }[]>;

/** Every address of `host`, in the order the system prefers; an IP literal is its own answer. */
export async function resolveHost(
  host: string,
  resolver: Resolver = (name) => lookup(name, { all: true }),
): Promise<{ address: string; family: 4 | 6 }[]> {
  const literal = host.replace(/^\[(.*)\]$/, "$1");
  const family = isIP(literal);
  if (family === 4 || family === 6) return [{ address: literal, family }];
  if (!isValidHost(host)) throw new UsageError(invalidHostMessage(host));
  // RFC 6761: names under .invalid never exist, so there is nobody to ask.
  if (/(^|\.)invalid\.?$/i.test(host)) throw new Error(whyLookupFailed(notFound(), host));
  let found: { address: string; family: number }[];
  try {
    found = await resolver(host);
  } catch (error) {
    throw new Error(whyLookupFailed(error, host));
  }
  if (found.length === 0) throw new Error(whyLookupFailed(notFound(), host));
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
}

/** An IP literal (IPv6 with or without brackets), or a name made of dot-separated labels. */
export function isValidHost(host: string): boolean {
  if (isIP(host.replace(/^\[(.*)\]$/, "$1")) !== 0) return true;
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
  return name.length > 0 && name.length <= 253 && name.split(".").every((part) => label.test(part));
}

export const invalidHostMessage = (host: string): string =>
  `${JSON.stringify(host)} is not a valid host name: use letters, digits, hyphens and dots (like example.com) or an IP address`;

const notFound = (): Error => Object.assign(new Error("no such name"), { code: "ENOTFOUND" });

if (import.meta.main) {
  const cli = command(
    "03-http-client/01-resolve.ts",
    "Resolves a host name to all its IP addresses.",
    {
      host: flag.text(undefined, "the name to resolve (default localhost)", "HOST", (text) => {
        if (isValidHost(text)) return text;
        throw new UsageError(invalidHostMessage(text));
      }),
      json: flag.bool("print one JSON document instead of text"),
    },
  );
  const args = cli.parse();
  if (args.host === undefined && !args.json)
    console.log("(no --host given: resolving localhost; try --host example.com)");
  const host = args.host ?? "localhost";
  const started = performance.now();
  const addresses = await resolveHost(host).catch((error: Error) => fail(error.message));
  const ms = Math.round((performance.now() - started) * 10) / 10;
  if (args.json) console.log(JSON.stringify({ host, addresses, ms }, null, 2));
  else {
    console.log(`${host} has ${addresses.length} address(es), found in ${ms} ms:`);
    for (const { address, family } of addresses) console.log(`  ${address}  (IPv${family})`);
    console.log("a client connects to the first one, and tries the next if that fails");
  }
}
