/**
 * @title Service names
 * @summary Turn a port and protocol into its service name, and a service name into its ports, from the services database.
 * @run bun run 01-basics/04-service-name.ts [QUERY...] [--services /etc/services] [--json]
 * @python basics-03.py
 *
 * Machines meet on port numbers; people remember names like `ssh` and `domain`. The table
 * between them is a plain text file, /etc/services (Debian package netbase): Python's
 * getservbyport reads it, and so does this lesson, in both directions (dns.lookupService
 * only goes from a TCP port to its name). A port may be named for TCP and not for UDP, a
 * name may have aliases (`www` is `http`), and an unnamed port is not a closed one.
 */
import { command, fail, flag, UsageError, usageError } from "../lib/cli.ts";
import { loadServices, parseQuery, type Query, type ServiceEntry } from "./ports.ts";

/** Every entry that answers the query (a name matches its aliases too, in any case). */
export function findServices(query: Query, entries: ServiceEntry[]): ServiceEntry[] {
  if ("name" in query) {
    const wanted = query.name.toLowerCase();
    const names = (entry: ServiceEntry): string[] => [entry.name, ...entry.aliases];
    return entries.filter((entry) => names(entry).some((name) => name.toLowerCase() === wanted));
  }
  // A port with no protocol (`53`) is looked up in every protocol.
  const { port, protocol } = query;
  const fits = (entry: ServiceEntry): boolean => protocol === null || entry.protocol === protocol;
  return entries.filter((entry) => entry.port === port && fits(entry));
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

const cli = command(
  "01-basics/04-service-name.ts",
  "Looks each QUERY up in the services database, in both directions; a bare port, in all protocols.",
  {
    services: flag.text("/etc/services", "the services database to read", "FILE"),
    json: flag.bool("print one JSON document instead of text"),
  },
  { shown: "[QUERY...]", help: "22/tcp, 53 or a name (default: 22/tcp 53 domain www)" },
);

if (import.meta.main) {
  const { words, services: file, json } = cli.parse();
  const texts = words.length > 0 ? words : ["22/tcp", "53", "domain", "www"];
  let results: { query: string; found: ServiceEntry[]; answer: string }[] = [];
  try {
    // The database first: each query's protocol is checked against it, all before any output.
    const entries = loadServices(file);
    results = texts.map((text) => {
      const query = parseQuery(text, entries);
      const found = findServices(query, entries);
      return { query: text, found, answer: explain(text, query, found, file) };
    });
  } catch (error) {
    if (error instanceof UsageError) usageError(error.message, cli.usage);
    fail((error as Error).message);
  }
  if (json) console.log(JSON.stringify({ database: file, results }, null, 2));
  // What was not found goes to stderr, one sentence each, so that a script sees it apart.
  for (const { found, answer } of results) {
    if (found.length === 0) console.error(answer);
    else if (!json) console.log(answer);
  }
  process.exit(results.every((result) => result.found.length > 0) ? 0 : 1);
}
