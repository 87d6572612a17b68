/**
 * @title Many at once
 * @summary Serve every client at the same time, each with its own line buffer, counter and idle timer.
 * @run bun run 04-server/05-many-at-once.ts [--host 127.0.0.1] [--port 5000] [--max-line 65536] [--idle 60]
 * @python server-05.py
 * @serves tcp "hello\n" -> /hello\n/
 * @limits idle --idle · memory 100 MiB
 *
 * The Python lab gave each client a thread (start_new_thread(clientthread, ...)) that blocked in
 * recv(). Bun has one thread and one event loop: it calls `data` with whatever arrived on any
 * connection, and what a thread kept in local variables lives in `socket.data`. Nothing may block,
 * so limits are events and timers: a client that stops reading its echoes is paused (we stop
 * reading from it until it catches up), one that stays quiet for --idle seconds is closed.
 */
import type { Socket, TCPSocketListener } from "bun";
import { formatEndpoint, listenOrExit, parseServerArgs, stopOnSignals } from "./cli.ts";
import { Outbox } from "./02-accept.ts";
import { LineBuffer, LineTooLongError, MAX_LINE_BYTES } from "./03-echo-once.ts";

/** One client's state: what a thread per client would have kept in its local variables. */
interface Connection {
  number: number;
  peer: string;
  lines: LineBuffer;
  outbox: Outbox;
  echoed: number;
  bytesIn: number;
  paused: boolean;
  idle: Timer;
}

export interface ManyOptions {
  maxLineBytes?: number;
  idleMs?: number;
  /** Echoes a client has not read yet; past this we stop reading from it. */
  maxPendingBytes?: number;
  log?: (message: string) => void;
}

export type ConnectionStats = Omit<Connection, "lines" | "outbox" | "idle"> & {
  pendingBytes: number;
};

export function serveMany(
  host: string,
  port: number,
  options: ManyOptions = {},
): { listener: TCPSocketListener<Connection>; connections: () => ConnectionStats[] } {
  const { maxLineBytes = MAX_LINE_BYTES, idleMs = 60_000, maxPendingBytes = 2 ** 20 } = options;
  const log = options.log ?? (() => {});
  const live = new Set<Socket<Connection>>();
  let connected = 0;

  const sayAndClose = (socket: Socket<Connection>, message: string, why: string): void => {
    if (socket.data.outbox.finished) return; // already saying goodbye
    socket.data.outbox.send(message);
    socket.data.outbox.finish();
    log(`client #${socket.data.number}: ${why}`);
  };

  const listener = Bun.listen<Connection>({
    hostname: host,
    port,
    allowHalfOpen: true, // after the client's FIN we still owe it a goodbye line
    socket: {
      open(socket) {
        const number = ++connected;
        const peer = formatEndpoint(socket.remoteAddress, socket.remotePort);
        // Our own idle timer: socket.timeout() is coarse and not reset by traffic.
        const idle = setTimeout(() => {
          sayAndClose(socket, `idle for ${idleMs / 1000} s: closing\n`, "idle, so closed");
        }, idleMs);
        const lines = new LineBuffer(maxLineBytes);
        const outbox = new Outbox(socket);
        socket.data = { number, peer, lines, outbox, echoed: 0, bytesIn: 0, paused: false, idle };
        live.add(socket);
        outbox.send(`hello client #${number}: every line comes back; end your input to leave\n`);
        log(`client #${number} (${peer}) connected; ${live.size} connected now`);
      },
      data(socket, chunk) {
        const client = socket.data;
        if (client.outbox.finished) return; // being closed: drop what it still sends
        client.idle.refresh();
        client.bytesIn += chunk.length;
        try {
          for (const line of client.lines.push(chunk)) {
            client.outbox.send(Buffer.concat([line, Buffer.from("\n")]));
            client.echoed++;
          }
        } catch (error) {
          if (!(error instanceof LineTooLongError)) throw error;
          return sayAndClose(socket, `error: ${error.message}; closing\n`, error.message);
        }
        // Backpressure: if it does not read its echoes, stop reading what it sends. Its bytes
        // then wait in the kernel, its own writes block, and our memory for it stays bounded.
        if (!client.paused && client.outbox.pendingBytes > maxPendingBytes) {
          socket.pause();
          client.paused = true;
          log(`client #${client.number} is not reading: stopped reading from it`);
        }
      },
      drain(socket) {
        const client = socket.data;
        client.outbox.flush();
        client.idle.refresh(); // it is reading: that is activity too
        if (client.paused && client.outbox.pendingBytes === 0) {
          socket.resume();
          client.paused = false;
          log(`client #${client.number} caught up: reading from it again`);
        }
      },
      end(socket) {
        sayAndClose(socket, `you sent ${socket.data.echoed} line(s), bye\n`, "ended its input");
      },
      close(socket) {
        clearTimeout(socket.data.idle);
        live.delete(socket);
        log(`client #${socket.data.number} left; ${live.size} connected now`);
      },
    },
  });

  const connections = (): ConnectionStats[] =>
    [...live].map(({ data }) => {
      const { number, peer, echoed, bytesIn, paused } = data;
      return { number, peer, echoed, bytesIn, paused, pendingBytes: data.outbox.pendingBytes };
    });
  return { listener, connections };
}

const usage = `usage: bun run 04-server/05-many-at-once.ts [--host 127.0.0.1] [--port 5000] [--max-line 65536] [--idle 60]

Echoes lines for any number of TCP clients at once, until Ctrl-C.
  --host IP        address to listen on (127.0.0.1, ::1, 0.0.0.0, ...)
  --port N         port to listen on, 0 = any free port (default 5000)
  --max-line N     longest line accepted, in bytes (default ${MAX_LINE_BYTES})
  --idle S         close a client silent for S seconds (default 60)`;

if (import.meta.main) {
  const defaults = { "max-line": MAX_LINE_BYTES, idle: 60 };
  const { host, port, counts } = parseServerArgs(usage, defaults);
  const options = { maxLineBytes: counts["max-line"], idleMs: counts.idle * 1000 };
  const { listener } = listenOrExit(
    () => serveMany(host, port, { ...options, log: console.log }),
    host,
    port,
  );
  stopOnSignals(() => listener.stop(true)); // before `listening on`: see cli.ts
  console.log(`listening on ${formatEndpoint(listener.hostname, listener.port)} (tcp)`);
}
