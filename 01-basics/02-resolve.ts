/**
 * @title Resolve
 * @summary Every IPv4 and IPv6 address of one or more names, from the system resolver or a DNS server you choose.
 * @run bun run 01-basics/02-resolve.ts [NAME...] [--server IP:PORT] [--json]
 * @python basics-02.py
 *
 * Python's `gethostbyname` gave one IPv4 address; a name can have many, of both families.
 * The system look-up (`dns.lookup`, what `ping` and browsers use) reads /etc/hosts and then
 * asks DNS; `--server` puts the question to one DNS server directly, so the answers can
 * differ: the output says which one answered. A malformed name is refused before any query.
 */
import { lookup, Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { parseArgs } from "node:util";

export type Address = { address: string; family: 4 | 6 };

export interface Resolved {
  name: string;
  addresses: Address[];
  /** The canonical name at the end of the CNAME chain that `name` starts: only a DNS server says. */
  aliasOf: string | null;
  /** Why there are no addresses, in one sentence; null when there are some. */
  error: string | null;
}

export const SYSTEM_RESOLVER = "the system resolver (/etc/hosts, then DNS)";

const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i; // letters, digits, inner hyphens

/** Why `name` cannot be a host name, in one sentence, or null: checked before anything is sent. */
export function hostNameProblem(name: string): string | null {
  const labels = name.replace(/\.$/, "").split(".");
  let why = "";
  if (name.length === 0 || name.length > 253) why = "a host name has 1 to 253 characters";
  else if (labels.includes("")) why = "it has an empty label (two dots in a row, or a leading dot)";
  else if (labels.some((label) => label.length > 63)) why = "a label is longer than 63 characters";
  else if (!labels.every((label) => LABEL.test(label)))
    why = "a label holds a character other than letters, digits and inner hyphens";
  // JSON.stringify quotes the name and escapes any control characters a hostile name carries.
  return why && !isIP(name) ? `${JSON.stringify(name)} is not a valid host name: ${why}.` : null;
}

/** `127.0.0.1:5353` or `[::1]:5353` (port 53 when left out) in the form `setServers` takes. */
export function parseServer(text: string): string {
  const match = /^(?:\[([0-9a-f:.]+)\]|([0-9.]+))(?::(\d{1,5}))?$/i.exec(text);
  const host = match?.[1] ?? match?.[2] ?? "";
  const port = Number(match?.[3] ?? 53);
  const like = "an IP address and port, like 127.0.0.1:5353 or [::1]:5353";
  if (!isIP(host) || port < 1 || port > 65535)
    throw new RangeError(`--server ${JSON.stringify(text)} is not ${like}.`);
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? "error";
const entry = (address: string): Address => ({ address, family: isIP(address) === 6 ? 6 : 4 });

/** Looks `name` up with the system resolver, or asks the DNS server `server` (from parseServer). */
export async function resolveName(name: string, server?: string): Promise<Resolved> {
  const problem = hostNameProblem(name);
  if (problem) throw new RangeError(problem);
  const result: Resolved = { name, addresses: [], aliasOf: null, error: null };
  if (!server) {
    try {
      // all: true asks for every address, not only the first one.
      result.addresses = (await lookup(name, { all: true })).map((found) => entry(found.address));
    } catch (error) {
      const code = codeOf(error); // EAI_AGAIN: no DNS server could be reached at all
      const what = code === "EAI_AGAIN" ? "could not reach DNS to look up" : "knows no address for";
      result.error = `the system resolver ${what} ${name} (${code}): check the spelling, /etc/hosts and your network.`;
    }
    return result;
  }
  // An address is its own answer: a DNS server would be asked for a *name* "127.0.0.1".
  if (isIP(name)) return { ...result, addresses: [entry(name)] };
  // resolve4/resolve6 ask only this server: no /etc/hosts, no search domains.
  const resolver = new Resolver({ timeout: 1000, tries: 2 });
  resolver.setServers([server]);
  const answers = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  for (const answer of answers) {
    if (answer.status === "fulfilled") result.addresses.push(...answer.value.map(entry));
  }
  const failure = answers.find((answer) => answer.status === "rejected");
  const code = failure ? codeOf(failure.reason) : "ENOTFOUND";
  if (result.addresses.length === 0) {
    const what = ["ETIMEOUT", "ECONNREFUSED"].includes(code)
      ? "did not answer about"
      : "has no address for";
    result.error = `DNS server ${server} ${what} ${name} (${code}): check the spelling, and that the server runs.`;
  } else {
    // A CNAME record makes `name` an alias; the server followed the chain (a -> b -> c) to
    // the addresses above. Walk it too, a few hops at most (a chain can loop), to name c.
    for (let hop = 0, current = name; hop < 8; hop++) {
      const [target] = await resolver.resolveCname(current).catch((): string[] => []);
      if (!target) break;
      result.aliasOf = current = target;
    }
  }
  return result;
}

const usage = `usage: bun run 01-basics/02-resolve.ts [NAME...] [--server IP:PORT] [--json]

Prints every IPv4 and IPv6 address of each NAME (default: localhost and this
machine's name), asking the system resolver (/etc/hosts, then DNS).
  --server IP:PORT   ask this DNS server directly instead, e.g. 127.0.0.1:5353
  --json             print one JSON document instead of text`;

if (import.meta.main) {
  try {
    const { values, positionals } = parseArgs({
      allowPositionals: true,
      options: {
        server: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    const server = values.server === undefined ? undefined : parseServer(values.server);
    const names = positionals.length > 0 ? positionals : [...new Set(["localhost", hostname()])];
    const problem = names.map(hostNameProblem).find(Boolean); // every name, before any query
    if (problem) throw new RangeError(problem);

    const answeredBy = server ? `DNS server ${server}` : SYSTEM_RESOLVER;
    const results = await Promise.all(names.map((name) => resolveName(name, server)));
    for (const result of results) if (result.error) console.error(result.error);
    if (values.json) {
      console.log(JSON.stringify({ answeredBy, results }, null, 2));
    } else {
      for (const { name, addresses, aliasOf } of results.filter((result) => !result.error)) {
        const v4 = addresses.filter((entry) => entry.family === 4).length;
        const list = addresses.map((entry) => entry.address).join(", ");
        const alias = aliasOf ? ` (an alias of ${aliasOf})` : "";
        console.log(`${name}${alias} -> ${list} (${v4} IPv4, ${addresses.length - v4} IPv6)`);
      }
      console.log(`answered by ${answeredBy}`);
    }
    process.exit(results.some((result) => result.error) ? 1 : 0);
  } catch (error) {
    // Only bad arguments throw here (a failed look-up is a result with an error): exit 2.
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
}
