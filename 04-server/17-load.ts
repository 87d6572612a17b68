/**
 * @title Load generator
 * @summary Hold N connections to an echo server, each sending 64 bytes and waiting for them back, and report requests per second and p50/p99 latency.
 * @run bun run 04-server/17-load.ts [--host 127.0.0.1] [--port PORT] [--connections 50] [--size 64] [--seconds 3] [--requests N] [--json]
 * @python new
 *
 * With no --port it starts lesson 13's server as a child process: one event loop running both
 * sides would measure their sum, on one core. To measure the server and not itself, it
 * allocates nothing per request: one payload for all, latencies counted in a fixed histogram
 * of microseconds. The first half second warms up (JIT, caches, TCP windows) unmeasured.
 */
import type { Socket, SocketHandler } from "bun";
import { command, endpoint, fail, flag, startServer, whyConnectFailed } from "../lib/cli.ts";

/** Runs the ping-pongs against host:port; resolves with req/s and the latency percentiles. */
export async function runLoad(host: string, port: number, options: Partial<Load> = {}) {
  const load = { ...LOAD_DEFAULTS, ...options };
  const run = new PingPong(load.payloadBytes, load.maxRequests);
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
  if (run.requests === 0) throw new Error(`${where} sent nothing back: is it an echo server?`);
  const { connections, payloadBytes } = load;
  const requestsPerSecond = Math.round(run.requests / seconds);
  const [p50Ms, p99Ms] = [run.percentile(0.5), run.percentile(0.99)];
  return {
    connections,
    payloadBytes,
    requests: run.requests,
    seconds,
    requestsPerSecond,
    p50Ms,
    p99Ms,
  };
}

export const LOAD_DEFAULTS = {
  connections: 50,
  payloadBytes: 64,
  durationMs: 3_000,
  warmupMs: 500,
  maxRequests: 1e9,
};
type Load = typeof LOAD_DEFAULTS;

/** The request in flight on one connection: when it left, how much went, and came back. */
type Flight = { sentAt: number; written: number; received: number };

/** 1-microsecond buckets up to 1 s: exact, and nothing grows during the run. */
const BUCKETS = 1_000_000;

/** Every connection's ping-pong, and the histogram of their round trips. */
class PingPong {
  requests = 0;
  lost = 0;
  private recording = false;
  private stopping = false;
  private readonly histogram = new Uint32Array(BUCKETS);
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
        const micros = ((now - flight.sentAt) * 1000) | 0;
        this.histogram[micros < BUCKETS ? micros : BUCKETS - 1]! += 1;
        this.requests++;
        if (this.requests >= this.maxRequests) this.done.resolve();
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

  /** The latency under which `fraction` of the requests came back, in ms. */
  percentile(fraction: number): number {
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.histogram[bucket] ?? 0;
      if (seen >= this.requests * fraction) return bucket / 1000;
    }
    return BUCKETS / 1000;
  }
}

/** Lesson 13's echo server (TCP only) in its own process, on a free port. */
export const spawnEchoServer = () =>
  startServer(`${import.meta.dir}/13-echo-server.ts`, ["--protocol", "tcp"]);

const cli = command(
  "04-server/17-load.ts",
  "Measures an echo server (RFC 862): req/s and latency of many connections' ping-pong.",
  {
    host: flag.host("127.0.0.1", "the echo server's name or address"),
    port: flag.port(undefined, "its port (default: start lesson 13's server as a child)", {
      min: 1,
    }),
    connections: flag.whole(50, "connections held open at once", { min: 1, max: 10_000 }),
    size: flag.whole(64, "bytes in each request", { min: 1, max: 65_536 }),
    seconds: flag.whole(3, "how long to measure, after the warm-up", { min: 1, max: 3600 }),
    requests: flag.whole(undefined, "stop after this many answers", { min: 1, max: 1e9 }),
    json: flag.bool("print one JSON document instead of text"),
  },
);

if (import.meta.main) {
  const { host, port, connections, size, seconds, requests, json } = cli.parse();
  const child = port === undefined ? await spawnEchoServer() : undefined;
  const target = child?.port ?? port ?? 0;
  if (child && !json)
    console.log(`no --port: started lesson 13's server as a child, ${endpoint(host, target)}`);
  const options = {
    connections,
    payloadBytes: size,
    durationMs: seconds * 1000,
    maxRequests: requests ?? 1e9,
  };
  const result = await runLoad(host, target, options).catch((error: Error) => error);
  await child?.stop();
  if (result instanceof Error) fail(result.message);
  if (json) console.log(JSON.stringify({ server: endpoint(host, target), ...result }, null, 2));
  else {
    console.log(`${connections} connections x ${size} bytes to ${endpoint(host, target)}:`);
    console.log(
      `  ${result.requests} answers in ${result.seconds} s: ${result.requestsPerSecond} req/s`,
    );
    console.log(`  latency p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`);
  }
}
