/**
 * The NTP packet: the 48-byte header every NTP client and server exchange over UDP
 * (NTPv4, RFC 5905 section 7.3; SNTP, the simple subset this chapter speaks, is RFC 4330).
 * The clients and the server of this chapter share it, so both read and write the same
 * bytes. Read it with lesson 01, which builds a request by hand; after that:
 *
 * - `clientRequest()` is that request, for the lessons after 01;
 * - `usableReply()` is what a client checks in a reply before it trusts it (lesson 02);
 * - `exchange()` is lesson 02's careful exchange, which lessons 03 and 04 use by name;
 * - `describePacket()`, at the end, says what each field means (lesson 01 prints it);
 * - `clockMs()`, `measurePrecision()` and `serverIdentity()` are the server's (lesson 05).
 *
 * A reply no client may use is an `Explained` error (lib/cli.ts): its message is the one
 * sentence the clients print.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |LI | VN  |Mode |    Stratum    |     Poll      |   Precision   |   bytes 0-3
 *   |                          Root Delay                           |   4-7   (16.16 seconds)
 *   |                       Root Dispersion                         |   8-11  (16.16 seconds)
 *   |                        Reference ID                           |   12-15
 *   |                  Reference Timestamp (64 bits)                |   16-23
 *   |                    Origin Timestamp (64 bits)                 |   24-31  T1, echoed
 *   |                   Receive Timestamp (64 bits)                 |   32-39  T2
 *   |                   Transmit Timestamp (64 bits)                |   40-47  T3
 *
 * All numbers are big-endian ("network byte order"). A timestamp is 32 bits of whole
 * seconds since 1900-01-01 00:00 UTC and 32 bits of fraction (units of 2^-32 s, 233 ps).
 */
import { endpoint, Explained } from "../lib/cli.ts";
import { ask, nowMs } from "../lib/udp.ts";

/** Bytes in an NTP header; a packet may carry extension fields or a MAC after it. */
export const NTP_PACKET_SIZE = 48;

/**
 * Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01): 70 years of
 * 365 days plus 17 leap days, (70 * 365 + 17) * 86400 = 2208988800.
 */
export const NTP_TO_UNIX_SECONDS = 2_208_988_800;

const TWO_TO_32 = 2 ** 32;

/** An NTP timestamp as it is on the wire: two unsigned 32-bit numbers. */
export interface NtpTimestamp {
  seconds: number;
  fraction: number;
}

export interface NtpPacket {
  /** Leap indicator, 2 bits: 0 none, 1 last minute has 61 s, 2 has 59 s, 3 clock unsynchronized. */
  leap: number;
  /** Version number, 3 bits: 4 today; servers answer with the client's version. */
  version: number;
  /** 3 bits: 3 client, 4 server (see MODE_NAMES). */
  mode: number;
  /** 0 kiss-o'-death, 1 primary (a reference clock), 2-15 secondary, 16 unsynchronized. */
  stratum: number;
  /** Poll interval, log2 seconds (signed). */
  poll: number;
  /** Precision of the server's clock, log2 seconds (signed): -20 is about a microsecond. */
  precision: number;
  /** Round-trip delay to the reference clock, seconds. */
  rootDelay: number;
  /** Largest error the server admits to the reference clock, seconds. */
  rootDispersion: number;
  /** 4 bytes: text (kiss code, clock type) at stratum 0-1, else the upstream's IPv4 address. */
  referenceId: Uint8Array;
  referenceTimestamp: NtpTimestamp;
  originTimestamp: NtpTimestamp;
  receiveTimestamp: NtpTimestamp;
  transmitTimestamp: NtpTimestamp;
}

export const MODE_CLIENT = 3;
export const MODE_SERVER = 4;
export const MODE_NAMES = [
  "reserved",
  "symmetric active",
  "symmetric passive",
  "client",
  "server",
  "broadcast",
  "control message",
  "private",
];
export const LEAP_MEANINGS = [
  "no warning",
  "last minute of the day has 61 seconds",
  "last minute of the day has 59 seconds",
  "clock not synchronized",
];

/** What the common kiss-o'-death codes ask of a client (RFC 5905 section 7.4). */
export const KISS_CODES: Record<string, string> = {
  RATE: "you are asking too often: wait longer between queries",
  DENY: "access denied: this server will not serve you, use another one",
  RSTR: "access restricted: this server will not serve you, use another one",
  NKEY: "no key found: authentication is not set up for you",
  CRYP: "cryptographic authentication failed",
};

