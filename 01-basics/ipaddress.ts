/**
 * IP addresses as numbers, the way Python's `ipaddress` module sees them: an IPv4 address
 * is a 32-bit integer and an IPv6 address a 128-bit one, so every question - which network,
 * which mask, is it private - is integer arithmetic on a BigInt. The lesson 06-ip-address.ts
 * prints what this module works out. Report keys are Python's attribute names; `int`,
 * `num_addresses` and `hosts.count` are decimal strings because IPv6 counts pass 2**53,
 * where JSON numbers stop being exact.
 *
 * The special-purpose tables are those of Python 3.11.7 (tests/fixtures/ip-addresses.json
 * was made with it); later releases revised them (CPython gh-113171, CVE-2024-4032).
 * Zones (fe80::1%eth0) are where we differ: Python 3.11 raises on `exploded` and
 * `reverse_pointer` of a zoned address, we give `exploded` with the zone and the pointer
 * without it; the network of a zoned interface has no zone, and a network may not have one.
 *
 * Read it in this order, each part using only the ones before it:
 *   1. text -> number: parseV4, parseV6 (how "::" stands for zero groups);
 *   2. number -> text: formatAddress (compressed), explode, reversePointer;
 *   3. the special-purpose tables and the is_* flags of an address or a network;
 *   4. parseInput: address, interface or network, with one sentence for each mistake;
 *   5. the reports the lesson prints: describeAddress, describeNetwork, describeInterface;
 *   6. an address in words, as lesson 06 prints it: scopeInWords, hostsRule, addressLines;
 *   7. for lesson 05's look-ups: plainAddress, reverseName.
 */
import { UsageError } from "../lib/cli.ts";

export type Version = 4 | 6;
export type ReadAs = "auto" | "address" | "interface" | "network";

/** A bad input; its message is one sentence for the person who typed it (a usage error). */
export class IpInputError extends UsageError {}

/** Why a piece of text is not an address; the caller turns it into a full sentence. */
class Invalid extends Error {}
const fail = (reason: string): never => {
  throw new Invalid(reason);
};
const quote = (text: string): string => JSON.stringify(text);

const BITS = { 4: 32n, 6: 128n } as const;
const allOnes = (version: Version): bigint => (1n << BITS[version]) - 1n;
/** The netmask of a prefix length: `prefix` one bits, then zeros. */
const maskOf = (version: Version, prefix: number): bigint =>
  allOnes(version) ^ (allOnes(version) >> BigInt(prefix));

function parseV4(text: string): bigint {
  const parts = text.split(".");
  const count = parts.length === 1 ? "no dots" : `${parts.length} dot-separated parts`;
  if (parts.length !== 4) fail(`it has ${count}, and an IPv4 address has exactly 4 parts`);
  let value = 0n;
  for (const part of parts) {
    if (part === "") fail("one of its four numbers is empty");
    if (!/^[0-9]+$/.test(part)) fail(`${quote(part)} is not a decimal number from 0 to 255`);
    // Like glibc's inet_pton: "010" is octal 8 to some tools and 10 to others.
    if (part.length > 1 && part.startsWith("0")) fail(`${quote(part)} has a leading zero`);
    if (Number(part) > 255) fail(`${part} is more than 255`);
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

/** CPython's algorithm: at most one "::", which stands for one or more zero groups. */
function parseV6(text: string): bigint {
  const parts = text.split(":");
  const groupsNeeded = `an IPv6 address has 8 groups, or fewer with one "::" for the zeros`;
  if (parts.length < 3) fail(`it has ${parts.length} colon-separated groups; ${groupsNeeded}`);
  const last = parts.at(-1) ?? "";
  if (last.includes(".")) {
    // A dotted IPv4 tail (::ffff:192.0.2.1) is the last 32 bits, i.e. two groups.
    let tail = 0n;
    try {
      tail = parseV4(last);
    } catch (error) {
      fail(`in its IPv4 part ${quote(last)}, ${(error as Error).message}`);
    }
    parts.splice(-1, 1, (tail >> 16n).toString(16), (tail & 0xffffn).toString(16));
  }
  const tailNote = last.includes(".") ? " (its IPv4 part counts as two)" : "";
  if (parts.length > 9) fail(`it has more than the 8 groups of an IPv6 address${tailNote}`);
  // "::" shows up as one empty part. When it starts or ends the address ("::1", "1::"),
  // a second empty part sits outside it; any other empty part is a stray ":". So
  // "1::2" -> ["1", "", "2"], "::1" -> ["", "", "1"] and "1::" -> ["1", "", ""].
  const inner = parts.slice(1, -1);
  const skip = inner.indexOf("") + 1; // where "::" is in `parts`; 0 when there is none
  if (skip > 0 && inner.lastIndexOf("") + 1 !== skip) fail(`"::" may appear only once`);
  if (parts[0] === "" && skip !== 1) fail(`it starts with a single ":"`);
  if (parts.at(-1) === "" && skip !== parts.length - 2) fail(`it ends with a single ":"`);
  const before = (skip > 0 ? parts.slice(0, skip) : parts).filter((group) => group !== "");
  const after = (skip > 0 ? parts.slice(skip + 1) : []).filter((group) => group !== "");
  const missing = 8 - before.length - after.length; // the zero groups "::" stands for
  if (skip === 0 && missing !== 0)
    fail(`it has ${parts.length} groups${tailNote}; ${groupsNeeded}`);
  if (skip > 0 && missing < 1) fail(`"::" must stand for at least one zero group`);
  let value = 0n;
  for (const group of [...before, ...Array<string>(missing).fill("0"), ...after]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group))
      fail(`${quote(group)} is not a group of 1 to 4 hex digits`);
    value = (value << 16n) | BigInt(`0x${group}`);
  }
  return value;
}

