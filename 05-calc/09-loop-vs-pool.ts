/**
 * @title Single loop vs worker pool
 * @summary The same load on lesson 05's server and lesson 06's, each in its own process: what heavy work costs the cheap requests.
 * @run bun run 05-calc/09-loop-vs-pool.ts [--connections 20] [--requests 1000] [--heavy-ratio 0.1] [--json]
 * @python new
 *
 * Lesson 06 claims that a worker pool keeps the event loop free for cheap requests. Here is the
 * measurement: each server starts as a child process (`bun run FILE --port 0`; the load must
 * not share its loop), gets lesson 08's load, and stops. On the single loop the cheap requests'
 * p99 is about one heavy request's time, as they queue behind it; with the pool it stays near
 * the loopback round trip, while the heavy requests wait their turn for a worker instead.
 */
import { parseArgs } from "node:util";
import { describeLoad, type LoadReport, runLoad } from "./08-load.ts";
import { commandLine, parseFlag } from "./command-line.ts";

export interface RunningServer {
  port: number;
  pid: number;
  /** What the server printed so far (its first 64 KiB). */
  output(): string;
  stop(): Promise<void>;
}

/** Starts a server process and waits for its `listening on HOST:PORT` line. */
export async function spawnServer(argv: string[]): Promise<RunningServer> {
  const child = Bun.spawn(argv, { stdout: "pipe", stderr: "inherit" });
  const stop = async (): Promise<void> => {
    child.kill("SIGTERM");
    await child.exited;
  };
  const { promise, resolve, reject } = Promise.withResolvers<number>();
  let seen = "";
  void (async () => {
    // Read its output for its whole life: a full pipe would block the server's logging.
    for await (const chunk of child.stdout) {
      if (seen.length < 65_536) seen += Buffer.from(chunk).toString();
      const match = /listening on \S+:(\d+) \((?:tcp|udp)\)/.exec(seen);
      if (match) resolve(Number(match[1]));
    }
    reject(new Error(`${argv.join(" ")} exited before listening:\n${seen}`));
  })();
  try {
    return { port: await promise, pid: child.pid, output: () => seen, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The command that runs one of this chapter's lessons on any free port. */
export const lessonArgv = (file: string, ...args: string[]): string[] => [
  process.execPath,
  "run",
  new URL(file, import.meta.url).pathname,
  ...["--port", "0", ...args],
];

export const SERVERS = {
  "single loop (05-concurrent-server.ts)": lessonArgv("./05-concurrent-server.ts"),
  "worker pool (06-worker-pool.ts)": lessonArgv("./06-worker-pool.ts"),
};

/** Runs the same load against each server in turn, one server process at a time. */
export async function compare(
  load: { connections: number; requests: number; heavyRatio: number; maxSeconds?: number },
  servers: Record<string, string[]> = SERVERS,
): Promise<{ server: string; report: LoadReport }[]> {
  const results: { server: string; report: LoadReport }[] = [];
  for (const [server, argv] of Object.entries(servers)) {
    const running = await spawnServer(argv);
    try {
      results.push({
        server,
        report: await runLoad({ ...load, host: "127.0.0.1", port: running.port }),
      });
    } finally {
      await running.stop();
    }
  }
  return results;
}

const usage = `usage: bun run 05-calc/09-loop-vs-pool.ts [--connections 20] [--requests 1000] [--heavy-ratio 0.1] [--json]
Starts lesson 05's and lesson 06's servers in turn, each in a child process, and sends each the same load.`;

if (import.meta.main) {
  const { values, ...load } = commandLine(usage, () => {
    const { values } = parseArgs({
      options: {
        connections: { type: "string", default: "20" },
        requests: { type: "string", default: "1000" },
        "heavy-ratio": { type: "string", default: "0.1" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
    });
    return {
      values,
      connections: parseFlag("connections", values.connections, 1, 1000),
      requests: parseFlag("requests", values.requests, 1, 1e6),
      heavyRatio: parseFlag("heavy-ratio", values["heavy-ratio"], 0, 1, false),
    };
  });
  try {
    const results = await compare(load);
    if (values.json) console.log(JSON.stringify(results, null, 2));
    for (const { server, report } of values.json ? [] : results) {
      console.log(`${server}\n  ${describeLoad(report).replaceAll("\n", "\n  ")}`);
    }
    const [loop, pool] = results.map(({ report }) => report.cheap.p99.toFixed(1));
    if (!values.json)
      console.log(`cheap requests' p99: ${loop} ms on the single loop, ${pool} ms with the pool`);
  } catch (error) {
    console.error(`the comparison failed: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
