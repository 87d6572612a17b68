/**
 * @title Service names
 * @summary Turn a port and protocol into its service name, and a service name into its ports, from the services database.
 * @run bun run 01-basics/03-service-name.ts [22/tcp | 53 | domain ...] [--services FILE] [--json]
 * @python basics-03.py
 *
 * Machines meet on port numbers; people remember names like `ssh` and `domain`. The table
 * between them is a plain text file, /etc/services (Debian package netbase), which Python's
 * getservbyport reads: so does this lesson. A port may be named for TCP and not for UDP,
 * a name may have aliases (`www` is `http`), and an unnamed port is not a closed one.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

export type ServiceEntry = { name: string; port: number; protocol: string; aliases: string[] };

export type Query = { port: number; protocol: string | null } | { name: string };

export const SYSTEM_SERVICES = "/etc/services";

/** Lines of `name port/protocol [aliases...] [# comment]`; anything else is skipped. */
export function parseServices(text: string): ServiceEntry[] {
  return text.split("\n").flatMap((line) => {
    const [name, where = "", ...aliases] = line.replace(/#.*/, "").trim().split(/\s+/);
    const [, port, protocol] = /^(\d+)\/(\w+)$/.exec(where) ?? [];
    if (!name || !port || !protocol) return [];
    return [{ name, port: Number(port), protocol: protocol.toLowerCase(), aliases }];
  });
}

/** Thrown when the database itself cannot be read: a failed operation, not a usage error. */
export class DatabaseError extends Error {}

export function loadServices(file = SYSTEM_SERVICES): ServiceEntry[] {
  const hint =
    file === SYSTEM_SERVICES
      ? "install Debian package netbase, or pass --services FILE"
      : "check the path given to --services";
  let entries: ServiceEntry[];
  try {
    entries = parseServices(readFileSync(file, "utf8"));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new DatabaseError(`cannot read the services database ${file} (${code}): ${hint}.`);
  }
  // An empty database would answer "no such service" to everything: say what is wrong instead.
  if (entries.length > 0) return entries;
  throw new DatabaseError(`${file} holds no service lines (like "ssh 22/tcp"): ${hint}.`);
}

/** `22/tcp`, `22` (every protocol) or `domain`; throws one sentence when it is none of these. */
export function parseQuery(text: string, entries: ServiceEntry[]): Query {
  const match = /^(\d+)(?:\/(.*))?$/.exec(text);
  if (!match?.[1]) {
    if (/^[a-z0-9][\w.+-]*$/i.test(text)) return { name: text };
    throw new Error(
      `${JSON.stringify(text)} is not PORT/PROTOCOL (22/tcp), a PORT (53) or a service name (domain).`,
    );
  }
  const port = Number(match[1]);
  if (port > 65535) throw new Error(`${match[1]} is not a port number: ports run from 0 to 65535.`);
  const protocol = match[2]?.toLowerCase() ?? null;
  const known = [...new Set(entries.map((entry) => entry.protocol))];
  if (protocol === null || known.includes(protocol)) return { port, protocol };
  throw new Error(
    `${JSON.stringify(match[2])} is not a protocol in the services database: use one of ${known.join(", ")}.`,
  );
}

/** Every entry that answers the query (a name matches its aliases too, in any case). */
export function findServices(query: Query, entries: ServiceEntry[]): ServiceEntry[] {
  if ("name" in query) {
    const wanted = query.name.toLowerCase();
    return entries.filter((entry) =>
      [entry.name, ...entry.aliases].some((name) => name.toLowerCase() === wanted),
    );
  }
  return entries.filter(
    (entry) => entry.port === query.port && (query.protocol ?? entry.protocol) === entry.protocol,
  );
}

/** One line for a person, or the sentence that says there is no such service. */
export function explain(text: string, query: Query, found: ServiceEntry[], file: string): string {
  if (found.length === 0) {
    return "name" in query
      ? `no service is named ${text} in ${file}: check the spelling, or look it up by port number.`
      : `no service is registered for ${text} in ${file}: the port has no name, which does not mean it is unused.`;
  }
  const listed = found.map((entry) => {
    const aliases = entry.aliases.length > 0 ? ` (also called ${entry.aliases.join(", ")})` : "";
    return "name" in query
      ? `${entry.port}/${entry.protocol}${entry.name === text.toLowerCase() ? "" : ` (as ${entry.name})`}`
      : `${entry.name}${query.protocol ? "" : ` on ${entry.protocol}`}${aliases}`;
  });
  return `${text} is ${listed.join(" and ")}`;
}

const usage = `usage: bun run 01-basics/03-service-name.ts [QUERY...] [--services FILE] [--json]

Each QUERY is PORT/PROTOCOL (22/tcp), a PORT for every protocol (53), or a
service NAME or alias (domain, www). Default: 22/tcp 53 domain www.
  --services FILE   read this services database instead of /etc/services
  --json            print one JSON document instead of text`;

if (import.meta.main) {
  let texts: string[] = [];
  let json = false;
  let file = SYSTEM_SERVICES;
  let entries: ServiceEntry[] = [];
  let queries: Query[] = [];
  try {
    const { values, positionals } = parseArgs({
      allowPositionals: true,
      options: {
        services: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    json = values.json ?? false;
    file = values.services ?? SYSTEM_SERVICES;
    texts = positionals.length > 0 ? positionals : ["22/tcp", "53", "domain", "www"];
    entries = loadServices(file); // before the queries: they are checked against its protocols
    queries = texts.map((text) => parseQuery(text, entries));
  } catch (error) {
    const message = (error as Error).message;
    console.error(error instanceof DatabaseError ? message : `${message}\n\n${usage}`);
    process.exit(error instanceof DatabaseError ? 1 : 2);
  }

  // dns.lookupService(address, port) asks this same database through getnameinfo, but only
  // port -> name and only for TCP: reading the file ourselves gives both directions and aliases.
  const results = queries.map((query, index) => {
    const text = texts[index] ?? "";
    const found = findServices(query, entries);
    return { query: text, found, answer: explain(text, query, found, file) };
  });
  if (json) console.log(JSON.stringify({ database: file, results }, null, 2));
  for (const { found, answer } of results) {
    if (found.length === 0) console.error(answer);
    else if (!json) console.log(answer);
  }
  process.exit(results.every((result) => result.found.length > 0) ? 0 : 1);
}