/** An address as text: dotted quad, or lowercase hex groups with the longest zero run as "::". */
export function formatAddress(version: Version, value: bigint): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((shift) => (value >> shift) & 255n).join(".");
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) =>
    ((value >> shift) & 0xffffn).toString(16),
  );
  let [bestStart, bestLength] = [-1, 0];
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (groups[start + length] === "0") length++;
    if (length > bestLength) [bestStart, bestLength] = [start, length];
  }
  // A single zero group stays "0" (RFC 5952): "::" must save more than it costs. Like
  // Python 3.11 we write an IPv4-mapped address in hex too: ::ffff:c000:201.
  if (bestLength < 2) return groups.join(":");
  const before = groups.slice(0, bestStart).join(":");
  return `${before}::${groups.slice(bestStart + bestLength).join(":")}`;
}

export function explode(version: Version, value: bigint): string {
  if (version === 4) return formatAddress(4, value);
  return value.toString(16).padStart(32, "0").match(/.{4}/g)?.join(":") ?? "";
}

/** The DNS name a reverse (PTR) lookup asks for: bytes or hex digits, last first. */
export function reversePointer(version: Version, value: bigint): string {
  if (version === 4)
    return `${formatAddress(4, value).split(".").reverse().join(".")}.in-addr.arpa`;
  return `${[...value.toString(16).padStart(32, "0")].reverse().join(".")}.ip6.arpa`;
}

// The special-purpose tables of CPython 3.11's Lib/ipaddress.py, in its order.
type Block = { value: bigint; prefix: number };
function block(text: string): Block {
  const [address = "", prefix = ""] = text.split("/");
  return { value: address.includes(":") ? parseV6(address) : parseV4(address), prefix: +prefix };
}
const blocks = (list: string): Block[] => list.trim().split(/\s+/).map(block);
const PRIVATE_V4 = blocks(`0.0.0.0/8 10.0.0.0/8 127.0.0.0/8 169.254.0.0/16 172.16.0.0/12
  192.0.0.0/29 192.0.0.170/31 192.0.2.0/24 192.168.0.0/16 198.18.0.0/15 198.51.100.0/24
  203.0.113.0/24 240.0.0.0/4 255.255.255.255/32`);
const PRIVATE_V6 = blocks(`::1/128 ::/128 ::ffff:0:0/96 100::/64 2001::/23 2001:2::/48
  2001:db8::/32 2001:10::/28 fc00::/7 fe80::/10`);
