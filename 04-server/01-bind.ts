/**
 * @title Bind
 * @summary Claim an address and port, see what port 0 means, and what a second claim on the same port gets.
 * @run bun run 04-server/01-bind.ts [--host 127.0.0.1] [--port 5000]
 * @python server-01.py
 * @serves tcp "" -> ""
 * @limits memory 100 MiB
 *
 * A server starts by binding: asking the kernel for one address and port, which from then on
 * belong to this process alone. You will see the port you got (ask for 0 and the kernel
 * picks a free one), and a second bind of the same port fail with "address in use". It holds
 * the port until Ctrl-C. `serve()` (lib/cli.ts) prints the `listening on` line, the sentence
 * for a port in use, and stops on Ctrl-C: this server and every later one use it.
 */
import type { TCPSocketListener } from "bun";
import { isIP } from "node:net";
import { command, flag, serve, whyListenFailed } from "../lib/cli.ts";

/** Binds `host:port`: Bun.listen does socket(), bind() and listen() in one call. */
export function bindPort(host: string, port: number): TCPSocketListener<undefined> {
  return Bun.listen({
    hostname: host,
    port,
    socket: {
      // The kernel completes handshakes on a listening port; this lesson hangs up on them.
      open(socket) {
        socket.end();
      },
      data() {},
    },
  });
}

/** Binds the same address and port again: the sentence it fails with, or null if it did not. */
export function bindAgain(host: string, port: number): string | null {
  try {
    bindPort(host, port).stop(true);
    return null;
  } catch (error) {
    // Bun.listen throws (EADDRINUSE) rather than returning an error value.
    return whyListenFailed(error, host, port);
  }
}

/** Which clients can reach a server bound to `host`. */
export function whoCanConnect(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "every interface: other machines can connect too";
  if (host.startsWith("127.") || host === "::1") return "loopback: only this machine can connect";
  return `only connections made to ${host} arrive here`;
}

const cli = command(
  "04-server/01-bind.ts",
  "Binds a TCP port, shows a second bind of it failing, and holds it until Ctrl-C.",
  {
    host: flag.listen(
      "127.0.0.1",
      "address to bind: 127.0.0.1 or ::1 (this machine only), 0.0.0.0 or ::",
    ),
    port: flag.port(5000, "port to bind; 0 lets the kernel pick a free one"),
  },
);

if (import.meta.main) {
  const { host, port } = cli.parse();
  const start = () => {
    const listener = bindPort(host, port);
    return { tcp: listener, stop: () => listener.stop(true) };
  };
  const { tcp } = await serve(host, port, start, "try  nc HOST PORT (it hangs up at once)");
  if (port === 0) console.log(`you asked for port 0, so the kernel chose a free one: ${tcp.port}`);
  else console.log(`port ${tcp.port} is ours until this program exits`);
  console.log(`family: ${isIP(host) === 6 ? "IPv6" : "IPv4"}; ${whoCanConnect(host)}`);
  const second = bindAgain(host, tcp.port);
  console.log(`binding it a second time: ${second ?? "allowed (this system shares ports)"}`);
  console.log("holding the port: run this again in another terminal to see the error");
}
