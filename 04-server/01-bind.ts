/**
 * @title Bind
 * @summary Claim an address and port, see what port 0 means, and what a second claim on the same port gets.
 * @run bun run 04-server/01-bind.ts [--host 127.0.0.1] [--port 5000]
 * @python server-01.py
 * @serves tcp "" -> ""
 * @limits memory 100 MiB
 *
 * A server starts by binding: asking the kernel for one address and port, which from then on
 * belong to this process alone. You will see the port you got (ask for 0 and the kernel picks a
 * free one), and a second bind of the same port fail with "address in use". It holds the port
 * until Ctrl-C. The flags, the "address in use" sentence and the Ctrl-C handling are in
 * cli.ts, beside the lessons: every server of the chapter uses them.
 */
import type { TCPSocketListener } from "bun";
import { isIP } from "node:net";
import {
  explainListenError,
  formatEndpoint,
  LAB_PORT,
  listenOrExit,
  parseServerArgs,
  stopOnSignals,
} from "./cli.ts";

/** Binds `host:port`: Bun.listen does socket(), bind() and listen() in one call. */
export function bindPort(host: string, port: number): TCPSocketListener<undefined> {
  return Bun.listen({
    hostname: host,
    port,
    // The kernel completes handshakes on a listening port; this lesson just hangs up on them.
    socket: { open: (socket) => void socket.end(), data() {} },
  });
}

/**
 * Tries to bind the same address and port again: the sentence it fails with, or null if it did
 * not. Bun.listen throws (EADDRINUSE) rather than returning an error value.
 */
export function bindAgain(host: string, port: number): string | null {
  try {
    bindPort(host, port).stop(true);
    return null;
  } catch (error) {
    return explainListenError(error, host, port);
  }
}

/** Which clients can reach a server bound to `host`. */
export function whoCanConnect(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "every interface: other machines can connect too";
  if (host.startsWith("127.") || host === "::1") return "loopback: only this machine can connect";
  return `only connections made to ${host} arrive here`;
}

const usage = `usage: bun run 04-server/01-bind.ts [--host 127.0.0.1] [--port ${LAB_PORT}]

Binds a TCP port, shows which one it got, shows that a second bind of the same
port fails, then holds the port until Ctrl-C.
  --host IP     address to bind: 127.0.0.1 or ::1 (this machine only), 0.0.0.0 (every interface)
  --port N      port to bind, 0 lets the kernel pick a free one (default ${LAB_PORT})`;

if (import.meta.main) {
  const { host, port } = parseServerArgs(usage);
  const listener = listenOrExit(() => bindPort(host, port), host, port);
  stopOnSignals(() => listener.stop(true)); // before `listening on`: see cli.ts
  console.log(`listening on ${formatEndpoint(listener.hostname, listener.port)} (tcp)`);
  console.log(
    port === 0
      ? `you asked for port 0, so the kernel chose a free one: ${listener.port}`
      : `port ${listener.port} is ours until this program exits`,
  );
  console.log(`family: ${isIP(host) === 6 ? "IPv6" : "IPv4"}; ${whoCanConnect(host)}`);
  const second = bindAgain(host, listener.port);
  console.log(`binding it a second time: ${second ?? "allowed (this system shares ports)"}`);
  console.log("holding the port: run this again elsewhere to see the error; Ctrl-C frees it");
}
