/**
 * @title One at a time
 * @summary Serve clients strictly one after another: while one has its turn, a newcomer hears "busy".
 * @run bun run 04-server/04-one-at-a-time.ts [--host 127.0.0.1] [--port 5000] [--max-clients N] [--max-line 65536] [--idle 60]
 * @python server-04.py
 * @serves tcp "hello\n" -> /hello\n/
 * @limits one at a time · idle --idle · memory 100 MiB
 *
 * The Python lab looped accept() ten times and served each client to its end before the
 * next. Bun accepts every connection itself, so "one at a time" is a rule the server keeps:
 * a turn. The client whose turn it is gets its lines back until it sends an empty line; one
 * that comes meanwhile hears "busy" and is closed (lesson 05 lets it wait instead). Try two
 * `nc` at once. --max-clients N: exit after N turns, as the lab did after ten.
 */
import { command, flag, peerOf, serve } from "../lib/cli.ts";
import { IdleTimer, LineReader, MAX_LINE_BYTES, Outbox } from "../lib/stream.ts";

/** Echoes one client's lines until it sends an empty line; anyone else meanwhile is busy. */
export function serveInTurn(host: string, port: number, options: Rules = {}, log = LOG) {
  const { maxClients = Infinity, maxLine = MAX_LINE_BYTES, idle = 60 } = options;
  let current: Turn | undefined;
  let served = 0;
  const allServed = Promise.withResolvers<number>();
  const listener = Bun.listen<Turn | undefined>({
    hostname: host,
    port,
    socket: {
      open(socket) {
        const lines = new LineReader(maxLine, (bytes) => bytes);
        socket.data = { peer: peerOf(socket), lines, outbox: new Outbox(socket), echoed: 0 };
        admit(socket.data, true);
      },
      // Only the client whose turn it is is read: the others are told busy and closed.
      data(socket, chunk) {
        const turn = socket.data;
        if (turn === undefined || turn !== current) return;
        turn.lines.push(chunk);
        answer(turn);
      },
      drain: (socket) => socket.data?.outbox.flush(),
      close(socket) {
        const turn = socket.data;
        if (turn === undefined) return;
        turn.gone = true;
        if (turn === current) endTurn(turn, "disconnected");
      },
    },
  });

  /** Its turn, if nobody has it; else "busy", after a second look. */
  function admit(turn: Turn, firstLook: boolean): void {
    if (turn.gone) return;
    if (!firstLook) turn.outbox.release();
    if (served + (current ? 1 : 0) >= maxClients)
      refuse(turn, `sorry: this server serves ${maxClients} clients and then exits`);
    else if (current === undefined) startTurn(turn);
    // The client whose turn it was may be leaving, the news still on its way in. Look again
    // a tenth of a second later, meanwhile not reading what this one sends.
    else if (firstLook) {
      turn.outbox.hold();
      setTimeout(() => admit(turn, false), 100);
    } else refuse(turn, "busy: one client at a time; try later");
  }

  function startTurn(turn: Turn): void {
    current = turn;
    const over = `idle for ${idle} s: your turn is over\n`;
    turn.idle = new IdleTimer(idle * 1000, () => endTurn(turn, "idle", over));
    turn.outbox.send("your turn: each line comes back; an empty line ends your turn\n");
    log(`${turn.peer} is being served`);
  }

  /** Echoes the whole lines read so far; an empty line, or one too long, ends the turn. */
  function answer(turn: Turn): void {
    for (const line of turn.lines) {
      if (line.length === 0) {
        endTurn(turn, "empty line");
        return;
      }
      turn.outbox.send(Buffer.concat([line, NEWLINE]));
      turn.echoed++;
      turn.idle?.touch();
    }
    const error = `error: line longer than ${maxLine} bytes; closing\n`;
    if (turn.lines.tooLong) endTurn(turn, "line too long", error);
    else if (turn.outbox.full) log(`${turn.peer} does not read its echoes: not reading it now`);
  }

  /** Its turn is over (with a last word, maybe): the next client may come. */
  function endTurn(turn: Turn, why: string, last = ""): void {
    turn.idle?.stop();
    turn.outbox.send(last);
    turn.outbox.end();
    current = undefined;
    served++;
    log(`${turn.peer} done (${why}), ${turn.echoed} line(s) echoed`);
    if (served < maxClients) return;
    listener.stop();
    allServed.resolve(served);
  }

  function refuse(turn: Turn, why: string): void {
    turn.outbox.send(`${why}\n`);
    turn.outbox.end();
    log(`${turn.peer} turned away: ${why}`);
  }
  return { tcp: listener, allServed: allServed.promise, stop: () => listener.stop(true) };
}

/** The rules, from the command line; `idle` in seconds. */
export type Rules = { maxClients?: number; maxLine?: number; idle?: number };
const LOG = (_: string): void => {};
const NEWLINE = Buffer.from("\n");

type Turn = {
  peer: string;
  lines: LineReader<Buffer>;
  outbox: Outbox;
  echoed: number;
  idle?: IdleTimer;
  gone?: boolean;
};

const cli = command(
  "04-server/04-one-at-a-time.ts",
  "Echoes lines for one TCP client at a time; an empty line ends a turn.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(5000, "port to listen on; 0 takes any free one"),
    "max-clients": flag.whole(undefined, "exit after N turns, else never", { min: 1, max: 1e6 }),
    "max-line": flag.whole(MAX_LINE_BYTES, "longest line accepted, in bytes", { min: 1 }),
    idle: flag.whole(60, "seconds a client may go without a whole line", { min: 1, max: 1e6 }),
  },
);

if (import.meta.main) {
  const { host, port, "max-clients": maxClients, "max-line": maxLine, idle } = cli.parse();
  const start = () => serveInTurn(host, port, { maxClients, maxLine, idle }, console.log);
  const server = await serve(host, port, start, "open two terminals:  nc HOST PORT");
  console.log(`served all ${await server.allServed} clients: exiting`);
}
