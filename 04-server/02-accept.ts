/**
 * @title Accept
 * @summary Wait for a client, show who it is (address, port, family), greet it, and exit once it has gone.
 * @run bun run 04-server/02-accept.ts [--host 127.0.0.1] [--port 5000]
 * @python server-02.py
 * @serves tcp "" -> "hello "
 * @limits clients 1 · memory 100 MiB
 *
 * Python's accept() blocks until a client arrives; Bun calls your `open` handler instead,
 * with a new socket for each client, while the listener keeps its port. Connect with
 * `nc 127.0.0.1 5000`: the server prints your address and port (a port your kernel picked)
 * and tells you the same; when the first client has gone, it exits. A client that resets at
 * once can reach `open` already gone, with no address at all: it is nobody.
 */
import { command, endpoint, flag, serve } from "../lib/cli.ts";
import { Outbox } from "../lib/stream.ts";

/** Greets every client that connects; `first` is the first one, `gone` when it has left. */
export function accept(host: string, port: number, log = (_: string) => {}) {
  const first = Promise.withResolvers<Who>();
  const gone = Promise.withResolvers<void>();
  let firstOne: Who | undefined;
  const listener = Bun.listen<{ who: Who; outbox: Outbox } | undefined>({
    hostname: host,
    port,
    socket: {
      open(socket) {
        // Read each once: Bun asks the kernel every time, and a client that reset is gone.
        const { remoteAddress: address, remotePort: from, remoteFamily: family } = socket;
        if (!address || !from || !family) {
          log(`a client (${endpoint(address, from)}) came and went before we saw it`);
          socket.end();
          return;
        }
        const local = endpoint(socket.localAddress, socket.localPort);
        const who = { peer: endpoint(address, from), family, local };
        firstOne ??= who;
        first.resolve(who);
        log(`accepted a client from ${who.peer} (${family}) on ${local}`);
        // The Outbox (lib/stream.ts) sends the greeting, then closes our side once it is out.
        socket.data = { who, outbox: new Outbox(socket) };
        socket.data.outbox.send(`hello ${who.peer}: you reached ${local} over ${family}\n`);
        socket.data.outbox.end();
      },
      drain: (socket) => socket.data?.outbox.flush(),
      // What the client types is read and dropped: this server only greets.
      data() {},
      close(socket) {
        if (socket.data === undefined || socket.data.who !== firstOne) return;
        listener.stop(true);
        gone.resolve();
      },
    },
  });
  const stop = () => listener.stop(true);
  return { tcp: listener, first: first.promise, gone: gone.promise, stop };
}

/** Who a client is: its address and port, their family, and which of ours it reached. */
export type Who = { peer: string; family: "IPv4" | "IPv6"; local: string };

const cli = command(
  "04-server/02-accept.ts",
  "Greets every TCP client with its own address and port, and exits once the first has gone.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(5000, "port to listen on; 0 takes any free one"),
  },
);

if (import.meta.main) {
  const { host, port } = cli.parse();
  const start = () => accept(host, port, console.log);
  const server = await serve(host, port, start, "waiting for a client: try  nc HOST PORT");
  const { peer } = await server.first;
  await server.gone;
  console.log(`${peer} has gone: one client served, so exiting`);
}
