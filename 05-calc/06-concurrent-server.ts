/**
 * @title Concurrent calculator server
 * @summary Serve many TCP clients at once on one event loop, and watch the one thing it cannot do.
 * @run bun run 05-calc/06-concurrent-server.ts [--host 127.0.0.1] [--port 65432] [--idle 60] [--stall-ms 50]
 * @python server_calc_conc.py
 * @serves tcp "12 + 30\n" -> "OK 42\n"
 * @limits idle --idle · memory 100 MiB
 *
 * The lab gave each client a thread blocked in `recv()`. Here one thread asks the kernel
 * which sockets have bytes (epoll) and runs that socket's handler: an idle client costs
 * a few hundred bytes, not a thread. But a handler runs to its end before any other
 * socket is looked at, so CPU-bound work (`isprime 9007199254740881`: about a second)
 * makes every client wait. This server takes it anyway, and logs each stall; lesson 07
 * moves that work off the loop.
 */
import type { Socket } from "bun";
import { command, flag, peerOf, serve } from "../lib/cli.ts";
import { IdleTimer, LineReader, Outbox } from "../lib/stream.ts";
import { answer, LINE_TOO_LONG, MAX_LINE_BYTES, show, TCP_PORT } from "./protocol.ts";

export function startConcurrentServer(options: Options) {
  const { host = "127.0.0.1", port = TCP_PORT, idle = 60, stallMs = 50, log = print } = options;
  const clients = new Set<Socket<Client>>();
  const totals = { clients: 0, mostAtOnce: 0, requests: 0 };
  /** One reply; while it is computed nothing else runs: no other client, not even an accept. */
  const timed = (line: string): string => {
    totals.requests++;
    const started = performance.now();
    const reply = answer(line);
    const took = performance.now() - started;
    if (took >= stallMs) log(`${show(line)} held the event loop for ${Math.round(took)} ms`);
    return `${reply}\n`;
  };
  const listener = Bun.listen<Client>({
    hostname: host,
    port,
    allowHalfOpen: true,
    socket: {
      open(socket) {
        socket.data = newClient(socket, ++totals.clients, idle, log);
        clients.add(socket);
        totals.mostAtOnce = Math.max(totals.mostAtOnce, clients.size);
        log(`client #${totals.clients} (${peerOf(socket)}) connected; ${clients.size} connected`);
      },
      data(socket, chunk) {
        socket.data.reader.push(chunk);
        answerLines(socket.data, timed);
      },
      drain(socket) {
        socket.data.outbox.flush();
        answerLines(socket.data, timed);
      },
      end(socket) {
        socket.data.finished = true;
        answerLines(socket.data, timed);
      },
      close(socket) {
        const client = socket.data as Client | undefined;
        if (!client) return;
        client.idle.stop();
        clients.delete(socket);
        const left = `left after ${client.requests} request(s)`;
        log(`client #${client.id} ${left}; ${clients.size} connected`);
      },
      error() {},
    },
  });
  return {
    tcp: { port: listener.port },
    clients: () => clients.size,
    stop() {
      listener.stop(true);
      const { clients, mostAtOnce, requests } = totals;
      log(`stopped: ${clients} client(s), at most ${mostAtOnce} at once, ${requests} request(s)`);
    },
  };
}

/** Answers the lines a turn at a time, and none while replies pile up, as lesson 01 does. */
function answerLines(client: Client, reply: (line: string) => string): void {
  if (client.outbox.full) return;
  let replies = "";
  let answered = 0;
  for (const line of client.reader) {
    replies += reply(line);
    answered++;
    if (answered === LINES_PER_TURN) break;
  }
  client.requests += answered;
  if (answered > 0) {
    client.idle.touch();
    client.outbox.send(replies);
    client.outbox.flush();
  }
  if (answered === LINES_PER_TURN) {
    client.outbox.hold();
    setImmediate(() => {
      client.outbox.release();
      answerLines(client, reply);
    });
  } else if (client.reader.tooLong) {
    client.outbox.send(LINE_TOO_LONG);
    client.outbox.end();
  } else if (client.finished) {
    const last = client.reader.rest();
    if (last !== undefined) client.requests++;
    if (last !== undefined) client.outbox.send(reply(last));
    client.outbox.end();
  }
}

/** Lines answered for one client before the others get their turn. */
const LINES_PER_TURN = 1024;

type Client = ReturnType<typeof newClient>;
type Options = { host?: string; port?: number; idle?: number; stallMs?: number; log?: Log };
type Log = (line: string) => void;

function newClient(socket: Socket<unknown>, id: number, idle: number, log: Log) {
  const timer = new IdleTimer(idle * 1000, () => {
    log(`client #${id} sent no request for ${idle} s: closing`);
    socket.end();
  });
  const reader = new LineReader(MAX_LINE_BYTES);
  return {
    id,
    reader,
    outbox: new Outbox(socket),
    idle: timer,
    requests: 0,
    finished: false,
  };
}

const print: Log = (line) => console.log(line);

const cli = command("05-calc/06-concurrent-server.ts", "The TCP calculator, heavy work included.", {
  host: flag.listen("127.0.0.1"),
  port: flag.port(TCP_PORT, "port to listen on; 0 takes any free port"),
  idle: flag.decimal(60, "close a client idle this many seconds", { min: 0.1, max: 86_400 }),
  "stall-ms": flag.whole(50, "log each request that holds the loop this long", { max: 60_000 }),
});

if (import.meta.main) {
  const options = cli.parse();
  const start = () => startConcurrentServer({ ...options, stallMs: options["stall-ms"] });
  await serve(options.host, options.port, start, "try  nc HOST PORT  and type isprime 97");
}
