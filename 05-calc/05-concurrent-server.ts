/**
 * @title Concurrent calculator server
 * @summary Serve many TCP clients at once on one event loop, and watch the one thing it cannot do.
 * @run bun run 05-calc/05-concurrent-server.ts [--host 127.0.0.1] [--port 65432] [--stall-ms 50]
 * @python server_calc_conc.py
 * @serves tcp "12 + 30\n" -> "OK 42\n"
 * @limits idle --idle · memory 100 MiB
 *
 * The lab gave each client a thread blocked in `recv()`. Here one thread asks the kernel which
 * sockets have bytes (epoll) and runs that socket's handler: an idle client costs a few hundred
 * bytes, not a thread. But a handler runs to the end before any other socket is looked at, so
 * CPU-bound work (`isprime 9007199254740881`: about a second) makes every client wait. The
 * server logs each such stall; lesson 06 moves that work off the loop.
 */
import type { Socket } from "bun";
import { parseArgs } from "node:util";
import { type Connection, flush, newConnection, tooLong } from "./01-tcp-server.ts";
import { type CalcServer, commandLine, parseFlag, parsePort } from "./command-line.ts";
import { serve, type ServerOptions } from "./command-line.ts";
import { answer as calculate, err, show, TCP_PORT } from "./protocol.ts";

/** What computes a reply: at once (a string) or later (a promise, as lesson 06's workers do). */
export type Answer = (line: string) => string | Promise<string>;

interface Client extends Connection {
  id: number;
  /** No more requests taken (line too long, or the client sent FIN); replies still go out. */
  done: boolean;
  /** Replies still being computed, chained in request order; `waiting` counts them. */
  queue: Promise<void>;
  waiting: number;
}

export function startConcurrentServer({
  host = "127.0.0.1",
  port = TCP_PORT,
  log = console.log,
  answer = calculate,
  stallMs = 50,
}: ServerOptions & { answer?: Answer; stallMs?: number } = {}): CalcServer & { clients(): number } {
  const clients = new Set<Socket<Client>>();
  let [served, mostAtOnce, requests] = [0, 0, 0];

  /** Queues a reply behind the ones still being computed, so replies keep request order. */
  const deliver = (socket: Socket<Client>, reply: string | Promise<string>, then = () => {}) => {
    const client = socket.data;
    if (typeof reply === "string" && client.waiting === 0) {
      client.replies += reply; // sent with the rest of this chunk's replies, in one write
      return then();
    }
    client.waiting++;
    client.queue = client.queue.then(async () => {
      client.replies += await reply;
      client.waiting--;
      then();
      flush(socket);
    });
  };

  const timed = (client: Client, line: string): string | Promise<string> => {
    [client.requests, requests] = [client.requests + 1, requests + 1];
    const started = performance.now();
    const reply = answer(line);
    const took = performance.now() - started;
    // Nothing else ran meanwhile: no other client's request, not even an accept.
    if (took >= stallMs) log(`${show(line)} held the event loop for ${took.toFixed(0)} ms`);
    if (typeof reply === "string") return `${reply}\n`;
    return reply.then(
      (text) => `${text}\n`,
      () => `${err("internal", "the server failed")}\n`,
    );
  };

  const listener = Bun.listen<Client>({
    hostname: host,
    port,
    allowHalfOpen: true,
    socket: {
      open(socket) {
        const queue = Promise.resolve();
        socket.data = {
          ...newConnection(socket, log),
          id: ++served,
          done: false,
          queue,
          waiting: 0,
        };
        clients.add(socket);
        mostAtOnce = Math.max(mostAtOnce, clients.size);
        log(`client #${served} (${socket.data.peer}) connected; ${clients.size} connected`);
      },
      data(socket, chunk) {
        const client = socket.data;
        if (client.done) return; // after ERR line-too-long: read and drop
        const { lines, overflow } = client.lines.push(chunk);
        for (const line of lines) deliver(socket, timed(client, line));
        client.done = overflow;
        if (overflow) deliver(socket, tooLong, () => (client.closing = true));
        flush(socket); // and, past flush's HIGH_WATER, stops reading a client that does not read
      },
      end(socket) {
        const client = socket.data;
        const last = client.done ? null : client.lines.rest();
        client.done = true;
        if (last !== null) deliver(socket, timed(client, last));
        deliver(socket, "", () => (client.closing = client.peerEnded = true));
        flush(socket);
      },
      drain: flush,
      close(socket) {
        clients.delete(socket);
        const { id, requests } = socket.data;
        log(`client #${id} left after ${requests} request(s); ${clients.size} connected`);
      },
      error(socket, error) {
        log(`client #${socket.data.id}: ${error.message}`);
      },
    },
  });
  return {
    port: listener.port,
    clients: () => clients.size,
    stop() {
      listener.stop(true);
      log(`stopped: ${served} client(s), at most ${mostAtOnce} at once, ${requests} request(s)`);
    },
  };
}

const usage = `usage: bun run 05-calc/05-concurrent-server.ts [--host 127.0.0.1] [--port 65432] [--stall-ms 50]
  --host      address to listen on (default 127.0.0.1; ::1 for IPv6)
  --port      port to listen on (default 65432; 0 = any free port)
  --stall-ms  log every request that holds the event loop this long (default 50)`;

if (import.meta.main) {
  const { values, port, stallMs } = commandLine(usage, () => {
    const { values } = parseArgs({
      options: {
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: String(TCP_PORT) },
        "stall-ms": { type: "string", default: "50" },
        help: { type: "boolean", short: "h" },
      },
    });
    const stallMs = parseFlag("stall-ms", values["stall-ms"], 0, 60_000);
    return { values, port: parsePort(values.port), stallMs };
  });
  const { host } = values;
  await serve("tcp", host, port, () => startConcurrentServer({ host, port, stallMs }));
}
