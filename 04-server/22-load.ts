/**
 * @title Load generator
 * @summary Hold N connections to an echo server, each sending 64 bytes and waiting for them back, and report requests per second and p50/p99 latency.
 * @run bun run 04-server/22-load.ts [--host 127.0.0.1] [--port PORT] [--connections 50] [--size 64] [--seconds 3] [--requests N] [--json]
 * @python new
 *
 * With no --port it starts lesson 16's server as a child process: one event loop running both
 * sides would measure their sum, on one core. To measure the server and not itself, it
 * allocates nothing per request: one payload for all, round trips counted in a fixed
 * histogram (`Latencies`, protocol.ts). The first half second warms up (JIT, caches, TCP
 * windows) unmeasured.
 */
import type { Socket, SocketHandler } from "bun";
import { command, endpoint, fail, flag, startServer, whyConnectFailed } from "../lib/cli.ts";
import { Latencies } from "./protocol.ts";

/** Runs the ping-pongs against host:port; resolves with req/s and the latency percentiles. */
export async function runLoad(host: string, port: number, options: Partial<Load> = {}) {
  const load = { ...LOAD, ...options };
  const run = new PingPong(load.payloadBytes, load.maxRequests ?? Infinity);
  // One connection at a time: a burst of connects can overflow the server's accept backlog.
  const sockets: Socket<Flight>[] = [];
  try {
    for (let i = 0; i < load.connections; i++)
      sockets.push(await Bun.connect({ hostname: host, port, socket: run.handler }));
  } catch (error) {
    for (const socket of sockets) socket.end();
    throw new Error(await whyConnectFailed(error, host, port));
  }
  for (const socket of sockets) run.request(socket);
  await Bun.sleep(load.warmupMs);
  const seconds = await run.measure(load.durationMs);
  for (const socket of sockets) socket.end();
  const where = endpoint(host, port);
  if (run.lost > 0) throw new Error(`${where} closed ${run.lost} connections early`);
  if (run.latencies.count === 0)
    throw new Error(`${where} sent nothing back: is it an echo server?`);
  const { connections, payloadBytes } = load;
  return { connections, payloadBytes, ...run.latencies.summary(seconds) };
}

/** A run, unless told otherwise: 50 connections of 64 bytes, 3 s after a warm-up of 0.5 s. */
const LOAD = { connections: 50, payloadBytes: 64, durationMs: 3000, warmupMs: 500 };
type Load = typeof LOAD & { maxRequests: number };

/** The request in flight on one connection: when it left, how much went, and came back. */
type Flight = { sentAt: number; written: number; received: number };

/** Every connection's ping-pong, and the round trips it measured. */
class PingPong {
  lost = 0;
  readonly latencies = new Latencies();
  private recording = false;
  private stopping = false;
  private readonly payload: Uint8Array;
  private readonly done = Promise.withResolvers<void>();

  constructor(
    private readonly size: number,
    private readonly maxRequests: number,
  ) {
    this.payload = new Uint8Array(size).fill(0x61);
  }

  readonly handler: SocketHandler<Flight> = {
    // Lighter than Buffer, and only the byte count is read.
    binaryType: "uint8array",
    open: (socket) => {
      socket.data = { sentAt: 0, written: 0, received: 0 };
    },
    data: (socket, chunk) => {
      const flight = socket.data;
      flight.received += chunk.byteLength;
      // Part of the echo: wait for the rest.
      if (flight.received < this.size) return;
      flight.received -= this.size;
      const now = performance.now();
      if (this.recording) {
        this.latencies.record(now - flight.sentAt);
        if (this.latencies.count >= this.maxRequests) this.done.resolve();
      }
      if (this.stopping) socket.end();
      else this.request(socket, 0, now);
    },
    // The kernel took only part of a request (64 bytes fit whole, 64 KiB may not): the rest.
    drain: (socket) => {
      if (socket.data.written < this.size) this.request(socket, socket.data.written);
    },
    close: () => {
      if (!this.stopping) this.lost++;
    },
    error() {},
  };

  /** Writes the request from byte `from` on; what the kernel does not take waits for `drain`. */
  request(socket: Socket<Flight>, from = 0, now = performance.now()): void {
    if (from === 0) socket.data.sentAt = now;
    const written = socket.write(from === 0 ? this.payload : this.payload.subarray(from));
    socket.data.written = from + Math.max(written, 0);
  }

  /** Counts round trips for `ms`, or until enough were answered; returns the seconds. */
  async measure(ms: number): Promise<number> {
    this.recording = true;
    const started = performance.now();
    const timer = setTimeout(() => this.done.resolve(), ms);
    await this.done.promise;
    clearTimeout(timer);
    this.recording = false;
    this.stopping = true;
    return Math.round(performance.now() - started) / 1000;
  }
}

/** Lesson 16's echo server in its own process, on a free port. */
export const spawnEchoServer = () => startServer(`${import.meta.dir}/16-echo-tcp-server.ts`);

const cli = command(
  "04-server/22-load.ts",
  "Measures an echo server (RFC 862): req/s and latency of many connections' ping-pong.",
  {
    host: flag.host("127.0.0.1", "the echo server's name or address"),
    port: flag.port(undefined, "its port (default: start lesson 16's server)", { min: 1 }),
    connections: flag.whole(50, "connections held open at once", { min: 1, max: 10_000 }),
    size: flag.whole(64, "bytes in each request", { min: 1, max: 65_536 }),
    seconds: flag.whole(3, "how long to measure, after the warm-up", { min: 1, max: 3600 }),
    requests: flag.whole(undefined, "stop after this many answers", { min: 1, max: 1e9 }),
    json: flag.bool("print one JSON document instead of text"),
  },
);

if (import.meta.main) {
  const { host, port, connections, size, seconds, requests: maxRequests, json } = cli.parse();
  const child = port === undefined ? await spawnEchoServer() : undefined;
  const target = child?.port ?? port ?? 0;
  const server = endpoint(host, target);
  if (child && !json) console.log(`no --port: started lesson 16's server as a child, ${server}`);
  const options = { connections, payloadBytes: size, durationMs: seconds * 1000, maxRequests };
  const result = await runLoad(host, target, options).catch((error: Error) => error);
  await child?.stop();
  if (result instanceof Error) fail(result.message);
  const { requestsPerSecond, p50Ms, p99Ms } = result;
  if (json) console.log(JSON.stringify({ server, ...result }));
  else {
    console.log(`${connections} connections x ${size} bytes to ${server}:`);
    console.log(`  ${result.requests} answers in ${result.seconds} s: ${requestsPerSecond} req/s`);
    console.log(`  latency p50 ${p50Ms} ms, p99 ${p99Ms} ms`);
  }
}
