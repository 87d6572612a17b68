/**
 * @title TCP calculator server
 * @summary Answer one calculation per line over TCP: `12 + 30` in, `OK 42` out, every error a reply.
 * @run bun run 05-calc/01-tcp-server.ts [--host 127.0.0.1] [--port 65432] [--idle 60]
 * @python tcp/server_calc.py
 * @serves tcp "12 + 30\n" -> "OK 42\n"
 * @limits idle --idle · memory 100 MiB
 *
 * Talk to it with `nc 127.0.0.1 65432`: each line you type gets one line back, `OK 42`
 * or `ERR division-by-zero: cannot divide by zero`. The Python lab trusted one
 * `recv(1024)` to hold one request; TCP is a byte stream, so a LineReader cuts it into
 * lines, and a line over 1024 bytes ends the connection. One thread serves every client,
 * so no client may keep it long: a client's lines are answered 1024 at a time, then the
 * others come first, and `isprime` of a big prime gets `ERR too-heavy` (lesson 06 shows
 * what it would cost).
 */
import type { Socket } from "bun";
import { command, flag, peerOf, serve } from "../lib/cli.ts";
import { IdleTimer, LineReader, Outbox } from "../lib/stream.ts";
import { answer, LINE_TOO_LONG, MAX_LINE_BYTES, QUICK_DIVISOR, TCP_PORT } from "./protocol.ts";

export function startTcpServer({ host = "127.0.0.1", port = TCP_PORT, idle = 60, log = print }) {
  const listener = Bun.listen<Client>({
    hostname: host,
    port,
    // A client may send its last request, then FIN, and still want the reply.
    allowHalfOpen: true,
    socket: {
      open(socket) {
        socket.data = newClient(socket, idle, log);
        log(`${socket.data.peer} connected`);
      },
      data(socket, chunk) {
        socket.data.reader.push(chunk);
        answerLines(socket.data);
      },
      // The kernel took our replies: answer the lines that waited for room.
      drain(socket) {
        socket.data.outbox.flush();
        answerLines(socket.data);
      },
      end(socket) {
        socket.data.finished = true;
        answerLines(socket.data);
      },
      // A client that resets at once may be gone before `open` has run: no data then.
      close(socket) {
        const client = socket.data as Client | undefined;
        client?.idle.stop();
        if (client) log(`${client.peer} left after ${client.requests} request(s)`);
      },
      error() {},
    },
  });
  return { tcp: { port: listener.port }, stop: () => listener.stop(true) };
}

/**
 * Answers the complete lines in order, a turn at a time: at most LINES_PER_TURN, then the
 * other clients come first. A client with too many replies unread is not answered at all
 * until the kernel has taken some (`drain`).
 */
function answerLines(client: Client): void {
  if (client.outbox.full) return;
  let replies = "";
  let answered = 0;
  for (const line of client.reader) {
    replies += `${answer(line, QUICK_DIVISOR)}\n`;
    answered++;
    if (answered === LINES_PER_TURN) break;
  }
  client.requests += answered;
  if (answered > 0) {
    client.idle.touch();
    // The replies to these lines leave now, in one write.
    client.outbox.send(replies);
    client.outbox.flush();
  }
  if (answered === LINES_PER_TURN) {
    // More may wait: the others first. Not read meanwhile, so its lines stay bounded.
    client.outbox.hold();
    setImmediate(() => {
      client.outbox.release();
      answerLines(client);
    });
  } else if (client.reader.tooLong) {
    client.outbox.send(LINE_TOO_LONG);
    client.outbox.end();
  } else if (client.finished) {
    // Its FIN ends its last line, even without "\n".
    const last = client.reader.rest();
    if (last !== undefined) client.outbox.send(`${answer(last, QUICK_DIVISOR)}\n`);
    client.outbox.end();
  }
}

/** Lines answered for one client before the others get their turn (a millisecond or so). */
const LINES_PER_TURN = 1024;

type Client = ReturnType<typeof newClient>;

function newClient(socket: Socket<unknown>, idle: number, log: (line: string) => void) {
  const peer = peerOf(socket);
  const timer = new IdleTimer(idle * 1000, () => {
    log(`${peer} sent no request for ${idle} s: closing`);
    socket.end();
  });
  const reader = new LineReader(MAX_LINE_BYTES);
  return {
    peer,
    reader,
    outbox: new Outbox(socket),
    idle: timer,
    requests: 0,
    finished: false,
  };
}

const print = (line: string): void => console.log(line);

const cli = command("05-calc/01-tcp-server.ts", "The TCP calculator: one calculation a line.", {
  host: flag.listen("127.0.0.1"),
  port: flag.port(TCP_PORT, "port to listen on; 0 takes any free port"),
  idle: flag.decimal(60, "close a client idle this many seconds", { min: 0.1, max: 86_400 }),
});

if (import.meta.main) {
  const options = cli.parse();
  const start = () => startTcpServer(options);
  await serve(options.host, options.port, start, "try  nc HOST PORT  and type 12 + 30");
}
