/**
 * @title UDP guard
 * @summary A naive UDP echo answers a datagram from its own address, and its own answer, for ever; a ReplyGuard refuses.
 * @run bun run 04-server/10-udp-guard.ts [--json]
 * @python new
 *
 * A UDP datagram's source address is whatever its sender wrote there. Forge one "from" a
 * naive echo server's own address and port, and the server answers itself, reads its answer,
 * answers that, for ever: about 133,000 datagrams a second until it is killed. Two naive
 * echoes can be made to play the same ping-pong with each other. This lesson starts both
 * loops here (a socket may send to itself, no forging needed) and stops them at 50,000;
 * then runs them again with a `ReplyGuard` (lib/udp.ts), which every later UDP server uses.
 */
import type { udp } from "bun";
import { command, flag } from "../lib/cli.ts";
import { ReplyGuard } from "../lib/udp.ts";

/** Loops are stopped here, for the lesson's sake: a naive server has no such limit. */
export const STOP_AT = 50_000;

/** A UDP echo on a free port; `guarded`: a ReplyGuard decides every reply. */
export async function echo(guarded: boolean, tally: Tally) {
  let guard: ReplyGuard | undefined;
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(socket, datagram, port, address) {
        tally.received++;
        tally.lastAt = performance.now();
        if (tally.received === STOP_AT) tally.reached.resolve();
        if (tally.received >= STOP_AT) return;
        // The guard: never to ourselves, never our own reply bounced back, never bigger.
        if (guard && !guard.allows(address, port, datagram, datagram)) return;
        socket.send(datagram, port, address);
      },
      error() {},
    },
  });
  if (guarded) guard = new ReplyGuard(socket);
  return { socket, guard };
}

/**
 * One datagram into a loop: to an echo from its own address ("self"), or from one echo to
 * another ("pair"). Counts the datagrams until STOP_AT, or for `ms`.
 */
export async function loop(kind: "self" | "pair", guarded: boolean, ms = 1_000): Promise<Loop> {
  const tally: Tally = { received: 0, lastAt: 0, reached: Promise.withResolvers<void>() };
  const a = await echo(guarded, tally);
  const b = kind === "pair" ? await echo(guarded, tally) : a;
  const started = performance.now();
  // A socket may send to itself: the datagram then comes "from" the server's own address.
  a.socket.send("hello\n", b.socket.port, "127.0.0.1");
  await Promise.race([tally.reached.promise, Bun.sleep(ms)]);
  const stillGoing = performance.now() - tally.lastAt < 100;
  a.socket.close();
  b.socket.close();
  const refused: Record<string, number> = {};
  for (const guard of new Set([a.guard, b.guard])) {
    for (const [why, count] of Object.entries(guard?.refused ?? {}))
      refused[why] = (refused[why] ?? 0) + count;
  }
  const seconds = Math.round(tally.lastAt - started) / 1000;
  return { datagrams: tally.received, seconds, stillGoing, refused };
}

interface Tally {
  received: number;
  lastAt: number;
  reached: PromiseWithResolvers<void>;
}

export interface Loop {
  datagrams: number;
  seconds: number;
  /** Datagrams were still flowing when the count stopped. */
  stillGoing: boolean;
  refused: Record<string, number>;
}

/** One line for a loop: its rate if it was still going, else what the guard refused. */
function describe({ datagrams, seconds, stillGoing, refused }: Loop): string {
  const count = datagrams.toLocaleString("en-US");
  if (stillGoing) {
    const rate = Math.round(datagrams / seconds).toLocaleString("en-US");
    return `${count} datagrams in ${seconds} s (${rate} a second), still going when we stopped it`;
  }
  const why = Object.entries(refused).filter(([, times]) => times > 0);
  const refusals = why.map(([reason, times]) => `${times} refused: ${reason}`);
  return `${count} datagram(s), then silence (${refusals.join(", ")})`;
}

const cli = command(
  "04-server/10-udp-guard.ts",
  "Starts two UDP loops, without a guard and with a ReplyGuard, and counts the datagrams.",
  { json: flag.bool("print one JSON document instead of text") },
);

if (import.meta.main) {
  const { json } = cli.parse();
  const self = { naive: await loop("self", false), guarded: await loop("self", true) };
  const pair = { naive: await loop("pair", false), guarded: await loop("pair", true) };
  if (json) console.log(JSON.stringify({ self, pair }));
  else {
    console.log("one datagram to an echo, from its own address:");
    console.log(`  naive: ${describe(self.naive)}`);
    console.log(`  with a ReplyGuard: ${describe(self.guarded)}`);
    console.log("one datagram from one echo to another:");
    console.log(`  naive: ${describe(pair.naive)}`);
    console.log(`  with a ReplyGuard: ${describe(pair.guarded)}`);
  }
}
