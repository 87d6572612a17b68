/**
 * @title Idle client
 * @summary A client that drips one byte a second keeps a naive server's connection open for ever; an IdleTimer touched only by whole lines closes it.
 * @run bun run 04-server/07-idle-client.ts [--clients 20] [--idle 2] [--json]
 * @python new
 *
 * A server must close clients that make no progress, or they hold its sockets for ever. A
 * naive idle clock is reset by every byte, so a client that drips one byte a second is never
 * idle. Two servers meet the same drippers here: the naive one closes none; an `IdleTimer`
 * (lib/stream.ts) touched only by whole lines closes them all after --idle seconds.
 */
import type { Socket } from "bun";
import { command, flag } from "../lib/cli.ts";
import { IdleTimer, LineReader } from "../lib/stream.ts";

/** A line server whose idle clock `progress` resets: every byte, or only a whole line. */
export function idleServer(idleMs: number, progress: "byte" | "line") {
  return Bun.listen<{ idle: IdleTimer; lines: LineReader } | undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { idle: new IdleTimer(idleMs, () => socket.end()), lines: new LineReader() };
      },
      data(socket, chunk) {
        if (!socket.data) return;
        if (progress === "byte") socket.data.idle.touch();
        // The guard: only a whole line is progress. (This lesson sends the lines nowhere.)
        for (const _line of socket.data.lines.push(chunk)) socket.data.idle.touch();
      },
      close(socket) {
        socket.data?.idle.stop();
      },
    },
  });
}

/** `count` connections that send one byte a second, no newline, for `ms`: how many got closed. */
export async function drip(port: number, count: number, ms: number): Promise<number> {
  const sockets: Socket[] = [];
  const socket = { data() {}, error() {} };
  for (let i = 0; i < count; i++)
    sockets.push(await Bun.connect({ hostname: "127.0.0.1", port, socket }));
  const dripOnce = () => sockets.forEach((each) => each.write("x"));
  dripOnce();
  const ticker = setInterval(dripOnce, 1_000);
  await Bun.sleep(ms);
  clearInterval(ticker);
  // The sockets the server closed are no longer open (readyState 1).
  const closed = sockets.filter((each) => each.readyState !== 1).length;
  for (const each of sockets) each.terminate();
  return closed;
}

const cli = command("04-server/07-idle-client.ts", "Drips into a naive server and a guarded one", {
  clients: flag.whole(20, "dripping connections to each server", { min: 1, max: 1000 }),
  idle: flag.whole(2, "the servers' idle limit, in seconds", { min: 2, max: 60 }),
  json: flag.bool("print one JSON document instead of text"),
});

if (import.meta.main) {
  const { clients, idle, json } = cli.parse();
  const seconds = idle + 2;
  if (!json)
    console.log(`${clients} clients drip one byte a second into each server for ${seconds} s...`);
  const servers = [idleServer(idle * 1000, "byte"), idleServer(idle * 1000, "line")];
  const dripping = servers.map((server) => drip(server.port, clients, seconds * 1000));
  const [naiveClosed, guardedClosed] = await Promise.all(dripping);
  for (const server of servers) server.stop(true);
  const result = { clients, idleSeconds: idle, seconds, naiveClosed, guardedClosed };
  if (json) console.log(JSON.stringify(result));
  else {
    console.log(`naive timer, reset by every byte:  closed ${naiveClosed} of ${clients}`);
    console.log(`IdleTimer, touched by whole lines: closed ${guardedClosed} of ${clients}`);
  }
}