// ---------------------------------------------------------------------------------------
// What a client sends, and what it checks in the reply

/**
 * A client's request: 48 bytes, all zero but the first byte (leap 0, version 4, mode 3) and
 * the transmit timestamp, bytes 40-47, which the server copies into its reply's origin.
 * Lesson 01 puts its clock reading there; the careful clients put 8 random bytes.
 */
export function clientRequest(transmit: Uint8Array): Uint8Array {
  const request = new Uint8Array(NTP_PACKET_SIZE);
  request[0] = (0 << 6) | (4 << 3) | MODE_CLIENT;
  request.set(transmit.subarray(0, 8), 40);
  return request;
}

/**
 * The packet of a reply that quoted our request back, if a client may use it (RFC 4330
 * section 5); else an Explained error that says why not: not an NTP packet, not from a server, a
 * kiss-o'-death, no time in it, or a server that says its own clock is wrong. `where`
 * names the server in the sentence.
 */
export function usableReply(bytes: Uint8Array, where: string): NtpPacket {
  if (bytes.length < NTP_PACKET_SIZE || bytes.length % 4 !== 0)
    throw new Explained(
      `${where} answered with ${bytes.length} bytes, not an NTP packet (48 or more, in 4-byte words): is it an NTP server?`,
    );
  const reply = decodePacket(bytes);
  const { mode, stratum } = reply;
  if (mode !== MODE_SERVER)
    throw new Explained(
      `${where} answered in mode ${mode} (${MODE_NAMES[mode]}), not 4 (server): is it an NTP server?`,
    );
  if (stratum === 0) {
    const code = referenceIdText(0, reply.referenceId);
    const meaning = KISS_CODES[code] ?? "it will not serve you now";
    throw new Explained(`${where} sent a kiss-o'-death (stratum 0, code ${code}): ${meaning}`);
  }
  if (isZeroTimestamp(reply.transmitTimestamp))
    throw new Explained(
      `${where} sent a zero transmit timestamp, so it does not know the time: ask another server`,
    );
  if (reply.leap === 3 || stratum > 15)
    throw new Explained(`${where} says its own clock is not synchronized: ask another server`);
  return reply;
}

/**
 * Why a careful client got no usable answer after `attempts` silences of `timeoutMs`: none
 * came at all, or `ignored` datagrams came that did not quote its request (lesson 02).
 */
export function noAnswer(where: string, ignored: number, attempts: number, timeoutMs: number) {
  if (ignored > 0)
    return new Explained(
      `${where} answered, but never with the origin timestamp we sent (a late or spoofed reply), so we ignored it: try again, perhaps with a longer --timeout`,
    );
  return new Explained(
    `no answer from ${where} after ${attempts} tries of ${timeoutMs / 1000} s each: check the host and port, and that UDP gets through`,
  );
}

/**
 * Lesson 02's careful exchange, for the lessons after it: a request with 8 fresh random
 * bytes each try, resent on silence (lib's `ask`), only a reply that quotes them taken, and
 * that checked by `usableReply`. T1 and T4 by our clock, T2 and T3 by the server's (Unix ms).
 */
export async function exchange(host: string, port: number, timeoutMs = 2000) {
  let nonce = new Uint8Array(8);
  let t1 = 0;
  // T1 is read last, just before the request leaves.
  const request = (): Uint8Array => {
    nonce = crypto.getRandomValues(new Uint8Array(8));
    const bytes = clientRequest(nonce);
    t1 = nowMs();
    return bytes;
  };
  const accept = (reply: Buffer): boolean => reply.subarray(24, 32).equals(nonce);
  const answer = await ask(host, port, request, { timeoutMs, accept });
  const reply = usableReply(answer.reply, endpoint(answer.address, port));
  const t2 = toUnixMs(reply.receiveTimestamp);
  const t3 = toUnixMs(reply.transmitTimestamp);
  return { address: answer.address, t1, t2, t3, t4: answer.receivedAt };
}

// ---------------------------------------------------------------------------------------
// NTP time

/**
 * The server's clock: wall-clock time in milliseconds, with microsecond steps. `Date.now()`
 * counts whole milliseconds; `performance.timeOrigin + performance.now()` is a fine
 * monotonic clock anchored to the wall clock once, at start. If the system clock is stepped
 * later (by an NTP daemon or `date -s`), `Date.now()` jumps and the anchor is moved to
 * follow it, so a long-running server keeps serving the system's time.
 */