const RESERVED_V6 = blocks(`::/8 100::/8 200::/7 400::/6 800::/5 1000::/4 4000::/3 6000::/3
  8000::/3 a000::/3 c000::/3 e000::/4 f000::/5 f800::/6 fe00::/9`);
const SHARED_V4 = block("100.64.0.0/10"); // carrier-grade NAT: neither private nor global
const LOOPBACK_V4 = block("127.0.0.0/8");
const LINK_LOCAL_V4 = block("169.254.0.0/16");
const MULTICAST_V4 = block("224.0.0.0/4");
const RESERVED_V4 = block("240.0.0.0/4");
const LINK_LOCAL_V6 = block("fe80::/10");
const MULTICAST_V6 = block("ff00::/8");
const SITE_LOCAL_V6 = block("fec0::/10"); // deprecated by RFC 3879, still reported

const inBlock = (version: Version, value: bigint, net: Block): boolean =>
  (value & maskOf(version, net.prefix)) === net.value;

export interface Flags {
  is_private: boolean;
  is_global: boolean;
  is_multicast: boolean;
  is_loopback: boolean;
  is_link_local: boolean;
  is_reserved: boolean;
  is_unspecified: boolean;
  /** IPv6 only (fec0::/10, deprecated by RFC 3879). */
  is_site_local?: boolean;
}

/** Python's `is_*` properties of one address. */
export function addressFlags(version: Version, value: bigint): Flags {
  const inside = (net: Block): boolean => inBlock(version, value, net);
  if (version === 4) {
    const is_private = PRIVATE_V4.some(inside);
    return {
      is_private,
      is_global: !inside(SHARED_V4) && !is_private,
      is_multicast: inside(MULTICAST_V4),
      is_loopback: inside(LOOPBACK_V4),
      is_link_local: inside(LINK_LOCAL_V4),
      is_reserved: inside(RESERVED_V4),
      is_unspecified: value === 0n,
    };
  }
  // An IPv4-mapped address (::ffff:a.b.c.d) is as private as the IPv4 address inside.
  const mapped = value >> 32n === 0xffffn;
  const is_private = mapped
    ? addressFlags(4, value & 0xffffffffn).is_private
    : PRIVATE_V6.some(inside);
  return {
    is_private,
    is_global: !is_private,
    is_multicast: inside(MULTICAST_V6),
    is_loopback: value === 1n,
    is_link_local: inside(LINK_LOCAL_V6),
    is_reserved: RESERVED_V6.some(inside),
    is_unspecified: value === 0n,
    is_site_local: inside(SITE_LOCAL_V6),
  };
}

/** A network has a flag when its first and last address both have it (Python's rule). */
export function networkFlags(version: Version, first: bigint, last: bigint): Flags {
  const [a, b] = [addressFlags(version, first), addressFlags(version, last)];
  // Private means one table entry holds the whole network: no IPv4-mapped shortcut here.
  const both = (net: Block): boolean => inBlock(version, first, net) && inBlock(version, last, net);
  const is_private = (version === 4 ? PRIVATE_V4 : PRIVATE_V6).some(both);
  return {
    is_private,
    is_global: !is_private && !(version === 4 && both(SHARED_V4)),
    is_multicast: a.is_multicast && b.is_multicast,
    is_loopback: a.is_loopback && b.is_loopback,
    is_link_local: a.is_link_local && b.is_link_local,
    is_reserved: a.is_reserved && b.is_reserved,
    is_unspecified: a.is_unspecified && b.is_unspecified,
    ...(version === 6 && { is_site_local: !!a.is_site_local && !!b.is_site_local }),
  };
}

export interface ParsedAddress {
  version: Version;
  value: bigint;
  /** IPv6 zone (the part after "%"): which link a link-local address is on. */
  zone: string | null;
}

