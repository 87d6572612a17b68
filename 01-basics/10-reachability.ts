/**
 * @title Reachability
 * @summary Does HOST:PORT answer, and how fast? If not: refused, silent, no route, or a name that does not resolve.
 * @run bun run 01-basics/10-reachability.ts [--check HOST:PORT]... [--timeout 3000] [--json]
 * @python tcp_sockets_python.py#test_connection
 *
 * Before blaming your code, ask the network. Refused: the host is there, nobody listens.
 * Silence: it is down, or a firewall drops the packets. No route: this machine has no path
 * there. Or the name does not resolve. Each has its own fix; a name's addresses are all tried.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { command, connect, endpoint, flag, whyConnectFailed, whyLookupFailed } from "../lib/cli.ts";

/** Resolves `host`, then tries each address until one connects, as Python's create_connection. */
export async function checkConnection(host: string, port: number, timeoutMs = 3000) {
  const target = endpoint(host, port);
  const tried: string[] = [];
  let said = "";
  const began = performance.now();
  const found = await lookup(host, { all: true }).catch((error: unknown) => {
    said = whyLookupFailed(error, host);
    return [];
  });
  const lookupMs = since(began);
  for (const { address } of found) {
    tried.push(address);
    const start = performance.now();
    try {
      const socket = await connect(address, port, { data() {} }, timeoutMs);
      socket.end();
      const connectMs = since(start);
      said = `${target} answers: connected in ${connectMs} ms (name look-up ${lookupMs} ms)`;
      return { host, port, tried, answered: true, said, lookupMs, connectMs };
    } catch (error) {
      said = await whyConnectFailed(error, address, port);
    }
  }
  // For a name, say which addresses were tried: a server may listen on only one of them.
  if (isIP(host) === 0 && tried.length > 0) said = `${target} (tried ${tried.join(", ")}): ${said}`;
  return { host, port, tried, answered: false, said, lookupMs, connectMs: 0 };
}

/** Milliseconds since `start`, rounded to the microsecond. */
const since = (start: number): number => Math.round((performance.now() - start) * 1000) / 1000;

/** `host:8080`, `10.0.0.1:80` or `[::1]:8080`: no spaces or control characters, IPv6 in [ ]. */
export function parseTarget(text: string): { host: string; port: number } {
  const match = text.match(/^(?:\[([^\]]+)\]|([^:\s\p{Cc}[\]]+)):([^:]*)$/u);
  if (!match || (match[1] !== undefined && isIP(match[1]) !== 6))
    throw new Error(`${JSON.stringify(text)} is not HOST:PORT (write IPv6 as [::1]:8080).`);
  const port = match[3] ?? "";
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    throw new Error(`"${port}" is not a port: give a number from 1 to 65535.`);
  return { host: match[1] ?? match[2] ?? "", port: Number(port) };
}

const cli = command(
  "01-basics/10-reachability.ts",
  "Tries a TCP connection to each HOST:PORT: does it answer, how fast, and if not, why not.",
  {
    check: flag.list("where to connect (default localhost:5000)", "HOST:PORT", parseTarget),
    timeout: flag.whole(3000, "ms to wait for each address", { min: 1, max: 600_000 }),
    json: flag.bool("print one JSON document instead of text"),
  },
);

if (import.meta.main) {
  const { check, timeout, json } = cli.parse();
  const targets = check.length > 0 ? check : [{ host: "localhost", port: 5000 }];
  const checks = await Promise.all(targets.map((to) => checkConnection(to.host, to.port, timeout)));
  if (json) {
    console.log(JSON.stringify({ checks }, null, 2));
  } else {
    // A sentence each; what went wrong goes to stderr, for a script to see apart.
    for (const { answered, said } of checks) console[answered ? "log" : "error"](said);
  }
  process.exit(checks.every((result) => result.answered) ? 0 : 1);
}
