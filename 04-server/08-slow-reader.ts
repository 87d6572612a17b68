/**
 * @title Slow reader
 * @summary A client that sends and never reads grows a naive echo server's queue with every byte; an Outbox stops reading it instead.
 * @run bun run 04-server/08-slow-reader.ts [--send 64] [--json]
 * @python new
 *
 * `write()` takes only what fits in the kernel's buffer towards the client. A naive server
 * keeps the rest and goes on reading, so a client that sends and never reads grows its queue
 * by every byte it sends. An `Outbox` (lib/stream.ts) keeps the rest too, but above its
 * high-water mark (1 MiB) it pauses reading: the client's sends then stall in its own kernel.
 */
import type { Socket } from "bun";
import { command, flag } from "../lib/cli.ts";
import { Outbox } from "../lib/stream.ts";

/** An echo whose Outboxes stop reading above `highWater` bytes; with Infinity, the naive one. */
export function echoServer(highWater: number) {
  const outboxes: Outbox[] = [];
  const listener = Bun.listen<Outbox | undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = new Outbox(socket, { highWater });
        outboxes.push(socket.data);
      },
      data: (socket, chunk) => socket.data?.send(chunk),
      drain: (socket) => socket.data?.flush(),
    },
  });
  // What waits in this server's memory, for all its clients.
  const queued = () => outboxes.reduce((sum, box) => sum + box.queuedBytes, 0);
  return Object.assign(listener, { queued });
}

/** Offers `bytes` to a server of that `highWater` for `ms`, never reading: sent, and kept. */
export async function slowReader(highWater: number, bytes: number, ms: number) {
  const server = echoServer(highWater);
  const data = new Uint8Array(bytes).fill(120);
  let sent = 0;
  // As much as the kernel takes now; more on each `drain`.
  const push = (socket: Socket): void => {
    sent += Math.max(0, socket.write(data.subarray(sent)));
  };
  const handlers = { data() {}, drain: push, error() {} };
  const socket = await Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: handlers });
  // It never reads: the echo piles up in its kernel, then in the server.
  socket.pause();
  push(socket);
  await Bun.sleep(ms);
  const queued = server.queued();
  socket.terminate();
  server.stop(true);
  return { sent, queued };
}

const MiB = 1024 * 1024;

const cli = command(
  "04-server/08-slow-reader.ts",
  "A client that never reads, against a naive echo and one with an Outbox, a second each.",
  {
    send: flag.whole(64, "MiB the client tries to send to each server", { min: 1, max: 256 }),
    json: flag.bool("print one JSON document instead of text"),
  },
);

if (import.meta.main) {
  const { send, json } = cli.parse();
  const runs = {
    naive: await slowReader(Number.POSITIVE_INFINITY, send * MiB, 1_000),
    Outbox: await slowReader(MiB, send * MiB, 1_000),
  };
  const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
  if (json) console.log(JSON.stringify(runs));
  else
    for (const [who, { sent, queued }] of Object.entries(runs))
      console.log(`${who}: the client sent ${mib(sent)}; the server holds ${mib(queued)}`);
}
