/**
 * @title Many at once
 * @summary Serve every client at the same time, each with its own line reader, counter and idle timer.
 * @run bun run 04-server/06-many-at-once.ts [--host 127.0.0.1] [--port 5000] [--max-line 65536] [--idle 60]
 * @python server-05.py
 * @serves tcp "hello\n" -> /hello\n/
 * @limits idle --idle · memory 150 MiB
 *
 * The Python lab gave each client a thread that blocked in recv(). Bun has one thread and one
 * event loop: it calls `data` with whatever arrived on any connection, and what a thread kept
 * in its local variables lives in `socket.data`. Nothing may block, so limits are objects:
 * an `Outbox` stops reading a client that does not read its echoes (lesson 08), an
 * `IdleTimer` closes one that sends no whole line for --idle seconds (lesson 07).
 */
import { command, flag, peerOf, serve } from "../lib/cli.ts";
import { IdleTimer, LineReader, MAX_LINE_BYTES, Outbox } from "../lib/stream.ts";

/** Echoes every client's lines, all clients at once, until Ctrl-C. */
export function serveMany(host: string, port: number, options: Limits = {}, log = LOG) {
  const { maxLine = MAX_LINE_BYTES, idle = 60 } = options;
  let connected = 0;
  // allowHalfOpen: after the client's FIN we still owe it its last line and a goodbye.
  const listener = Bun.listen<Client | undefined>({
    hostname: host,
    port,
    allowHalfOpen: true,
    socket: {
      open(socket) {
        const number = ++connected;
        log(`client #${number} (${peerOf(socket)}) connected`);
        const lines = new LineReader(maxLine, (bytes) => bytes);
        const quiet = `idle for ${idle} s: closing\n`;
        const timer = new IdleTimer(idle * 1000, () => goodbye(client, quiet, "idle"));
        const client = { number, lines, outbox: new Outbox(socket), idle: timer, echoed: 0 };
        socket.data = client;
        const hello = `hello client #${number}: every line comes back; end your input to leave`;
        client.outbox.send(`${hello}\n`);
      },
      data(socket, chunk) {
        const client = socket.data;
        if (!client || client.outbox.ended) return;
        // The echoes of one read leave together, in one buffer: not an object per line.
        const echoes: Buffer[] = [];
        for (const line of client.lines.push(chunk)) echoes.push(line, NEWLINE);
        echo(client, echoes);
        const tooLong = `error: line longer than ${maxLine} bytes; closing\n`;
        if (client.lines.tooLong) goodbye(client, tooLong, `sent a line over ${maxLine} bytes`);
        // It does not read its echoes: the Outbox stops reading it until it does.
        if (client.outbox.full) log(`client #${client.number} is not reading: stopped reading it`);
      },
      drain: (socket) => socket.data?.outbox.flush(),
      end(socket) {
        const client = socket.data;
        if (!client || client.outbox.ended) return;
        // The client closed its side: a last line without "\n" is still a line.
        const last = client.lines.rest();
        if (last !== undefined) echo(client, [last, NEWLINE]);
        goodbye(client, `you sent ${client.echoed} line(s), bye\n`, "ended its input");
      },
      close(socket) {
        socket.data?.idle.stop();
        if (socket.data) log(`client #${socket.data.number} left`);
      },
    },
  });

  /** Whole lines came: echo them. Only a whole line counts as activity, never a lone byte. */
  function echo(client: Client, echoes: Buffer[]): void {
    if (echoes.length === 0) return;
    client.outbox.send(Buffer.concat(echoes));
    client.echoed += echoes.length / 2;
    client.idle.touch();
  }

  function goodbye(client: Client, last: string, why: string): void {
    if (client.outbox.ended) return;
    client.outbox.send(last);
    client.outbox.end();
    client.idle.stop();
    log(`client #${client.number}: ${why}, so closed after ${client.echoed} line(s)`);
  }
  return { tcp: listener, stop: () => listener.stop(true) };
}

/** One client's state: what a thread per client would have kept in local variables. */
type Client = {
  number: number;
  lines: LineReader<Buffer>;
  outbox: Outbox;
  idle: IdleTimer;
  echoed: number;
};

/** The limits, from the command line; `idle` in seconds. */
export type Limits = { maxLine?: number; idle?: number };
const LOG = (_: string): void => {};
const NEWLINE = Buffer.from("\n");

const cli = command(
  "04-server/06-many-at-once.ts",
  "Echoes lines for any number of TCP clients at once, until Ctrl-C.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(5000, "port to listen on; 0 takes any free one"),
    "max-line": flag.whole(MAX_LINE_BYTES, "longest line accepted, in bytes", { min: 1 }),
    idle: flag.whole(60, "seconds a client may go without a whole line", { min: 1, max: 1e6 }),
  },
);

if (import.meta.main) {
  const { host, port, "max-line": maxLine, idle } = cli.parse();
  const start = () => serveMany(host, port, { maxLine, idle }, console.log);
  await serve(host, port, start, "try  nc HOST PORT  in several terminals at once");
}
