/**
 * @title Round-trip time
 * @summary Like ping, for the calculator: one request at a time over TCP or UDP, each reply's latency, the lost ones.
 * @run bun run 05-calc/07-ping.ts [--host H --port P] [--udp] [--count 5] [--json] ["isprime 97"]
 * @python new
 *
 * A closed loop: send a request, wait for its reply (or a second), send the next. The wait is the
 * latency a user feels: the network both ways, the server's queue, its work. Over UDP a reply may
 * never come, and a late one must not count for the next (the id sees to that); over TCP a missing
 * reply means a stuck server. Lesson 08 runs many such loops. No --host/--port: a server in-process.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { startUdpServer } from "./03-udp-server.ts";
import { startConcurrentServer } from "./05-concurrent-server.ts";
import { commandLine, connectWithin, endpoint, parseFlag, parsePort } from "./command-line.ts";
import { reason } from "./command-line.ts";
import { LineSplitter, TCP_PORT, UDP_PORT, writeSome } from "./protocol.ts";

/** A client: each ask() resolves with its reply line (`OK 42`), or null if none in time. */
export type Peer = { ask(line: string): Promise<string | null>; close(): void };

/** A TCP connection: replies come in request order, so the oldest waiting request gets each. */
async function tcpPeer(host: string, port: number, timeoutMs: number): Promise<Peer> {
  const [replies, asked] = [new LineSplitter(8192), [] as ((reply: string | null) => void)[]];
  let [outgoing, unsent]: [string, Buffer] = ["", Buffer.alloc(0)]; // asked this tick; left over
  const write = (): void => void ([unsent, outgoing] = [writeSome(socket, unsent, outgoing), ""]);
  const giveUp = (): void => {
    clearTimeout(silence);
    socket.end();
    for (const resolve of asked.splice(0)) resolve(null); // no reply now, for any of them
  };
  const socket = await connectWithin(host, port, {
    data(_socket, chunk) {
      for (const line of replies.push(chunk).lines) asked.shift()?.(line);
      silence.refresh();
    },
    drain: write,
    close: giveUp,
  });
  // One timer per connection, not per request (lesson 08 asks thousands a second), restarted by
  // each reply and each request to an idle connection: firing while one waits, a reply is late.
  const silence = setTimeout(() => asked.length > 0 && giveUp(), timeoutMs);
  const ask = (line: string) =>
    new Promise<string | null>((resolve) => {
      if (asked.push(resolve) === 1) silence.refresh();
      if (outgoing === "" && unsent.length === 0) queueMicrotask(write); // one write a tick
      outgoing += `${line}\n`;
    });
  return { ask, close: giveUp };
}

/** A UDP socket: a reply counts only if its id is one still waiting (not late, not twice). */
async function udpPeer(host: string, port: number, timeoutMs: number): Promise<Peer> {
  const waiting = new Map<string, (reply: string | null) => void>();
  const socket = await Bun.udpSocket({
    hostname: isIP(host) === 6 ? "::" : "0.0.0.0",
    socket: {
      data(_socket, datagram) {
        const [id = "", ...reply] = datagram.toString().split(" ");
        waiting.get(id)?.(reply.join(" "));
      },
      error() {}, // "port unreachable": that request is lost at its timeout
    },
  });
  const ask = (line: string) =>
    new Promise<string | null>((resolve) => {
      const id = crypto.randomUUID().slice(0, 13); // random: not one an outsider could guess
      // Padded to 64 bytes: a reply is never bigger than its request (see 03-udp-server.ts).
      socket.send(`${id} ${line}`.padEnd(64), port, host); // first: if it throws, no timer is left
      const timer = setTimeout(() => waiting.get(id)?.(null), timeoutMs);
      waiting.set(id, (reply) => (clearTimeout(timer), waiting.delete(id), resolve(reply)));
    });
  return { ask, close: () => socket.close() };
}

/** Bun's UDP send() takes addresses, not names: the host is resolved once, up front. */
export async function openPeer(host: string, port: number, { udp = false, timeoutMs = 1000 }) {
  const address = isIP(host) ? host : (await lookup(host)).address;
  return (udp ? udpPeer : tcpPeer)(address, port, timeoutMs);
}

export type Sample = { reply: string | null; ms: number }; // reply null: none in time
/** Sends `request` `count` times, one at a time; stops if a TCP reply does not come. */
export async function* ping(
  request: string,
  { host = "127.0.0.1", port = TCP_PORT, udp = false, count = 5, timeoutMs = 1000 },
): AsyncGenerator<Sample> {
  const peer = await openPeer(host, port, { udp, timeoutMs });
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const reply = await peer.ask(request);
      yield { reply, ms: performance.now() - started };
      if (reply === null && !udp) return; // TCP: that reply may still come, out of step
    }
  } finally {
    peer.close();
  }
}

const usage = `usage: bun run 05-calc/07-ping.ts [--host H --port P] [--udp] [--count 5] [--json] [REQUEST]
Times --count REQUESTs (default "12 + 30"), one at a time; with no --host/--port, against a server it starts.`;

if (import.meta.main) {
  const { values, positionals, ...options } = commandLine(usage, () => {
    const { values, positionals } = parseArgs({
      allowPositionals: true,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        udp: { type: "boolean", default: false },
        count: { type: "string", default: "5" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
    });
    const port = values.port === undefined ? undefined : parsePort(values.port);
    return { values, positionals, port, count: parseFlag("count", values.count, 1, 1e4) };
  });
  const { udp, json, host = "127.0.0.1" } = values;
  const start = udp ? startUdpServer : startConcurrentServer;
  const local = (values.host ?? values.port) ? null : await start({ port: 0, log() {} });
  const port = local?.port ?? options.port ?? (udp ? UDP_PORT : TCP_PORT);
  const server = `${endpoint(host, port)} (${udp ? "udp" : "tcp"})`;
  if (local && !json) console.log(`no --host/--port: started a server on ${server}`);
  try {
    const [request, samples] = [positionals.join(" ") || "12 + 30", [] as Sample[]];
    for await (const { reply, ms } of ping(request, { ...options, host, port, udp })) {
      samples.push({ reply, ms });
      if (!json) console.log(reply === null ? "no reply: lost" : `${reply} in ${ms.toFixed(2)} ms`);
    }
    const times = samples.flatMap(({ reply, ms }) => (reply === null ? [] : [ms]));
    const lost = samples.length - times.length;
    const average = times.reduce((sum, ms) => sum + ms, 0) / times.length;
    const spread = `; min/avg/max ${[Math.min(...times), average, Math.max(...times)].map((ms) => ms.toFixed(2)).join("/")} ms`;
    const summary = `${server}: ${samples.length} sent, ${lost} lost${times.length ? spread : ""}`;
    console.log(json ? JSON.stringify({ server, request, samples, lost }, null, 2) : summary);
    if (lost > 0 && !udp) process.exitCode = 1;
  } catch (error) {
    console.error(`could not reach ${server}: ${reason(error)}`);
    process.exitCode = 1;
  } finally {
    await local?.stop();
  }
  process.exit(); // with exitCode: a connect we gave up on would keep the process waiting
}
