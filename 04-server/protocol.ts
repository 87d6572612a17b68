/**
 * The chapter's protocols, shared by a server lesson and its client: the daytime line (RFC
 * 867), the padding that lets a UDP server answer without ever sending more than it got, the
 * Informe's replies, and the histogram the load generator counts round trips in. Nothing
 * here touches the network.
 *
 * Padding: a UDP server that answers a small datagram with a bigger one is an amplifier (an
 * attacker forges the victim's address and gets more bytes sent there than it sent). So the
 * book's UDP servers never answer with more than they got, and their clients pad their
 * requests with spaces to leave room for the answer. QUIC does the same: its first datagram
 * is padded to at least 1200 bytes (RFC 9000, section 8.1). The server trims the padding.
 */

/** RFC 867 leaves the format free; ours is the HTTP date, one line ending CRLF. */
export const daytimeLine = (date: Date): string => `${date.toUTCString()}\r\n`;

/** A daytime request over UDP: its content does not matter, its size does (room for 64). */
export const DAYTIME_REQUEST = "what time is it?\n".padEnd(64);

/** How far a client pads a message to the TCP+UDP server: QUIC's figure. */
export const PADDED_BYTES = 1200;

/** `message` and spaces: 1200 bytes, or 64 more than a long message (room for the reply). */
export function padded(message: Uint8Array): Buffer {
  const size = Math.max(PADDED_BYTES, message.length + 64);
  const spaces = Buffer.alloc(size - message.length, " ");
  return Buffer.concat([message, spaces]);
}

const PADDING = new Set([0x00, 0x20, 0x0a, 0x0d]);

/** The message inside a datagram: without trailing spaces, NULs and the newline `nc` adds. */
export function unpadded(datagram: Uint8Array): Buffer {
  let end = datagram.length;
  while (end > 0 && PADDING.has(datagram[end - 1] ?? 0)) end--;
  return Buffer.from(datagram.buffer, datagram.byteOffset, end);
}

export type Protocol = "TCP" | "UDP";

/**
 * The Informe's server: what it says to `message` (bytes, never decoded: what came in goes
 * back as it came), and whether the conversation is over. `exit`, in any case, ends it.
 */
export function replyTo(protocol: Protocol, message: Uint8Array): { reply: Buffer; end: boolean } {
  const text = Buffer.from(message).toString("latin1").trim().toLowerCase();
  if (text === "exit") return { reply: Buffer.from(`server (${protocol}): goodbye`), end: true };
  const prefix = Buffer.from(`server (${protocol}) received: `);
  return { reply: Buffer.concat([prefix, message]), end: false };
}

/**
 * Round trips, counted in 1-microsecond buckets up to a second: exact percentiles, and
 * nothing allocated while a load runs. The load generator (lesson 22) records every answer.
 */
export class Latencies {
  count = 0;
  private readonly buckets = new Uint32Array(1_000_000);

  /** One round trip of `ms` milliseconds (a second or more goes in the last bucket). */
  record(ms: number): void {
    const micros = (ms * 1000) | 0;
    this.buckets[micros < this.buckets.length ? micros : this.buckets.length - 1]! += 1;
    this.count++;
  }

  /** The latency under which `fraction` of the round trips came back, in ms. */
  percentile(fraction: number): number {
    let seen = 0;
    for (let bucket = 0; bucket < this.buckets.length; bucket++) {
      seen += this.buckets[bucket] ?? 0;
      if (seen >= this.count * fraction) return bucket / 1000;
    }
    return this.buckets.length / 1000;
  }

  /** A run of `seconds`: how many round trips, how many a second, and p50 and p99 in ms. */
  summary(seconds: number) {
    const requestsPerSecond = Math.round(this.count / seconds);
    const [p50Ms, p99Ms] = [this.percentile(0.5), this.percentile(0.99)];
    return { requests: this.count, seconds, requestsPerSecond, p50Ms, p99Ms };
  }
}
