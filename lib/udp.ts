/**
 * The book's UDP toolbox, for both ends.
 *
 * - `ask()`: a client's request, resent on silence, with only the server's own reply
 *   accepted. Taught in 02-ntp/02-careful-client; used by every UDP client after it.
 * - `ReplyGuard`: which datagrams a server must never answer. Taught in
 *   04-server/11-udp-guard; used by every UDP server of the book, the first of them
 *   02-ntp/05-sntp-server (which says in a few lines what it guards against).
 *
 * UDP has no handshake, so a datagram's source address is whatever the sender wrote there.
 * A server that answers everything can be made to answer itself (a datagram "from" its own
 * address and port: it replies to itself, reads its reply, replies to that... for ever), to
 * play ping-pong with another server, or to flood a victim with more bytes than the attacker
 * sent (amplification). BSD's inetd refuses some of these since 1996 (`check_loop`); a
 * server of this book refuses all of them:
 *
 * - a reply to its own address and port;
 * - a reply to a source no client can have: port 0, a broadcast, multicast or unspecified
 *   address;
 * - a reply to the ports of the old services that answer anything (echo 7, daytime 13,
 *   quote 17, chargen 19, time 37): two such servers would talk for ever;
 * - a reply bigger than its request;
 * - the bytes we just sent to that same peer: an echo is bouncing our reply back;
 * - more than `perSecond` replies a second to one source (a token bucket each): a loop with
 *   a server that changes every reply still stops after `burst` replies.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { timeoutError } from "./cli.ts";
import { TokenBucket } from "./rate.ts";

export interface AskOptions {
  /** How many datagrams to send before giving up. */
  attempts?: number;
  /** How long to wait for a reply to each, in ms. */
  timeoutMs?: number;
  /** Whether a reply answers our request (an id, a nonce); others are ignored. */
  accept?: (reply: Buffer, attempt: number) => boolean;
}

export interface Answer {
  reply: Buffer;
  /** Which try was answered: 1 for the first datagram. */
  attempt: number;
  /** When the reply arrived, in Unix ms with a fraction (for clocks: NTP's T4). */
  receivedAt: number;
  /** The address the name resolved to. */
  address: string;
}

/** Now, in Unix ms with a fraction of a millisecond. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/**
 * Sends `request` to host:port over UDP and resolves with the first reply `accept` takes,
 * sending it again after each silence of `timeoutMs`: UDP promises no delivery, so the
 * client retries. `request` may be a function, to build a new datagram for each try.
 *
 * The socket is "connected" to the server: the kernel then drops datagrams from anyone
 * else, and turns an ICMP "port unreachable" into an ECONNREFUSED error at once, instead
 * of a wait. It rejects with ETIMEDOUT after the last try, ECONNREFUSED when nothing
 * listens, and the lookup's own error for a name that does not resolve.
 */
export async function ask(
  host: string,
  port: number,
  request: Uint8Array | string | ((attempt: number) => Uint8Array | string),
  { attempts = 3, timeoutMs = 1_000, accept = () => true }: AskOptions = {},
): Promise<Answer> {
  const address = isIP(host) ? host : (await lookup(host)).address;
  type Event = { reply: Buffer; receivedAt: number } | Error | undefined;
  let deliver: (event: Event) => void = () => {};
  // Bun throws (rather than rejects) when connect finds no route: Promise.try catches both.
  const socket = await Promise.try(() =>
    Bun.udpSocket({
      hostname: address.includes(":") ? "::" : "0.0.0.0",
      connect: { hostname: address, port },
      socket: {
        data(_socket, data) {
          deliver({ reply: Buffer.from(data), receivedAt: nowMs() });
        },
        // Bun 1.4.5 passes the error first, not second as typed (oven-sh/bun#35215).
        error(...args: unknown[]) {
          deliver(args.find((arg) => arg instanceof Error) as Error | undefined);
        },
      },
    }),
  );
  const next = (ms: number): Promise<Event> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms, undefined);
      deliver = (event) => {
        clearTimeout(timer);
        resolve(event);
      };
    });
  try {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const datagram = typeof request === "function" ? request(attempt) : request;
      const deadline = performance.now() + timeoutMs;
      socket.send(datagram);
      for (;;) {
        const event = await next(Math.max(0, deadline - performance.now()));
        if (event === undefined) break;
        if (event instanceof Error) throw event;
        if (accept(event.reply, attempt)) return { ...event, attempt, address };
      }
    }
    throw timeoutError(attempts * timeoutMs);
  } finally {
    socket.close();
  }
}

/** Source ports of services that answer any datagram: never reply to them. */
export const ANSWERING_PORTS = new Set([7, 13, 17, 19, 37]);

/** Why a reply was not sent; counted in `ReplyGuard.refused`. */
export type Refusal = "own address" | "bad source" | "service port" | "bigger" | "echoed" | "rate";

