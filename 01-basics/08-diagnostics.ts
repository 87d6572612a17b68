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
import { networkInterfaces } from "node:os";
import { parseArgs } from "node:util";

/** Every address on this machine's interfaces, loopback included. */
export const localAddresses = () =>
  Object.entries(networkInterfaces()).flatMap(([name, entries = []]) =>
    entries.map((entry) => ({ name, ...entry })),
  );

export type Outcome = "connected" | "refused" | "timed out" | "unknown host" | "unreachable";
const advice: Record<Outcome, string> = {
  connected: "answers",
  refused: "refused the connection: nothing listens on that port; start the server, or check it",
  "timed out": "did not answer in time: the host may be down, or a firewall drops packets",
  "unknown host": "is not a name the resolver knows: check the spelling, or give an address",
  unreachable: "is unreachable: there is no route to it; check the address and the network",
};

export type Check = Awaited<ReturnType<typeof checkConnection>>;
/** Resolves the name, then connects with a deadline; says what happened, never throws. */
export async function checkConnection(host: string, port: number, timeoutMs = 3000) {
  const began = performance.now();
  const found = await lookup(host).catch(() => null);
  const [address, lookupMs] = [found?.address ?? null, performance.now() - began];
  const result = (outcome: Outcome, connectMs = 0) =>
    ({ host, port, outcome, address, lookupMs, connectMs }) as const;
  if (!address) return result("unknown host");
  // Connect to the address, not the name, so that connectMs times the connect alone.
  const connecting = Bun.connect({ hostname: address, port, socket: { data() {} } });
  let timer: Timer | undefined;
  const deadline = new Promise<null>((resolve) => (timer = setTimeout(resolve, timeoutMs, null)));
  try {
    const socket = await Promise.race([connecting, deadline]);
    if (!socket) connecting.then((late) => late.end()).catch(() => {}); // cannot be called off
    socket?.end();
    return socket ? result("connected", performance.now() - began - lookupMs) : result("timed out");
  } catch (error) {
    const refused = (error as NodeJS.ErrnoException).code === "ECONNREFUSED";
    return result(refused ? "refused" : "unreachable");
  } finally {
    clearTimeout(timer);
  }
}

/** One sentence about a check: the times when it connected, else what went wrong. */
export function describeCheck({ host, port, outcome, lookupMs, connectMs }: Check): string {
  const target = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  if (outcome !== "connected") return `${target} ${advice[outcome]}.`;
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
  free: "is free: a server can listen on it",
  "in use": "is in use by another program: stop it, or give your server --port 0",
  "needs privileges": "is below 1024, for root only: pick a port above 1023",
};

export const parsePort = (text: string): number => {
  if (/^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= 65535) return Number(text);
  throw new Error(`"${text}" is not a port: give a number from 1 to 65535.`);
};
/** `host:8080`, `10.0.0.1:80` or `[::1]:8080` → host and port. */
export function parseTarget(text: string): { host: string; port: number } {
  const match = text.match(/^(?:\[(.+)\]|([^:]+)):([^:]*)$/);
  if (!match) throw new Error(`"${text}" is not HOST:PORT (write IPv6 as [::1]:8080).`);
  return { host: match[1] ?? match[2] ?? "", port: parsePort(match[3] ?? "") };
}

const usage = `usage: bun run 01-basics/08-diagnostics.ts [--check HOST:PORT]... [--free PORT]... [--timeout MS] [--json]

  (no flag)          this machine's addresses, and whether the labs' port 5000 is free
  --check HOST:PORT  does it answer, in how many ms; refused, silent, unknown told apart
  --free PORT        try to listen on PORT: free, or in use by another program
  --timeout MS       how long --check waits for an answer (default 3000)
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
  const asked = values.check.length + values.free.length > 0;
  const ports = asked ? values.free.map(parsePort) : [5000];
  return { targets: values.check.map(parseTarget), ports, asked, timeoutMs, json: values.json };
}

if (import.meta.main) {
  const args = await Promise.try(readArgs).catch((error: Error) => {
    console.error(`${error.message}\n\n${usage}`);
    process.exit(2);
  });
  const interfaces = args.asked ? [] : localAddresses();
  const checks = await Promise.all(
    args.targets.map(({ host, port }) => checkConnection(host, port, args.timeoutMs)),
  );
  const ports = args.ports.map((port) => ({ port, use: checkFree(port) }));
  if (args.json) console.log(JSON.stringify({ interfaces, checks, ports }, null, 2));
  else {
    if (!args.asked) console.log(`addresses on this machine (${interfaces.length}):`);
    for (const { name, cidr, address, family, internal } of interfaces) {
      const where = internal ? "loopback: this machine only" : "other machines may reach it";
      console.log(`  ${name.padEnd(8)} ${(cidr ?? address).padEnd(28)} ${family}, ${where}`);
    }
    // What went wrong goes to stderr, one sentence each, so that a script sees it apart.
    const say = (good: boolean, text: string) => (good ? console.log : console.error)(text);
    for (const check of checks) say(check.outcome === "connected", describeCheck(check));
    for (const { port, use } of ports) say(use === "free", `port ${port} ${portAdvice[use]}.`);
  }
  const passed = checks.map(({ outcome }) => outcome === "connected");
  passed.push(...ports.map(({ use }) => use === "free"));
  process.exit(args.asked && passed.includes(false) ? 1 : 0); // the no-flag tour only informs
}
