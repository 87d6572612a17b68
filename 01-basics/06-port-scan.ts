/**
 * @title Port scan
 * @summary Try a TCP connect to many ports at once and tell open, closed (refused) and filtered (silent) apart.
 * @run bun run 01-basics/06-port-scan.ts [HOST] [--ports 1-1024,8080] [--concurrency 100] [--timeout 1000] [--workers 2] [--json]
 * @python tcp_sockets_python.py#scan_ports
 *
 * Open: the connect completed; closed: a reset came back; filtered: silence until the timeout.
 * Many connects fly at once, never over `--concurrency`. The kernel's work per connect keeps a
 * core busy, so one thread per core (scan-worker.ts) takes ports from one shared queue.
 * Beware the TCP self-connect on loopback: a phantom open port.
 */
import { lookup } from "node:dns/promises";
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Answer, DONE, type ProbeJob, probePorts } from "./scan-worker.ts";

/** `"22,80,8000-8100"` → sorted unique ports; throws one sentence about the first bad part. */
export function parsePorts(spec: string): number[] {
  const wanted = new Uint8Array(65536);
  for (const part of spec.split(",")) {
    const match = part.trim().match(/^(\d+)(?:-(\d+))?$/);
    if (!match) throw new Error(`"${part}" is not a port or a range: write e.g. 22,80,8000-8100.`);
    const [first, last] = [Number(match[1]), Number(match[2] ?? match[1])];
    const outside = first < 1 ? first : last > 65535 ? last : null;
    if (outside !== null) throw new Error(`port ${outside} is out of range: use 1 to 65535.`);
    if (first > last) throw new Error(`range ${part} runs backwards: write ${last}-${first}.`);
    wanted.fill(1, first, last + 1);
  }
  const ports: number[] = [];
  for (let port = 1; port <= 65535; port++) if (wanted[port] === 1) ports.push(port);
  return ports;
}

/** TCP service names from /etc/services, the file Python's getservbyport reads. */
export function tcpServiceNames(path = "/etc/services"): Map<number, string> {
  const text = existsSync(path) ? readFileSync(path, "utf8") : "";
  const entries = [...text.matchAll(/^([\w.+-]+)\s+(\d+)\/tcp\b/gm)].reverse(); // first name wins
  return new Map(entries.map((entry) => [Number(entry[2]), entry[1] ?? ""]));
}

/** Runs `probePorts` in a Worker thread (scan-worker.ts); ends the thread when it is done. */
function inWorker(job: ProbeJob): Promise<void> {
  const worker = new Worker(new URL("./scan-worker.ts", import.meta.url).href);
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  worker.onmessage = ({ data }: MessageEvent<string | null>) =>
    data === null ? resolve() : reject(new Error(data));
  worker.onerror = (event) => reject(new Error(`a scan thread failed: ${event.message}`));
  worker.postMessage(job);
  return promise.finally(() => worker.terminate()); // and with it the connects given up on
}

/** Connects to every port, at most `concurrency` at once in all; rejects if `host` does not resolve. */
export async function scanPorts(
  host: string,
  ports: readonly number[],
  {
    concurrency = 100,
    timeoutMs = 1000,
    workers = navigator.hardwareConcurrency,
    onProgress = (_done: number, _total: number) => {},
  } = {},
) {
  const started = performance.now();
  const { address: hostname } = await lookup(host); // once: each connect goes straight to it
  const shared = (bytes: number) => new SharedArrayBuffer(bytes); // seen by every thread
  const [state, counters] = [new Uint8Array(shared(ports.length)), new Int32Array(shared(8))];
  const job = { hostname, ports: new Uint16Array(shared(2 * ports.length)), state, counters };
  job.ports.set(ports);
  // Nearly all the time is the kernel's work for each connect, and one thread keeps one core
  // busy: with two cores, two threads sharing the ports (and the bound) take half as long.
  const threads = Math.max(1, Math.min(workers, concurrency)); // each may keep one in flight
  const parts = Array.from({ length: threads }, (_, thread): ProbeJob => {
    const share = Math.floor((concurrency + thread) / threads); // the shares add up to the bound
    return { ...job, timeoutMs, concurrency: share };
  });
  const services = tcpServiceNames();
  const ticker = setInterval(() => onProgress(Atomics.load(counters, DONE), ports.length), 100);
  const scanned = threads === 1 ? probePorts(parts[0]!) : Promise.all(parts.map(inWorker));
  await scanned.finally(() => clearInterval(ticker));
  const portsIn = (answer: number): number[] => ports.filter((_, index) => state[index] === answer);
  const open = portsIn(Answer.OPEN).map((port) => ({ port, service: services.get(port) ?? null }));
  const selfConnects = portsIn(Answer.SELF_CONNECT).length; // nobody listens there: closed
  const closed = portsIn(Answer.CLOSED).length + selfConnects;
  const filtered = portsIn(Answer.FILTERED);
  const elapsedMs = Math.round(performance.now() - started);
  return { host, address: hostname, open, closed, filtered, selfConnects, elapsedMs };
}