/** Parses one address; throws Invalid with the reason. Text with ":" is IPv6, else IPv4. */
function parseAddress(text: string): ParsedAddress {
  if (!text.includes(":")) {
    if (text.includes("%")) fail(`a zone ("%" and a name) only goes with an IPv6 address`);
    // "localhost" or "example.com": only a resolver turns a name into an address.
    if (/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*\.?$/i.test(text))
      fail("it looks like a host name, and 02-resolve.ts turns names into addresses");
    return { version: 4, value: parseV4(text), zone: null };
  }
  const at = text.indexOf("%");
  const zone = at < 0 ? null : text.slice(at + 1);
  if (zone === "") fail(`the zone after "%" is empty`);
  if (zone?.includes("%")) fail(`it has more than one "%"`);
  return { version: 6, value: parseV6(at < 0 ? text : text.slice(0, at)), zone };
}

/** A prefix length ("24") or, for IPv4, a netmask (255.255.255.0) or hostmask (0.0.0.255). */
function parsePrefix(version: Version, text: string): number {
  const max = Number(BITS[version]);
  if (text === "") fail(`the prefix length after "/" is empty`);
  if (/^[0-9]+$/.test(text) && Number(text) <= max) return Number(text);
  const notPrefix = `${quote(text)} is not a prefix length from 0 to ${max}`;
  if (version === 6) fail(notPrefix);
  let mask = 0n;
  try {
    mask = parseV4(text);
  } catch {
    fail(`${notPrefix}, nor a netmask like 255.255.255.0`);
  }
  for (const candidate of [mask, mask ^ allOnes(4)]) {
    for (let prefix = 0; prefix <= 32; prefix++) if (maskOf(4, prefix) === candidate) return prefix;
  }
  return fail(`${text} is neither a netmask (ones, then zeros) nor a hostmask (zeros, then ones)`);
}

export type Kind = "address" | "interface" | "network";
export interface Parsed extends ParsedAddress {
  kind: Kind;
  /** The prefix length; the full 32 or 128 for a lone address. */
  prefix: number;
}

/**
 * Reads `text` as Python's ip_address, ip_interface or ip_network (strict) would. "auto":
 * without "/" an address; with one, a network if no host bits are set, else an interface.
 * Throws IpInputError with one sentence saying what is wrong.
 */
export function parseInput(text: string, as: ReadAs = "auto"): Parsed {
  if (text === "")
    throw new IpInputError(
      "An empty string is not an IP address: give one like 192.0.2.1, an interface like 192.168.1.10/24 or a network like 2001:db8::/32.",
    );
  const [addressText = "", ...prefixes] = text.split("/");
  const family = addressText.includes(":") ? "IPv6" : "IPv4";
  const noun = as !== "auto" ? as : prefixes.length ? "interface or network" : "address";
  try {
    if (prefixes.length > 1) fail(`it has more than one "/"`);
    if (as === "address" && prefixes.length > 0)
      fail(`"/${prefixes[0]}" makes it an interface or a network, so drop it`);
    const address = parseAddress(addressText);
    const prefix = prefixes.length
      ? parsePrefix(address.version, prefixes[0] ?? "")
      : Number(BITS[address.version]);
    const network = address.value & maskOf(address.version, prefix);
    let kind: Kind = as === "auto" ? "interface" : as;
    if (as === "auto" && prefixes.length === 0) kind = "address";
    else if (as === "auto" && network === address.value && address.zone === null) kind = "network";
    if (kind === "network" && address.zone !== null)
      fail(`a zone (%${address.zone}) belongs to one address, not to a network`);
    if (kind === "network" && network !== address.value) {
      const networkText = `${formatAddress(address.version, network)}/${prefix}`;
      fail(`host bits are set (the network is ${networkText}; this is one address on it)`);
    }
    return { ...address, kind, prefix };
  } catch (error) {
    if (!(error instanceof Invalid)) throw error;
    throw new IpInputError(`${quote(text)} is not an ${family} ${noun}: ${error.message}.`);
  }
}