interface Peer {
  bucket: TokenBucket;
  /** A hash of the last reply sent there, to recognise it coming back. */
  lastReply: bigint | number;
}

export interface ReplyGuardOptions {
  /** Replies a second to one source, on average. */
  perSecond?: number;
  /** Replies to one source in one go, before the average applies. */
  burst?: number;
  /** How many sources to remember; the least recent are forgotten. */
  maxPeers?: number;
}

export class ReplyGuard {
  /** How many replies were held back, and why. */
  readonly refused: Record<Refusal, number> = {
    "own address": 0,
    "bad source": 0,
    "service port": 0,
    bigger: 0,
    echoed: 0,
    rate: 0,
  };
  private readonly peers = new Map<string, Peer>();
  private readonly localAddresses: Set<string>;
  private readonly broadcasts: Set<string>;
  private readonly perSecond: number;
  private readonly burst: number;
  private readonly maxPeers: number;

  /** `own` is the server's UDP socket: its port, so it never answers itself. */
  constructor(
    private readonly own: { port: number },
    { perSecond = 1_000, burst = 2_000, maxPeers = 10_000 }: ReplyGuardOptions = {},
  ) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.maxPeers = maxPeers;
    const interfaces = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
    this.localAddresses = new Set(interfaces.map((info) => info.address));
    this.broadcasts = new Set(["255.255.255.255"]);
    for (const info of interfaces) {
      if (info.family === "IPv4") this.broadcasts.add(broadcastOf(info.address, info.netmask));
    }
  }

  /**
   * May `reply` go to `address:port`, which sent `request`? Says yes at most `perSecond`
   * times a second per source, and remembers the reply, to know it if it comes back.
   */
  allows(address: string, port: number, request: Uint8Array, reply: string | Uint8Array): boolean {
    return this.refusal(address, port, request, reply) === undefined;
  }

  /** The same question as `allows`, answered with the reason for a no (undefined: yes). */
  refusal(
    address: string,
    port: number,
    request: Uint8Array,
    reply: string | Uint8Array,
  ): Refusal | undefined {
    const why = this.check(address, port, request, reply);
    if (why !== undefined) this.refused[why]++;
    return why;
  }

  /** The number of replies held back, all reasons together. */
  get refusedTotal(): number {
    return Object.values(this.refused).reduce((sum, count) => sum + count, 0);
  }

  private check(
    address: string,
    port: number,
    request: Uint8Array,
    reply: string | Uint8Array,
  ): Refusal | undefined {
    if (port === this.own.port && this.isLocal(address)) return "own address";
    if (port === 0 || this.broadcasts.has(address) || !canBeAClient(address)) return "bad source";
    if (ANSWERING_PORTS.has(port)) return "service port";
    const replyBytes = typeof reply === "string" ? Buffer.from(reply) : reply;
    if (replyBytes.length > request.length) return "bigger";
    const peer = this.peer(`${address}|${port}`);
    if (request.length > 0 && Bun.hash(request) === peer.lastReply) return "echoed";
    if (!peer.bucket.take()) return "rate";
    peer.lastReply = Bun.hash(replyBytes);
    return undefined;
  }

  /** The state kept for one source, the most recent last (a Map keeps insertion order). */
  private peer(key: string): Peer {
    let peer = this.peers.get(key);
    if (peer) this.peers.delete(key);
    else peer = { bucket: new TokenBucket(this.perSecond, this.burst), lastReply: -1 };
    this.peers.set(key, peer);
    if (this.peers.size > this.maxPeers) {
      const oldest = this.peers.keys().next().value;
      if (oldest !== undefined) this.peers.delete(oldest);
    }
    return peer;
  }

  private isLocal(address: string): boolean {
    return isLoopback(address) || this.localAddresses.has(address) || isUnspecified(address);
  }
}

const isLoopback = (address: string): boolean =>
  address.startsWith("127.") || address === "::1" || address.startsWith("::ffff:127.");

const isUnspecified = (address: string): boolean => address === "0.0.0.0" || address === "::";

/** False for the addresses no single client can send from: unspecified, multicast. */
function canBeAClient(address: string): boolean {
  if (isUnspecified(address)) return false;
  const v4 = address.replace(/^::ffff:/, "");
  if (/^\d+\.\d+\.\d+\.\d+$/.test(v4)) return Number(v4.split(".")[0]) < 224;
  return !address.toLowerCase().startsWith("ff");
}

/** The broadcast address of an IPv4 network: its address with every host bit set. */
function broadcastOf(address: string, netmask: string): string {
  const a = address.split(".").map(Number);
  const m = netmask.split(".").map(Number);
  return a.map((byte, i) => (byte | (~(m[i] ?? 255) & 255)) & 255).join(".");
}
