/**
 * @title Guard: keepalive
 * @summary A member who only reads, and one whose machine vanished: a plain idle limit closes both alike; a keepalive asks first (PING), keeps the one who answers, and closes the one who cannot.
 * @run bun run 06-chat/09-keepalive.ts [--idle 0.5] [--json]
 * @python new
 *
 * Lesson 01 closes anyone silent for --idle seconds, and most people in a chat only read. Yet
 * silence can also mean a half-open connection: the client's machine froze or lost its
 * network, no FIN ever comes, and with no traffic nothing notices. With nicks, that ghost
 * keeps its nick, and the real one, reconnecting, is told it is taken. So room.ts asks: after
 * --idle seconds of silence a `PING`, which any line answers (the terminal client answers by
 * itself); silent as long again, the member is closed.
 */
import { command, flag } from "../lib/cli.ts";
import { ChatConnection } from "./connection.ts";
import { broadcastRoom } from "./room.ts";

/**
 * A room that closes a member after `idleMs` of silence, or first sends a PING (`ping`); in it,
 * a member who only reads (its connection answers PINGs by itself) and a ghost that logs in and
 * then sends nothing. After four times `idleMs`: how each left, and when.
 */
export async function silence(ping: boolean, idleMs: number) {
  const { room, port } = broadcastRoom({ keepaliveMs: idleMs, ping });
  const started = performance.now();
  const after = (): string => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  let reader = "still here";
  let ghost = "still here";
  let ghostSaw = "";
  await ChatConnection.open("127.0.0.1", port, "reader", "pw", {
    onEvent: () => {},
    onClose: () => {
      reader = `closed after ${after()}`;
    },
  });
  // The ghost: it reads, but never sends a line again, as if its machine had vanished.
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data: (_socket, chunk) => {
        ghostSaw += chunk.toString();
      },
      close: () => {
        ghost = `closed after ${after()}`;
      },
    },
  });
  socket.write("/login ghost pw\n");
  await Bun.sleep(idleMs * 4);
  room.stop();
  const told = ghostSaw.split("\n").filter((line) => /^(PING|BYE)/.test(line));
  return { reader, ghost, ghostWasTold: told };
}

const cli = command("06-chat/09-keepalive.ts", "Silent members: an idle limit, then a keepalive.", {
  idle: flag.decimal(0.5, "silent seconds before the close or the PING", { min: 0.1, max: 60 }),
  json: flag.bool("print one JSON document instead of text"),
});

if (import.meta.main) {
  const { idle, json } = cli.parse();
  const plain = await silence(false, idle * 1000);
  const keepalive = await silence(true, idle * 1000);
  if (json) console.log(JSON.stringify({ idle, plain, keepalive }, null, 2));
  else {
    console.log(`--idle ${idle}: a member who only reads, and a ghost that sends nothing ever`);
    const runs = { "plain idle limit": plain, keepalive };
    for (const [name, run] of Object.entries(runs)) {
      console.log(`  ${name}:`);
      console.log(`    the reader: ${run.reader}`);
      console.log(`    the ghost:  ${run.ghost}, told ${run.ghostWasTold.join(", then ")}`);
    }
  }
  process.exit(0);
}