interface Common {
  version: Version;
  compressed: string;
  exploded: string;
  max_prefixlen: number;
}
interface Masks {
  netmask: string;
  hostmask: string;
  with_prefixlen: string;
  with_netmask: string;
  with_hostmask: string;
}
export interface AddressReport extends Common, Flags {
  kind: "address";
  /** The address as one integer, in decimal. */
  int: string;
  reverse_pointer: string;
  /** IPv6 only: the IPv4 address inside ::ffff:a.b.c.d, inside 2002:aabb:ccdd:: (6to4),
   * and the [server, client] of a Teredo address (2001::/32); then the zone. */
  ipv4_mapped?: string | null;
  sixtofour?: string | null;
  teredo?: [string, string] | null;
  scope_id?: string | null;
}
export interface NetworkReport extends Common, Masks, Flags {
  kind: "network";
  network_address: string;
  broadcast_address: string;
  prefixlen: number;
  num_addresses: string;
  /** What Python's hosts() yields: how many, the first and the last. */
  hosts: { count: string; first: string; last: string };
}
/** An interface is an address on a network: both are described in full. */
export interface InterfaceReport extends Common, Masks {
  kind: "interface";
  scope_id?: string | null;
  ip: AddressReport;
  network: NetworkReport;
}
export type Report = AddressReport | InterfaceReport | NetworkReport;

const LOW_32 = 0xffffffffn;

export function describeAddress({ version, value, zone }: ParsedAddress): AddressReport {
  const zoneSuffix = zone === null ? "" : `%${zone}`;
  const v4 = (bits: bigint): string => formatAddress(4, bits & LOW_32);
  return {
    kind: "address",
    version,
    compressed: formatAddress(version, value) + zoneSuffix,
    exploded: explode(version, value) + zoneSuffix,
    int: value.toString(),
    max_prefixlen: Number(BITS[version]),
    reverse_pointer: reversePointer(version, value),
    ...addressFlags(version, value),
    ...(version === 6 && {
      ipv4_mapped: value >> 32n === 0xffffn ? v4(value) : null,
      sixtofour: value >> 112n === 0x2002n ? v4(value >> 80n) : null, // 2002:AABB:CCDD::/48
      // Teredo (RFC 4380) stores the server's IPv4 in bits 64-95 and the client's in the
      // last 32 bits, inverted (every bit flipped) so that NATs do not rewrite it.
      teredo: value >> 96n === 0x20010000n ? [v4(value >> 64n), v4(~value)] : null,
      scope_id: zone,
    }),
  };
}

export function describeNetwork(version: Version, value: bigint, prefix: number): NetworkReport {
  const text = (bits: bigint): string => formatAddress(version, bits);
  const hostmask = allOnes(version) >> BigInt(prefix);
  const netmask = allOnes(version) ^ hostmask;
  const [first, last, size] = [value, value | hostmask, hostmask + 1n];
  // hosts(): a /31 or /127 is a point-to-point link and a /32 or /128 one host, so all
  // of them are usable; otherwise IPv4 skips network and broadcast address, and IPv6
  // (which has no broadcast) only the network address, its Subnet-Router anycast.
  const hosts: [bigint, bigint, bigint] =
    prefix >= Number(BITS[version]) - 1
      ? [size, first, last]
      : version === 4
        ? [size - 2n, first + 1n, last - 1n]
        : [size - 1n, first + 1n, last];
  return {
    kind: "network",
    version,
    compressed: `${text(value)}/${prefix}`,
    exploded: `${explode(version, value)}/${prefix}`,
    max_prefixlen: Number(BITS[version]),
    network_address: text(first),
    broadcast_address: text(last),
    netmask: text(netmask),
    hostmask: text(hostmask),
    prefixlen: prefix,
    with_prefixlen: `${text(value)}/${prefix}`,
    with_netmask: `${text(value)}/${text(netmask)}`,
    with_hostmask: `${text(value)}/${text(hostmask)}`,
    num_addresses: size.toString(),
    ...networkFlags(version, first, last),
    hosts: { count: hosts[0].toString(), first: text(hosts[1]), last: text(hosts[2]) },
  };
}

export function describeInterface({ version, value, zone, prefix }: Parsed): InterfaceReport {
  const network = describeNetwork(version, value & maskOf(version, prefix), prefix);
  const text = formatAddress(version, value);
  return {
    kind: "interface",
    version,
    compressed: `${text}${zone === null ? "" : `%${zone}`}/${prefix}`,
    exploded: `${explode(version, value)}/${prefix}`,
    max_prefixlen: Number(BITS[version]),
    netmask: network.netmask,
    hostmask: network.hostmask,
    with_prefixlen: `${text}/${prefix}`,
    with_netmask: `${text}/${network.netmask}`,
    with_hostmask: `${text}/${network.hostmask}`,
    ...(version === 6 && { scope_id: zone }),
    ip: describeAddress({ version, value, zone: null }),
    network,
  };
}

