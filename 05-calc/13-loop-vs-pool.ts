/**
 * @title Single loop vs worker pool
 * @summary The same load on lesson 06's server and lesson 07's, each in its own process: what heavy work costs the cheap requests.
 * @run bun run 05-calc/13-loop-vs-pool.ts [--connections 20] [--requests 1000] [--heavy-ratio 0.1] [--json]
 * @python new
 *
 * Lesson 07 claims that a worker pool keeps the event loop free for cheap requests. Here is
 * the measurement: each server starts as a process of its own (`startServer`), lesson 12's
 * load runs as another (a load must not share a loop with the server it measures), then the
 * server stops. On the single loop the cheap requests' p99 is about one heavy request's
 * time, as they queue behind it; with the pool it stays near the loopback round trip.
 */
import { $ } from "bun";
import { join } from "node:path";
import { command, fail, flag, startServer } from "../lib/cli.ts";

/** Each server to measure: its lesson file and its arguments. */
export const SERVERS: Record<string, string[]> = {
  "single loop (06-concurrent-server.ts)": ["06-concurrent-server.ts"],
  "worker pool (07-worker-pool.ts)": ["07-worker-pool.ts"],
};

/** Runs the same load against each server in turn, one server process at a time. */
export async function compare(load: Load, servers = SERVERS): Promise<Result[]> {
  const results: Result[] = [];
  for (const [name, [file = "", ...args]] of Object.entries(servers)) {
    const server = await startServer(join(import.meta.dir, file), args).catch((error: Error) => {
      throw new Error(`the server did not start: ${firstLine(error.message)}`);
    });
    try {
      results.push({ server: name, report: await loadFrom(server.port, load) });
    } finally {
      await server.stop();
    }
  }
  return results;
}

/** Lesson 12 in a process of its own, asked for --json: its report. */
async function loadFrom(port: number, load: Load): Promise<Report> {
  const flags = Object.entries(load).flatMap(([name, value]) => [`--${name}`, String(value)]);
  const file = join(import.meta.dir, "12-load.ts");
  const run = await $`bun run ${file} --port ${port} --json ${flags}`.nothrow().quiet();
  if (run.exitCode !== 0) throw new Error(`the load failed: ${firstLine(run.stderr.toString())}`);
  return JSON.parse(run.stdout.toString()) as Report;
}

/** A lesson's sentence, without the usage that follows it. */
const firstLine = (text: string): string => text.trim().split("\n")[0] ?? "";

export type Load = { connections: number; requests: number; "heavy-ratio": number };
export type Result = { server: string; report: Report };
type Kind = Record<"count" | "p50" | "p90" | "p99", number>;
/** The part of lesson 12's report this lesson reads. */
export type Report = Record<"sent" | "answered" | "errors" | "lost" | "seconds" | "rate", number> &
  Record<"cheap" | "heavy", Kind>;

/** Each server's figures, then the one that matters: the cheap requests' p99 on each. */
function describe(results: Result[]): string {
  const lines: string[] = [];
  for (const { server, report } of results) {
    const { answered, sent, seconds, rate, errors, lost } = report;
    const counts = `${answered} of ${sent} answered in ${seconds.toFixed(2)} s`;
    const health = `${Math.round(rate)} req/s; ${errors} wrong or ERR, ${lost} lost`;
    lines.push(server, `  ${counts}, ${health}`);
    for (const kind of ["cheap", "heavy"] as const) {
      const { count, p50, p99 } = report[kind];
      const shown = `  ${kind} (${count}): p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`;
      if (count > 0) lines.push(shown);
    }
  }
  const [loop, pool] = results.map(({ report }) => report.cheap.p99.toFixed(1));
  lines.push(`cheap requests' p99: ${loop} ms on the single loop, ${pool} ms with the pool`);
  return lines.join("\n");
}

const cli = command("05-calc/13-loop-vs-pool.ts", "Loads lesson 06's server, then 07's.", {
  connections: flag.whole(20, "clients at once", { min: 1, max: 1_000 }),
  requests: flag.whole(1_000, "requests in all, for each server", { min: 1, max: 1_000_000 }),
  "heavy-ratio": flag.decimal(0.1, "the share of heavy requests", { max: 1, placeholder: "RATIO" }),
  json: flag.bool("print both reports as one JSON document"),
});

if (import.meta.main) {
  const { json, words: _, ...load } = cli.parse();
  try {
    const results = await compare(load);
    console.log(json ? JSON.stringify(results, null, 2) : describe(results));
  } catch (error) {
    fail(`the comparison failed: ${(error as Error).message}`);
  }
}
