/**
 * @title Load generator
 * @summary Hold N connections to an echo server, each sending 64 bytes and waiting for them back, and report requests per second and p50/p99 latency.
 * @run bun run 04-server/14-load.ts [--host 127.0.0.1 --port 7007] [--connections 50] [--size 64] [--seconds 3] [--requests N] [--json]
 * @python new
 *
 * With no --port it starts lesson 10's server as a child process: one event loop running both
 * sides would measure their sum, on one core. To measure the server and not itself, it allocates
 * nothing per request: one payload for all, latencies counted in a fixed histogram of microseconds.
 */
import type { Socket, SocketHandler } from "bun";
import {
  explainClientError,
  formatEndpoint,
  parseCli,
  parseHost,
  spawnServer,
  wholeNumber,
} from "./cli.ts";

const [connections, payloadBytes, durationMs, warmupMs, maxRequests] = [50, 64, 3_000, 500, 1e9];
export const LOAD_DEFAULTS = { connections, payloadBytes, durationMs, warmupMs, maxRequests };
const BUCKETS = 1_000_000; // 1-microsecond buckets up to 1 s: exact, and nothing grows in the run
type State = { sentAt: number; written: number; received: number }; // the request in flight

export async function runLoad(host: string, port: number, options: Partial<typeof LOAD_DEFAULTS>) {
  const settings = { ...LOAD_DEFAULTS, ...options };
  const { connections, payloadBytes, durationMs, warmupMs, maxRequests } = settings;
  const payload = new Uint8Array(payloadBytes).fill(0x61); // "aaaa...", sent by every connection
  const histogram = new Uint32Array(BUCKETS);
  let [recording, stopping, requests, started, ended, lost] = [false, false, 0, 0, 0, 0];
  const finished = Promise.withResolvers<void>();
  const finish = (): void => {
    if (!stopping) [stopping, recording, ended] = [true, false, performance.now()];
    finished.resolve();
  };
  /** Writes the request from byte `from` on; what the kernel does not take waits for `drain`. */
  const request = (socket: Socket<State>, from = 0, now = performance.now()): void => {
    if (from === 0) socket.data.sentAt = now;
    const written = socket.write(from === 0 ? payload : payload.subarray(from));
    socket.data.written = from + Math.max(written, 0);
  };
  const handler: SocketHandler<State> = {
    binaryType: "uint8array", // lighter than Buffer, and only the byte count is read
    open: (socket) => void (socket.data = { sentAt: 0, written: 0, received: 0 }),
    data(socket, chunk) {
      const state = socket.data;
      state.received += chunk.byteLength;
      if (state.received < payloadBytes) return; // part of the echo: wait for the rest
      state.received -= payloadBytes;
      const now = performance.now();
      if (recording) {
        const micros = ((now - state.sentAt) * 1000) | 0;
        histogram[micros < BUCKETS ? micros : BUCKETS - 1]! += 1;
        if (++requests >= maxRequests) finish();
      }
      if (stopping) return void socket.end();
      request(socket, 0, now);
    },
    drain(socket) {
      // The kernel took only part of a request (64 bytes fit whole, 64 KiB may not): the rest.
      if (socket.data.written < payloadBytes) request(socket, socket.data.written);
    },
    close: () => void (stopping || lost++),
    error() {},
  };
  // One connection at a time: a burst of connects can overflow the server's accept backlog.
  const sockets: Socket<State>[] = [];
  try {
    for (let i = 0; i < connections; i++)
      sockets.push(await Bun.connect<State>({ hostname: host, port, socket: handler }));
  } catch (error) {
    for (const socket of sockets) socket.end();
    throw new Error(explainClientError(error, host, port, "tcp"));
  }
  for (const socket of sockets) request(socket);
  await Bun.sleep(warmupMs); // JIT, caches and TCP windows warm up unmeasured
  [recording, started] = [true, performance.now()];
  const timer = setTimeout(finish, durationMs);
  await finished.promise; // the time is up, or --requests were answered
  clearTimeout(timer);
  for (const socket of sockets) socket.end();
  const where = formatEndpoint(host, port);
  if (lost > 0) throw new Error(`${where} closed ${lost} connections early.`);
  if (requests === 0) throw new Error(`${where} sent nothing back: is it an echo server?`);
  const percentile = (fraction: number): number => {
    let [seen, bucket] = [0, 0];
    while (bucket < BUCKETS - 1 && (seen += histogram[bucket] ?? 0) < requests * fraction) bucket++;
    return bucket / 1000;
  };
  const seconds = (ended - started) / 1000;
  const [requestsPerSecond, p50Ms, p99Ms] = [requests / seconds, percentile(0.5), percentile(0.99)];
  return { connections, payloadBytes, requests, seconds, requestsPerSecond, p50Ms, p99Ms };
}

/** Lesson 10's echo server (TCP and UDP), started in its own process on a free port. */
export const spawnEchoServer = () => spawnServer("10-echo-server.ts", ["--port", "0"]);

const usage = `usage: bun run 04-server/14-load.ts [--host 127.0.0.1 --port 7007] [--connections 50] [--size 64] [--seconds 3] [--requests N] [--json]

Drives an echo server (RFC 862) through --connections connections, each sending --size bytes
and waiting for them to come back, over and over, for --seconds after a 0.5 s warm-up (or
until --requests were answered). Without --port it starts lesson 10's server as a child process.
  --json    print one JSON document instead of text`;

if (import.meta.main) {
  const flags = {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string" },
    connections: { type: "string", default: "50" },
    size: { type: "string", default: "64" },
    seconds: { type: "string", default: "3" },
    requests: { type: "string", default: "1000000000" },
    json: { type: "boolean", default: false },
  } as const;
  const options = parseCli(usage, flags, (values) => ({
    host: parseHost(values.host),
    port: values.port === undefined ? undefined : wholeNumber("--port", values.port, 1, 65_535),
    connections: wholeNumber("--connections", values.connections, 1, 10_000),
    payloadBytes: wholeNumber("--size", values.size, 1, 65_536),
    durationMs: 1000 * wholeNumber("--seconds", values.seconds, 1, 3600),
    maxRequests: wholeNumber("--requests", values.requests, 1, 1e9),
    json: values.json,
  }));
  const child = options.port === undefined ? await spawnEchoServer() : undefined;
  const port = child?.port ?? options.port ?? 0;
  const where = formatEndpoint(options.host, port);
  if (child && !options.json)
    console.log(`no --port: started lesson 10's server as a child, ${where}`);
  try {
    const result = await runLoad(options.host, port, options);
    const { requests, seconds, requestsPerSecond: rate, p50Ms, p99Ms } = result;
    if (options.json) console.log(JSON.stringify({ server: where, ...result }, null, 2));
    else {
      console.log(
        `${options.connections} connections x ${options.payloadBytes} bytes to ${where}:`,
      );
      console.log(`  ${requests} answers in ${seconds.toFixed(2)} s: ${rate | 0} req/s`);
      console.log(`  latency p50 ${p50Ms.toFixed(3)} ms, p99 ${p99Ms.toFixed(3)} ms`);
    }
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  } finally {
    await child?.stop();
  }
}
