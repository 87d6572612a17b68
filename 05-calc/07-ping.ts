/**
 * @title Round-trip time
 * @summary Like ping, for the calculator: one request at a time over TCP or UDP, each reply's latency, the lost ones.
 * @run bun run 05-calc/07-ping.ts [--host H --port P] [--udp] [--count 5] [--json] ["isprime 97"]
 * @python new
 *
 * A closed loop: send a request, wait for its reply (or a second), send the next. The wait is the
 * latency a user feels: the network both ways, the server's queue, its work. Over UDP a reply may
 * never come, and a late one must not count for the next (the id sees to that); over TCP a
 * missing reply means a stuck server. Lesson 08 runs many such loops; this one starts lesson 05's
 * server (03's with --udp) in-process when given no --host/--port.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { startUdpServer } from "./03-udp-server.ts";
import { startConcurrentServer } from "./05-concurrent-server.ts";
import { commandLine, endpoint, parseFlag, parsePort, reason } from "./command-line.ts";
import { LineSplitter, TCP_PORT, UDP_PORT } from "./protocol.ts";

/** A client: each ask() resolves with its reply line (`OK 42`), or null if none in time. */
export type Peer = { ask(line: string): Promise<string | null>; close(): void };

/** A TCP connection: replies come in request order, so the oldest waiting request gets each. */
async function tcpPeer(host: string, port: number, timeoutMs: number): Promise<Peer> {
  const [replies, asked] = [new LineSplitter(8192), [] as ((reply: string | null) => void)[]];
  let unsent = Buffer.alloc(0);
  const failAll = (): void => asked.splice(0).forEach((resolve) => resolve(null));
  const write = (socket: { write(data: Buffer): number }): void => {
    unsent = unsent.subarray(Math.max(0, socket.write(unsent))); // keep what write() did not take
  };
  const socket = await Bun.connect({
    hostname: host,
    port,
    socket: {
      data: (_socket, chunk) => replies.push(chunk).lines.forEach((line) => asked.shift()?.(line)),
      drain: write,
      close: failAll,
    },
  });
  const ask = (line: string) =>
    new Promise<string | null>((resolve) => {
      // A reply that late leaves replies and requests out of step: give up on the connection.
      const timer = setTimeout(() => (socket.end(), failAll()), timeoutMs);
      asked.push((reply) => (clearTimeout(timer), resolve(reply)));
      // Requests asked in the same tick leave in one write: one system call, not one each.
      // (If bytes are already waiting, a write is planned or waits for drain: it takes these too.)
      if (unsent.length === 0) queueMicrotask(() => write(socket));
      unsent = Buffer.concat([unsent, Buffer.from(`${line}\n`)]);
    });
  return { ask, close: () => socket.end() };
}

/** A UDP socket: a reply counts only if its id is one still waiting (not late, not twice). */
async function udpPeer(host: string, port: number, timeoutMs: number): Promise<Peer> {
  const waiting = new Map<string, (reply: string | null) => void>();
  let nextId = 1;
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
      const id = String(nextId++);
      const timer = setTimeout(() => waiting.get(id)?.(null), timeoutMs);
      waiting.set(id, (reply) => (clearTimeout(timer), waiting.delete(id), resolve(reply)));
      // Padded to 64 bytes: a reply is never bigger than its request (see 03-udp-server.ts).
      socket.send(`${id} ${line}`.padEnd(64), port, host);
    });
  return { ask, close: () => socket.close() };
}

/** Bun's UDP send() takes addresses, not names: the host is resolved once, up front. */
export async function openPeer(host: string, port: number, { udp = false, timeoutMs = 1000 }) {
  const address = isIP(host) ? host : (await lookup(host)).address;
  return (udp ? udpPeer : tcpPeer)(address, port, timeoutMs);
}

/** One request's fate: its reply (null: none in time) and how long it took. */
export type Sample = { reply: string | null; ms: number };
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
    console.error(`could not reach ${server}: ${reason(error)}; is a server there?`);
    process.exitCode = 1;
  } finally {
    await local?.stop();
  }
}
