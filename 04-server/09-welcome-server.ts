/**
 * @title Welcome server
 * @summary Greet every client with a welcome message and the server's time (ISO 8601), then close.
 * @run bun run 04-server/09-welcome-server.ts [--host 127.0.0.1] [--port 5000]
 * @python servidor.py tcp_sockets_python.py#basic_server
 * @serves tcp "" -> /elcome/
 * @limits memory 100 MiB
 *
 * The first server of the Python labs: accept, send a greeting, close. The close matters as
 * much as the greeting: it is how the client knows the message is complete, since TCP marks
 * no message ends. The `Outbox` sends the greeting, then half-closes (FIN); what the client
 * types is left unread (`hold()`), so a client that floods us fills its own buffers, not our
 * memory. Unlike servidor.py it serves until Ctrl-C; 10-welcome-client.ts is its partner.
 */
import { command, flag, peerOf, serve } from "../lib/cli.ts";
import { Outbox } from "../lib/stream.ts";

/** The greeting for the client at `peer`; the time is UTC in ISO 8601. */
export function welcomeMessage(peer: string, now: Date = new Date()): string {
  const welcome = `Hello ${peer}, welcome: you have made a TCP connection to the sockets lab.`;
  return `${welcome} Server time: ${now.toISOString()}\n`;
}

/** Greets each client that connects with `welcomeMessage`, then closes; until stopped. */
export function startWelcomeServer(host: string, port: number, log = (_: string) => {}) {
  let greeted = 0;
  const listener = Bun.listen<Outbox | undefined>({
    hostname: host,
    port,
    socket: {
      open(socket) {
        const peer = peerOf(socket);
        socket.data = new Outbox(socket);
        socket.data.send(welcomeMessage(peer));
        // FIN once it is sent: "that was the whole message". And we read nothing: a client
        // that floods us fills only its own buffers, until the Outbox's grace cuts it off.
        socket.data.end();
        socket.data.hold();
        greeted++;
        log(`welcomed ${peer} (client ${greeted})`);
      },
      drain: (socket) => socket.data?.flush(),
      // A welcome server does not listen to its clients.
      data() {},
    },
  });
  const stop = () => {
    listener.stop(true);
    log(`greeted ${greeted} client(s)`);
  };
  return { tcp: listener, greeted: () => greeted, stop };
}

const cli = command(
  "04-server/09-welcome-server.ts",
  "Greets every TCP client with a message and the time, then closes; until Ctrl-C.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(5000, "port to listen on; 0 takes any free one"),
  },
);

if (import.meta.main) {
  const { host, port } = cli.parse();
  const start = () => startWelcomeServer(host, port, console.log);
  const hint = "try  bun run 04-server/10-welcome-client.ts --host HOST --port PORT";
  await serve(host, port, start, hint);
}
