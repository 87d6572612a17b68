/**
 * @title UDP message counter
 * @summary Print each datagram with its sender and a running count, acknowledge it with its id, count a resent one once, and stop after --count messages.
 * @run bun run 06-chat/12-udp-counter.ts [--host 127.0.0.1] [--port 5051] [--count 100]
 * @python ServidorUDP.py
 * @serves udp "1 hello" -> "1"
 * @limits memory 100 MiB
 *
 * The Taller's ServidorUDP.py prints what arrives and stops after N messages. But UDP promises
 * nothing: a datagram lost on the way is never counted, and its sender cannot tell. So here
 * a datagram is `ID TEXT`, the server answers with the id alone, and a client that hears
 * nothing sends it again (lesson 13). If only the answer was lost, the same id comes twice:
 * it is answered again and counted once. An answer is never bigger than its datagram, and
 * lib/udp.ts's ReplyGuard keeps the server from answering forged sources.
 */
import { command, flag, serve } from "../lib/cli.ts";
import { ReplyGuard } from "../lib/udp.ts";
import { parseCounterDatagram, UDP_PORT } from "./protocol.ts";

/** The counter on host:port; `finished` resolves once `count` messages were counted. */
export async function startCounter(host: string, port: number, count: number, log = console.log) {
  const seen = new Map<string, number>();
  let ignored = 0;
  let stop = (): void => {};
  const finished = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const socket = await Bun.udpSocket({
    hostname: host,
    port,
    socket: {
      data(socket, datagram, peerPort, peerAddress) {
        const message = parseCounterDatagram(datagram);
        // The sender's address and the id: a resent datagram is the same message.
        const key = `${peerAddress} ${message?.id}`;
        // Once full, only resent datagrams of counted messages are answered.
        if (!message || (!seen.has(key) && seen.size >= count)) {
          ignored++;
          return;
        }
        const times = (seen.get(key) ?? 0) + 1;
        seen.set(key, times);
        if (times === 1)
          log(`#${seen.size} from ${peerAddress}:${peerPort}: ${JSON.stringify(message.text)}`);
        else if (times === 2)
          log(`${message.id} again from ${peerAddress}:${peerPort}: counted once`);
        if (guard.allows(peerAddress, peerPort, datagram, message.id))
          socket.send(message.id, peerPort, peerAddress);
        if (seen.size === count && times === 1) stop();
      },
      // An ICMP "port unreachable" from a client that left must not stop the server.
      error() {},
    },
  });
  const guard = new ReplyGuard(socket);
  const close = (): void => {
    socket.close();
    log(
      `counted ${seen.size} message(s); ${ignored} datagram(s) were not \`ID TEXT\` or came late`,
    );
  };
  return { udp: socket, finished, stop: close };
}

const cli = command(
  "06-chat/12-udp-counter.ts",
  "Count UDP messages, once each, and stop after --count.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(UDP_PORT, "UDP port to listen on; 0 takes any free port"),
    count: flag.whole(100, "messages to count before stopping", { min: 1 }),
  },
);

if (import.meta.main) {
  const { host, port, count } = cli.parse();
  const server = await serve(
    host,
    port,
    () => startCounter(host, port, count),
    "try  bun run 06-chat/13-udp-sender.ts --port PORT",
  );
  await server.finished;
  server.stop();
  process.exit(0);
}
