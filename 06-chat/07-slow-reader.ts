/**
 * @title Guard: a client that stops reading
 * @summary One member reads nothing while 20 MB of chat goes by: with no bound it all waits for it in the server's memory; with room.ts's bound that member is cut off at 1 MiB, and the others are told why.
 * @run bun run 06-chat/07-slow-reader.ts [--megabytes 20] [--json]
 * @python new
 *
 * Press Ctrl-Z in one `nc`: it stops reading, and every line the others type waits for it in
 * the server's memory; its Outbox gives up on it only after 30 s with no progress. This lesson
 * runs the room twice with a member that reads nothing while another talks (the flood guard
 * off, so the talk is fast). Without a bound, all of it waits; with room.ts's `Member.send`,
 * once 1 MiB waits the member is cut off, and the others read why. Nobody waits for it.
 */
import { command, flag } from "../lib/cli.ts";
import { ChatConnection } from "./connection.ts";
import { broadcastRoom } from "./room.ts";

/**
 * A room that lets `maxQueuedBytes` wait for a member (Infinity: no bound), one member that
 * stops reading, and `megabytes` of chat: what waits for that member at the end, and why it
 * left, if it did.
 */
export async function stopReading(maxQueuedBytes: number, megabytes: number) {
  const { room, port } = broadcastRoom({
    maxQueuedBytes,
    linesPerSecond: Infinity,
    burst: Infinity,
  });
  let heard = 0;
  let left: string | undefined;
  let caughtUp: () => void = () => {};
  const listen = { onEvent: () => {} };
  const stuck = await ChatConnection.open("127.0.0.1", port, "stuck", "pw", listen);
  // It stops reading: what comes for it waits in the kernel's buffers, then in the server.
  stuck.outbox.hold();
  const talker = await ChatConnection.open("127.0.0.1", port, "talker", "pw", listen);
  await ChatConnection.open("127.0.0.1", port, "reader", "pw", {
    onEvent: (event) => {
      if (event.kind === "leave") left = event.reason;
      if (event.kind === "msg" && ++heard % 500 === 0) caughtUp();
    },
  });
  const line = `${"y".repeat(999)}\n`;
  for (let sent = 1; sent <= megabytes * 1000; sent++) {
    talker.send(line);
    // Every 500 lines, wait for the reader: the talk goes at the speed of a reading client.
    if (sent % 500 === 0) await new Promise<void>((resolve) => (caughtUp = resolve));
  }
  const waiting = room.find("stuck")?.outbox.queuedBytes ?? 0;
  room.stop();
  return { waitingKiB: Math.round(waiting / 1024), left };
}

/** What happened, in words. */
const told = (run: { waitingKiB: number; left?: string }): string =>
  run.left === undefined
    ? `${run.waitingKiB.toLocaleString("en-US")} KiB wait for it in the server's memory`
    : `cut off, and the others read: LEAVE stuck ${run.left}`;

const cli = command("06-chat/07-slow-reader.ts", "A member stops reading: no bound, then one", {
  // Fewer would all fit in the kernel's buffers (about 4 MB here), and nothing would wait.
  megabytes: flag.whole(20, "megabytes of chat while it reads nothing", { min: 8, max: 1000 }),
  json: flag.bool("print one JSON document instead of text"),
});

if (import.meta.main) {
  const { megabytes, json } = cli.parse();
  const unbounded = await stopReading(Infinity, megabytes);
  const bounded = await stopReading(1024 * 1024, megabytes);
  if (json) console.log(JSON.stringify({ megabytes, unbounded, bounded }, null, 2));
  else {
    console.log(`${megabytes} MB of chat while "stuck" reads nothing:`);
    console.log(`  no bound:        ${told(unbounded)}`);
    console.log(`  1 MiB at most:   ${told(bounded)}`);
  }
  process.exit(0);
}
