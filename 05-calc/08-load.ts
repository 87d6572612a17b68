/**
 * @title Load generator
 * @summary Drive a calculator server with N clients and M requests: req/s, p50/p90/p99 latency, errors.
 * @run bun run 05-calc/08-load.ts [--host H --port P] [--udp] [--connections 20] [--pipeline 1] [--requests 1000] [--heavy-ratio 0.1] [--json]
 * @python new
 *
 * N of lesson 07's closed loops at once (--pipeline K: K on each connection), sharing a plan of
 * M requests: cheap ones, and at --heavy-ratio a heavy `isprime`. Latency is kept apart for the
 * two kinds: the cheap ones' p99 is what a single event loop loses to heavy work. --max-seconds
 * bounds the run. With no --host/--port it starts lesson 05's server (03's with --udp) in this
 * process, so its numbers include this generator's work; lesson 09 runs servers on their own.
 */
import { parseArgs } from "node:util";
import { startUdpServer } from "./03-udp-server.ts";
import { startConcurrentServer } from "./05-concurrent-server.ts";
import { openPeer, type Peer } from "./07-ping.ts";
import { commandLine, endpoint, parseFlag, parsePort, reason } from "./command-line.ts";
import { answer, TCP_PORT, UDP_PORT } from "./protocol.ts";

export const loadDefaults = {
  udp: false,
  connections: 20,
  pipeline: 1, // requests in flight on each connection: 1 is a closed loop
  requests: 1000,
  heavyRatio: 0.1,
  heavy: "isprime 999999999999989", // some 35 ms of trial division on a laptop
  timeoutMs: 2000, // a later reply is lost (and a TCP client, now out of step, stops)
  maxSeconds: 30,
};
export type LoadOptions = { host: string; port: number } & Partial<typeof loadDefaults>;

export function percentiles(samples: number[]) {
  const sorted = samples.toSorted((a, b) => a - b);
  const at = (q: number): number => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

/** The same plan every run: heavy requests spread evenly, cheap ones varied. */
export function plan(requests: number, heavyRatio: number, heavy: string) {
  return Array.from({ length: requests }, (_, i) => {
    const isHeavy = Math.floor((i + 1) * heavyRatio) > Math.floor(i * heavyRatio);
    // Multiplying by primes mixes the digits; + - * % with these operands never errs.
    const cheap = `${(i * 7919) % 99_999} ${"+-*%"[i % 4]} ${((i * 10_007) % 999) + 1}`;
    const line = isHeavy ? heavy : cheap;
    return { line, heavy: isHeavy, expected: isHeavy ? null : answer(line) };
  });
}

export async function runLoad(options: LoadOptions) {
  const o = { ...loadDefaults, ...options };
  const jobs = plan(o.requests, o.heavyRatio, o.heavy); // expected replies too, before the clock
  const latency = { cheap: [] as number[], heavy: [] as number[] };
  let [next, errors, lost] = [0, 0, 0];
  // Every client connects first: the clock is for the requests, not for connection set-up.
  const opening = Array.from({ length: o.connections }, () => openPeer(o.host, o.port, o));
  const opened = await Promise.allSettled(opening);
  const peers = opened.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const failed = opened.find((result) => result.status === "rejected");
  if (failed) peers.forEach((peer) => peer.close());
  if (failed) throw failed.reason;
  const started = performance.now();
  const client = async (peer: Peer): Promise<void> => {
    while (next < jobs.length && performance.now() - started < o.maxSeconds * 1000) {
      const job = jobs[next++];
      const sentAt = performance.now();
      const reply = job ? await peer.ask(job.line) : null;
      if (job && reply !== null) {
        latency[job.heavy ? "heavy" : "cheap"].push(performance.now() - sentAt);
        if (job.expected ? reply !== job.expected : !reply.startsWith("OK")) errors++;
        continue;
      }
      lost++;
      if (!o.udp) break; // TCP: replies and requests are out of step now
    }
  };
  await Promise.all(
    peers.flatMap((peer) => Array.from({ length: o.pipeline }, () => client(peer))),
  );
  peers.forEach((peer) => peer.close());
  const seconds = (performance.now() - started) / 1000;
  const answered = latency.cheap.length + latency.heavy.length;
  const target = `${endpoint(o.host, o.port)} (${o.udp ? "udp" : "tcp"})`;
  const [cheap, heavy, rate] = [
    percentiles(latency.cheap),
    percentiles(latency.heavy),
    answered / seconds,
  ];
  return { target, seconds, sent: next, answered, errors, lost, rate, cheap, heavy };
}
export type LoadReport = Awaited<ReturnType<typeof runLoad>>;

export function describeLoad(report: LoadReport): string {
  const { target, sent, answered, seconds, errors, lost } = report;
  const ms = (value: number): string => `${value.toFixed(value < 10 ? 2 : 0)} ms`;
  const rows = (["cheap", "heavy"] as const).map((kind) => {
    const { count, p50, p90, p99 } = report[kind];
    return count ? `\n  ${kind} (${count}): p50 ${ms(p50)}, p90 ${ms(p90)}, p99 ${ms(p99)}` : "";
  });
  const rate = Math.round(report.rate).toLocaleString("en-US");
  const counts = `${answered} of ${sent} answered in ${seconds.toFixed(2)} s`;
  return `${target}: ${counts}, ${rate} req/s; ${errors} wrong or ERR, ${lost} lost${rows.join("")}`;
}

const usage = `usage: bun run 05-calc/08-load.ts [--host H --port P] [--udp] [--connections 20] [--pipeline 1]
         [--requests 1000] [--heavy-ratio 0.1] [--max-seconds 30] [--json]
With no --host/--port it starts lesson 05's server (03's with --udp) in this process.`;

if (import.meta.main) {
  const { values, ...options } = commandLine(usage, () => {
    const { values } = parseArgs({
      options: {
        host: { type: "string" },
        port: { type: "string" },
        udp: { type: "boolean", default: false },
        connections: { type: "string", default: "20" },
        pipeline: { type: "string", default: "1" },
        requests: { type: "string", default: "1000" },
        "heavy-ratio": { type: "string", default: "0.1" },
        "max-seconds": { type: "string", default: "30" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
    });
    return {
      values,
      port: values.port === undefined ? undefined : parsePort(values.port),
      connections: parseFlag("connections", values.connections, 1, 1000),
      pipeline: parseFlag("pipeline", values.pipeline, 1, 1000),
      requests: parseFlag("requests", values.requests, 1, 1e6),
      heavyRatio: parseFlag("heavy-ratio", values["heavy-ratio"], 0, 1, false),
      maxSeconds: parseFlag("max-seconds", values["max-seconds"], 1, 600),
    };
  });
  const { udp, json, host = "127.0.0.1" } = values;
  const start = udp ? startUdpServer : startConcurrentServer;
  const local = (values.host ?? values.port) ? null : await start({ port: 0, log() {} });
  const port = local?.port ?? options.port ?? (udp ? UDP_PORT : TCP_PORT);
  if (local && !json) console.log(`no --host/--port: started a server on ${endpoint(host, port)}`);
  try {
    const report = await runLoad({ ...options, host, port, udp });
    console.log(json ? JSON.stringify(report, null, 2) : describeLoad(report));
  } catch (error) {
    console.error(`could not load ${endpoint(host, port)}: ${reason(error)}`);
    process.exitCode = 1;
  } finally {
    await local?.stop();
  }
  process.exit(); // with exitCode: a connect we gave up on would keep the process waiting
}
