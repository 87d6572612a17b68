/**
 * @title One at a time
 * @summary Serve clients strictly one after another; the next few wait in a bounded room, unanswered.
 * @run bun run 04-server/04-one-at-a-time.ts [--host 127.0.0.1] [--port 5000] [--max-clients N] [--queue 10] [--max-line 65536] [--idle 60]
 * @python server-04.py
 * @serves tcp "hello\n" -> /hello\n/
 * @limits one at a time · idle --idle · memory 100 MiB
 *
 * The Python lab looped accept() ten times: while it echoed one client, the next sat in the
 * kernel's backlog. Bun accepts every connection itself, so here the waiting is explicit: a
 * newcomer joins a room of --queue places and hears how many are ahead; what it sends waits
 * for its turn (past a line's worth, `outbox.hold()` stops reading it). An empty line ends a
 * turn; a full room answers "busy". Try two `nc` at once. --max-clients N: exit after N.
 */
import { command, flag, peerOf, serve } from "../lib/cli.ts";
import { IdleTimer, LineReader, MAX_LINE_BYTES, Outbox } from "../lib/stream.ts";

/** Echoes one client's lines until it sends an empty line; the others wait in the room. */
export function serveInTurn(host: string, port: number, options: TurnOptions = {}) {
  const { maxClients = Number.POSITIVE_INFINITY, queue = 10, idleMs = 60_000 } = options;
  const log = options.log ?? (() => {});
  const room: Turn[] = [];
  let current: Turn | undefined;
  let arrived = 0;
  let served = 0;
  const allServed = Promise.withResolvers<number>();
  const listener = Bun.listen<Turn | undefined>({
    hostname: host,
    port,
    socket: {
      open(socket) {
        const lines = new LineReader(options.maxLineBytes ?? MAX_LINE_BYTES, (bytes) => bytes);
        const outbox = new Outbox(socket);
        const turn: Turn = { number: ++arrived, peer: peerOf(socket), lines, outbox, echoed: 0 };
        socket.data = turn;
        admit(turn, true);
      },
      data(socket, chunk) {
        const turn = socket.data;
        if (turn === undefined || turn.outbox.ended) return;
        turn.lines.push(chunk);
        if (turn === current) answer(turn);
        // A waiting client is still read, so we see it leave; what it sends waits for its
        // turn, up to a line's worth: then we stop reading it (its bytes wait in the kernel).
        else if (!turn.held && turn.lines.buffered > turn.lines.maxBytes) {
          turn.held = true;
          turn.outbox.hold();
        }
      },
      drain(socket) {
        socket.data?.outbox.flush();
      },
      close(socket) {
        const turn = socket.data;
        if (turn === undefined) return;
        turn.gone = true;
        if (turn === current) endTurn(turn, "disconnected");
        else if (room.includes(turn)) {
          room.splice(room.indexOf(turn), 1);
          log(`client #${turn.number} left the queue before its turn`);
        }
      },
    },
  });

  /** Its turn at once, or a place in the room; a full room is looked at twice. */
  function admit(turn: Turn, firstLook: boolean): void {
    if (turn.gone) return;
    if (served + room.length + (current ? 1 : 0) >= maxClients)
      refuse(turn, `sorry: this server serves ${maxClients} clients and then exits`);
    else if (current === undefined) startTurn(turn);
    else if (room.length < queue) {
      room.push(turn);
      turn.outbox.send(`you are in the queue, ${room.length} ahead of you\n`);
      log(`client #${turn.number} (${turn.peer}) waits: ${room.length} ahead of it`);
    }
    // Clients that just left may not be counted out yet: the news is still on its way in.
    // Look again a tenth of a second later before saying busy.
    else if (firstLook) setTimeout(() => admit(turn, false), 100);
    else refuse(turn, `busy: ${queue} clients wait already; try later`);
  }

  function startTurn(turn: Turn): void {
    current = turn;
    turn.idle = new IdleTimer(idleMs, () => {
      turn.outbox.send(`idle for ${idleMs / 1000} s: your turn is over\n`);
      endTurn(turn, "idle");
    });
    turn.outbox.send("your turn: each line comes back; an empty line ends your turn\n");
    if (turn.held) turn.outbox.release();
    log(`client #${turn.number} (${turn.peer}) is being served`);
    // Only the new head of the room hears news: telling every waiting client its new place
    // at every turn would cost a write per waiting client per turn.
    room[0]?.outbox.send("you are next\n");
    answer(turn);
  }

  /** Echoes the whole lines read so far; an empty line, or one too long, ends the turn. */
  function answer(turn: Turn): void {
    // The echoes of one read leave together, in one buffer: not an object per line.
    const echoes: Buffer[] = [];
    let over = false;
    for (const line of turn.lines) {
      over = line.length === 0;
      if (over) break;
      echoes.push(line, NEWLINE);
    }
    if (echoes.length > 0) {
      turn.outbox.send(Buffer.concat(echoes));
      turn.echoed += echoes.length / 2;
      turn.idle?.touch();
    }
    if (over) endTurn(turn, "empty line");
    else if (turn.lines.tooLong) {
      turn.outbox.send(`error: line longer than ${turn.lines.maxBytes} bytes; closing\n`);
      endTurn(turn, "line too long");
    } else if (turn.outbox.full) {
      log(`client #${turn.number} does not read its echoes: not reading it until it does`);
    }
  }

  function endTurn(turn: Turn, why: string): void {
    turn.idle?.stop();
    turn.outbox.end();
    current = undefined;
    served++;
    log(`client #${turn.number} done (${why}), ${turn.echoed} line(s) echoed`);
    const next = room.shift();
    if (next) startTurn(next);
    else if (served >= maxClients) {
      listener.stop();
      allServed.resolve(served);
    }
  }

  function refuse(turn: Turn, why: string): void {
    turn.outbox.send(`${why}\n`);
    turn.outbox.end();
    log(`client #${turn.number} (${turn.peer}) turned away: ${why}`);
  }
  return { tcp: listener, allServed: allServed.promise, stop: () => listener.stop(true) };
}

