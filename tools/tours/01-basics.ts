/**
 * The tour of chapter 01-basics (`bun . --demo` runs it): every lesson, one after the other,
 * run as a student would run it (`bun run 01-basics/NN-name.ts ...`), with nothing to type.
 * Only loopback: names from /etc/hosts, a DNS server of its own on 127.0.0.1 (the tests'
 * responder, tests/fixtures/dns-server.ts), a port it listens on and one it has just closed.
 * Every lesson gets 20 s at most; the tour exits 0 when each ended as it promises, 1 otherwise.
 *
 *   bun run tools/tours/01-basics.ts
 */
import { type Finished, runLesson, startLesson } from "../drive.ts";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(
    "usage: bun run tools/tours/01-basics.ts\n\nA tour of the 01-basics lessons over loopback.",
  );
  process.exit(0);
}

const WAIT_MS = 20_000;

/** Prints what a run printed, indented, and whether it ended with the exit code promised. */
function show(
  note: string,
  file: string,
  args: string[],
  run: Finished,
  expected: number,
): boolean {
  console.log(`\n${note}\n$ bun run ${file} ${args.join(" ")}`.trimEnd());
  const indent = (text: string, mark: string): string => text.trimEnd().replace(/^/gm, mark);
  if (run.stdout.trim()) console.log(indent(run.stdout, "  "));
  if (run.stderr.trim()) console.log(indent(run.stderr, "  (stderr) "));
  if (run.code === expected) return true;
  console.log(`  !! ${file} exited with ${run.code}, where ${expected} was expected`);
  return false;
}

// A port of our own with a listener on it, and one nobody listens on (we just let it go).
const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
const open = listener.port;
const closing = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
const closed = closing.port;
closing.stop(true);
// A DNS server of our own, for the lessons that ask one (`--server`).
await using dns = startLesson("tests/fixtures/dns-server.ts");
const { port: dnsPort } = await dns.listening("udp");
const server = `127.0.0.1:${dnsPort}`;

const steps: [string, string, string[], number?][] = [
  ["1. This machine's name, and every address it answers to:", "01-hostname.ts", []],
  ["2. A name to its addresses (localhost comes from /etc/hosts):", "02-resolve.ts", ["localhost"]],
  [
    "3. The same question put to a DNS server (the tour's own), with an alias:",
    "03-dns-server.ts",
    ["--server", server, "www.lab.test", "alias.lab.test"],
  ],
  [
    "4. A port to its service name, and back, from /etc/services:",
    "04-service-name.ts",
    ["22/tcp", "domain"],
  ],
  [
    "5. An address back to its name, and the check that the name leads back:",
    "05-reverse-dns.ts",
    ["127.0.0.1"],
  ],
  ["   ... and from the DNS server:", "05-reverse-dns.ts", ["--server", server, "10.0.0.1"]],
  [
    "6. An address and a network, taken apart bit by bit:",
    "06-ip-address.ts",
    ["192.168.1.10/24", "::1"],
  ],
  [
    `7. A port scan of two ports: ${open} has a listener the tour started, ${closed} has none:`,
    "07-port-scan.ts",
    ["127.0.0.1", "--ports", `${open},${closed}`],
  ],
  [
    "8. The same scan on every core (two threads share the two ports):",
    "08-scan-every-core.ts",
    ["127.0.0.1", "--ports", `${open},${closed}`, "--workers", "2"],
  ],
  [
    "9. One connection seen from both ends (the lesson starts its own listener):",
    "09-connection-info.ts",
    [],
  ],
  ["   ... and over IPv6:", "09-connection-info.ts", ["--host", "::1"]],
  [
    "10. Does each port answer? (exit 1: one did not, as it should)",
    "10-reachability.ts",
    ["--check", `127.0.0.1:${open}`, "--check", `localhost:${closed}`],
    1,
  ],
  [
    "11. Is each port free to listen on? (exit 1: the tour holds one of them)",
    "11-port-free.ts",
    ["--port", `${open}`, "--port", `${closed}`],
    1,
  ],
];

let failures = 0;
try {
  for (const [note, name, args, expected = 0] of steps) {
    const file = `01-basics/${name}`;
    const run = await runLesson(file, args, { timeoutMs: WAIT_MS }).catch(
      (error: Error): Finished => ({ code: -1, stdout: "", stderr: error.message }),
    );
    if (!show(note, file, args, run, expected)) failures++;
  }
} finally {
  listener.stop(true);
  await dns.stop("SIGTERM");
}
console.log(
  failures === 0
    ? "\n01-basics: every lesson did what it promises."
    : `\n01-basics: ${failures} lesson run(s) did not end as expected; see above.`,
);
process.exit(failures === 0 ? 0 : 1);
