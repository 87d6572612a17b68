/**
 * @title The same scan on every core
 * @summary Lesson 07's port scan on one worker thread per core, all taking ports from one queue in shared memory.
 * @run bun run 01-basics/08-scan-every-core.ts [HOST] [--ports 1-1024] [--concurrency 100] [--timeout 1000] [--workers N] [--json]
 * @python new
 *
 * On loopback a port answers in microseconds: a scan lasts as long as the kernel's work for
 * its connects, and one thread keeps one core busy (lesson 07: 65535 ports in about 1.5 s).
 * Here each core runs lesson 07's loop in a Worker thread. A worker starts from a file of its
 * own, so the loop lives in scan-thread.ts and this page keeps what is new: the queue the
 * threads share, and how they start and end. With two cores, twice as fast.
 */
import { lookup } from "node:dns/promises";
import { command, Explained, fail, flag, routeProblem } from "../lib/cli.ts";
import { whyConnectFailed, whyLookupFailed } from "../lib/cli.ts";
import { type Answer, HOST, type Limits, printReport, ProgressLine, SCAN_FLAGS } from "./ports.ts";
import { scanReport } from "./ports.ts";
import { ANSWER, DONE } from "./scan-thread.ts";

/** Scans `host` with `workers` threads, `limits.concurrency` connects in flight in all. */
export async function scanOnEveryCore(
  host: string,
  ports: number[],
  { workers = CORES, ...limits }: Limits & { workers?: number },
  onProgress: (done: number, total: number) => void = () => {},
) {
  const started = performance.now();
  const { address } = await lookup(host);
  // A connect that cannot start (no route, no file descriptor) sends nothing, and Bun calls
  // it ECONNREFUSED. Lesson 07 asks the kernel why at that moment; here another thread may
  // just have freed a descriptor, so the route is checked once, before any thread starts.
  const noRoute = await routeProblem(address, ports[0] ?? 1);
  if (noRoute) throw new Explained(await whyConnectFailed(noRoute, host, ports[0] ?? 1));
  // The ports, one byte of answer for each, and two counters (the next port to take, the
  // ports done), in memory every thread sees: one queue for all, not a list cut in parts.
  const job = {
    address,
    timeoutMs: limits.timeoutMs,
    ports: new Uint16Array(new SharedArrayBuffer(2 * ports.length)),
    state: new Uint8Array(new SharedArrayBuffer(ports.length)),
    counters: new Int32Array(new SharedArrayBuffer(8)),
  };
  job.ports.set(ports);
  const count = Math.max(1, Math.min(workers, limits.concurrency));
  const url = new URL("./scan-thread.ts", import.meta.url);
  const threads = Array.from({ length: count }, () => new Worker(url));
  const ticker = setInterval(() => onProgress(Atomics.load(job.counters, DONE), ports.length), 100);
  try {
    // All threads load, then all scan: one that scanned while another still loaded its code
    // could take the file descriptors that one needs, and Bun would stop the whole process.
    await Promise.all(threads.map(nextMessage)).catch((error: Error) => {
      const why = `could not start ${count} scanning threads (${error.message})`;
      throw new Explained(`${why}: raise ulimit -n, or give --workers 1`);
    });
    // Each thread keeps its share of the bound in flight; the shares add up to the bound.
    const results = threads.map((thread, i) => {
      const said = nextMessage(thread);
      thread.postMessage({ ...job, concurrency: Math.floor((limits.concurrency + i) / count) });
      return said;
    });
    // With the route there, a connect that could not start found no file descriptor.
    if ((await Promise.all(results)).includes("no socket")) {
      const error = Object.assign(new Error("no file descriptor left"), { code: "EMFILE" });
      throw new Explained(await whyConnectFailed(error, host, ports[0] ?? 1));
    }
  } finally {
    clearInterval(ticker);
    // Ends each thread, and with it the connects it gave up on as filtered.
    for (const thread of threads) thread.terminate();
  }
  const answerOf = (index: number): Answer | undefined => NAMES[(job.state[index] ?? 0) - 1];
  return scanReport(host, address, ports, answerOf, started);
}

const NAMES = Object.keys(ANSWER) as Answer[];

/** The next message `thread` posts ("ready", "done", "no socket"), or its failure. */
function nextMessage(thread: Worker): Promise<string> {
  return new Promise((resolve, reject) => {
    thread.onmessage = (event: MessageEvent<string>) => resolve(event.data);
    thread.onerror = (event) => reject(new Error(event.message.trim()));
  });
}

const CORES = navigator.hardwareConcurrency;
const cli = command(
  "01-basics/08-scan-every-core.ts",
  "Lesson 07's scan of HOST's TCP ports, with one worker thread per core sharing one queue.",
  {
    ...SCAN_FLAGS,
    workers: flag.whole(undefined, `threads (default ${CORES}: one per core)`, { min: 1, max: 64 }),
    json: flag.bool("print one JSON document instead of text"),
  },
  HOST,
);

if (import.meta.main) {
  const { words, ports, concurrency, timeout, workers, json } = cli.parse();
  const host = words[0] ?? "127.0.0.1";
  const progress = new ProgressLine();
  const limits = { concurrency, timeoutMs: timeout, workers };
  // whyLookupFailed words a name that failed; an Explained error passes through as it is.
  const report = await scanOnEveryCore(host, ports, limits, progress.show).catch((error: unknown) =>
    fail(whyLookupFailed(error, host)),
  );
  progress.clear();
  printReport(report, json);
}
