// The book as a whole: the menu, the README's generated tables, and the conventions every
// lesson shares (header, --help, an unknown flag, no import across chapters). A lesson that
// breaks one of these fails here, whichever chapter it is in.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { listChapters, listLessons, parseHeader, ROOT } from "../tools/catalog.ts";
import { ALL_PYTHON_FILES } from "../tools/python-labs.ts";
import { renderReadme } from "../tools/readme.ts";
import { runLesson } from "./helpers.ts";

const chapters = listChapters();
const lessons = listLessons();
const readme = readFileSync(join(ROOT, "README.md"), "utf8");

/** Runs `bun . ARGS` (index.ts) with no terminal on stdin. */
async function runMenu(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn(["bun", ".", ...args], {
    cwd: ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

describe("the catalog", () => {
  test("finds the chapters and their lessons from the folders", () => {
    expect(chapters.map((chapter) => chapter.dir)).toContain("01-basics");
    expect(lessons.map((lesson) => lesson.file)).toContain("01-basics/01-hostname.ts");
  });

  test("a header without a tag is refused, naming the tag", () => {
    const source = "/**\n * @title T\n * @summary S\n * @run bun run x.ts\n */\n";
    expect(() => parseHeader(source, "x.ts")).toThrow("x.ts: header lacks @python");
    expect(() => parseHeader("const x = 1;", "y.ts")).toThrow("y.ts has no /** header */");
  });

  test("every chapter has a README.md", () => {
    for (const chapter of chapters)
      expect(existsSync(join(ROOT, chapter.dir, "README.md"))).toBe(true);
  });

  test("every @python name is a file of the labs (or `new`)", () => {
    for (const lesson of lessons) {
      for (const name of lesson.python) {
        if (name !== "new")
          expect({ lesson: lesson.file, name, known: ALL_PYTHON_FILES.includes(name) }).toEqual({
            lesson: lesson.file,
            name,
            known: true,
          });
      }
    }
  });

  test("every @run command names its own file", () => {
    for (const lesson of lessons) expect(lesson.run).toStartWith(`bun run ${lesson.file}`);
  });
});

describe("the README", () => {
  test("its tables are the ones the lessons' headers make (`bun run readme` rewrites them)", () => {
    expect(readme).toBe(renderReadme(readme, chapters));
  });

  test("the progression table names every lesson, and only files that exist", () => {
    const table = readme.split("<!-- lessons:start -->")[1]?.split("<!-- lessons:end -->")[0] ?? "";
    const linked = [...table.matchAll(/\]\(([^)]+\.ts)\)/g)].map((match) => match[1] ?? "");
    for (const file of linked)
      expect({ file, exists: existsSync(join(ROOT, file)) }).toEqual({ file, exists: true });
    expect(linked.sort()).toEqual(lessons.map((lesson) => lesson.file).sort());
  });

  test("opens with the two commands a newcomer needs", () => {
    const firstBlock = readme.match(/```sh\n([\s\S]*?)```/)?.[1] ?? "";
    expect(firstBlock).toContain("bun .");
    expect(firstBlock).toContain("bun test");
  });
});

describe("every lesson keeps the book's conventions", () => {
  test.each(lessons.map((lesson) => [lesson.file]))(
    "%s: --help prints usage, exit 0",
    async (file) => {
      const { code, stdout, stderr } = await runLesson(file, ["--help"]);
      expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
      expect(stdout).toMatch(/^usage: /i);
    },
  );

  test.each(lessons.map((lesson) => [lesson.file]))(
    "%s: an unknown flag is one sentence and exit 2",
    async (file) => {
      const { code, stderr } = await runLesson(file, ["--no-such-flag"]);
      expect(code).toBe(2);
      expect(stderr).toContain("--no-such-flag");
      expect(stderr).not.toMatch(/^\s+at /m);
    },
  );

  test("no lesson imports from another chapter, and only built-ins from outside", () => {
    for (const lesson of lessons) {
      const source = readFileSync(join(ROOT, lesson.file), "utf8");
      for (const match of source.matchAll(
        /^\s*(?:import|export)\b[^'"]*?from\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm,
      )) {
        const spec = match[1] ?? match[2] ?? match[3] ?? "";
        const ok =
          spec === "bun" ||
          spec.startsWith("bun:") ||
          spec.startsWith("node:") ||
          /^\.\/[^/]+$/.test(spec);
        expect({ lesson: lesson.file, spec, ok }).toEqual({ lesson: lesson.file, spec, ok: true });
      }
    }
  });
});

describe("the menu (bun .)", () => {
  test("--list prints every lesson with its command", async () => {
    const { code, stdout } = await runMenu(["--list"]);
    expect(code).toBe(0);
    for (const lesson of lessons) {
      expect(stdout).toContain(lesson.title);
      expect(stdout).toContain(lesson.run);
    }
  });

  test("with no terminal it prints the list and says how to run a lesson", async () => {
    const { code, stdout } = await runMenu([]);
    expect(code).toBe(0);
    expect(stdout).toContain("01-basics");
    expect(stdout).toContain("no terminal to read keys from");
  });

  test("an unknown flag is one sentence and exit 2", async () => {
    const { code, stderr } = await runMenu(["--tour"]);
    expect(code).toBe(2);
    expect(stderr).toStartWith("Unknown option '--tour'");
  });

  test("--demo runs every chapter's tour over loopback and exits 0", async () => {
    const { code, stdout, stderr } = await runMenu(["--demo"]);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    for (const chapter of chapters.filter((entry) => entry.tour))
      expect(stdout).toContain(`=== ${chapter.dir}:`);
    expect(stdout).toContain("End of the tour.");
  }, 180_000);
});
