/**
 * The NTP packet: the 48-byte header every NTP client and server exchange over UDP
 * (NTPv4, RFC 5905 section 7.3; SNTP, the simple subset this chapter speaks, is RFC 4330).
 * The client and the server of this chapter share it, so both read and write the same bytes;
 * `describePacket`, at the end, says what each field means (lesson 01 prints it).
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

/**
 * Wall-clock time in milliseconds with sub-millisecond resolution. `Date.now()` counts
 * whole milliseconds; `performance.timeOrigin + performance.now()` is a microsecond-fine
 * monotonic clock anchored to the wall clock once, at start. If the system clock is
 * stepped later (by an NTP daemon or `date -s`), `Date.now()` jumps and the anchor is
 * moved to follow it, so a long-running server keeps serving the system's time.
 */
let anchorShift = 0;
export function nowMs(): number {
  const fine = performance.timeOrigin + performance.now() + anchorShift;
  const coarse = Date.now();
  if (fine < coarse - 1 || fine > coarse + 2) {
    anchorShift += coarse + 0.5 - fine;
    return coarse + 0.5;
  }
  return fine;
}

/** log2 of the smallest step this clock shows, in seconds: NTP's "precision" (-20 is 1 µs). */
export function measurePrecision(): number {
  let smallest = Infinity;
  for (let previous = nowMs(), reads = 0; reads < 10_000; reads++) {
    const current = nowMs();
    if (current > previous) smallest = Math.min(smallest, current - previous);
    previous = current;
  }
  return Math.ceil(Math.log2(smallest / 1000));
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

/** `2025-03-01T12:00:00.123456789Z`: the fraction gives nanoseconds, finer than a Date. */
export function formatTimestamp(timestamp: NtpTimestamp): string {
  if (isZeroTimestamp(timestamp)) return "0 (not set)";
  const wholeMs = Math.floor(toUnixMs({ seconds: timestamp.seconds, fraction: 0 }));
  const nanoseconds = Math.floor((timestamp.fraction / TWO_TO_32) * 1e9);
  const date = new Date(wholeMs).toISOString().slice(0, 19);
  return `${date}.${String(nanoseconds).padStart(9, "0")}Z`;
}

/** The timestamp as the wire has it, `seconds.fraction` in hex, as ntpd's tools print it. */
export const hexTimestamp = (timestamp: NtpTimestamp): string =>
  `${timestamp.seconds.toString(16).padStart(8, "0")}.${timestamp.fraction.toString(16).padStart(8, "0")}`;

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
 * The 4 bytes of a reference ID. At stratum 1, 1-4 capital letters or digits naming the
 * kind of clock (GPS, PPS, LOCL for an undisciplined local clock); at 2-15, the IPv4
 * address of the server this one follows. Throws a RangeError that says which is wrong.
 */
export function encodeReferenceId(stratum: number, text: string): Uint8Array {
  if (stratum <= 1) {
    if (!/^[A-Z0-9]{1,4}$/.test(text))
      throw new RangeError(
        `at stratum 1 the reference ID is 1-4 capital letters or digits (like GPS or LOCL), not "${text}"`,
      );
    const bytes = new Uint8Array(4);
    bytes.set(new TextEncoder().encode(text));
    return bytes;
  }
  const octets = text.split(".").map((octet) => (/^\d{1,3}$/.test(octet) ? Number(octet) : NaN));
  if (octets.length !== 4 || !octets.every((octet) => octet <= 255))
    throw new RangeError(
      `at stratum ${stratum} the reference ID is the IPv4 address of the server followed, not "${text}"`,
    );
  return Uint8Array.from(octets);
}

export function decodePacket(bytes: Uint8Array): NtpPacket {
  if (bytes.length < NTP_PACKET_SIZE) {
    throw new RangeError(`${bytes.length} bytes is shorter than an NTP header (48)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = view.getUint8(0);
  const timestamp = (offset: number): NtpTimestamp => ({
    seconds: view.getUint32(offset),
    fraction: view.getUint32(offset + 4),
  });
  return {
    leap: first >> 6,
    version: (first >> 3) & 0b111,
    mode: first & 0b111,
    stratum: view.getUint8(1),
    poll: view.getInt8(2),
    precision: view.getInt8(3),
    rootDelay: view.getUint32(4) / 65536,
    rootDispersion: view.getUint32(8) / 65536,
    referenceId: bytes.slice(12, 16),
    referenceTimestamp: timestamp(16),
    originTimestamp: timestamp(24),
    receiveTimestamp: timestamp(32),
    transmitTimestamp: timestamp(40),
  };
}

export function encodePacket(packet: NtpPacket): Uint8Array {
  const bytes = new Uint8Array(NTP_PACKET_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, (packet.leap << 6) | (packet.version << 3) | packet.mode);
  view.setUint8(1, packet.stratum);
  view.setInt8(2, packet.poll);
  view.setInt8(3, packet.precision);
  view.setUint32(4, Math.round(packet.rootDelay * 65536));
  view.setUint32(8, Math.round(packet.rootDispersion * 65536));
  bytes.set(packet.referenceId.subarray(0, 4), 12);
  const timestamps = [
    packet.referenceTimestamp,
    packet.originTimestamp,
    packet.receiveTimestamp,
    packet.transmitTimestamp,
  ];
  timestamps.forEach((timestamp, index) => {
    view.setUint32(16 + index * 8, timestamp.seconds);
    view.setUint32(20 + index * 8, timestamp.fraction);
  });
  return bytes;
}

/** One field of a packet: its value as decoded, and what it means in words. */
export interface FieldReading {
  field: string;
  value: number | string;
  meaning: string;
}

/** Every field of a packet, in wire order, as a person (or a JSON reader) wants it. */
export function describePacket(packet: NtpPacket): FieldReading[] {
  const { stratum } = packet;
  const milliseconds = (seconds: number): string => `${(seconds * 1000).toFixed(3)} ms`;
  return [
    { field: "leap", value: packet.leap, meaning: LEAP_MEANINGS[packet.leap] ?? "" },
    { field: "version", value: packet.version, meaning: `NTPv${packet.version}` },
    { field: "mode", value: packet.mode, meaning: MODE_NAMES[packet.mode] ?? "" },
    {
      field: "stratum",
      value: stratum,
      meaning:
        stratum === 0
          ? "kiss-o'-death: a message, not the time"
          : stratum === 1
            ? "primary: it reads a reference clock itself"
            : stratum < 16
              ? `secondary: ${stratum - 1} server(s) between it and a reference clock`
              : "unsynchronized",
    },
    {
      field: "poll",
      value: packet.poll,
      meaning: `polling interval 2^${packet.poll} s = ${2 ** packet.poll} s`,
    },
    {
      field: "precision",
      value: packet.precision,
      meaning: `its clock ticks in 2^${packet.precision} s = ${(2 ** packet.precision * 1e6).toFixed(3)} µs`,
    },
    {
      field: "rootDelay",
      value: packet.rootDelay,
      meaning: `${milliseconds(packet.rootDelay)} round trip to its reference clock`,
    },
    {
      field: "rootDispersion",
      value: packet.rootDispersion,
      meaning: `${milliseconds(packet.rootDispersion)} of error it admits to`,
    },
    {
      field: "referenceId",
      value: referenceIdText(stratum, packet.referenceId),
      meaning:
        stratum <= 1
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
