/**
 * @title Broadcast chat
 * @summary Every line a client sends goes to every other client, with join and leave notices: Beej's select chat, framed.
 * @run bun run 06-chat/01-broadcast.ts [--host 127.0.0.1] [--port 5050] [--idle 300]
 * @python tcp_sockets_python.py#MessageServer
 * @serves tcp "" -> /^HELLO /m
 * @limits idle --idle · memory 100 MiB
 *
 * Run it, then `nc 127.0.0.1 5050` in two terminals and type: each line shows up in the
 * other as `MSG guest1 hello`. A chat server is a set of sockets and one loop: each complete
 * line goes to all the others. "Complete" is what Beej's select() chat leaves out: a `data`
 * event is whatever TCP delivered, half a line or ten, so each client gets a LineReader,
 * which cuts at "\n" and so never splits a UTF-8 character.
 */
import type { Socket } from "bun";
import { command, flag, serve } from "../lib/cli.ts";
import { IdleTimer, LineReader, Outbox } from "../lib/stream.ts";
import { LINES_PER_TURN, MAX_LINE_BYTES, serverLine, TCP_PORT } from "./protocol.ts";

/** The broadcast server: everyone connected is a guest; a line from one goes to the rest. */
export function startBroadcast(host: string, port: number, idleMs: number, log = console.log) {
  const guests: Guests = new Set();
  let count = 0;
  return Bun.listen<Guest>({
    hostname: host,
    port,
    socket: {
      open(socket) {
        const name = `guest${++count}`;
        const outbox = new Outbox(socket);
        const idle = new IdleTimer(idleMs, () => outbox.end());
        socket.data = { name, lines: new LineReader(MAX_LINE_BYTES), outbox, idle };
        guests.add(socket);
        outbox.send(serverLine.hello(`you are ${name}: type a line and everyone else reads it`));
      },
      data(socket, chunk) {
        socket.data.lines.push(chunk);
        if (!socket.data.waiting) takeTurn(guests, socket);
      },
      drain(socket) {
        socket.data.outbox.flush();
      },
      close(socket) {
        // A client reset before `open` finished was never a guest.
        if (!guests.delete(socket)) return;
        socket.data.idle.stop();
        if (!socket.data.joined) return;
        everyoneBut(guests, socket, serverLine.leave(socket.data.name, "left"));
        log(`${socket.data.name} left`);
      },
      error() {},
    },
  });
}

/**
 * A turn of a guest: at most LINES_PER_TURN of its lines, then the other guests' turns.
 * Without turns, one client pasting a big file keeps the event loop to itself: in the
 * hostile battery, a new client waited more than a second for its HELLO.
 */
function takeTurn(guests: Guests, socket: Socket<Guest>): void {
  const guest = socket.data;
  let count = 0;
  for (const line of guest.lines) {
    guest.idle.touch();
    speak(guests, socket, line);
    if (++count < LINES_PER_TURN) continue;
    // Read nothing more from it until the others have had their turn.
    guest.waiting = true;
    guest.outbox.hold();
    setImmediate(() => {
      guest.waiting = false;
      guest.outbox.release();
      if (guests.has(socket)) takeTurn(guests, socket);
    });
    return;
  }
  // A line with no end in sight: stop reading it, and close (lesson 06 says why).
  if (guest.lines.tooLong) socket.terminate();
}

/** A guest's line to the others. Its first one makes it join: silent clients announce nothing. */
function speak(guests: Guests, from: Socket<Guest>, text: string): void {
  if (!from.data.joined) everyoneBut(guests, from, serverLine.join(from.data.name));
  from.data.joined = true;
  // Alone, there is no one to tell (and a flood makes no garbage).
  if (guests.size > 1) everyoneBut(guests, from, serverLine.msg(from.data.name, text));
}

function everyoneBut(guests: Guests, from: Socket<Guest>, line: string): void {
  for (const guest of guests) if (guest !== from) guest.data.outbox.send(line);
}

interface Guest {
  name: string;
  lines: LineReader;
  outbox: Outbox;
  idle: IdleTimer;
  /** Its turn is over: its next lines wait for the others' (see `takeTurn`). */
  waiting?: boolean;
  /** Announced to the others yet (see `speak`). */
  joined?: boolean;
}

type Guests = Set<Socket<Guest>>;

const cli = command("06-chat/01-broadcast.ts", "A chat where every line goes to everyone else.", {
  host: flag.listen("127.0.0.1"),
  port: flag.port(TCP_PORT, "port to listen on; 0 takes any free port"),
  idle: flag.decimal(300, "seconds a silent client is kept", { min: 0.1 }),
});

if (import.meta.main) {
  const { host, port, idle } = cli.parse();
  await serve(
    host,
    port,
    () => {
      const listener = startBroadcast(host, port, idle * 1000);
      return { tcp: listener, stop: () => listener.stop(true) };
    },
    "try  nc HOST PORT  in two terminals",
  );
}
