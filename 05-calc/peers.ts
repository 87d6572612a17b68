/**
 * The load generator's connections to a calculator (lesson 12), one kind per transport, each
 * with one method: `ask(line)` resolves with the reply line, or null when none came in time.
 * They are lessons 03 and 05 made cheap enough for a hundred thousand requests a second: a
 * TCP reply is the oldest waiting request's (TCP keeps order), a UDP reply is the one whose
 * id still waits. Hot paths: a request costs no timer and no socket of its own over TCP.
 */
import { isIP } from "node:net";
import { connect } from "../lib/cli.ts";
import { LineReader, Outbox } from "../lib/stream.ts";

/** A connection's requests: each resolves with its reply line, or null if none in time. */
export interface Peer {
  ask(line: string): Promise<string | null>;
  close(): void;
}

/** TCP: replies come in request order, so the oldest waiting request gets each reply. */
export async function tcpPeer(host: string, port: number, timeoutMs: number): Promise<Peer> {
  const waiting: ((reply: string | null) => void)[] = [];
  const replies = new LineReader(8192);
  const giveUp = (): void => {
    clearTimeout(silence);
    socket.end();
    for (const resolve of waiting.splice(0)) resolve(null);
  };
  const socket = await connect(host, port, {
    data(_socket, chunk) {
      for (const line of replies.push(chunk)) waiting.shift()?.(line);
      silence.refresh();
    },
    drain: () => outbox.flush(),
    close: giveUp,
  });
  // The requests of one turn of the event loop leave in one write.
  const outbox = new Outbox(socket);
  // One timer per connection, not one per request (thousands a second): restarted by each
  // reply, and by a request to an idle connection. Firing while one waits: that one is late.
  const silence = setTimeout(() => {
    if (waiting.length > 0) giveUp();
  }, timeoutMs);
  const ask = (line: string): Promise<string | null> =>
    new Promise((resolve) => {
      if (waiting.push(resolve) === 1) silence.refresh();
      outbox.send(`${line}\n`);
    });
  return { ask, close: giveUp };
}

/** UDP: a reply counts only if its id is one still waiting (not late, not twice). */
export async function udpPeer(host: string, port: number, timeoutMs: number): Promise<Peer> {
  const waiting = new Map<string, (reply: string | null) => void>();
  const socket = await Bun.udpSocket({
    hostname: isIP(host) === 6 ? "::" : "0.0.0.0",
    socket: {
      data(_socket, datagram) {
        const text = datagram.toString();
        const space = text.indexOf(" ");
        waiting.get(text.slice(0, space))?.(text.slice(space + 1).trimEnd());
      },
      // "Port unreachable": that request is lost at its timeout.
      error() {},
    },
  });
  const ask = (line: string): Promise<string | null> =>
    new Promise((resolve) => {
      // Random: not an id an outsider could guess. Padded: a reply is never bigger.
      const id = crypto.randomUUID().slice(0, 13);
      socket.send(`${id} ${line}`.padEnd(64), port, host);
      const timer = setTimeout(() => waiting.get(id)?.(null), timeoutMs);
      waiting.set(id, (reply) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(reply);
      });
    });
  return { ask, close: () => socket.close() };
}