const usage = `usage: bun run 01-basics/06-port-scan.ts [HOST] [--ports LIST] [--concurrency N] [--timeout MS] [--workers N] [--json]
Connects to each TCP port of HOST (default 127.0.0.1) and says which are open.
  --ports LIST       ports and ranges, e.g. 22,80,8000-8100 (default 1-1024)
  --concurrency N    connects in flight at once, in all (default 100; more for a slow, far host)
  --timeout MS       how long a silent port gets before it counts as filtered (default 1000)
  --workers N        threads that share the connects (default: one per core, here ${navigator.hardwareConcurrency})
  --json             print one JSON document instead of text`;

/** Prints and exits: 0 for --help, 2 for a bad argument (with the usage), 1 for a failure. */
function exit(code: 0 | 1 | 2, message: string): never {
  (code === 0 ? console.log : console.error)(code === 2 ? `${message}\n\n${usage}` : message);
  process.exit(code);
}

function readArgs() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      ports: { type: "string", default: "1-1024" },
      concurrency: { type: "string", default: "100" },
      timeout: { type: "string", default: "1000" },
      workers: { type: "string", default: `${navigator.hardwareConcurrency}` },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) exit(0, usage);
  const [host = "127.0.0.1", ...more] = positionals;
  if (more.length > 0) throw new Error(`give one host to scan, not ${positionals.length}.`);
  const numbers = [values.concurrency, values.timeout, values.workers].map(Number);
  if (!numbers.every((number) => Number.isInteger(number) && number >= 1))
    throw new Error("--concurrency, --timeout and --workers take whole numbers of 1 or more.");
  const [concurrency, timeoutMs, workers] = numbers;
  const ports = parsePorts(values.ports);
  return { host, ports, concurrency, timeoutMs, workers, json: values.json };
}

if (import.meta.main) {
  const args = await Promise.try(readArgs).catch((error: Error) => exit(2, error.message));
  // Progress for a person, not a pipe; asked at the first tick (process.stderr costs ~15 ms).
  let tty: boolean | undefined;
  const onProgress = (done: number, of: number) =>
    (tty ??= process.stderr.isTTY) && process.stderr.write(`\r${done}/${of}`);
  const unknown = `cannot resolve "${args.host}": check the name, or give an IP address.`;
  const report = await scanPorts(args.host, args.ports, { ...args, onProgress }).catch(
    (error: NodeJS.ErrnoException) =>
      exit(1, error.syscall === "getaddrinfo" ? unknown : `the scan failed: ${error.message}`),
  );
  if (tty) process.stderr.write("\r\x1b[2K");
  if (args.json) console.log(JSON.stringify(report, null, 2));
  else {
    const { address, open, closed, filtered, selfConnects, elapsedMs } = report;
    console.log(`${args.host} (${address}): ${args.ports.length} TCP ports in ${elapsedMs} ms`);
    for (const { port, service } of open) console.log(`  ${port}/tcp\topen\t${service ?? ""}`);
    const silent = `${filtered.length} filtered ${filtered.slice(0, 20).join(" ")}`.trimEnd();
    console.log(`${open.length} open, ${closed} closed, ${silent}`);
    if (selfConnects > 0) console.log(`${selfConnects} self-connect(s), counted as closed`);
  }
  process.exit(0); // connects abandoned as filtered would otherwise keep the process alive
}
