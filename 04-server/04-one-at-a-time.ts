/**
 * @title One at a time
 * @summary Serve up to N clients strictly one after another; the others wait in a queue, unread.
 * @run bun run 04-server/04-one-at-a-time.ts [--port 5000] [--max-clients 10] [--max-line 65536]
 * @python server-04.py
 * @serves tcp "hello\n" -> /hello\n/
 * @limits one at a time · idle --idle · memory 100 MiB
 *
 * The Python lab looped accept() ten times: while it echoed one client, the next sat in the
 * kernel's backlog. Bun accepts every connection itself, so here the waiting is explicit: a new
 * client is told how many are ahead and not read from (`socket.pause()`: its bytes stay in the
 * kernel) until its turn. Open two `nc` sessions: the second waits until the first sends an
 * empty line. After N clients the server exits.
 */
import type { Socket, TCPSocketListener } from "bun";
import { formatEndpoint, listenOrExit, parseServerArgs, stopOnSignals } from "./cli.ts";
import { Outbox } from "./02-accept.ts";
import { LineBuffer, LineTooLongError, MAX_LINE_BYTES } from "./03-echo-once.ts";

const MAX_UNREAD_BYTES = 1024 * 1024; // echoes the client served has not read: past this, pause

interface Client {
  number: number;
  peer: string;
  lines: LineBuffer;
  outbox: Outbox;
  echoed: number;
  done: boolean;
  paused: boolean; // not read from until it reads its echoes
}

/** Echoes each client's lines until it sends an empty line; the next one waits its turn. */
export function serveOneAtATime(
  host: string,
  port: number,
  { maxClients = 10, maxLineBytes = MAX_LINE_BYTES, log = (_message: string) => {} } = {},
): { listener: TCPSocketListener<Client>; allServed: Promise<number> } {
  let current: Socket<Client> | null = null;
  const queue: Socket<Client>[] = [];
  let connected = 0;
  let served = 0;
  const allServed = Promise.withResolvers<number>();

  const startTurn = (socket: Socket<Client>): void => {
    current = socket;
    socket.resume(); // now its bytes, waiting in the kernel since it connected, are read
    socket.data.outbox.send("your turn: each line comes back; an empty line ends your turn\n");
    log(`client #${socket.data.number} (${socket.data.peer}) is being served`);
    queue.forEach((waiting, index) => waiting.data.outbox.send(`${index + 1} ahead of you\n`));
  };

  const endTurn = (socket: Socket<Client>, why: string): void => {
    if (socket.data.done) return;
    socket.data.done = true;
    socket.data.outbox.finish();
    served++;
    log(`client #${socket.data.number} done (${why}), ${socket.data.echoed} line(s) echoed`);
    current = null;
    const next = queue.shift();
    if (next) startTurn(next);
    else if (served === maxClients) {
      listener.stop(); // the last client's connection closes by itself
      allServed.resolve(served);
    }
  };

  const listener: TCPSocketListener<Client> = Bun.listen<Client>({
    hostname: host,
    port,
    socket: {
      open(socket) {
        const peer = formatEndpoint(socket.remoteAddress, socket.remotePort);
        const outbox = new Outbox(socket);
        const number = ++connected;
        const lines = new LineBuffer(maxLineBytes);
        socket.data = { number, peer, lines, outbox, echoed: 0, done: false, paused: false };
        if (served + (current ? 1 : 0) + queue.length >= maxClients) {
          socket.data.done = true;
          outbox.send(`sorry: this server serves ${maxClients} clients and then exits\n`);
          log(`client #${number} (${peer}) turned away: all ${maxClients} places are taken`);
          return outbox.finish();
        }
        if (!current) return startTurn(socket);
        socket.pause(); // do not read it yet; what it sends waits in the kernel's buffer
        queue.push(socket);
        outbox.send(`you are in the queue, ${queue.length} ahead of you\n`);
        log(`client #${number} (${peer}) waits: ${queue.length} ahead of it`);
      },
      data(socket, chunk) {
        const client = socket.data;
        if (client.done) return; // its turn is over: what it still sends is dropped
        try {
          for (const line of client.lines.push(chunk)) {
            if (line.length === 0) return endTurn(socket, "empty line");
            client.outbox.send(Buffer.concat([line, Buffer.from("\n")]));
            client.echoed++;
          }
        } catch (error) {
          if (!(error instanceof LineTooLongError)) throw error;
          client.outbox.send(`error: ${error.message}; closing\n`);
          return endTurn(socket, error.message);
        }
        // It sends but does not read its echoes: stop reading it, or they would fill our memory.
        if (!client.paused && client.outbox.pendingBytes > MAX_UNREAD_BYTES) {
          client.paused = true;
          socket.pause();
          log(`client #${client.number} does not read its echoes: not reading it until it does`);
        }
      },
      drain(socket) {
        socket.data.outbox.flush();
        if (!socket.data.paused || socket.data.outbox.pendingBytes > 0) return;
        socket.data.paused = false; // it caught up: read it again
        socket.resume();
      },
      close(socket) {
        // A queued client that resets is noticed at once; one that hangs up politely (FIN) is
        // not: end of input is something you read, so it shows when its turn comes.
        const position = queue.indexOf(socket);
        if (position !== -1) {
          queue.splice(position, 1); // its place goes to whoever connects next
          log(`client #${socket.data.number} left the queue before its turn`);
        } else if (socket === current) endTurn(socket, "disconnected");
      },
    },
  });
  return { listener, allServed: allServed.promise };
}

const usage = `usage: bun run 04-server/04-one-at-a-time.ts [--host 127.0.0.1] [--port 5000] [--max-clients 10] [--max-line 65536]

Echoes lines for one TCP client at a time; an empty line ends a client's turn and
the next in the queue is served. Exits after --max-clients clients.
  --host IP          address to listen on (127.0.0.1, ::1, 0.0.0.0, ...)
  --port N           port to listen on, 0 = any free port (default 5000)
  --max-clients N    clients to serve before exiting (default 10)
  --max-line N       longest line accepted, in bytes (default ${MAX_LINE_BYTES})`;

if (import.meta.main) {
  const defaults = { "max-clients": 10, "max-line": MAX_LINE_BYTES };
  const { host, port, counts } = parseServerArgs(usage, defaults);
  const options = { maxClients: counts["max-clients"], maxLineBytes: counts["max-line"] };
  const { listener, allServed } = listenOrExit(
    () => serveOneAtATime(host, port, { ...options, log: console.log }),
    host,
    port,
  );
  stopOnSignals(() => listener.stop(true)); // before `listening on`: see cli.ts
  console.log(`listening on ${formatEndpoint(listener.hostname, listener.port)} (tcp)`);
  console.log(`served all ${await allServed} clients: exiting`);
}
