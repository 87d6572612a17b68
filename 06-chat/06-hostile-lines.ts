/**
 * @title Guard: hostile lines
 * @summary Escape sequences and a 1 MiB line, sent to a room without the guards, then with them: passed on raw, then shown as `^[`; passed on to everyone, then refused with `ERR too-long` and a close.
 * @run bun run 06-chat/06-hostile-lines.ts [--json]
 * @python new
 *
 * Two things one line can do. `printf '\033[2J\033[41mhi\n' | nc` into a room that passes
 * lines on byte for byte clears every other member's terminal and paints it red (the same
 * ESC can retitle a window or ring its bell). And a line with no end costs memory until its
 * newline comes, then goes to everyone: a 1 MiB line, 1 MiB for each member. protocol.ts's
 * `clean()` shows each control character (ESC as `^[`), and room.ts's LineReader stops at
 * 64 KiB: the client gets `ERR too-long`, then the close.
 */
import { command, flag } from "../lib/cli.ts";
import { broadcastRoom } from "./room.ts";

/** Clear the screen, paint it red: what one member sends the others. */
export const ESCAPES = "\u001b[2J\u001b[41mpainted red";

/**
 * A room with the guards (`clean()`, a 64 KiB line limit) or without (16 MiB); a member sends
 * ESCAPES, then a 1 MiB line. What another member gets, and what becomes of the long line.
 */
export async function hostileLines(guarded: boolean) {
  const { room, port } = broadcastRoom(guarded ? {} : { maxLineBytes: 16 << 20 }, guarded);
  // Plain sockets: each keeps what it gets; the evil one sends whatever bytes it likes.
  const victim = { text: "" };
  const evil = { text: "" };
  let changed: () => void = () => {};
  const connect = async (nick: string, got: { text: string }, sends: string) => {
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_socket, chunk) => {
          got.text += chunk.toString();
          changed();
        },
      },
    });
    socket.write(`/login ${nick} pw\n${sends}`);
  };
  const until = (done: () => boolean) =>
    new Promise<void>((resolve) => {
      changed = () => {
        if (done()) resolve();
      };
    });
  const victimIn = until(() => victim.text.includes("OK victim"));
  await connect("victim", victim, "");
  await victimIn;
  // Done once the victim has the escapes, and the long line went somewhere.
  const seenAll = until(
    () =>
      /^MSG evil (\u001b|\^\[)/m.test(victim.text) &&
      (/^MSG evil a+\n/m.test(victim.text) || evil.text.includes("BYE")),
  );
  await connect("evil", evil, `${ESCAPES}\n${"a".repeat(1 << 20)}\n`);
  await seenAll;
  room.stop();
  const lines = (text: string) => text.split("\n");
  const seen = lines(victim.text).find((line) => line.startsWith("MSG evil")) ?? "";
  const long = lines(victim.text).find((line) => line.startsWith("MSG evil aaa"));
  const refused = lines(evil.text)
    .filter((line) => /^(ERR|BYE)/.test(line))
    .join(", then ");
  const passedOn = `passed on: ${(long?.length ?? 0).toLocaleString("en-US")} bytes to each member`;
  return { seen, longLine: long ? passedOn : refused };
}

const cli = command(
  "06-chat/06-hostile-lines.ts",
  "Hostile lines, in a room without the guards, then with them.",
  {
    json: flag.bool("print one JSON document instead of text"),
  },
);

if (import.meta.main) {
  const { json } = cli.parse();
  const open = await hostileLines(false);
  const guarded = await hostileLines(true);
  if (json) console.log(JSON.stringify({ unguarded: open, guarded }, null, 2));
  else {
    // JSON.stringify, so that this terminal does not obey the escapes either.
    console.log("escape sequences, as another member gets them:");
    console.log(`  passed on raw:  ${JSON.stringify(open.seen)}`);
    console.log(`  with clean():   ${JSON.stringify(guarded.seen)}`);
    console.log("a 1 MiB line:");
    console.log(`  no limit:       ${open.longLine}`);
    console.log(`  64 KiB at most: ${guarded.longLine}`);
  }
  process.exit(0);
}