let anchorShift = 0;
export function clockMs(): number {
  const fine = performance.timeOrigin + performance.now() + anchorShift;
  const coarse = Date.now();
  if (fine < coarse - 1 || fine > coarse + 2) {
    anchorShift += coarse + 0.5 - fine;
    return coarse + 0.5;
  }
  return fine;
}

/** log2 of the smallest step `clockMs` shows, in seconds: NTP's "precision" (-20 is 1 µs). */
export function measurePrecision(): number {
  let smallest = Infinity;
  let previous = clockMs();
  for (let reads = 0; reads < 10_000; reads++) {
    const current = clockMs();
    if (current > previous) smallest = Math.min(smallest, current - previous);
    previous = current;
  }
  return Math.ceil(Math.log2(smallest / 1000));
}

/** The fields of every reply that describe the server, not the request. */
export type Identity = Pick<
  NtpPacket,
  "stratum" | "referenceId" | "precision" | "referenceTimestamp"
>;

/**
 * Who a server says it is: its stratum, its reference ID (see encodeReferenceId), the
 * precision of its clock, and "when the clock was last set", which it cannot know: the
 * moment it started. Throws a RangeError for a reference ID that does not fit the stratum.
 */
export function serverIdentity(stratum: number, refid?: string): Identity {
  return {
    stratum,
    referenceId: encodeReferenceId(stratum, refid),
    precision: measurePrecision(),
    referenceTimestamp: toNtpTimestamp(clockMs()),
  };
}

export function toNtpTimestamp(unixMs: number): NtpTimestamp {
  const unixSeconds = Math.floor(unixMs / 1000);
  const fraction = Math.floor(((unixMs - unixSeconds * 1000) / 1000) * TWO_TO_32);
  // `>>> 0` keeps the low 32 bits: after 2036-02-07 the seconds wrap around to era 1.
  return { seconds: (unixSeconds + NTP_TO_UNIX_SECONDS) >>> 0, fraction };
}

/**
 * Unix milliseconds of an NTP timestamp. 32 bits of seconds wrap every 136 years, so
 * the era is a guess (RFC 4330 section 3): the top bit set means 1968-2036 (era 0,
 * counted from 1900); clear means 2036-2104 (era 1, counted from 2036-02-07 06:28:16 UTC).
 */
export function toUnixMs(timestamp: NtpTimestamp): number {
  const era = timestamp.seconds >= 2 ** 31 ? 0 : 1;
  const unixSeconds = timestamp.seconds + era * TWO_TO_32 - NTP_TO_UNIX_SECONDS;
  return (unixSeconds + timestamp.fraction / TWO_TO_32) * 1000;
}

export const isZeroTimestamp = (timestamp: NtpTimestamp): boolean =>
  timestamp.seconds === 0 && timestamp.fraction === 0;

/** Milliseconds to the microsecond, all a clock on a network can tell: no 0.9407370000000004. */
export const roundMs = (ms: number): number => Math.round(ms * 1000) / 1000;

/** `+0.012 ms`, `-3.400 ms`: an offset with its sign, to the microsecond. */
export function signedMs(ms: number): string {
  const shown = roundMs(ms).toFixed(3);
  return shown.startsWith("-") ? `${shown} ms` : `+${shown} ms`;
}

/** `2025-03-01T12:00:00.123456789Z`: the fraction gives nanoseconds, finer than a Date. */
export function formatTimestamp(timestamp: NtpTimestamp): string {
  if (isZeroTimestamp(timestamp)) return "0 (not set)";
  const wholeMs = Math.floor(toUnixMs({ seconds: timestamp.seconds, fraction: 0 }));
  const nanoseconds = Math.floor((timestamp.fraction / TWO_TO_32) * 1e9);
  const date = new Date(wholeMs).toISOString().slice(0, 19);
  return `${date}.${String(nanoseconds).padStart(9, "0")}Z`;
}

/** Unix ms as UTC to the nanosecond, as NTP can: `2025-03-01T12:00:00.123456789Z`. */
export const utc = (unixMs: number): string => formatTimestamp(toNtpTimestamp(unixMs));

