/**
 * @title Is the port free?
 * @summary Whether a TCP server could listen on a port right now, found by trying: free, in use, or for administrators only.
 * @run bun run 01-basics/11-port-free.ts [--port PORT]... [--json]
 * @python tcp_sockets_python.py#network_diagnostics
 *
 * "Address already in use" is the first error most servers meet. The sure way to know
 * whether a port is free is to try: listen on it, on every IPv4 and every IPv6 address
 * (0.0.0.0, then ::), and let go at once. A program holding it on any one address, or a port
 * below 1024 without administrator rights, makes it fail. Nothing is sent to anyone.
 */
import { networkInterfaces } from "node:os";
import { command, flag, whyListenFailed } from "../lib/cli.ts";

export type PortUse = "free" | "in use" | "needs privileges";

/** Listens on `port` (all IPv4, then all IPv6 addresses) and lets go; says what stopped it. */
export function checkFree(port: number): { port: number; use: PortUse; why: string } {
  for (const hostname of ["0.0.0.0", "::"]) {
    try {
      Bun.listen({ hostname, port, socket: { data() {} } }).stop(true);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = whyListenFailed(error, hostname, port);
      if (code === "EADDRINUSE") return { port, use: "in use", why };
      if (code === "EACCES") return { port, use: "needs privileges", why };
    }
  }
  return { port, use: "free", why: `port ${port} is free: a TCP server can listen on it` };
}

/** The addresses a server on this machine can listen on, one by one. */
export const ownAddresses = (): string[] =>
  Object.values(networkInterfaces()).flatMap((entries) =>
    (entries ?? []).map((entry) => entry.address),
  );

const portFlag = flag.port(5000, "", { min: 1 });
const cli = command(
  "01-basics/11-port-free.ts",
  "Tries to listen on each PORT, on every address, and lets go: is it free for a TCP server?",
  {
    port: flag.list(
      "a port to try; again for more (default 5000, the labs' port)",
      "PORT",
      portFlag.parse,
    ),
    json: flag.bool("print one JSON document instead of text"),
  },
);

if (import.meta.main) {
  const { port, json } = cli.parse();
  const addresses = ownAddresses();
  const results = (port.length > 0 ? port : [5000]).map(checkFree);
  if (json) {
    console.log(JSON.stringify({ addresses, ports: results }, null, 2));
  } else {
    console.log(
      `a server here can listen on ${addresses.join(", ")}, or on all of them: 0.0.0.0 and ::`,
    );
    // What went wrong goes to stderr, so that a script sees it apart.
    for (const { use, why } of results) {
      if (use === "free") console.log(why);
      else console.error(why);
    }
  }
  // The run with no --port only shows; otherwise exit 1 when a port is taken.
  process.exit(port.length === 0 || results.every((result) => result.use === "free") ? 0 : 1);
}
