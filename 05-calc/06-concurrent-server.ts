/**
 * @title Concurrent calculator server
 * @summary Serve many TCP clients at once on one event loop, and watch the one thing it cannot do.
 * @run bun run 05-calc/06-concurrent-server.ts [--host 127.0.0.1] [--port 65432] [--idle 60] [--stall-ms 50]
 * @python server_calc_conc.py
 * @serves tcp "12 + 30\n" -> "OK 42\n"
 * @limits idle --idle · memory 100 MiB
 *
 * The lab gave each client a thread blocked in `recv()`. Here one thread asks the kernel
 * which sockets have bytes (epoll) and runs that socket's handler: an idle client costs a
 * few hundred bytes, not a thread. But a handler runs to its end before any other socket is
 * looked at, so CPU-bound work (`isprime 9007199254740881`: about a second) makes every
 * client wait. This server takes it anyway, and logs each stall; lesson 07 moves that work
 * off the loop.
 */
import { command, flag, serve } from "../lib/cli.ts";
import { serveLines } from "../lib/lines.ts";
import { answer, LINE_TOO_LONG, MAX_LINE_BYTES, show, TCP_PORT } from "./protocol.ts";

export function startConcurrentServer(options: Options) {
  const { host = "127.0.0.1", port = TCP_PORT, idle = 60, stallMs = 50, log = print } = options;
  const totals = { clients: 0, connected: 0, mostAtOnce: 0, requests: 0 };
  const server = serveLines({
    host,
    port,
    maxLineBytes: MAX_LINE_BYTES,
    idleSeconds: idle,
    open(client) {
      totals.connected++;
      totals.mostAtOnce = Math.max(totals.mostAtOnce, totals.connected);
      log(`client #${++totals.clients} (${client.peer}) connected; ${totals.connected} connected`);
      return totals.clients;
    },
    // While a reply is computed nothing else runs: no other client, not even an accept.
    line(client, line) {
      totals.requests++;
      const started = performance.now();
      const reply = answer(line);
      const took = performance.now() - started;
      if (took >= stallMs) log(`${show(line)} held the event loop for ${Math.round(took)} ms`);
      client.send(`${reply}\n`);
    },
    tooLong: (client) => client.end(LINE_TOO_LONG),
    close(client, why) {
      totals.connected--;
      const served = `${client.lines} request(s); closed (${why})`;
      log(`client #${client.state}: ${served}; ${totals.connected} connected`);
    },
  });
  return {
    tcp: server.tcp,
    clients: () => totals.connected,
    stop() {
      server.stop();
      const { clients, mostAtOnce, requests } = totals;
      log(`stopped: ${clients} client(s), at most ${mostAtOnce} at once, ${requests} request(s)`);
    },
  };
}

type Options = { host?: string; port?: number; idle?: number; stallMs?: number; log?: Log };
type Log = (line: string) => void;
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
