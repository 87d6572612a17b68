/**
 * @title Resolve
 * @summary Every IPv4 and IPv6 address of one or more names, as the system resolver finds them.
 * @run bun run 01-basics/02-resolve.ts [NAME...] [--json]
 * @python basics-02.py
 *
 * Python's `gethostbyname` gave one IPv4 address; a name can have many, of both families.
 * The system look-up (`dns.lookup`, what `ping` and browsers use) reads /etc/hosts first, then
 * asks the DNS servers of /etc/resolv.conf. A malformed name is refused before any query
 * leaves: a resolver would send it on. Lesson 03 puts the question to one DNS server itself.
 */
import { lookup } from "node:dns/promises";
import { hostname } from "node:os";
import { command, flag, UsageError, usageError, whyLookupFailed } from "../lib/cli.ts";
import {
  type Answer,
  hostNameProblem,
  printAnswers,
  SYSTEM_RESOLVER,
  withFamily,
} from "./dns-names.ts";

/** Every address the system resolver knows for `name`, or why it knows none. */
export async function resolveName(name: string): Promise<Answer> {
  const problem = hostNameProblem(name);
  if (problem) throw new UsageError(problem);
  try {
    // all: true asks for every address, not only the first one.
    const found = await lookup(name, { all: true });
    return { name, addresses: found.map(({ address }) => withFamily(address)), error: null };
  } catch (error) {
    return { name, addresses: [], error: whyLookupFailed(error, name) };
  }
}

const cli = command(
  "01-basics/02-resolve.ts",
  "Prints every IPv4 and IPv6 address the system resolver knows for each NAME.",
  { json: flag.bool("print one JSON document instead of text") },
  { shown: "[NAME...]", help: "names to look up (default: localhost and this machine's name)" },
);

if (import.meta.main) {
  const { words, json } = cli.parse();
  const names = words.length > 0 ? words : [...new Set(["localhost", hostname()])];
  // Every name is checked before the first query leaves.
  const problem = names.map(hostNameProblem).find((why) => why !== null);
  if (problem) usageError(problem, cli.usage);
  printAnswers(await Promise.all(names.map(resolveName)), SYSTEM_RESOLVER, json);
}
