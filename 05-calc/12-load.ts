/**
 * @title Load generator
 * @summary Drive a calculator server with N clients and M requests: req/s, p50/p90/p99 latency, errors.
 * @run bun run 05-calc/12-load.ts [--host HOST] [--port PORT] [--udp] [--connections 20] [--pipeline 1] [--requests 1000] [--heavy-ratio 0.1] [--max-seconds 30] [--json]
 * @python new
 *
 * N of lesson 09's closed loops at once (--pipeline K: K on each connection), sharing a
 * plan of M requests: cheap ones, and at --heavy-ratio a heavy `isprime`. Latency is kept
 * apart for the two kinds: the cheap ones' p99 is what a single event loop loses to heavy
 * work. Percentiles, not averages: one stall in a hundred hides in a mean. With no
 * --host/--port it starts lesson 06's server (04's with --udp); lesson 13 compares two.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { command, endpoint, fail, flag, peerOrStart, whyConnectFailed } from "../lib/cli.ts";
import { type Peer, tcpPeer, udpPeer } from "./peers.ts";
import { answer, TCP_PORT, UDP_PORT } from "./protocol.ts";

export async function runLoad(options: LoadOptions) {
  const o = { ...LOAD_DEFAULTS, ...options };
  // The expected replies are worked out before the clock starts.
  const jobs = plan(o.requests, o.heavyRatio, o.heavy);
  const latency = { cheap: [] as number[], heavy: [] as number[] };
  let next = 0;
  let errors = 0;
  let lost = 0;
  // Every client connects first: the clock is for the requests, not for connection set-up.
  const address = isIP(o.host) ? o.host : (await lookup(o.host)).address;
  const open = o.udp ? udpPeer : tcpPeer;
  const opening = Array.from({ length: o.connections }, () => open(address, o.port, o.timeoutMs));
  const opened = await Promise.allSettled(opening);
  const peers = opened.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const failed = opened.find((result) => result.status === "rejected");
  if (failed) {
    for (const peer of peers) peer.close();
    throw failed.reason;
  }
  const started = performance.now();
  const loop = async (peer: Peer): Promise<void> => {
    while (next < jobs.length && performance.now() - started < o.maxSeconds * 1000) {
      const job = jobs[next++] as Job;
      const sentAt = performance.now();
      const reply = await peer.ask(job.line);
      if (reply === null) {
        lost++;
        // Over TCP the connection is given up: its replies are out of step now.
        if (o.udp) continue;
        return;
      }
      latency[job.heavy ? "heavy" : "cheap"].push(performance.now() - sentAt);
      if (job.expected ? reply !== job.expected : !reply.startsWith("OK")) errors++;
    }
  };
  await Promise.all(peers.flatMap((peer) => Array.from({ length: o.pipeline }, () => loop(peer))));
  for (const peer of peers) peer.close();
  const seconds = (performance.now() - started) / 1000;
  const answered = latency.cheap.length + latency.heavy.length;
  return {
    target: `${endpoint(o.host, o.port)} (${o.udp ? "udp" : "tcp"})`,
    seconds: round(seconds),
    sent: next,
    answered,
    errors,
    lost,
    rate: round(answered / seconds),
    cheap: percentiles(latency.cheap),
    heavy: percentiles(latency.heavy),
  };
}

export const LOAD_DEFAULTS = {
  udp: false,
  connections: 20,
  /** Requests in flight on each connection: 1 is a closed loop. */
  pipeline: 1,
  requests: 1000,
  heavyRatio: 0.1,
  /** Some 40 ms of trial division here (lesson 06's server stalls for each). */
  heavy: "isprime 999999999999989",
  /** A later reply is lost (and a TCP client, now out of step, stops). */
  timeoutMs: 2000,
  maxSeconds: 30,
};
export type LoadOptions = { host: string; port: number } & Partial<typeof LOAD_DEFAULTS>;
type Job = { line: string; heavy: boolean; expected: string | null };

export type LoadReport = Awaited<ReturnType<typeof runLoad>>;

/** Nearest rank: p99 is the sample 99% of the others are not above. */
export function percentiles(samples: number[]) {
  const sorted = samples.toSorted((a, b) => a - b);
  const at = (q: number): number =>
    round(sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? 0);
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

/** The same plan every run: heavy requests spread evenly, cheap ones varied. */
export function plan(requests: number, heavyRatio: number, heavy: string): Job[] {
  return Array.from({ length: requests }, (_, i) => {
    const isHeavy = Math.floor((i + 1) * heavyRatio) > Math.floor(i * heavyRatio);
    // Multiplying by primes mixes the digits; + - * % with these operands never errs.
    const cheap = `${(i * 7919) % 99_999} ${"+-*%"[i % 4]} ${((i * 10_007) % 999) + 1}`;
    const line = isHeavy ? heavy : cheap;
    return { line, heavy: isHeavy, expected: isHeavy ? null : answer(line) };
  });
}

const round = (value: number): number => Math.round(value * 1000) / 1000;

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

const cli = command("05-calc/12-load.ts", "Loads a calculator server and measures it.", {
  host: flag.host(undefined, "the server (no --host/--port: start lesson 06's, or 04's)"),
  port: flag.port(undefined, `the server's port (${TCP_PORT}; ${UDP_PORT} with --udp)`, { min: 1 }),
  udp: flag.bool("send datagrams to a UDP calculator instead"),
  connections: flag.whole(20, "clients at once (UDP: sockets)", { min: 1, max: 1_000 }),
  pipeline: flag.whole(1, "requests in flight on each connection", { min: 1, max: 1_000 }),
  requests: flag.whole(1_000, "requests in all", { min: 1, max: 1_000_000 }),
  "heavy-ratio": flag.decimal(0.1, `the share of ${LOAD_DEFAULTS.heavy}`, { max: 1 }),
  "max-seconds": flag.whole(30, "stop sending after this long", { min: 1, max: 600 }),
  json: flag.bool("print the report as one JSON document"),
});

if (import.meta.main) {
  const { json, udp, "heavy-ratio": heavyRatio, "max-seconds": maxSeconds, ...given } = cli.parse();
  const server = new URL(udp ? "./04-udp-server.ts" : "./06-concurrent-server.ts", import.meta.url);
  const started = { serverFile: server.href, defaultPort: udp ? UDP_PORT : TCP_PORT };
  const { host, port, local } = await peerOrStart(given, started);
  const { connections, pipeline, requests } = given;
  try {
    const load = { host, port, udp, connections, pipeline, requests, heavyRatio, maxSeconds };
    const report = await runLoad(load);
    console.log(json ? JSON.stringify(report, null, 2) : describeLoad(report));
  } catch (error) {
    fail(await whyConnectFailed(error, host, port, udp ? "udp" : "tcp"));
  }
  await local?.stop();
  process.exit(0);
}
