/**
 * What the chapter 02 rubrics share: NTP replies built byte by byte, independently of the
 * lessons, and a fake UDP server that answers each request with whatever a test crafts
 * (wrong size, wrong mode, someone else's origin, a kiss-o'-death, silence). Stop it with
 * `track()` from tests/helpers.ts.
 */

/** 2036-02-07T06:28:16Z: NTP seconds wrap to 0 here, the start of era 1. */
export const ERA_1 = Date.UTC(2036, 1, 7, 6, 28, 16);

/** The clock the lessons' clients read (lib/udp.ts nowMs), in Unix ms with a fraction. */
export const now = (): number => performance.timeOrigin + performance.now();

/** Writes Unix ms at `offset` as an NTP timestamp, by hand, independently of the lessons. */
export function writeTimestamp(view: DataView, offset: number, unixMs: number): void {
  const seconds = Math.floor(unixMs / 1000);
  view.setUint32(offset, (seconds + 2_208_988_800) % 2 ** 32);
  view.setUint32(offset + 4, Math.floor(((unixMs - seconds * 1000) / 1000) * 2 ** 32));
}

/** A client request by hand: leap 0, version 4, mode 3, and T1 in bytes 40-47. */
export function clientRequest(t1 = now()): Uint8Array {
  const request = new Uint8Array(48);
  request[0] = 0x23;
  writeTimestamp(new DataView(request.buffer), 40, t1);
  return request;
}

/** A correct server reply to `request`, byte by byte; `skewMs` sets the fake server's clock. */
export function goodReply(request: Uint8Array, skewMs = 0): Uint8Array {
  const reply = new Uint8Array(48);
  const view = new DataView(reply.buffer);
  const received = now() + skewMs;
  // Leap 0, version 4, mode 4 (server); stratum 2, so the reference ID is an address.
  reply[0] = (0 << 6) | (4 << 3) | 4;
  reply[1] = 2;
  reply[2] = 6;
  view.setInt8(3, -20);
  // Root delay 0.5 s and root dispersion 1/64 s, in 16.16 fixed point.
  view.setUint32(4, 0x8000);
  view.setUint32(8, 0x0400);
  reply.set([192, 0, 2, 1], 12);
  writeTimestamp(view, 16, received - 60_000);
  // The origin: the request's transmit timestamp, copied.
  reply.set(request.subarray(40, 48), 24);
  writeTimestamp(view, 32, received);
  writeTimestamp(view, 40, now() + skewMs);
  return reply;
}

/** `craft` for a reply that is good but for what `change` does to it. */
export const mutate =
  (change: (reply: Uint8Array) => Uint8Array | void) =>
  (request: Uint8Array): Uint8Array[] => {
    const reply = goodReply(request);
    return [change(reply) ?? reply];
  };

export interface FakeServer {
  port: number;
  /** Every datagram received, in order. */
  requests: Uint8Array[];
  stop(): void;
}

/** A UDP server on 127.0.0.1 that answers each request with the datagrams `craft` returns. */
export async function fakeServer(
  craft: (request: Uint8Array) => Uint8Array[],
): Promise<FakeServer> {
  const requests: Uint8Array[] = [];
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    binaryType: "uint8array",
    socket: {
      data(socket, request, port, address) {
        requests.push(request.slice());
        for (const reply of craft(request)) socket.send(reply, port, address);
      },
      error() {},
    },
  });
  return { port: socket.port, requests, stop: () => socket.close() };
}

/** The error a promise rejects with (the test fails if it resolves). */
export async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: Error) => ({ error }),
  );
  if ("error" in outcome) return outcome.error;
  throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
}

/** How long a careful client waits for each try, in seconds, against a bad reply. */
export function triesOf(sentence: string): number {
  // Silence, or only replies it must ignore: the answer is its last timeout, so keep it short.
  // Any other bad reply comes at once: a long wait keeps a loaded machine from a spurious retry.
  return /no answer from|never with the origin/.test(sentence) ? 0.2 : 2;
}

/** The bad replies of the chapter, each with the sentence a careful client must say. */
export const BAD_REPLIES: [
  string,
  (request: Uint8Array) => Uint8Array[],
  (where: string) => string,
][] = [
  [
    "a reply of 47 bytes",
    mutate((reply) => reply.subarray(0, 47)),
    (where) =>
      `${where} answered with 47 bytes, not an NTP packet (48 or more, in 4-byte words): is it an NTP server?`,
  ],
  [
    "a reply of 50 bytes, not whole 4-byte words",
    mutate((reply) => Uint8Array.from([...reply, 0, 0])),
    (where) =>
      `${where} answered with 50 bytes, not an NTP packet (48 or more, in 4-byte words): is it an NTP server?`,
  ],
  [
    "a reply in mode 3 (client) that quotes our bytes",
    mutate((reply) => {
      reply[0] = (0 << 6) | (4 << 3) | 3;
    }),
    (where) => `${where} answered in mode 3 (client), not 4 (server): is it an NTP server?`,
  ],
  [
    "a kiss-o'-death: stratum 0, code RATE",
    mutate((reply) => {
      reply[1] = 0;
      reply.set(new TextEncoder().encode("RATE"), 12);
    }),
    (where) =>
      `${where} sent a kiss-o'-death (stratum 0, code RATE): you are asking too often: wait longer between queries`,
  ],
  [
    "a zero transmit timestamp",
    mutate((reply) => reply.fill(0, 40, 48)),
    (where) =>
      `${where} sent a zero transmit timestamp, so it does not know the time: ask another server`,
  ],
  [
    "leap indicator 3: the server's clock is not synchronized",
    mutate((reply) => {
      reply[0] = (3 << 6) | (4 << 3) | 4;
    }),
    (where) => `${where} says its own clock is not synchronized: ask another server`,
  ],
  [
    "replies whose origin is not the bytes we sent (spoofed or late)",
    mutate((reply) => {
      crypto.getRandomValues(reply.subarray(24, 32));
    }),
    (where) =>
      `${where} answered, but never with the origin timestamp we sent (a late or spoofed reply), so we ignored it: try again, perhaps with a longer --timeout`,
  ],
  [
    "an echo server: our own request back, whose origin field is zero",
    (request) => [request.slice()],
    (where) =>
      `${where} answered, but never with the origin timestamp we sent (a late or spoofed reply), so we ignored it: try again, perhaps with a longer --timeout`,
  ],
  [
    "silence",
    () => [],
    (where) =>
      `no answer from ${where} after 3 tries of 0.2 s each: check the host and port, and that UDP gets through`,
  ],
];
