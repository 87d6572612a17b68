/**
 * @title Port scan
 * @summary Try a TCP connect to many ports at once and tell open, closed (refused) and filtered (silent) apart.
 * @run bun run 01-basics/06-port-scan.ts [HOST] [--ports 1-1024,8080] [--concurrency 100] [--timeout 1000] [--json]
 * @python tcp_sockets_python.py#scan_ports
 *
 * Open: the connect completed; closed: a reset came back; filtered: silence until the timeout.
 * Many connects fly at once, never over `--concurrency`; beware the TCP self-connect on loopback.
 */
import type { Socket, SocketHandler } from "bun";
import { lookup } from "node:dns/promises";
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";

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
  return [...wanted.keys()].filter((port) => wanted[port] === 1);
}

/** TCP service names from /etc/services, the file Python's getservbyport reads. */
export function tcpServiceNames(path = "/etc/services"): Map<number, string> {
  const text = existsSync(path) ? readFileSync(path, "utf8") : "";
  const entries = [...text.matchAll(/^([\w.+-]+)\s+(\d+)\/tcp\b/gm)].reverse(); // first name wins
  return new Map(entries.map((entry) => [Number(entry[2]), entry[1] ?? ""]));
}

type Ends = Pick<Socket, "localAddress" | "localPort" | "remoteAddress" | "remotePort">;
/** Both ends are one socket: the kernel made our source port the target port (self-connect). */
export const isSelfConnect = (ends: Ends): boolean =>
  ends.localPort === ends.remotePort && ends.localAddress === ends.remoteAddress;

/** Connects to every port, at most `concurrency` at once; rejects if `host` does not resolve. */
export async function scanPorts(
  host: string,
  ports: readonly number[],
  { concurrency = 100, timeoutMs = 1000, onProgress = (_done: number, _total: number) => {} } = {},
) {
  const started = performance.now();
  const { address: hostname } = await lookup(host); // once: each connect goes straight to it
  // One byte of state and one start time per port, allocated once: no object per port.
  const [PENDING, OPEN, CLOSED, FILTERED] = [0, 1, 2, 3];
  const [state, startedAt] = [new Uint8Array(ports.length), new Float64Array(ports.length)];
  let [next, done, selfConnects] = [0, 0, 0]; // in flight: next - done
  const { promise: finished, resolve: finish } = Promise.withResolvers<void>();
  const settle = (index: number, result: number): void => {
    if (state[index] !== PENDING) return; // a late answer for a port already called filtered
    state[index] = result;
    if (++done === ports.length) finish();
    else launch();
  };
  const probe: SocketHandler<number> = {
    open(socket) {
      if (isSelfConnect(socket)) selfConnects++;
      settle(socket.data, isSelfConnect(socket) ? CLOSED : OPEN);
      socket.terminate(); // a reset, not a polite close: we have nothing to say
    },
    connectError(socket, error: NodeJS.ErrnoException) {
      settle(socket.data, error.code === "ECONNREFUSED" ? CLOSED : FILTERED); // else: no route
    },
    data() {},
  };
  const ignore = (): void => {}; // connectError has seen the failure; the promise rejects too
  function launch(): void {
    for (; next - done < concurrency && next < ports.length; next++) {
      startedAt[next] = performance.now();
      Bun.connect({ hostname, port: ports[next]!, data: next, socket: probe }).catch(ignore);
    }
  }
  // A connect cannot be cancelled: past the timeout we call the port filtered and move on.
  const sweep = (): void => {
    const tooOld = performance.now() - timeoutMs;
    for (let i = 0; i < next; i++)
      if (state[i] === PENDING && startedAt[i]! < tooOld) settle(i, FILTERED);
    onProgress(done, ports.length);
  };
  const sweeper = setInterval(sweep, Math.min(100, timeoutMs / 4));
  launch();
  if (ports.length > 0) await finished;
  clearInterval(sweeper);
  const services = tcpServiceNames();
  const portsIn = (wanted: number): number[] => ports.filter((_, index) => state[index] === wanted);
  const open = portsIn(OPEN).map((port) => ({ port, service: services.get(port) ?? null }));
  const [closed, filtered] = [portsIn(CLOSED).length, portsIn(FILTERED)];
  const elapsedMs = Math.round(performance.now() - started);
  return { host, address: hostname, open, closed, filtered, selfConnects, elapsedMs };
}

const usage = `usage: bun run 01-basics/06-port-scan.ts [HOST] [--ports LIST] [--concurrency N] [--timeout MS] [--json]
Connects to each TCP port of HOST (default 127.0.0.1) and says which are open.
  --ports LIST       ports and ranges, e.g. 22,80,8000-8100 (default 1-1024)
  --concurrency N    connects in flight at once (default 100; more for a slow, far host)
  --timeout MS       how long a silent port gets before it counts as filtered (default 1000)
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
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) exit(0, usage);
  const [host = "127.0.0.1", ...more] = positionals;
  const [concurrency, timeoutMs] = [Number(values.concurrency), Number(values.timeout)];
  if (more.length > 0) throw new Error(`give one host to scan, not ${positionals.length}.`);
  if (concurrency >= 1 && timeoutMs >= 1)
    return { host, ports: parsePorts(values.ports), concurrency, timeoutMs, json: values.json };
  throw new Error("--concurrency and --timeout take numbers of 1 or more.");
}

if (import.meta.main) {
  const args = await Promise.try(readArgs).catch((error: Error) => exit(2, error.message));
  const tty = process.stderr.isTTY; // a progress line for a person, not for a pipe or a file
  const onProgress = (done: number, of: number) => tty && process.stderr.write(`\r${done}/${of}`);
  const report = await scanPorts(args.host, args.ports, { ...args, onProgress }).catch(() =>
    exit(1, `cannot resolve "${args.host}": check the name, or give an IP address.`),
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
