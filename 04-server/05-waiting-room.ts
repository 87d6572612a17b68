/**
 * @title Waiting room
 * @summary Serve one client at a time while the next few wait in a bounded room, told their place, read only a line ahead.
 * @run bun run 04-server/05-waiting-room.ts [--host 127.0.0.1] [--port 5000] [--queue 10] [--max-line 65536] [--idle 60]
 * @python server-04.py
 * @serves tcp "hello\n" -> /hello\n/
 * @limits one at a time · idle --idle · memory 100 MiB
 *
 * In the Python lab the next client sat in the kernel's backlog, unanswered. Here it waits
 * in a room of --queue places and hears how many are ahead; the next in line hears "you are
 * next". What it sends waits for its turn, but only a line's worth: then `outbox.hold()`
 * stops reading it, and its bytes wait in its own kernel. A full room answers "busy". Try
 * three `nc` at once; an empty line ends a turn.
 */
import { command, flag, peerOf, serve } from "../lib/cli.ts";
import { IdleTimer, LineReader, MAX_LINE_BYTES, Outbox } from "../lib/stream.ts";

/** Echoes one client's lines until it sends an empty line; the others wait in the room. */
export function serveWithRoom(host: string, port: number, options: Rules = {}, log = LOG) {
  const { queue = 10, maxLine = MAX_LINE_BYTES, idle = 60 } = options;
  // The client being served is line[0]; the others wait behind it, `queue` of them at most.
  const line: Turn[] = [];
  const listener = Bun.listen<Turn | undefined>({
    hostname: host,
    port,
    socket: {
      open(socket) {
        const lines = new LineReader(maxLine, (bytes) => bytes);
        socket.data = { peer: peerOf(socket), lines, outbox: new Outbox(socket) };
        admit(socket.data, true);
      },
      data(socket, chunk) {
        const turn = socket.data;
        if (turn === undefined || turn.outbox.ended) return;
        turn.lines.push(chunk);
        if (turn === line[0]) answer(turn);
        // A waiting client is still read, so we see it leave; what it sends waits for its
        // turn, up to a line's worth: then we stop reading it (its bytes wait in the kernel).
        else if (!turn.held && turn.lines.buffered > maxLine) {
          turn.held = true;
          turn.outbox.hold();
        }
      },
      drain: (socket) => socket.data?.outbox.flush(),
      close(socket) {
        const turn = socket.data;
        if (turn === undefined) return;
        turn.gone = true;
        if (turn === line[0]) endTurn(turn, "disconnected");
        else if (line.includes(turn)) {
          line.splice(line.indexOf(turn), 1);
          log(`${turn.peer} left the room before its turn`);
        }
      },
    },
  });

  /** Its turn at once, or a place in the room; a full room is looked at twice. */
  function admit(turn: Turn, firstLook: boolean): void {
    if (turn.gone) return;
    if (line.length <= queue) {
      line.push(turn);
      if (line.length === 1) startTurn(turn);
      else {
        turn.outbox.send(`you are in the queue, ${line.length - 1} ahead of you\n`);
        log(`${turn.peer} waits: ${line.length - 1} ahead of it`);
      }
    }
    // Clients that just left may not be counted out yet: the news is still on its way in.
    // Look again a tenth of a second later before saying busy.
    else if (firstLook) setTimeout(() => admit(turn, false), 100);
    else {
      turn.outbox.send(`busy: ${queue} clients wait already; try later\n`);
      turn.outbox.end();
      log(`${turn.peer} turned away: the room is full`);
    }
  }

  function startTurn(turn: Turn): void {
    const over = `idle for ${idle} s: your turn is over\n`;
    turn.idle = new IdleTimer(idle * 1000, () => endTurn(turn, "idle", over));
    turn.outbox.send("your turn: each line comes back; an empty line ends your turn\n");
    if (turn.held) turn.outbox.release();
    log(`${turn.peer} is being served`);
    // Only the next in line hears news: telling every waiting client its new place at
    // every turn would cost a write per waiting client per turn.
    line[1]?.outbox.send("you are next\n");
    answer(turn);
  }

  /** Echoes the whole lines read so far; an empty line, or one too long, ends the turn. */
  function answer(turn: Turn): void {
    for (const text of turn.lines) {
      if (text.length === 0) {
        endTurn(turn, "empty line");
        return;
      }
      turn.outbox.send(Buffer.concat([text, NEWLINE]));
      turn.idle?.touch();
    }
    const error = `error: line longer than ${maxLine} bytes; closing\n`;
    if (turn.lines.tooLong) endTurn(turn, "line too long", error);
  }

  /** Its turn is over (with a last word, maybe): the next in line is served. */
  function endTurn(turn: Turn, why: string, last = ""): void {
    turn.idle?.stop();
    turn.outbox.send(last);
    turn.outbox.end();
    line.shift();
    log(`${turn.peer} done (${why})`);
    if (line[0]) startTurn(line[0]);
  }
  return { tcp: listener, stop: () => listener.stop(true) };
}

/** The room's rules, from the command line; `idle` in seconds. */
export type Rules = { queue?: number; maxLine?: number; idle?: number };
const LOG = (_: string): void => {};
const NEWLINE = Buffer.from("\n");

type Turn = {
  peer: string;
  lines: LineReader<Buffer>;
  outbox: Outbox;
  idle?: IdleTimer;
  /** It sent more than a line while waiting: not read until its turn. */
  held?: boolean;
  gone?: boolean;
};

const cli = command(
  "04-server/05-waiting-room.ts",
  "Echoes lines for one TCP client at a time, while the next few wait in a room.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(5000, "port to listen on; 0 takes any free one"),
    queue: flag.whole(10, "how many may wait for their turn; more are told busy", { min: 1 }),
    "max-line": flag.whole(MAX_LINE_BYTES, "longest line accepted, in bytes", { min: 1 }),
    idle: flag.whole(60, "seconds a client may go without a whole line", { min: 1, max: 1e6 }),
  },
);

if (import.meta.main) {
  const { host, port, queue, "max-line": maxLine, idle } = cli.parse();
  const start = () => serveWithRoom(host, port, { queue, maxLine, idle }, console.log);
  await serve(host, port, start, "open three terminals:  nc HOST PORT");
}
