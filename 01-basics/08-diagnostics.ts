/**
 * @title Diagnostics
 * @summary This machine's addresses, whether HOST:PORT answers and how fast, and whether a port is free to bind.
 * @run bun run 01-basics/08-diagnostics.ts [--check HOST:PORT]... [--free PORT]... [--timeout 3000] [--json]
 * @python tcp_sockets_python.py#network_diagnostics tcp_sockets_python.py#test_connection
 *
 * Three questions to ask before blaming your code. Which addresses does this machine have?
 * Does HOST:PORT answer, and if not, was it refused (the host is there, nobody listens),
 * silent (down, or a firewall) or an unknown name? Is my port free, or is a program on it?
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { interfaceAddresses, interfaceLine } from "./01-hostname.ts"; // lesson 01's list
import { clientView } from "./07-connection-info.ts";

const advice = {
  connected: "answers",
  refused: "refused the connection: nothing listens on that port; start the server, or check it",
  "timed out": "did not answer in time: the host may be down, or a firewall drops packets",
  "unknown host": "is not a name the resolver knows: check the spelling, or give an address",
  "no DNS": "was not looked up: no DNS server answered; check your network, or give an address",
  unreachable: "is unreachable: there is no route to it; check the address and the network",
};
export type Outcome = keyof typeof advice;
const connectOnce = (address: string, port: number, timeoutMs: number): Promise<Outcome> =>
  clientView(address, port, timeoutMs).then(
    (): Outcome => "connected",
    // Bun 1.4 reports a missing route (ENETUNREACH) as ECONNREFUSED too (oven-sh/bun#37093),
    // so "refused" may also mean "unreachable"; other codes (EINVAL, ...) are unreachable.
    ({ code }: NodeJS.ErrnoException): Outcome =>
      code === "ETIMEDOUT" ? "timed out" : code === "ECONNREFUSED" ? "refused" : "unreachable",
  );

export type Check = Awaited<ReturnType<typeof checkConnection>>;
/** Resolves the name and tries each address until one connects, like Python's create_connection. */
export async function checkConnection(host: string, port: number, timeoutMs = 3000) {
  const began = performance.now();
  let outcome: Outcome = "unknown host";
  const found = await lookup(host, { all: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "EAI_AGAIN") outcome = "no DNS"; // offline, or no DNS server reachable
    return [];
  });
  const [tried, lookupMs] = [found.map((entry) => entry.address), performance.now() - began];
  const report = (address: string | null, connectMs = 0) =>
    ({ host, port, outcome, address, tried, lookupMs, connectMs }) as const;
  // "localhost" may be ::1 and 127.0.0.1, and a server may listen on only one of them.
  for (const address of tried) {
    const start = performance.now();
    outcome = await connectOnce(address, port, timeoutMs);
    if (outcome === "connected") return report(address, performance.now() - start);
  }
  return report(tried.at(-1) ?? null);
}

/** One sentence about a check: the times when it connected, else what went wrong. */
export function describeCheck({ host, port, outcome, tried, lookupMs, connectMs }: Check): string {
  const target = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const addresses = isIP(host) || tried.length === 0 ? "" : ` (tried ${tried.join(", ")})`;
  if (outcome !== "connected") return `${target}${addresses} ${advice[outcome]}.`;
  return `${target} answers: connected in ${connectMs.toFixed(1)} ms (name look-up ${lookupMs.toFixed(1)} ms).`;
}

export type PortUse = "free" | "in use" | "needs privileges";
/** Listens on `port` (all IPv4, then all IPv6 addresses) and lets go; other errors say nothing. */
export function checkFree(port: number): PortUse {
  for (const hostname of ["0.0.0.0", "::"]) {
    try {
      Bun.listen({ hostname, port, socket: { data() {} } }).stop(true);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE") return "in use";
      if (code === "EACCES") return "needs privileges";
    }
  }
  return "free";
}
const portAdvice: Record<PortUse, string> = {
  free: "is free: a TCP server can listen on it",
  "in use": "is in use by another program: stop it, or give your server --port 0",
  "needs privileges": "is below 1024, for root only: pick a port above 1023",
};

export const parsePort = (text: string): number => {
  if (/^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= 65535) return Number(text);
  throw new Error(`"${text}" is not a port: give a number from 1 to 65535.`);
};
/** `host:8080`, `10.0.0.1:80` or `[::1]:8080`: no spaces or control characters, IPv6 in [ ]. */
export function parseTarget(text: string): { host: string; port: number } {
  const match = text.match(/^(?:\[([^\]]+)\]|([^:\s\p{Cc}[\]]+)):([^:]*)$/u);
  if (!match || (match[1] && isIP(match[1]) !== 6))
    throw new Error(`${JSON.stringify(text)} is not HOST:PORT (write IPv6 as [::1]:8080).`);
  return { host: match[1] ?? match[2] ?? "", port: parsePort(match[3] ?? "") };
}

const usage = `usage: bun run 01-basics/08-diagnostics.ts [--check HOST:PORT]... [--free PORT]... [--timeout MS] [--json]

  (no flag)          this machine's addresses, and whether the labs' port 5000 is free
  --check HOST:PORT  does it answer, in how many ms; refused, silent, unknown told apart
  --free PORT        try to listen on PORT: free, or in use by another program
  --timeout MS       how long --check waits on each address (default 3000)
  --json             print one JSON document instead of text
Exit status 1 when a --check gets no connection or a --free port is taken.`;

function readArgs() {
  const { values } = parseArgs({
    options: {
      check: { type: "string", multiple: true, default: [] },
      free: { type: "string", multiple: true, default: [] },
      timeout: { type: "string", default: "3000" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const timeoutMs = Number(values.timeout);
  if (!(timeoutMs >= 1)) throw new Error(`--timeout takes milliseconds (1 or more).`);
  if (timeoutMs > 600_000) throw new Error(`--timeout takes at most 600000 ms (10 minutes).`);
  const asked = values.check.length + values.free.length > 0;
  const ports = asked ? values.free.map(parsePort) : [5000];
  return { targets: values.check.map(parseTarget), ports, asked, timeoutMs, json: values.json };
}

if (import.meta.main) {
  const args = await Promise.try(readArgs).catch((error: Error) => {
    console.error(`${error.message}\n\n${usage}`);
    process.exit(2);
  });
  const interfaces = args.asked ? [] : interfaceAddresses();
  const checks = await Promise.all(
    args.targets.map(({ host, port }) => checkConnection(host, port, args.timeoutMs)),
  );
  const ports = args.ports.map((port) => ({ port, use: checkFree(port) }));
  if (args.json) console.log(JSON.stringify({ interfaces, checks, ports }, null, 2));
  else {
    if (!args.asked) console.log(`addresses on this machine (${interfaces.length}):`);
    for (const entry of interfaces) console.log(interfaceLine(entry));
    // What went wrong goes to stderr, one sentence each, so that a script sees it apart.
    const say = (good: boolean, text: string) => (good ? console.log : console.error)(text);
    for (const check of checks) say(check.outcome === "connected", describeCheck(check));
    for (const { port, use } of ports) say(use === "free", `port ${port} ${portAdvice[use]}.`);
  }
  const unanswered = checks.some(({ outcome }) => outcome !== "connected");
  const taken = ports.some(({ use }) => use !== "free");
  process.exit(args.asked && (unanswered || taken) ? 1 : 0); // the no-flag run only informs
}
