/**
 * @title TCP calculator server
 * @summary Answer one calculation per line over TCP: `12 + 30` in, `OK 42` out, every error a reply.
 * @run bun run 05-calc/01-tcp-server.ts [--host 127.0.0.1] [--port 65432]
 * @python tcp/server_calc.py
 * @serves tcp "12 + 30\n" -> "OK 42\n"
 * @limits idle --idle · memory 100 MiB
 *
 * Talk to it with `nc 127.0.0.1 65432`: each line you type gets one line back, `OK 42` or
 * `ERR division-by-zero: cannot divide by zero`. The Python lab trusted one `recv(1024)` to
 * hold one request; TCP is a byte stream, so a LineSplitter cuts it into lines. A line over
 * 1024 bytes gets `ERR line-too-long` and the server hangs up: it cannot tell where the
 * next request would start. And a client that sends but does not read is not read either.
 */
import type { Socket } from "bun";
import { parseArgs } from "node:util";
import { type CalcServer, commandLine, endpoint, parsePort } from "./command-line.ts";
import { type Log, serve, type ServerOptions } from "./command-line.ts";
import { answer, err, LineSplitter, MAX_LINE_BYTES, TCP_PORT, writeSome } from "./protocol.ts";

export interface Connection {
  peer: string;
  lines: LineSplitter;
  requests: number;
  /** Replies not yet taken by the kernel: text just answered, then bytes write() left over. */
  replies: string;
  unsent: Buffer;
  /** Not reading this client's requests until it reads our replies (see flush). */
  paused: boolean;
  /** Close once all is sent; `peerEnded`: the client already sent its FIN. */
  closing: boolean;
  peerEnded: boolean;
  log: Log;
}

export const newConnection = (socket: Socket<unknown>, log: Log): Connection => ({
  peer: endpoint(socket.remoteAddress, socket.remotePort),
  lines: new LineSplitter(),
  requests: 0,
  replies: "",
  unsent: Buffer.alloc(0),
  paused: false,
  closing: false,
  peerEnded: false,
  log,
});

export const tooLong = `${err("line-too-long", `a request is at most ${MAX_LINE_BYTES} bytes; closing the connection`)}\n`;

/** Unsent replies, in bytes, past which we stop reading that client's requests. */
export const HIGH_WATER = 1 << 20;

/**
 * Writes what the kernel takes, in one write, and keeps the rest for `drain`: write() may take
 * less than it is given. Then closes, if asked to, once everything is out.
 */
export function flush(socket: Socket<Connection>): void {
  const state = socket.data;
  state.unsent = writeSome(socket, state.unsent, state.replies);
  state.replies = "";
  // Backpressure: a client that sends requests but never reads the replies would make us
  // keep them all (`2 ^ 3321`, 9 bytes, asks for 1005). Past HIGH_WATER we stop reading
  // its requests until it has read what waits; then the kernel makes the client wait too.
  if (state.unsent.length > HIGH_WATER && !state.paused) {
    state.log(`${state.peer} reads no replies (${state.unsent.length} bytes wait): paused`);
    state.paused = true;
    socket.pause();
  } else if (state.unsent.length === 0 && state.paused) {
    state.paused = false;
    socket.resume();
  }
  if (state.unsent.length > 0 || !state.closing) return;
  // FIN if the client is done too; else half-close and keep reading, so bytes it still
  // has in flight do not make the kernel send a reset that destroys our last reply.
  if (state.peerEnded) socket.end();
  else socket.shutdown();
}

export function startTcpServer({
  host = "127.0.0.1",
  port = TCP_PORT,
  log = console.log,
}: ServerOptions = {}): CalcServer {
  const listener = Bun.listen<Connection>({
    hostname: host,
    port,
    allowHalfOpen: true, // a client may send its last request, FIN, and still want the reply
    socket: {
      open(socket) {
        socket.data = newConnection(socket, log);
        log(`${socket.data.peer} connected`);
      },
      data(socket, chunk) {
        if (socket.data.closing) return; // after ERR line-too-long: read and drop
        const { lines, overflow } = socket.data.lines.push(chunk);
        socket.data.requests += lines.length;
        // One write for all the replies to this chunk: fewer syscalls for pipelined requests.
        const replies = lines.map((line) => `${answer(line)}\n`).join("");
        socket.data.closing = overflow;
        socket.data.replies += overflow ? replies + tooLong : replies;
        flush(socket);
      },
      end(socket) {
        // The client half-closed: its last line may lack a newline. Answer it, then close.
        const last = socket.data.closing ? null : socket.data.lines.rest();
        socket.data.closing = socket.data.peerEnded = true;
        if (last !== null) socket.data.requests++;
        socket.data.replies += last === null ? "" : `${answer(last)}\n`;
        flush(socket);
      },
      drain: flush,
      close(socket) {
        log(`${socket.data.peer} left after ${socket.data.requests} request(s)`);
      },
      error(socket, error) {
        log(`${socket.data.peer}: ${error.message}`);
      },
    },
  });
  return { port: listener.port, stop: () => listener.stop(true) };
}

const usage = `usage: bun run 05-calc/01-tcp-server.ts [--host 127.0.0.1] [--port 65432]
  --host  address to listen on (default 127.0.0.1; ::1 for IPv6)
  --port  port to listen on (default 65432; 0 = any free port)`;

if (import.meta.main) {
  const { values, port } = commandLine(usage, () => {
    const { values } = parseArgs({
      options: {
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: String(TCP_PORT) },
        help: { type: "boolean", short: "h" },
      },
    });
    return { values, port: parsePort(values.port) };
  });
  await serve("tcp", values.host, port, () => startTcpServer({ host: values.host, port }));
}