export interface TurnOptions {
  maxClients?: number;
  queue?: number;
  maxLineBytes?: number;
  idleMs?: number;
  log?: (line: string) => void;
}

const NEWLINE = Buffer.from("\n");

interface Turn {
  number: number;
  peer: string;
  lines: LineReader<Buffer>;
  outbox: Outbox;
  echoed: number;
  idle?: IdleTimer;
  /** It sent more than a line while waiting: not read until its turn. */
  held?: boolean;
  gone?: boolean;
}

const cli = command(
  "04-server/04-one-at-a-time.ts",
  "Echoes lines for one TCP client at a time; an empty line ends a turn.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(5000, "port to listen on; 0 takes any free one"),
    "max-clients": flag.whole(undefined, "exit after serving N clients (default: never)", {
      min: 1,
      max: 1_000_000,
    }),
    queue: flag.whole(10, "how many may wait for their turn; more are told busy", { min: 1 }),
    "max-line": flag.whole(MAX_LINE_BYTES, "longest line accepted, in bytes", { min: 1 }),
    idle: flag.whole(60, "seconds a client may go without a whole line", { min: 1, max: 1e6 }),
  },
);

if (import.meta.main) {
  const flags = cli.parse();
  const options = {
    maxClients: flags["max-clients"],
    queue: flags.queue,
    maxLineBytes: flags["max-line"],
    idleMs: flags.idle * 1000,
    log: console.log,
  };
  const start = () => serveInTurn(flags.host, flags.port, options);
  const server = await serve(flags.host, flags.port, start, "open two terminals:  nc HOST PORT");
  console.log(`served all ${await server.allServed} clients: exiting`);
}
