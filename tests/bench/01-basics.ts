/**
 * Chapter 01-basics: the port scanner (lesson 08, every core) over all 65535 ports of
 * 127.0.0.1 against nmap's connect scan (`nmap -n -Pn -sT -p-`), both inside one private
 * network namespace (`unshare -n`) with the same listeners, in the same run. The goal: at most
 * 0.6x nmap's wall time, finding the same open ports. The two take turns (ours, nmap, ours,
 * nmap, ...) so that a burst of load from other programs falls on both alike; each figure is
 * the best of three. Also: one worker thread against the default (one per core), lesson 07's
 * scan on one core, and a short sweep of --concurrency.
 *
 * Every figure is the wall time of the whole process, start-up included, as a person
 * running the command would see it. The CPU time other programs took while the bench ran
 * is printed too: their work skews both sides.
 *
 *   bun run bench 01                                      (this file, through tests/bench.ts)
 *   bun run tests/bench/01-basics.ts --inside LESSON08 LESSON07 nmap  (inside the namespace)
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { BenchRow } from "../bench.ts";
import { canUsePrivateNetwork, hasCommand, lessonPath, PRIVATE_NETWORK } from "../helpers.ts";

const CHAPTER = "01-basics";
const NAME = "port-scan 1-65535, 127.0.0.1 (private netns)";
const TURNS = 3;
const LISTENING = [22, 80, 5432, 8080, 45123]; // one in the ephemeral range: self-connects
const NMAP = ["nmap", "-n", "-Pn", "-sT", "-p-", "127.0.0.1", "-oX", "-"];

interface Run {
  /** Wall seconds of the whole process. */
  seconds: number;
  /** CPU seconds it used, user and kernel together (on all its threads). */
  cpuSeconds: number;
  open: number[];
}
interface NamespaceReport {
  ours: Run[];
  nmap: Run[];
  oneWorker: Run[];
  /** Lesson 07: the same scan on one core, no threads. */
  oneCore: Run[];
  sweep: { concurrency: number; run: Run }[];
}

/** CPU time, in seconds, all cores have spent busy and in all since boot (null: no /proc). */
function cpuSeconds(): { busy: number; total: number } | null {
  if (!existsSync("/proc/stat")) return null;
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  // user nice system idle iowait irq softirq steal, in ticks of 1/100 s (USER_HZ)
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: (total - (ticks[3] ?? 0) - (ticks[4] ?? 0)) / 100, total: total / 100 };
}

type Times = ReturnType<typeof cpuSeconds>;
/** CPU time other programs took while the bench ran; `ours`: the namespace run and its children. */
function others(before: Times, after: Times, ours: number, cores: number): string {
  if (before === null || after === null) return "unknown (no /proc/stat)";
  const elapsed = (after.total - before.total) / cores;
  const theirs = Math.max(0, after.busy - before.busy - ours);
  const share = Math.round((100 * theirs) / (after.total - before.total));
  return `${theirs.toFixed(1)} CPU-s in ${elapsed.toFixed(1)} s (${share}% of ${cores} cores)`;
}

const best = (runs: Run[]): Run => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const seconds = (runs: Run[]): string => runs.map((run) => run.seconds.toFixed(2)).join(", ");
const cpu = (run: Run): string => `CPU ${run.cpuSeconds.toFixed(2)} s`;

async function timed(argv: string[], openPorts: (output: string) => number[]): Promise<Run> {
  const started = performance.now();
  const child = Bun.spawn(argv, { stdout: "pipe", stderr: "inherit" });
  const output = await new Response(child.stdout).text();
  if ((await child.exited) !== 0) throw new Error(`${argv.join(" ")} failed`);
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = Number(child.resourceUsage()?.cpuTime.total ?? 0n) / 1e6;
  return { seconds, cpuSeconds, open: openPorts(output) };
}

