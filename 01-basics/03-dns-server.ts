/**
 * @title Ask a DNS server
 * @summary Put the question to one DNS server yourself: a name's A and AAAA records, and the canonical name behind an alias.
 * @run bun run 01-basics/03-dns-server.ts [NAME...] [--server IP:PORT] [--json]
 * @python basics-02.py
 *
 * Lesson 02's look-up answers from /etc/hosts when it can, and never says who else answered.
 * Here a Resolver sends the questions itself, to the server you name (default: those in
 * /etc/resolv.conf): A records for IPv4, AAAA for IPv6, and CNAME records, which make a name
 * an alias of another. Try it offline with the book's test server: see this chapter's README.
 */
import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import { command, flag, usageError, whyLookupFailed } from "../lib/cli.ts";
import { type Answer, hostNameProblem, printAnswers, serverFlag, withFamily } from "./dns-names.ts";

/** Asks one DNS server (`server`, or the system's) for the addresses of `name`. */
export async function askServer(name: string, server?: string): Promise<Answer> {
  // An address is its own answer: a DNS server would be asked for a *name* "127.0.0.1".
  if (isIP(name) !== 0) return { name, addresses: [withFamily(name)], aliasOf: null, error: null };
  const resolver = new Resolver({ timeout: 1000, tries: 2 });
  if (server) resolver.setServers([server]);
  // resolve4 and resolve6 ask the server alone: no /etc/hosts, no search domains.
  const asked = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  const addresses = asked.flatMap((result) =>
    result.status === "fulfilled" ? result.value.map(withFamily) : [],
  );
  if (addresses.length > 0) {
    return { name, addresses, aliasOf: await canonicalName(resolver, name), error: null };
  }
  const failure = asked.find((result) => result.status === "rejected");
  return { name, addresses, aliasOf: null, error: whyLookupFailed(failure?.reason, name) };
}

/**
 * The server followed the chain of aliases (a -> b -> c) to the addresses, and does not say
 * where it ended. Walk it with CNAME questions, a few hops at most (a chain can loop), to name c.
 */
async function canonicalName(resolver: Resolver, name: string): Promise<string | null> {
  let current = name;
  for (let hop = 0; hop < 8; hop++) {
    const [target] = await resolver.resolveCname(current).catch((): string[] => []);
    if (target === undefined) break;
    current = target;
  }
  return current === name ? null : current;
}

const cli = command(
  "01-basics/03-dns-server.ts",
  "Asks one DNS server for the IPv4 and IPv6 addresses of each NAME, and who it is an alias of.",
  {
    server: serverFlag("the DNS server to ask, e.g. 127.0.0.1:5353 (default: /etc/resolv.conf's)"),
    json: flag.bool("print one JSON document instead of text"),
  },
  { shown: "[NAME...]", help: "names to ask about (default: example.com)" },
);

if (import.meta.main) {
  const { words, server, json } = cli.parse();
  const names = words.length > 0 ? words : ["example.com"];
  // Every name is checked before the first query leaves.
  const problem = names.map(hostNameProblem).find((why) => why !== null);
  if (problem) usageError(problem, cli.usage);
  const answeredBy = `DNS server ${server ?? new Resolver().getServers().join(", ")}`;
  const answers = await Promise.all(names.map((name) => askServer(name, server)));
  printAnswers(answers, answeredBy, json);
}
