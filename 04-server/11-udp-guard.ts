/**
 * @title UDP guard
 * @summary A naive UDP echo answers a datagram from its own address, and its own answer, for ever; a ReplyGuard refuses.
 * @run bun run 04-server/11-udp-guard.ts [--json]
 * @python new
 *
 * A datagram's source address is whatever its sender wrote there. Forge one "from" a naive
 * UDP echo's own address and port, and it answers itself, reads its answer, answers that, for
 * ever; two naive echoes play the same ping-pong. This lesson starts both loops (a socket may
 * send to itself), stops them at 50,000, then runs them with a `ReplyGuard` (lib/udp.ts).
 */
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

/** One datagram into a loop: to an echo from itself, or from one echo to another. */
export async function loop(kind: "self" | "pair", guarded: boolean, ms = 1_000) {
  const tally: Tally = { received: 0, reached: Promise.withResolvers<void>() };
  const a = await echo(guarded, tally);
  const b = kind === "pair" ? await echo(guarded, tally) : a;
  const started = performance.now();
  // A socket may send to itself: the datagram then comes "from" the server's own address.
  a.socket.send("hello\n", b.socket.port, "127.0.0.1");
  await Promise.race([tally.reached.promise, Bun.sleep(ms)]);
  const seconds = Math.round(performance.now() - started) / 1000;
  const echoes = new Set([a, b]);
  for (const { socket } of echoes) socket.close();
  const counts = [...echoes].flatMap(({ guard }) => Object.entries(guard?.refused ?? {}));
  const refused = counts.filter(([, times]) => times > 0).map(([why, n]) => `${n} refused: ${why}`);
  // A loop that reached STOP_AT was still going: only we stopped it.
  return { datagrams: tally.received, seconds, stillGoing: tally.received >= STOP_AT, refused };
}

type Tally = { received: number; reached: PromiseWithResolvers<void> };
type Loop = Awaited<ReturnType<typeof loop>>;

/** One line for a loop: its rate if it was still going, else what the guard refused. */
function describe({ datagrams, seconds, stillGoing, refused }: Loop): string {
  const count = datagrams.toLocaleString("en-US");
  const rate = Math.round(datagrams / seconds).toLocaleString("en-US");
  if (!stillGoing) return `${count} datagram(s), then silence (${refused.join(", ")})`;
  return `${count} datagrams in ${seconds} s (${rate} a second), still going when we stopped it`;
}

const cli = command(
  "04-server/11-udp-guard.ts",
  "Starts two UDP loops, without a guard and with a ReplyGuard, and counts the datagrams.",
  { json: flag.bool("print one JSON document instead of text") },
);

if (import.meta.main) {
  const { json } = cli.parse();
  const self = { naive: await loop("self", false), guarded: await loop("self", true) };
  const pair = { naive: await loop("pair", false), guarded: await loop("pair", true) };
  const show = (title: string, { naive, guarded }: typeof self) =>
    console.log(`${title}\n  naive: ${describe(naive)}\n  with a ReplyGuard: ${describe(guarded)}`);
  if (json) console.log(JSON.stringify({ self, pair }));
  else {
    show("one datagram to an echo, from its own address:", self);
    show("one datagram from one echo to another:", pair);
  }
}
