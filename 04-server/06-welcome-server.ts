/**
 * @title Welcome server
 * @summary Greet every client with a welcome message and the server's time (ISO 8601), then close.
 * @run bun run 04-server/06-welcome-server.ts [--host 127.0.0.1] [--port 5000]
 * @python servidor.py tcp_sockets_python.py#basic_server
 * @serves tcp "" -> /elcome/
 * @limits memory 100 MiB
 *
 * The first server of the Python labs: accept, send a greeting, close. The close matters as much
 * as the greeting: it is how the client knows the message is complete, since TCP itself marks
 * no message ends. Unlike servidor.py this one keeps serving until Ctrl-C; its partner,
 * 07-welcome-client.ts, reads until that close.
 */
import type { TCPSocketListener } from "bun";
import { formatEndpoint, listenOrExit, parseServerArgs, stopOnSignals } from "./cli.ts";
import { Outbox } from "./02-accept.ts";

/** The greeting for the client at `peer`; the time is UTC in ISO 8601, e.g. 2026-01-31T09:15:02.417Z. */
export function welcomeMessage(peer: string, now: Date = new Date()): string {
  return `Hello ${peer}, welcome: you have made a TCP connection to the sockets lab. Server time: ${now.toISOString()}\n`;
}

export interface WelcomeServer {
  listener: TCPSocketListener<Outbox>;
  /** Clients greeted so far. */
  greeted: () => number;
}

/** Starts the server: each client that connects gets `welcomeMessage` and is closed. */
export function startWelcomeServer(
  host: string,
  port: number,
  log: (message: string) => void = () => {},
): WelcomeServer {
  let greeted = 0;
  const listener = Bun.listen<Outbox>({
    hostname: host,
    port,
    socket: {
      open(socket) {
        const peer = formatEndpoint(socket.remoteAddress, socket.remotePort);
        socket.data = new Outbox(socket);
        socket.data.send(welcomeMessage(peer));
        socket.data.finish(); // FIN once sent: "that was the whole message"
        greeted++;
        log(`welcomed ${peer} (client ${greeted})`);
      },
      drain: (socket) => socket.data.flush(),
      data() {}, // a welcome server does not listen to its clients
    },
  });
  return { listener, greeted: () => greeted };
}

const usage = `usage: bun run 04-server/06-welcome-server.ts [--host 127.0.0.1] [--port 5000]

Greets every TCP client with a message and the time, closes it, and waits for the
next, until Ctrl-C.
  --host IP     address to listen on (127.0.0.1, ::1, 0.0.0.0, ...)
  --port N      port to listen on, 0 = any free port (default 5000)`;

if (import.meta.main) {
  const { host, port } = parseServerArgs(usage);
  const server = listenOrExit(() => startWelcomeServer(host, port, console.log), host, port);
  const { hostname, port: bound } = server.listener;
  stopOnSignals(() => {
    server.listener.stop(true);
    console.log(`greeted ${server.greeted()} client(s)`);
  });
  console.log(`listening on ${formatEndpoint(hostname, bound)} (tcp)`);
  console.log(`try  bun run 04-server/07-welcome-client.ts --host ${hostname} --port ${bound}`);
}
