/**
 * @title Service names
 * @summary Turn a port and protocol into its service name, and a service name into its ports, from the services database.
 * @run bun run 01-basics/04-service-name.ts [QUERY...] [--services /etc/services] [--json]
 * @python basics-03.py
 *
 * Machines meet on port numbers; people remember names like `ssh` and `domain`. The table
 * between them is a plain text file, /etc/services (Debian package netbase), which Python's
 * getservbyport reads, and so does this lesson. A port may be named for TCP and not for UDP,
 * a name may have aliases (`www` is `http`), and an unnamed port is not a closed one.
 */
import { readFileSync } from "node:fs";
import { command, fail, flag, usageError } from "../lib/cli.ts";

export type ServiceEntry = { name: string; port: number; protocol: string; aliases: string[] };
export type Query = { port: number; protocol: string | null } | { name: string };

/** Lines of `name port/protocol [aliases...] [# comment]`; anything else is skipped. */
export function parseServices(text: string): ServiceEntry[] {
  return text.split("\n").flatMap((line) => {
    const [name, where = "", ...aliases] = line.replace(/#.*/, "").trim().split(/\s+/);
    const [, port, protocol] = /^(\d+)\/(\w+)$/.exec(where) ?? [];
    if (!name || !port || !protocol) return [];
    return [{ name, port: Number(port), protocol: protocol.toLowerCase(), aliases }];
  });
}

/** Every entry that answers the query (a name matches its aliases too, in any case). */
export function findServices(query: Query, entries: ServiceEntry[]): ServiceEntry[] {
  if (!("name" in query)) {
    const protocolOf = (entry: ServiceEntry): string => query.protocol ?? entry.protocol;
    return entries.filter(
      (entry) => entry.port === query.port && protocolOf(entry) === entry.protocol,
    );
  }
  const named = (entry: ServiceEntry): string[] => [entry.name, ...entry.aliases];
  const wanted = query.name.toLowerCase();
  return entries.filter((entry) => named(entry).some((name) => name.toLowerCase() === wanted));
}

/** `22/tcp`, `22` (every protocol) or `domain`; throws one sentence when it is none of these. */
export function parseQuery(text: string, entries: ServiceEntry[]): Query {
  const [, digits, protocolText] = /^(\d+)(?:\/(.*))?$/.exec(text) ?? [];
  if (digits === undefined && /^[a-z0-9][\w.+-]*$/i.test(text)) return { name: text };
  const forms = "PORT/PROTOCOL (22/tcp), a PORT (53) or a service name (domain)";
  if (digits === undefined) throw new Error(`${JSON.stringify(text)} is not ${forms}.`);
  const port = Number(digits);
  if (port > 65535) throw new Error(`${digits} is not a port number: ports run from 0 to 65535.`);
  const protocol = protocolText?.toLowerCase() ?? null;
  const known = [...new Set(entries.map((entry) => entry.protocol))];
  if (protocol === null || known.includes(protocol)) return { port, protocol };
  const which = `use one of ${known.join(", ")}`;
  throw new Error(
    `${JSON.stringify(protocolText)} is not a protocol in the services database: ${which}.`,
  );
}

/** One line for a person, or the sentence that says there is no such service. */
export function explain(text: string, query: Query, found: ServiceEntry[], file: string): string {
  if (found.length === 0 && "name" in query)
    return `no service is named ${text} in ${file}: check the spelling, or look it up by port number.`;
  if (found.length === 0)
    return `no service is registered for ${text} in ${file}: the port has no name, which does not mean it is unused.`;
  const listed = found.map((entry) => {
    if ("name" in query) {
      const as = entry.name === text.toLowerCase() ? "" : ` (as ${entry.name})`;
      return `${entry.port}/${entry.protocol}${as}`;
    }
    const also = entry.aliases.length > 0 ? ` (also called ${entry.aliases.join(", ")})` : "";
    return `${entry.name}${query.protocol ? "" : ` on ${entry.protocol}`}${also}`;
  });
  return `${text} is ${listed.join(" and ")}`;
}

/** The database could not be read: a failure (exit 1), not a mistake in the input. */
export class DatabaseError extends Error {}

/** The database, or one sentence: an empty one would answer "no such service" to everything. */
export function loadServices(file: string): ServiceEntry[] {
  const hint =
    file === "/etc/services"
      ? "install Debian package netbase, or pass --services FILE"
      : "check the path given to --services";
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new DatabaseError(`cannot read the services database ${file} (${code}): ${hint}.`);
  }
  const entries = parseServices(text);
  if (entries.length > 0) return entries;
  throw new DatabaseError(`${file} holds no service lines (like "ssh 22/tcp"): ${hint}.`);
}

const cli = command(
  "01-basics/04-service-name.ts",
  "Looks each QUERY up in the services database, in both directions.",
  {
    services: flag.text("/etc/services", "the services database to read", "FILE"),
    json: flag.bool("print one JSON document instead of text"),
  },
  {
    shown: "[QUERY...]",
    help: "22/tcp, 53 (every protocol) or a name (default: 22/tcp 53 domain www)",
  },
);

if (import.meta.main) {
  const { words, services: file, json } = cli.parse();
  const texts = words.length > 0 ? words : ["22/tcp", "53", "domain", "www"];
  let entries: ServiceEntry[] = [];
  let queries: Query[] = [];
  try {
    // The database first: each query's protocol is checked against it.
    entries = loadServices(file);
    queries = texts.map((text) => parseQuery(text, entries));
  } catch (error) {
    if (error instanceof DatabaseError) fail(error.message);
    usageError((error as Error).message, cli.usage);
  }
  // dns.lookupService(address, port) asks this database too, through getnameinfo, but only
  // port to name and only for TCP: reading the file gives both directions, and the aliases.
  const results = queries.map((query, index) => {
    const text = texts[index] ?? "";
    const found = findServices(query, entries);
    return { query: text, found, answer: explain(text, query, found, file) };
  });
  if (json) console.log(JSON.stringify({ database: file, results }, null, 2));
  // What was not found goes to stderr, one sentence each, so that a script sees it apart.
  for (const { found, answer } of results) {
    if (found.length === 0) console.error(answer);
    else if (!json) console.log(answer);
  }
  process.exit(results.every((result) => result.found.length > 0) ? 0 : 1);
}
