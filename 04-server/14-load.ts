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
import { formatEndpoint } from "./01-bind.ts";
import { parseCli, parseHost, parsePort } from "./08-daytime-server.ts";
import { explainFailure } from "./09-daytime-client.ts";

/** `maxRequests` ends the run early, once that many were answered within `durationMs`. */
const [connections, payloadBytes, durationMs, warmupMs, maxRequests] = [50, 64, 3_000, 500, 1e9];
export const LOAD_DEFAULTS = { connections, payloadBytes, durationMs, warmupMs, maxRequests };
/** 1-microsecond buckets up to 1 s: exact enough, and no array that grows during the run. */
const BUCKETS = 1_000_000;
type State = { received: number; sentAt: number };

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
  const handler: SocketHandler<State> = {
    binaryType: "uint8array", // lighter than Buffer, and only the byte count is read
    open: (socket) => void (socket.data = { received: 0, sentAt: 0 }),
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
      state.sentAt = now;
      socket.write(payload); // it fits: our one request in flight was just answered
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
    throw new Error(explainFailure(error, host, port, "tcp"));
  }
  for (const socket of sockets) ((socket.data.sentAt = performance.now()), socket.write(payload));
  await Bun.sleep(warmupMs); // JIT, caches and TCP windows warm up unmeasured
  [recording, started] = [true, performance.now()];
  const timer = setTimeout(finish, durationMs);
  await finished.promise; // the time is up, or --requests were answered
  clearTimeout(timer);
  for (const socket of sockets) socket.end();
  if (lost > 0) throw new Error(`${formatEndpoint(host, port)} closed ${lost} connections early.`);
  const percentile = (fraction: number): number => {
    let [seen, bucket] = [0, 0];
    while (bucket < BUCKETS - 1 && (seen += histogram[bucket] ?? 0) < requests * fraction) bucket++;
    return bucket / 1000;
  };
  const seconds = (ended - started) / 1000;
  const [requestsPerSecond, p50Ms, p99Ms] = [requests / seconds, percentile(0.5), percentile(0.99)];
  return { connections, payloadBytes, requests, seconds, requestsPerSecond, p50Ms, p99Ms };
}

/** Starts lesson 10's echo server in its own process and waits for its "listening on" line. */
export async function spawnEchoServer(): Promise<{ port: number; stop: () => Promise<void> }> {
  const file = `${import.meta.dir}/10-echo-server.ts`;
  const child = Bun.spawn(["bun", "run", file, "--port", "0"], { stdout: "pipe" }); // tcp and udp
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let [seen, port] = ["", ""];
  while (!port) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`lesson 10's echo server exited before listening: ${seen.trim()}`);
    seen += value;
    port = seen.match(/listening on \S+:(\d+) \(tcp\)/)?.[1] ?? "";
  }
  void (async () => {
    while (!(await reader.read()).done); // keep reading its log: a full pipe would block it
  })();
  return { port: Number(port), stop: async () => void (child.kill("SIGTERM"), await child.exited) };
}

const usage = `usage: bun run 04-server/14-load.ts [--host 127.0.0.1 --port 7007] [--connections 50] [--size 64] [--seconds 3] [--requests N] [--json]

Drives an echo server (RFC 862) through --connections connections, each sending --size bytes
and waiting for them to come back, over and over, for --seconds after a 0.5 s warm-up (or
until --requests were answered). Without --port it starts lesson 10's server as a child process.
  --json    print one JSON document instead of text`;

if (import.meta.main) {
  const options = parseCli(
    usage,
    {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      connections: { type: "string", default: "50" },
      size: { type: "string", default: "64" },
      seconds: { type: "string", default: "3" },
      requests: { type: "string" },
      json: { type: "boolean", default: false },
    },
    (values) => ({
      host: parseHost(values.host),
      port: values.port === undefined ? undefined : parsePort(values.port, "--port", 1),
      connections: parsePort(values.connections, "--connections", 1, 10_000),
      payloadBytes: parsePort(values.size, "--size", 1, 65_536),
      durationMs: 1000 * parsePort(values.seconds, "--seconds", 1, 3600),
      maxRequests: parsePort(values.requests ?? "1000000000", "--requests", 1, 1e9),
      json: values.json,
    }),
  );
  const { connections, payloadBytes, json } = options;
  const child = options.port === undefined ? await spawnEchoServer() : undefined;
  const port = child?.port ?? options.port ?? 0;
  const where = formatEndpoint(options.host, port);
  if (child && !json) console.log(`no --port: started lesson 10's server as a child, ${where}`);
  try {
    const result = await runLoad(options.host, port, options);
    const { requests, seconds, requestsPerSecond: rate, p50Ms, p99Ms } = result;
    if (json) console.log(JSON.stringify({ server: where, ...result }, null, 2));
    else {
      console.log(`${connections} connections x ${payloadBytes} bytes to ${where}:`);
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