/** The timestamp as the wire has it, `seconds.fraction` in hex, as ntpd's tools print it. */
export function hexTimestamp(timestamp: NtpTimestamp): string {
  const seconds = timestamp.seconds.toString(16).padStart(8, "0");
  return `${seconds}.${timestamp.fraction.toString(16).padStart(8, "0")}`;
}

// ---------------------------------------------------------------------------------------
// The reference ID, and the whole packet

/**
 * The reference ID as a person reads it: text at stratum 0 and 1, an address above. Text
 * that is not printable ASCII is shown in hex: these bytes come from the network, and a
 * hostile server could otherwise send escape codes to the student's terminal.
 */
export function referenceIdText(stratum: number, referenceId: Uint8Array): string {
  if (stratum > 1) return Array.from(referenceId).join(".");
  const text = String.fromCharCode(...referenceId).replace(/\0+$/, "");
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  return `0x${Array.from(referenceId, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * Why `text` cannot be the reference ID of a server at `stratum`, in one sentence, or
 * undefined when it can. At stratum 1, 1-4 capital letters or digits naming the kind of
 * clock (GPS, PPS, LOCL for an undisciplined local clock); at 2-15, the IPv4 address of
 * the server this one follows. Without `text`: LOCL at stratum 1, 127.0.0.1 above.
 */
export function referenceIdProblem(stratum: number, text = defaultReferenceId(stratum)) {
  if (stratum <= 1 && !/^[A-Z0-9]{1,4}$/.test(text))
    return `at stratum 1 the reference ID is 1-4 capital letters or digits (like GPS or LOCL), not "${text}"`;
  const octets = text.split(".").map((octet) => (/^\d{1,3}$/.test(octet) ? Number(octet) : NaN));
  if (stratum > 1 && (octets.length !== 4 || !octets.every((octet) => octet <= 255)))
    return `at stratum ${stratum} the reference ID is the IPv4 address of the server followed, not "${text}"`;
  return undefined;
}

const defaultReferenceId = (stratum: number): string => (stratum > 1 ? "127.0.0.1" : "LOCL");

/** The 4 bytes of a reference ID (see referenceIdProblem); a RangeError if it does not fit. */
export function encodeReferenceId(stratum: number, text = defaultReferenceId(stratum)): Uint8Array {
  const problem = referenceIdProblem(stratum, text);
  if (problem) throw new RangeError(problem);
  if (stratum > 1) return Uint8Array.from(text.split(".").map(Number));
  const bytes = new Uint8Array(4);
  bytes.set(new TextEncoder().encode(text));
  return bytes;
}

export function decodePacket(bytes: Uint8Array): NtpPacket {
  if (bytes.length < NTP_PACKET_SIZE) {
    throw new RangeError(`${bytes.length} bytes is shorter than an NTP header (48)`);
  }
  const first = bytes[0] ?? 0;
  return {
    leap: first >> 6,
    version: (first >> 3) & 0b111,
    mode: first & 0b111,
    stratum: bytes[1] ?? 0,
    // Poll and precision are signed bytes: 236 means -20.
    poll: ((bytes[2] ?? 0) << 24) >> 24,
    precision: ((bytes[3] ?? 0) << 24) >> 24,
    rootDelay: readUint32(bytes, 4) / 65536,
    rootDispersion: readUint32(bytes, 8) / 65536,
    referenceId: bytes.slice(12, 16),
    referenceTimestamp: readTimestamp(bytes, 16),
    originTimestamp: readTimestamp(bytes, 24),
    receiveTimestamp: readTimestamp(bytes, 32),
    transmitTimestamp: readTimestamp(bytes, 40),
  };
}

export function encodePacket(packet: NtpPacket): Uint8Array {
  const bytes = new Uint8Array(NTP_PACKET_SIZE);
  bytes[0] = (packet.leap << 6) | (packet.version << 3) | packet.mode;
  bytes[1] = packet.stratum;
  // A Uint8Array keeps the low 8 bits of what it is given: -20 is stored as 236.
  bytes[2] = packet.poll;
  bytes[3] = packet.precision;
  writeUint32(bytes, 4, Math.round(packet.rootDelay * 65536));
  writeUint32(bytes, 8, Math.round(packet.rootDispersion * 65536));
  bytes.set(packet.referenceId.subarray(0, 4), 12);
  writeTimestamp(bytes, 16, packet.referenceTimestamp);
  writeTimestamp(bytes, 24, packet.originTimestamp);
  writeTimestamp(bytes, 32, packet.receiveTimestamp);
  writeTimestamp(bytes, 40, packet.transmitTimestamp);
  return bytes;
}

// Big-endian, byte by byte: the most significant byte first. A DataView reads and writes the
// same (lesson 01 uses one), but asking a datagram Bun hands over for its ArrayBuffer costs
// the server more time than the reading itself.

function readUint32(bytes: Uint8Array, offset: number): number {
  const high = (bytes[offset] ?? 0) * 2 ** 24;
  return (
    high +
    ((bytes[offset + 1] ?? 0) << 16) +
    ((bytes[offset + 2] ?? 0) << 8) +
    (bytes[offset + 3] ?? 0)
  );
}

/** Each byte keeps the low 8 bits of what it is given: `value >>> 24` is the top byte. */
function writeUint32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = value >>> 16;
  bytes[offset + 2] = value >>> 8;
  bytes[offset + 3] = value;
}

function readTimestamp(bytes: Uint8Array, offset: number): NtpTimestamp {
  return { seconds: readUint32(bytes, offset), fraction: readUint32(bytes, offset + 4) };
}

function writeTimestamp(bytes: Uint8Array, offset: number, timestamp: NtpTimestamp): void {
  writeUint32(bytes, offset, timestamp.seconds);
  writeUint32(bytes, offset + 4, timestamp.fraction);
}

/** One field of a packet: its value as decoded, and what it means in words. */
export interface FieldReading {
  field: string;
  value: number | string;
  meaning: string;
}

/**
 * Every field of a packet, in wire order, as a person (or a JSON reader) wants it. The two
 * 16.16 durations are given in seconds to the microsecond, which is all they can say.
 */
export function describePacket(packet: NtpPacket): FieldReading[] {
  const milliseconds = (seconds: number): string => `${(seconds * 1000).toFixed(3)} ms`;
  const microseconds = (seconds: number): number => Math.round(seconds * 1e6) / 1e6;
  const precisionUs = (2 ** packet.precision * 1e6).toFixed(3);
  return [
    { field: "leap", value: packet.leap, meaning: LEAP_MEANINGS[packet.leap] ?? "" },
    { field: "version", value: packet.version, meaning: `NTPv${packet.version}` },
    { field: "mode", value: packet.mode, meaning: MODE_NAMES[packet.mode] ?? "" },
    { field: "stratum", value: packet.stratum, meaning: stratumMeaning(packet.stratum) },
    {
      field: "poll",
      value: packet.poll,
      meaning: `polling interval 2^${packet.poll} s = ${2 ** packet.poll} s`,
    },
    {
      field: "precision",
      value: packet.precision,
      meaning: `its clock ticks in 2^${packet.precision} s = ${precisionUs} µs`,
    },
    {
      field: "rootDelay",
      value: microseconds(packet.rootDelay),
      meaning: `${milliseconds(packet.rootDelay)} round trip to its reference clock`,
    },
    {
      field: "rootDispersion",
      value: microseconds(packet.rootDispersion),
      meaning: `${milliseconds(packet.rootDispersion)} of error it admits to`,
    },
    {
      field: "referenceId",
      value: referenceIdText(packet.stratum, packet.referenceId),
      meaning:
        packet.stratum <= 1
          ? "text: the kind of clock (or a kiss code)"
          : "the IPv4 address of its server (a hash, for IPv6)",
    },
    {
      field: "referenceTimestamp",
      value: formatTimestamp(packet.referenceTimestamp),
      meaning: "when its clock was last set",
    },
    {
      field: "originTimestamp",
      value: hexTimestamp(packet.originTimestamp),
      meaning: "our request's transmit field, echoed back",
    },
    {
      field: "receiveTimestamp",
      value: formatTimestamp(packet.receiveTimestamp),
      meaning: "T2: our request reached it",
    },
    {
      field: "transmitTimestamp",
      value: formatTimestamp(packet.transmitTimestamp),
      meaning: "T3: this reply left it",
    },
  ];
}

function stratumMeaning(stratum: number): string {
  if (stratum === 0) return "kiss-o'-death: a message, not the time";
  if (stratum === 1) return "primary: it reads a reference clock itself";
  if (stratum < 16) return `secondary: ${stratum - 1} server(s) between it and a reference clock`;
  return "unsynchronized";
}
