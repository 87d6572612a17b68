/**
 * @title Guard: a flood
 * @summary A member pastes 20,000 lines: with no rate the server sends all of them to everyone at once; with a token bucket per member (40 at once, then 20 a second) it reads the paste no faster, and drops nothing.
 * @run bun run 06-chat/08-flood.ts [--lines 20000] [--json]
 * @python new
 *
 * Lesson 01's turns let other people's lines through during a paste, but nothing limits how
 * much one client makes the server send: 20,000 lines pasted into a room of 20 are 400,000
 * lines sent, as fast as the server can. A rate per member does (lib/rate.ts's TokenBucket,
 * in room.ts's `Member.walk`), and the gentle kind drops nothing: when the bucket is empty
 * the server stops reading that member (`Outbox.hold()`), its bytes wait in the kernel, TCP
 * slows the sender down, and its lines go out at 20 a second.
 */
import { command, flag } from "../lib/cli.ts";
import { ChatConnection } from "./connection.ts";
import { broadcastRoom, GUARDS } from "./room.ts";

/**
 * A room with a rate of `linesPerSecond` for each member (Infinity: none), a paste of `lines`
 * lines, and someone else's line right after it: how many lines of the paste another member
 * has one second later, and how long the other line took to reach it.
 */
export async function paste(linesPerSecond: number, burst: number, lines: number) {
  const { room, port } = broadcastRoom({ linesPerSecond, burst });
  let pasted = 0;
  let started = (): void => {};
  let arrived = (): void => {};
  const open = (nick: string) =>
    ChatConnection.open("127.0.0.1", port, nick, "pw", { onEvent() {} });
  const flooder = await open("flooder");
  const other = await open("other");
  await ChatConnection.open("127.0.0.1", port, "reader", "pw", {
    onEvent: (event) => {
      if (event.kind !== "msg") return;
      if (event.from === "flooder" && ++pasted === 1) started();
      if (event.from === "other") arrived();
    },
  });
  flooder.send(Array.from({ length: lines }, (_, n) => `paste line ${n}\n`).join(""));
  await new Promise<void>((resolve) => (started = resolve));
  const sent = performance.now();
  other.send("can anyone hear me?\n");
  await new Promise<void>((resolve) => (arrived = resolve));
  const otherMs = performance.now() - sent;
  await Bun.sleep(1000);
  const afterOneSecond = pasted;
  room.stop();
  return { afterOneSecond, otherMs: Math.round(otherMs * 10) / 10 };
}

const cli = command(
  "06-chat/08-flood.ts",
  "A paste into a room with no rate, then into one with a token bucket per member.",
  {
    lines: flag.whole(20_000, "lines pasted at once", { min: 100, max: 1_000_000 }),
    json: flag.bool("print one JSON document instead of text"),
  },
);

if (import.meta.main) {
  const { lines, json } = cli.parse();
  const free = await paste(Infinity, Infinity, lines);
  const paced = await paste(GUARDS.linesPerSecond, GUARDS.burst, lines);
  if (json) console.log(JSON.stringify({ lines, noRate: free, tokenBucket: paced }, null, 2));
  else {
    const line = (run: typeof free): string =>
      `1 s later the others have ${run.afterOneSecond.toLocaleString("en-US")} of them; the other line took ${run.otherMs} ms`;
    console.log(
      `a paste of ${lines.toLocaleString("en-US")} lines, and someone else's line right after it:`,
    );
    const rate = `${GUARDS.burst} at once, ${GUARDS.linesPerSecond} a second:`;
    console.log(`  ${"no rate:".padEnd(rate.length)}  ${line(free)}`);
    console.log(`  ${rate}  ${line(paced)}`);
  }
  process.exit(0);
}
