/**
 * Writes the README's two generated tables from the lessons' headers:
 * the progression (chapter, lesson, what it teaches, command) and the map from
 * each Python lab file to the lesson that replaces it.
 *
 *   bun run readme            rewrite README.md between its markers
 *   bun run readme --check    exit 1 if README.md is out of date
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Chapter, listChapters, ROOT } from "./catalog.ts";
import { PYTHON_LABS, REPLACED_BY_BOOK } from "./python-labs.ts";

const cell = (text: string): string => text.replaceAll("|", "\\|");

export function lessonsTable(chapters: Chapter[]): string {
  const rows = chapters.flatMap((chapter) =>
    chapter.lessons.map((lesson) => {
      const name = lesson.file.split("/")[1]?.replace(/\.ts$/, "") ?? lesson.file;
      return `| [${chapter.dir}](${chapter.dir}/README.md) | [${name}](${lesson.file}) | ${cell(lesson.summary)} | \`${cell(lesson.run)}\` |`;
    }),
  );
  return [
    "| chapter | lesson | what it teaches | command |",
    "| --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

export function pythonTable(chapters: Chapter[]): string {
  const claimedBy = new Map<string, string[]>();
  for (const lesson of chapters.flatMap((chapter) => chapter.lessons)) {
    for (const name of lesson.python) {
      claimedBy.set(name, [...(claimedBy.get(name) ?? []), `[${lesson.file}](${lesson.file})`]);
    }
  }
  const rows = PYTHON_LABS.flatMap((lab) =>
    lab.files.map((name, index) => {
      const where = claimedBy.get(name)?.join(", ") ?? REPLACED_BY_BOOK[name] ?? "planned";
      // The lab's name on its first row only, so the groups stand out.
      return `| ${index === 0 ? cell(lab.lab) : ""} | \`${name}\` | ${where} |`;
    }),
  );
  return ["| Python lab | file | replaced by |", "| --- | --- | --- |", ...rows].join("\n");
}

/** Markdown as `bun fmt` writes it, so `bun run format` and `bun run readme --check` agree. */
export function formatMarkdown(text: string): string {
  const result = Bun.spawnSync(["bun", "fmt", "--stdin-filepath", "README.md"], {
    stdin: new TextEncoder().encode(text),
  });
  if (result.exitCode !== 0) throw new Error(`bun fmt failed: ${result.stderr.toString()}`);
  return result.stdout.toString();
}

/** README text with both tables replaced between their `<!-- name:start/end -->` markers. */
export function renderReadme(readme: string, chapters: Chapter[] = listChapters()): string {
  const fill = (text: string, name: string, table: string): string => {
    const pattern = new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`);
    if (!pattern.test(text))
      throw new Error(`README.md lacks the <!-- ${name}:start/end --> markers`);
    return text.replace(pattern, (_all, start: string, end: string) => `${start}${table}\n${end}`);
  };
  return formatMarkdown(
    fill(fill(readme, "lessons", lessonsTable(chapters)), "python", pythonTable(chapters)),
  );
}

if (import.meta.main) {
  const path = join(ROOT, "README.md");
  const current = readFileSync(path, "utf8");
  const wanted = renderReadme(current);
  if (process.argv.includes("--check")) {
    if (current !== wanted) {
      console.error("README.md tables are out of date: run `bun run readme`.");
      process.exit(1);
    }
    console.log("README.md tables are up to date.");
  } else {
    writeFileSync(path, wanted);
    console.log(
      current === wanted ? "README.md was already up to date." : "README.md tables rewritten.",
    );
  }
}
