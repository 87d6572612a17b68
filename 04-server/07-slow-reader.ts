/**
 * @title Slow reader
 * @summary A client that sends and never reads grows a naive echo server's queue with every byte; an Outbox stops reading it instead.
 * @run bun run 04-server/07-slow-reader.ts [--send 64] [--json]
 * @python new
 *
 * `write()` takes only what fits in the kernel's buffer towards the client and returns how
 * much that was. A naive server keeps the rest in a queue and goes on reading, so a client
 * that sends and never reads grows that queue by every byte it sends. An `Outbox`
 * (lib/stream.ts) keeps the rest too, but above its high-water mark (1 MiB) it pauses
 * reading: the client's sends then stall in its own kernel. Without a mark it is the naive one.
 */
import type { Socket } from "bun";
import { command, flag } from "../lib/cli.ts";
import { Outbox } from "../lib/stream.ts";

/**
 * An echo server whose Outboxes pause reading above `highWater` bytes waiting. With no
 * high-water mark (Infinity) it is the naive server: it keeps all and never stops reading.
 */
export function echoServer(highWater: number) {
  const outboxes = new Set<Outbox>();
  const listener = Bun.listen<Outbox | undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = new Outbox(socket, { highWater });
        outboxes.add(socket.data);
      },
      data(socket, chunk) {
        socket.data?.send(chunk);
      },
      drain(socket) {
        socket.data?.flush();
      },
      close(socket) {
        if (socket.data) outboxes.delete(socket.data);
      },
    },
  });
  // What waits in this server's memory, for all its clients.
  const queued = () => [...outboxes].reduce((sum, outbox) => sum + outbox.queuedBytes, 0);
  return { listener, queued };
}

/** Sends up to `bytes` as fast as the kernel takes them, never reading: how much went in `ms`. */
export async function slowReader(port: number, bytes: number, ms: number): Promise<number> {
  const block = new Uint8Array(64 * 1024).fill(120);
  let sent = 0;
  const push = (socket: Socket): void => {
    while (sent < bytes) {
      const size = Math.min(block.length, bytes - sent);
      const written = socket.write(block.subarray(0, size));
      sent += Math.max(0, written);
      if (written < size) return;
    }
  };
  const handlers = { data() {}, drain: push, error() {} };
  const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: handlers });
  // It never reads: the echo piles up in its kernel, then in the server.
  socket.pause();
  push(socket);
  await Bun.sleep(ms);
  socket.terminate();
  return sent;
}

const MiB = 1024 * 1024;

const cli = command(
  "04-server/07-slow-reader.ts",
  "A client that never reads, against a naive echo and one with an Outbox, a second each.",
  {
    send: flag.whole(64, "MiB the client tries to send to each server", { min: 1, max: 1024 }),
    json: flag.bool("print one JSON document instead of text"),
  },
);

if (import.meta.main) {
  const { send, json } = cli.parse();
  const naive = echoServer(Number.POSITIVE_INFINITY);
  const guarded = echoServer(1024 * 1024);
  const naiveSent = await slowReader(naive.listener.port, send * MiB, 1_000);
  const naiveQueued = naive.queued();
  const outboxSent = await slowReader(guarded.listener.port, send * MiB, 1_000);
  const outboxQueued = guarded.queued();
  naive.listener.stop(true);
  guarded.listener.stop(true);
  const figures = { naiveSent, naiveQueued, outboxSent, outboxQueued };
  if (json) console.log(JSON.stringify(figures));
  else {
    const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
    console.log(`naive: the client sent ${mib(naiveSent)}; the server holds ${mib(naiveQueued)}`);
    console.log(
      `Outbox: the client could send ${mib(outboxSent)}; the server holds ${mib(outboxQueued)}`,
    );
  }
}
