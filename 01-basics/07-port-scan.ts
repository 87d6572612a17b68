/**
 * @title Port scan
 * @summary Try a TCP connect to many ports, a bounded number at a time, and tell open, closed (refused) and filtered (silent) apart.
 * @run bun run 01-basics/07-port-scan.ts [HOST] [--ports 1-1024] [--concurrency 100] [--timeout 1000] [--json]
 * @python tcp_sockets_python.py#scan_ports
 *
 * A port answers a connect in one of three ways: open (the handshake completes), closed (a
 * reset comes back) or filtered (silence, until we stop waiting). The Python lab tries one
 * port at a time and waits out each silent one; here up to --concurrency connects are in
 * flight and each answer starts the next. On loopback, beware the TCP self-connect: a
 * phantom open port. Lesson 08 runs this same scan on every core.
 */
import type { Socket, SocketHandler } from "bun";
import { lookup } from "node:dns/promises";
import { command, Explained, fail, flag, whyConnectFailed, whyLookupFailed } from "../lib/cli.ts";
import { type Answer, HOST, type Limits, printReport, SCAN_FLAGS, scanReport } from "./ports.ts";

/** Connects to each port of `address`, at most `concurrency` at once: what each answered. */
export async function probePorts(address: string, ports: number[], limits: Limits) {
  const answers: Answer[] = [];
  // The connects in flight: port index -> when it started.
  const inFlight = new Map<number, number>();
  const finished = Promise.withResolvers<void>();
  let next = 0;
  let launching = -1;
  let cannotStart: { error: Error; port: number } | undefined;
  function launch(): void {
    while (inFlight.size < limits.concurrency && next < ports.length && !cannotStart) {
      launching = next++;
      inFlight.set(launching, performance.now());
      void Bun.connect({ hostname: address, port: ports[launching]!, data: launching, socket });
    }
    launching = -1;
    if (inFlight.size > 0 && !cannotStart) return;
    clearInterval(sweeper);
    finished.resolve();
  }
  const socket: SocketHandler<number> = {
    open(opened) {
      settle(opened.data, isSelfConnect(opened) ? "self-connect" : "open");
      // A reset, not a polite close: a scanner has nothing to say.
      opened.terminate();
    },
    connectError(failed, error) {
      const refused = (error as NodeJS.ErrnoException).code === "ECONNREFUSED";
      if (failed.data === launching) cannotStart = { error, port: ports[failed.data] ?? 0 };
      else settle(failed.data, refused ? "closed" : "filtered");
    },
    data() {},
  };
  // Each answer frees a place for the next port; a late one (the port is filtered) does not.
  function settle(index: number, answer: Answer): void {
    if (!inFlight.delete(index)) return;
    answers[index] = answer;
    launch();
  }
  // A connect cannot be called off: past the timeout the port is filtered, and we move on.
  const sweeper = setInterval(sweep, Math.min(100, limits.timeoutMs / 4));
  function sweep(): void {
    const tooOld = performance.now() - limits.timeoutMs;
    for (const [index, startedAt] of inFlight) if (startedAt < tooOld) settle(index, "filtered");
  }
  launch();
  await finished.promise;
  // Failing before Bun.connect returns, no SYN sent: no route to the host, or no file
  // descriptor. Bun calls both ECONNREFUSED; whyConnectFailed asks the kernel which it was.
  if (!cannotStart) return answers;
  throw new Explained(await whyConnectFailed(cannotStart.error, address, cannotStart.port));
}

/** Both ends are one: the kernel chose the target port as our own port, and we met ourselves. */
export const isSelfConnect = (ends: Pick<Socket, Ends>): boolean =>
  ends.localPort === ends.remotePort && ends.localAddress === ends.remoteAddress;
type Ends = "localAddress" | "localPort" | "remoteAddress" | "remotePort";

const cli = command(
  "01-basics/07-port-scan.ts",
  "Connects to each TCP port of HOST, on one core, and says which are open, closed or filtered.",
  { ...SCAN_FLAGS, json: flag.bool("print one JSON document instead of text") },
  HOST,
);

if (import.meta.main) {
  const { words, ports, concurrency, timeout, json } = cli.parse();
  const host = words[0] ?? "127.0.0.1";
  const started = performance.now();
  // Resolve once: each connect then goes straight to the address.
  const found = await lookup(host).catch((error: unknown) => fail(whyLookupFailed(error, host)));
  const scanning = probePorts(found.address, ports, { concurrency, timeoutMs: timeout });
  const answers = await scanning.catch((error: Error) => fail(error.message));
  const report = scanReport(host, found.address, ports, (index) => answers[index], started);
  printReport(report, json);
  // The connects given up as filtered are still pending in the kernel: leave without them.
  process.exit(0);
}
