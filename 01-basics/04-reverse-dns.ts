/**
 * @title Reverse DNS
 * @summary An IP address to its host name, aliases and addresses, like Python's gethostbyaddr.
 * @run bun run 01-basics/04-reverse-dns.ts [ADDRESS] [--server IP:PORT] [--json]
 * @python Dns.py
 *
 * A reverse look-up asks "what is 10.0.0.1 called?". DNS keeps the answer as PTR records
 * under the address written backwards (1.0.0.10.in-addr.arpa), /etc/hosts as plain lines.
 * Whoever runs the reverse zone can write any name there, so the lesson looks the name up
 * again and says whether it leads back to the address: only then is the name worth trusting.
 */
import { lookup, lookupService, Resolver, reverse } from "node:dns/promises";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { parseServer, SYSTEM_RESOLVER } from "./02-resolve.ts"; // the same --server as lesson 02

export interface HostEntry {
  address: string;
  /** The official name, its other names, and the name's own addresses: gethostbyaddr's triple. */
  hostname: string;
  aliases: string[];
  addresses: string[];
  /** Whether `addresses` holds `address`, i.e. the name leads back (forward-confirmed). */
  confirmed: boolean;
}

/** The look-up worked and found no name: told apart from an invalid address (a usage error). */
export class NoNameError extends Error {}

/** IPv6 as the URL parser writes it: lowercase hex groups, embedded IPv4 too, zone dropped. */
const hexForm = (address: string): string =>
  new URL(`http://[${address.replace(/%.*/, "")}]`).hostname.slice(1, -1);

/** The DNS name that holds an address's PTR records: 10.0.0.1 -> 1.0.0.10.in-addr.arpa. */
export function reverseName(address: string): string {
  if (isIP(address) === 4) return `${address.split(".").reverse().join(".")}.in-addr.arpa`;
  const [head = "", tail = ""] = hexForm(address).split("::"); // then "::" is filled with zeros
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const zeros = Array<string>(8 - left.length - right.length).fill("0");
  const hex = [...left, ...zeros, ...right].map((group) => group.padStart(4, "0")).join("");
  return `${[...hex].reverse().join(".")}.ip6.arpa`;
}

/** What a look-up asks about: a zone (fe80::1%eth0) picks a link, not a name, and ::ffff:192.0.2.1
 * is IPv4 192.0.2.1 seen by an IPv6 socket, named under in-addr.arpa (as getnameinfo asks). */
export function plainAddress(address: string): string {
  if (isIP(address) !== 6) return address;
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(hexForm(address));
  if (!mapped) return address.replace(/%.*/, "");
  const value = Number.parseInt(mapped[1] ?? "", 16) * 65536 + Number.parseInt(mapped[2] ?? "", 16);
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");
}

const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? "error";
const notFound = (): Error => Object.assign(new Error("no name"), { code: "ENOTFOUND" });

/** Names `address` with the system resolver, or asks only the DNS server `server`. */
export async function lookupAddress(address: string, server?: string): Promise<HostEntry> {
  if (!isIP(address)) {
    const advice = "give one like 127.0.0.1 or ::1 (for a name, use 02-resolve.ts)";
    throw new RangeError(`${JSON.stringify(address)} is not an IP address: ${advice}.`);
  }
  const source = server ? `DNS server ${server}` : SYSTEM_RESOLVER;
  const asked = plainAddress(address);
  const names: string[] = [];
  let addresses: string[] = [];
  try {
    if (server) {
      // resolvePtr asks the server alone; Resolver.reverse() would read /etc/hosts first.
      const resolver = new Resolver({ timeout: 1000, tries: 2 });
      resolver.setServers([server]);
      const [hostname, ...others] = await resolver.resolvePtr(reverseName(asked));
      if (!hostname) throw notFound();
      names.push(hostname, ...others);
      const forward = await Promise.allSettled([
        resolver.resolve4(hostname),
        resolver.resolve6(hostname),
      ]);
      addresses = forward.flatMap((answer) => (answer.status === "fulfilled" ? answer.value : []));
    } else {
      // dns.reverse() drops the first name of an /etc/hosts line (127.0.0.1 comes back without
      // localhost), while getnameinfo, behind lookupService(), returns exactly that name.
      // So the official name comes from lookupService and the other names from reverse().
      const { hostname } = await lookupService(asked, 0);
      if (isIP(hostname)) throw notFound(); // a numeric answer means "no name"
      names.push(hostname, ...(await reverse(asked).catch(() => [])));
      addresses = (await lookup(hostname, { all: true }).catch(() => [])).map((a) => a.address);
    }
  } catch (error) {
    const code = codeOf(error);
    const advice = server ? "check that the server runs, and its address" : "check your network";
    throw code === "ENOTFOUND"
      ? new NoNameError(`${address} has no name: ${source} knows none (${code}); use the address.`)
      : new Error(`${source} could not look up ${address} (${code}): ${advice}.`);
  }
  const [hostname = address, ...others] = [...new Set(names)];
  const confirmed = addresses.some(
    (entry) => reverseName(plainAddress(entry)) === reverseName(asked),
  );
  return { address, hostname, aliases: others, addresses, confirmed };
}

const usage = `usage: bun run 01-basics/04-reverse-dns.ts [ADDRESS] [--server IP:PORT] [--json]

Prints the host name, aliases and addresses of ADDRESS (default 127.0.0.1),
asking the system resolver (/etc/hosts, then DNS).
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
    if (positionals.length > 1) throw new RangeError("give one address at a time.");
    const server = values.server === undefined ? undefined : parseServer(values.server);
    const answeredBy = server ? `DNS server ${server}` : SYSTEM_RESOLVER;
    const entry = await lookupAddress(positionals[0] ?? "127.0.0.1", server);
    if (values.json) {
      console.log(JSON.stringify({ ...entry, answeredBy }, null, 2));
    } else {
      const { address, hostname, aliases, addresses, confirmed } = entry;
      const trust = confirmed ? "leads back to the address" : "does not lead back: do not trust it";
      console.log(`${address} is ${hostname} (aliases: ${aliases.join(", ") || "none"})`);
      console.log(
        `${hostname} resolves to ${addresses.join(", ") || "nothing"}: the name ${trust}`,
      );
      console.log(`answered by ${answeredBy}`);
    }
  } catch (error) {
    // Bad arguments (RangeError, or parseArgs' ERR_PARSE_ARGS_*) exit 2 before any query is sent;
    // a look-up that ran and failed, or found no name, exits 1.
    const usageError = error instanceof RangeError || codeOf(error).startsWith("ERR_PARSE_ARGS");
    console.error(
      usageError ? `${(error as Error).message}\n\n${usage}` : (error as Error).message,
    );
    process.exit(usageError ? 2 : 1);
  }
}
