/**
 * What the name lessons (02 resolve, 03 DNS server, 05 reverse DNS) share, so that each page
 * shows only its look-up: what a DNS name may be, the `--server` flag, and how answers print
 * (`printAnswers` for names to addresses, `printHostEntry` for an address to its names).
 *
 * A name is labels joined by dots: each 1 to 63 letters, digits or inner hyphens, 253
 * characters in all (RFC 1035 section 2.3.1, RFC 1123 section 2.1). Anything else, from a
 * typo to a name full of terminal escape codes, is refused with one sentence, unsent.
 */
import { isIP } from "node:net";
import { type Flag, flag, UsageError } from "../lib/cli.ts";

/** Who answers when no `--server` is given. */
export const SYSTEM_RESOLVER = "the system resolver (/etc/hosts, then DNS)";

/** Why `name` cannot be a host name, in one sentence, or null (an IP address is fine too). */
export function hostNameProblem(name: string): string | null {
  const labels = name.replace(/\.$/, "").split(".");
  let why = "";
  if (name.length === 0 || name.length > 253) why = "a host name has 1 to 253 characters";
  else if (labels.includes("")) why = "it has an empty label (two dots in a row, or a leading dot)";
  else if (labels.some((label) => label.length > 63)) why = "a label is longer than 63 characters";
  else if (!labels.every((label) => /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i.test(label)))
    why = "a label holds a character other than letters, digits and inner hyphens";
  if (!why || isIP(name) !== 0) return null;
  // JSON.stringify quotes the name and escapes the control characters a hostile name carries.
  return `${JSON.stringify(name)} is not a valid host name: ${why}.`;
}

/** `127.0.0.1:5353` or `[::1]:5353` (port 53 when left out), in the form `setServers` takes. */
export function parseServer(text: string): string {
  const match = /^(?:\[([0-9a-f:.]+)\]|([0-9.]+))(?::(\d{1,5}))?$/i.exec(text);
  const host = match?.[1] ?? match?.[2] ?? "";
  const port = Number(match?.[3] ?? 53);
  if (isIP(host) === 0 || port < 1 || port > 65535) {
    const like = "an IP address and port, like 127.0.0.1:5353 or [::1]:5353";
    throw new UsageError(`--server ${JSON.stringify(text)} is not ${like}.`);
  }
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The `--server IP:PORT` flag: a DNS server's address, checked before any query. */
export function serverFlag(help: string): Flag<string | undefined> {
  return flag.text(undefined, help, "IP:PORT", parseServer);
}

export type Address = { address: string; family: 4 | 6 };

/** What a look-up found for one name. */
export interface Answer {
  name: string;
  addresses: Address[];
  /** The canonical name at the end of the CNAME chain `name` starts (lesson 03 only). */
  aliasOf?: string | null;
  /** Why there are no addresses, in one sentence; null when there are some. */
  error: string | null;
}

/** An address with its family, as `lookup` gives it and `resolve4`/`resolve6` do not. */
export const withFamily = (address: string): Address => ({
  address,
  family: isIP(address) === 6 ? 6 : 4,
});

/** `alias.lab.test (an alias of www.lab.test) -> 10.0.0.1, fd00::1 (1 IPv4, 1 IPv6)` */
export function summary({ name, addresses, aliasOf }: Answer): string {
  const v4 = addresses.filter((found) => found.family === 4).length;
  const list = addresses.map((found) => found.address).join(", ");
  const alias = aliasOf ? ` (an alias of ${aliasOf})` : "";
  return `${name}${alias} -> ${list} (${v4} IPv4, ${addresses.length - v4} IPv6)`;
}

/**
 * Prints the answers: the failures, one sentence each, on stderr; then one JSON document, or a
 * line per name and who answered. Exits 1 if any name found no address.
 */
export function printAnswers(answers: Answer[], answeredBy: string, json: boolean): never {
  for (const answer of answers) if (answer.error) console.error(answer.error);
  if (json) {
    console.log(JSON.stringify({ answeredBy, results: answers }, null, 2));
  } else {
    for (const answer of answers) if (!answer.error) console.log(summary(answer));
    console.log(`answered by ${answeredBy}`);
  }
  process.exit(answers.some((answer) => answer.error) ? 1 : 0);
}

/** What a reverse look-up found (lesson 05): the names of an address, and the forward check. */
export interface HostEntry {
  address: string;
  hostname: string;
  aliases: string[];
  addresses: string[];
  /** Whether the name's own addresses include the one asked about. */
  confirmed: boolean;
  answeredBy: string;
}

/** Prints lesson 05's answer: one JSON document, or three lines for a person. */
export function printHostEntry(entry: HostEntry, json: boolean): void {
  const { address, hostname, aliases, addresses, confirmed, answeredBy } = entry;
  const trust = confirmed ? "leads back to the address" : "does not lead back: do not trust it";
  if (json) {
    console.log(JSON.stringify(entry, null, 2));
  } else {
    console.log(`${address} is ${hostname} (aliases: ${aliases.join(", ") || "none"})`);
    console.log(`${hostname} resolves to ${addresses.join(", ") || "nothing"}: the name ${trust}`);
    console.log(`answered by ${answeredBy}`);
  }
}
