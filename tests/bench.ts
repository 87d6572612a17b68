/**
 * `bun run bench`: runs every chapter's benchmark (tests/bench/NN-chapter.ts) and prints
 * one table, each figure beside its yardstick measured in the same run where the
 * yardstick's tool is installed. It reports; it asserts nothing about wall-clock time.
 *
 *   bun run bench [chapter-prefix...]     e.g. `bun run bench 01 04`
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export interface BenchRow {
  /** Chapter folder, e.g. `01-basics`. */
  chapter: string;
  /** What was measured, e.g. `port-scan 1-65535, 127.0.0.1 (private netns)`. */
  name: string;
  /** Our figure, with its unit, e.g. `41,200 ports/s (1.59 s)`. */
  result: string;
  /** The yardstick measured in the same run, or why there is none. */
  yardstick: string;
  /** The goal and whether it was met, e.g. `<= 0.6x nmap: 0.42x, met`. */
  goal: string;
}

export interface BenchModule {
  bench(): Promise<BenchRow[]>;
}

const dir = join(import.meta.dir, "bench");
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((name) => /^\d\d-.*\.ts$/.test(name))
  .filter((name) => only.length === 0 || only.some((prefix) => name.startsWith(prefix)))
  .sort();

const rows: BenchRow[] = [];
for (const file of files) {
  console.error(`running ${file} ...`);
  const module = (await import(join(dir, file))) as BenchModule;
  try {
    rows.push(...(await module.bench()));
  } catch (error) {
    rows.push({
      chapter: file.replace(/\.ts$/, ""),
      name: "(benchmark failed)",
      result: (error as Error).message,
      yardstick: "",
      goal: "",
    });
  }
}

const header: BenchRow = {
  chapter: "chapter",
  name: "benchmark",
  result: "result",
  yardstick: "yardstick (same run)",
  goal: "goal",
};
const keys = Object.keys(header) as (keyof BenchRow)[];
const widths = keys.map((key) => Math.max(...[header, ...rows].map((row) => row[key].length)));
const line = (row: BenchRow): string =>
  keys.map((key, i) => row[key].padEnd(widths[i] ?? 0)).join(" | ");
console.log(line(header));
console.log(widths.map((width) => "-".repeat(width)).join("-|-"));
for (const row of rows) console.log(line(row));

// The hostile battery (bun test tests/hostile) writes its own figures: show where, and how
// fresh they are, so the speed report and the robustness report are read together.
const hostile = join(import.meta.dir, "..", ".reports", "hostile.md");
if (existsSync(hostile)) {
  const age = Math.round((Date.now() - statSync(hostile).mtimeMs) / 60_000);
  console.log(
    `\nthe hostile battery's figures (RSS, latency under attack, loop datagrams): ${hostile}, written ${age} min ago by bun test tests/hostile`,
  );
} else
  console.log(
    "\nthe hostile battery's figures: run bun test tests/hostile to write .reports/hostile.md",
  );