/** Inside the namespace (ours alone, so fixed ports are safe): listeners, then the scans. */
async function inside(
  lesson: string,
  oneCoreLesson: string,
  withNmap: boolean,
): Promise<NamespaceReport> {
  const listeners = LISTENING.map((port) =>
    Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }),
  );
  try {
    const scan = ["bun", "run", lesson, "127.0.0.1", "--ports", "1-65535", "--json"];
    const ourOpen = (output: string): number[] =>
      (JSON.parse(output) as { open: { port: number }[] }).open.map((entry) => entry.port);
    const nmapOpen = (xml: string): number[] =>
      [...xml.matchAll(/portid="(\d+)"><state state="open"/g)].map((match) => Number(match[1]));
    const report: NamespaceReport = { ours: [], nmap: [], oneWorker: [], oneCore: [], sweep: [] };
    for (let turn = 0; turn < TURNS; turn++) {
      report.ours.push(await timed(scan, ourOpen));
      if (withNmap) report.nmap.push(await timed(NMAP, nmapOpen));
    }
    const oneCore = ["bun", "run", oneCoreLesson, ...scan.slice(3)];
    for (let turn = 0; turn < 2; turn++) {
      report.oneWorker.push(await timed([...scan, "--workers", "1"], ourOpen));
      report.oneCore.push(await timed(oneCore, ourOpen));
    }
    for (const concurrency of [25, 100, 500]) {
      const run = await timed([...scan, "--concurrency", `${concurrency}`], ourOpen);
      report.sweep.push({ concurrency, run });
    }
    return report;
  } finally {
    for (const listener of listeners) listener.stop(true);
  }
}

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
  const before = cpuSeconds();
  const withNmap = hasCommand("nmap");
  const lesson = lessonPath("01-basics/08-scan-every-core.ts");
  const oneCoreLesson = lessonPath("01-basics/07-port-scan.ts");
  const argv = [
    ...PRIVATE_NETWORK,
    "bun",
    "run",
    import.meta.path,
    "--inside",
    lesson,
    oneCoreLesson,
  ];
  const child = Bun.spawn([...argv, withNmap ? "nmap" : "-"], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill(), 180_000); // bounded, whatever happens
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  clearTimeout(timer);
  const [after, insideCpu] = [cpuSeconds(), child.resourceUsage()?.cpuTime.total ?? 0n];
  if (code !== 0) throw new Error(`the namespace run failed (exit ${code}): ${stderr.trim()}`);
  const report = JSON.parse(stdout) as NamespaceReport;

  const ours = best(report.ours);
  const rate = Math.round(65535 / ours.seconds).toLocaleString("en-US");
  const result = `${rate} ports/s (${ours.seconds.toFixed(2)} s, ${cpu(ours)}; runs ${seconds(report.ours)})`;
  const expected = LISTENING.join(",");
  const allRuns = [...report.ours, ...report.nmap, ...report.oneWorker, ...report.oneCore];
  const wrong = allRuns.filter((run) => run.open.join(",") !== expected);
  const same =
    wrong.length === 0
      ? `yes, the ${LISTENING.length} listeners in all ${allRuns.length} runs`
      : `NO: ${wrong.map((run) => run.open.join(",") || "none").join(" / ")}`;
  let yardstick = "nmap not installed (Debian package nmap)";
  let goal = `<= 0.6x nmap: not measured; same open ports: ${same}`;
  if (report.nmap.length > 0) {
    const nmap = best(report.nmap);
    const ratio = ours.seconds / nmap.seconds;
    yardstick = `nmap ${nmap.seconds.toFixed(2)} s, ${cpu(nmap)} (runs ${seconds(report.nmap)})`;
    goal = `<= 0.6x nmap: ${ratio.toFixed(2)}x, ${ratio <= 0.6 ? "met" : "NOT met"}; same open ports: ${same}`;
  }
  const one = best(report.oneWorker);
  const oneCore = best(report.oneCore);
  const sweep = report.sweep
    .map(({ concurrency, run }) => `${concurrency}: ${run.seconds.toFixed(2)} s`)
    .join(", ");
  const fastest = report.sweep.reduce((a, b) => (b.run.seconds < a.run.seconds ? b : a));
  const cores = availableParallelism();
  return [
    row(result, yardstick, goal),
    row(
      `--workers 1: ${one.seconds.toFixed(2)} s; default (${cores}): ${ours.seconds.toFixed(2)} s; lesson 07 (one core, no thread): ${oneCore.seconds.toFixed(2)} s`,
      `best of ${report.oneWorker.length}, of ${report.ours.length} and of ${report.oneCore.length}`,
      `${cores} threads are ${(one.seconds / ours.seconds).toFixed(2)}x as fast as one`,
      "port-scan 1-65535 by --workers",
    ),
    row(
      sweep,
      "(one run each)",
      `fastest here: --concurrency ${fastest.concurrency}`,
      "port-scan 1-65535 by --concurrency",
    ),
    row(
      others(before, after, Number(insideCpu) / 1e6, cores),
      "(all cores' busy time less the namespace run's)",
      "others' work slows both sides: trust a run where this is near 0",
      "CPU time other programs took meanwhile",
    ),
  ];
}

if (import.meta.main) {
  if (process.argv[2] === "--inside") {
    const [lesson = "", oneCoreLesson = "", nmap = "-"] = process.argv.slice(3);
    console.log(JSON.stringify(await inside(lesson, oneCoreLesson, nmap === "nmap")));
  } else console.log(await bench());
}
