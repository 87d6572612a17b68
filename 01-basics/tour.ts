/**
 * The chapter's tour (`bun . --demo` runs it): the eight lessons of 01-basics, one after the
 * other, run as a student would run them (`bun run 01-basics/NN-name.ts ...`), with nothing
 * to type. Only loopback and names from /etc/hosts (lesson 1 also looks up this machine's own
 * name, which most systems list there), and the port scan looks only at a port the tour opens
 * itself and one it has just closed. Every lesson gets 20 s at most; the tour exits 0 when
 * each one ended as it promises, 1 otherwise.
 *
 *   bun run 01-basics/tour.ts
 */
import { join } from "node:path";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log("usage: bun run 01-basics/tour.ts\n\nA tour of the 01-basics lessons over loopback.");
  process.exit(0);
}

const root = join(import.meta.dir, "..");
const WAIT_MS = 20_000;

/** Runs one lesson to its end, prints what it printed, and checks its exit code. */
async function show(
  note: string,
  file: string,
  args: string[],
  expectedCode = 0,
): Promise<boolean> {
  console.log(`\n${note}\n$ bun run 01-basics/${file} ${args.join(" ")}`.trimEnd());
  const child = Bun.spawn(["bun", "run", `01-basics/${file}`, ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), WAIT_MS);
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  clearTimeout(timer);
  const indent = (text: string, mark: string): string => text.trimEnd().replace(/^/gm, mark);
  if (stdout.trim()) console.log(indent(stdout, "  "));
  if (stderr.trim()) console.log(indent(stderr, "  (stderr) "));
  if (code === expectedCode) return true;
  console.log(`  !! ${file} exited with ${code}, where ${expectedCode} was expected`);
  return false;
}

// A port of our own with a listener on it, and one nobody listens on (we just let it go).
const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
const open = listener.port;
const closing = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
const closed = closing.port;
closing.stop(true);

const steps: [string, string, string[], number?][] = [
  ["1. This machine's name, and every address it answers to:", "01-hostname.ts", []],
  ["2. A name to its addresses (localhost comes from /etc/hosts):", "02-resolve.ts", ["localhost"]],
  [
    "3. A port to its service name, from /etc/services:",
    "03-service-name.ts",
    ["22/tcp", "domain"],
  ],
  [
    "4. An address back to its name, and the check that the name leads back:",
    "04-reverse-dns.ts",
    ["127.0.0.1"],
  ],
  [
    "5. An address and a network, taken apart bit by bit:",
    "05-ip-address.ts",
    ["192.168.1.10/24", "::1"],
  ],
  [
    `6. A port scan of two ports: ${open} has a listener the tour started, ${closed} has none:`,
    "06-port-scan.ts",
    ["127.0.0.1", "--ports", `${open},${closed}`],
  ],
  [
    "7. One connection seen from both ends (the lesson starts its own listener):",
    "07-connection-info.ts",
    [],
  ],
  ["   ... and over IPv6:", "07-connection-info.ts", ["--host", "::1"]],
  [
    "8. Diagnostics: does each port answer, and is the open one free to listen on? (exit 1: one check failed, as it should)",
    "08-diagnostics.ts",
    ["--check", `127.0.0.1:${open}`, "--check", `localhost:${closed}`, "--free", `${open}`],
    1,
  ],
];

let failures = 0;
try {
  for (const [note, file, args, expectedCode] of steps) {
    if (!(await show(note, file, args, expectedCode))) failures++;
  }
} finally {
  listener.stop(true);
}
console.log(
  failures === 0
    ? "\n01-basics: every lesson did what it promises."
    : `\n01-basics: ${failures} lesson run(s) did not end as expected; see above.`,
);
process.exit(failures === 0 ? 0 : 1);
