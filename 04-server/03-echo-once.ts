/**
 * @title Echo once
 * @summary Send back the first whole line a client sends, however its bytes arrive, then exit.
 * @run bun run 04-server/03-echo-once.ts [--host 127.0.0.1] [--port 5000] [--max-line 65536] [--idle 60]
 * @python server-03.py
 * @serves tcp "hello\n" -> "hello\n"
 * @limits clients 1 · idle --idle · memory 100 MiB
 *
 * The Python lab called recv(1024) once and echoed whatever came. But TCP is a stream of
 * bytes, not of messages: one `data` event may hold half a line, or two. A `LineReader`
 * (lib/stream.ts) keeps the bytes until a newline comes; the server prints each read, so you
 * can watch `nc` deliver your line. The first whole line is echoed, then it exits. A client
 * that leaves, resets, stays quiet or sends a line over --max-line does not count.
 */
import type { Socket } from "bun";
import { command, flag, peerOf, serve } from "../lib/cli.ts";
import { IdleTimer, LineReader, MAX_LINE_BYTES, Outbox } from "../lib/stream.ts";

/** Echoes the first whole line any client sends; `echoed` resolves with who and what. */
export function echoOnce(host: string, port: number, options: Limits = {}, log = LOG) {
  const { maxLine = MAX_LINE_BYTES, idle = 60 } = options;
  const echoed = Promise.withResolvers<Echoed>();
  const waiting = new Set<Socket<Client | undefined>>();
  const listener = Bun.listen<Client | undefined>({
    hostname: host,
    port,
    socket: {
      open(socket) {
        const peer = peerOf(socket);
        const quiet = `idle for ${idle} s: closing\n`;
        const timer = new IdleTimer(idle * 1000, () => goodbye(socket, quiet, "was quiet"));
        const lines = new LineReader(maxLine, (bytes) => bytes);
        socket.data = { peer, lines, idle: timer, outbox: new Outbox(socket), reads: 0 };
        waiting.add(socket);
        log(`${peer} connected; waiting for a whole line`);
      },
      data(socket, chunk) {
        const client = socket.data;
        if (!client || client.outbox.ended) return;
        client.reads++;
        // A chunk is whatever the kernel had: no line yet, one line, or several.
        const [line] = client.lines.push(chunk);
        if (line !== undefined) {
          listener.stop();
          waiting.delete(socket);
          for (const other of waiting) other.end();
          goodbye(socket, Buffer.concat([line, Buffer.from("\n")]), "sent a whole line: echoed");
          const { peer, reads } = client;
          echoed.resolve({ peer, reads, line: line.toString(), bytes: line.length });
        } else if (client.lines.tooLong) {
          const error = `error: line longer than ${maxLine} bytes; closing\n`;
          goodbye(socket, error, "sent a line too long");
        }
        // Only the first reads show: one byte at a time must not flood the log.
        else if (client.reads <= 10)
          log(`${client.peer}: read ${chunk.length} bytes, no end of line yet: reading again`);
      },
      drain: (socket) => socket.data?.outbox.flush(),
      close(socket) {
        const client = socket.data;
        client?.idle.stop();
        if (!client || !waiting.delete(socket) || client.outbox.ended) return;
        log(`${client.peer} left mid-line (${client.lines.buffered} bytes): still waiting`);
      },
    },
  });

  /** Sends `last`, closes our side once it is out, and says why. */
  function goodbye(socket: Socket<Client | undefined>, last: string | Buffer, why: string) {
    const client = socket.data;
    if (!client || client.outbox.ended) return;
    client.outbox.send(last);
    client.outbox.end();
    client.idle.stop();
    log(`${client.peer} ${why}; ${client.reads} read(s)`);
  }
  return { tcp: listener, echoed: echoed.promise, stop: () => listener.stop(true) };
}

type Client = {
  peer: string;
  reads: number;
  lines: LineReader<Buffer>;
  outbox: Outbox;
  idle: IdleTimer;
};
type Echoed = { peer: string; reads: number; line: string; bytes: number };
/** The limits, from the command line; `idle` in seconds. */
export type Limits = { maxLine?: number; idle?: number };
const LOG = (_: string): void => {};

const cli = command(
  "04-server/03-echo-once.ts",
  "Waits for the first whole line any TCP client sends, sends it back and exits.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(5000, "port to listen on; 0 takes any free one"),
    "max-line": flag.whole(MAX_LINE_BYTES, "longest line accepted, in bytes", { min: 1 }),
    idle: flag.whole(60, "seconds a client may go without a whole line", { min: 1, max: 1e6 }),
  },
);

if (import.meta.main) {
  const { host, port, "max-line": maxLine, idle } = cli.parse();
  const start = () => echoOnce(host, port, { maxLine, idle }, console.log);
  const server = await serve(host, port, start, "try  echo hello | nc HOST PORT");
  const { line, bytes, peer } = await server.echoed;
  console.log(`echoed "${line}" (${bytes} bytes) to ${peer}: one client served, so exiting`);
}
