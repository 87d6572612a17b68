/**
 * Chapter 01-basics: the port scanner over all 65535 ports of 127.0.0.1 against nmap's
 * connect scan (`nmap -n -Pn -sT -p-`), both inside one private network namespace
 * (`unshare -n`), with the same listeners, in the same run. The goal: at most 0.6x
 * nmap's wall time, finding the same open ports. Also a short sweep of --concurrency.
 *
 * Every figure is the wall time of the whole process, start-up included, as a person
 * running the command would see it; each is the best of two runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchRow } from "../bench.ts";
import { canUsePrivateNetwork, hasCommand, lessonPath, PRIVATE_NETWORK } from "../helpers.ts";

const CHAPTER = "01-basics";
const NAME = "port-scan 1-65535, 127.0.0.1 (private netns)";

interface Measured {
  /** Wall seconds, best of the runs. */
  seconds: number;
  open: number[];
}
interface NamespaceReport {
  listening: number[];
  ours: Measured;
  sweep: { concurrency: number; seconds: number }[];
  nmap: Measured | null;
}

// Runs inside the namespace: listeners on a few fixed ports (the namespace is ours alone;
// one sits in the ephemeral range, where self-connects happen), then both scanners.
const INSIDE = `
const [lesson, withNmap] = [process.argv[2] ?? "", process.argv[3] === "nmap"];
const listening = [22, 80, 5432, 8080, 45123];
const listeners = listening.map((port) =>
  Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }));

async function timed(argv) {
  const started = performance.now();
  const child = Bun.spawn(argv, { stdout: "pipe", stderr: "inherit" });
  const output = await new Response(child.stdout).text();
  if ((await child.exited) !== 0) throw new Error(argv.join(" ") + " failed");
  return { seconds: (performance.now() - started) / 1000, output };
}
async function best(argv, openPorts, runs = 2) {
  let result = null;
  for (let run = 0; run < runs; run++) {
    const { seconds, output } = await timed(argv);
    if (!result || seconds < result.seconds) result = { seconds, open: openPorts(output) };
  }
  return result;
}
const scan = ["bun", "run", lesson, "127.0.0.1", "--ports", "1-65535", "--json"];
const ourOpen = (output) => JSON.parse(output).open.map((entry) => entry.port);
const ours = await best(scan, ourOpen);
const nmapOpen = (xml) =>
  [...xml.matchAll(/portid="(\\d+)"><state state="open"/g)].map((match) => Number(match[1]));
const nmap = withNmap
  ? await best(["nmap", "-n", "-Pn", "-sT", "-p-", "127.0.0.1", "-oX", "-"], nmapOpen)
  : null;
const sweep = [];
for (const concurrency of [100, 500, 2000]) {
  const { seconds } = await timed([...scan, "--concurrency", String(concurrency)]);
  sweep.push({ concurrency, seconds });
}
for (const listener of listeners) listener.stop(true);
console.log(JSON.stringify({ listening, ours, sweep, nmap }));
`;

const row = (result: string, yardstick: string, goal: string, name = NAME): BenchRow => ({
  chapter: CHAPTER,
  name,
  result,
  yardstick,
  goal,
});

export async function bench(): Promise<BenchRow[]> {
  if (!(await canUsePrivateNetwork())) {
    return [row("skipped: needs a private network namespace (root, unshare, ip)", "", "")];
  }
  const withNmap = hasCommand("nmap");
  const dir = mkdtempSync(join(tmpdir(), "bench-01-"));
  try {
    const script = join(dir, "inside.js");
    writeFileSync(script, INSIDE);
    const lesson = lessonPath("01-basics/06-port-scan.ts");
    const argv = [...PRIVATE_NETWORK, "bun", "run", script, lesson, withNmap ? "nmap" : "-"];
    const child = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => child.kill(), 180_000); // bounded, whatever happens
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    clearTimeout(timer);
    if (code !== 0) throw new Error(`the namespace run failed (exit ${code}): ${stderr.trim()}`);
    const report = JSON.parse(stdout) as NamespaceReport;

    const rate = (seconds: number): string =>
      `${Math.round(65535 / seconds).toLocaleString("en-US")} ports/s (${seconds.toFixed(2)} s)`;
    const expected = report.listening.join(",");
    const found = report.ours.open.join(",");
    const sameAsListening = found === expected ? "yes" : `no (found ${found || "none"})`;
    let yardstick = "nmap not installed (Debian package nmap)";
    let goal = `<= 0.6x nmap: not measured; found the ${report.listening.length} listeners: ${sameAsListening}`;
    if (report.nmap) {
      const ratio = report.ours.seconds / report.nmap.seconds;
      const same = report.nmap.open.join(",") === found ? "yes" : `no (nmap: ${report.nmap.open})`;
      yardstick = `nmap ${report.nmap.seconds.toFixed(2)} s`;
      goal = `<= 0.6x nmap: ${ratio.toFixed(2)}x, ${ratio <= 0.6 ? "met" : "NOT met"}; same open ports: ${same}`;
    }
    const sweep = report.sweep
      .map(({ concurrency, seconds }) => `${concurrency}: ${seconds.toFixed(2)} s`)
      .join(", ");
    const fastest = report.sweep.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    return [
      row(rate(report.ours.seconds), yardstick, goal),
      row(
        sweep,
        "(one run each)",
        `fastest here: --concurrency ${fastest.concurrency}`,
        "port-scan 1-65535 by --concurrency",
      ),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) console.log(await bench());