/** Everything Python's ipaddress tells about `text`; throws IpInputError for bad input. */
export function describe(text: string, as: ReadAs = "auto"): Report {
  const parsed = parseInput(text, as);
  if (parsed.kind === "address") return describeAddress(parsed);
  if (parsed.kind === "network")
    return describeNetwork(parsed.version, parsed.value, parsed.prefix);
  return describeInterface(parsed);
}

// ---------------------------------------------------------------------------------------
// 6. An address in words (lesson 06)

/** The flags in plain words; the order matters (224.0.0.1 is multicast and global). */
export function scopeInWords(flags: Flags): string {
  if (flags.is_unspecified) return "unspecified: means 'any address' when binding";
  if (flags.is_loopback) return "loopback: only this machine reaches it";
  if (flags.is_link_local) return "link-local: only the local network segment";
  if (flags.is_multicast) return "multicast: a group of receivers, not one machine";
  if (flags.is_global) return "global: reachable over the public internet";
  if (flags.is_private) return "private or special-purpose: not routed on the internet";
  return "neither private nor global (shared or reserved space)";
}

/** What Python's hosts() leaves out, so "usable hosts" means something. */
export function hostsRule(network: NetworkReport): string {
  const hostBits = network.max_prefixlen - network.prefixlen;
  if (hostBits === 0) return "the one address";
  if (hostBits === 1) return "both: a point-to-point link needs no network or broadcast address";
  if (network.version === 4) return "all but the network and broadcast addresses";
  return "all but the first, the Subnet-Router anycast address";
}

/** The names of the `is_*` flags that are true, as Python spells them. */
export const trueFlags = (flags: Flags): string =>
  Object.entries(flags)
    .filter(([name, on]) => name.startsWith("is_") && on === true)
    .map(([name]) => name)
    .join(", ") || "none";

/** One row of lesson 06's report: a label, then its value. */
export const row = (label: string, value: string): string => `    ${label.padEnd(17)} ${value}`;

/** An address's rows: its forms, its scope, and what is hidden in some IPv6 addresses. */
export function addressLines(address: AddressReport): string[] {
  const lines = [
    row("exploded", address.exploded),
    row("as an integer", address.int),
    row("reverse pointer", address.reverse_pointer),
    row("scope", scopeInWords(address)),
    row("true flags", trueFlags(address)),
  ];
  if (address.ipv4_mapped) lines.push(row("IPv4-mapped", `the IPv4 ${address.ipv4_mapped}`));
  if (address.sixtofour) lines.push(row("6to4", `tunnels to the IPv4 ${address.sixtofour}`));
  const [server, client] = address.teredo ?? [];
  if (server && client) lines.push(row("Teredo", `server ${server}, client ${client}`));
  if (address.scope_id) lines.push(row("zone", `%${address.scope_id}, the link it is on`));
  return lines;
}

// ---------------------------------------------------------------------------------------
// 7. For look-ups (lesson 05)

/** `address` read as Python's ip_address would, without its zone; one sentence if not one. */
function readAddress(address: string): AddressReport {
  try {
    return describeAddress(parseInput(address.replace(/%.*/, ""), "address"));
  } catch {
    const advice = "give one like 127.0.0.1 or ::1 (for a name, use 02-resolve.ts)";
    throw new IpInputError(`${JSON.stringify(address)} is not an IP address: ${advice}.`);
  }
}

/** The DNS name that holds an address's PTR records: 10.0.0.1 -> 1.0.0.10.in-addr.arpa. */
export const reverseName = (address: string): string => readAddress(address).reverse_pointer;

/**
 * What a look-up asks about: the address without its zone (fe80::1%eth0 names a link), and
 * the IPv4 address inside ::ffff:192.0.2.1 (an IPv4 peer as an IPv6 socket sees it).
 */
export function plainAddress(address: string): string {
  const report = readAddress(address);
  return report.ipv4_mapped ?? report.compressed;
}
