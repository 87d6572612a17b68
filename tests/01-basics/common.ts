/**
 * What the chapter's test files share (not a test file itself): a listener of our own that
 * `await using` stops, and the names /etc/hosts answers for without asking DNS.
 */
import type { TCPSocketListener } from "bun";
import { existsSync, readFileSync } from "node:fs";

/** A TCP listener of ours on loopback, port 0; `await using` stops it. */
export function listen(hostname = "127.0.0.1"): TCPSocketListener<undefined> & AsyncDisposable {
  const listener = Bun.listen({ hostname, port: 0, socket: { data() {} } });
  return Object.assign(listener, { [Symbol.asyncDispose]: async () => listener.stop(true) });
}

/** Every address of /etc/hosts with its names in file order: what the system answers offline. */
export function hostsFile(): Map<string, string[]> {
  const hosts = new Map<string, string[]>();
  const text = existsSync("/etc/hosts") ? readFileSync("/etc/hosts", "utf8") : "";
  for (const line of text.split("\n")) {
    const [address, ...names] = line.replace(/#.*/, "").trim().split(/\s+/);
    if (address && names.length > 0) hosts.set(address, [...(hosts.get(address) ?? []), ...names]);
  }
  return hosts;
}
