// The book as a whole: the catalog, the README's generated tables, the conventions every
// lesson shares (its header, its --help, its rubric, its imports), and the menu. A lesson
// that breaks one of these fails here, whichever chapter it is in.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { listChapters, listLessons, nextLesson, parseHeader, ROOT } from "../tools/catalog.ts";
import { ALL_PYTHON_FILES, REPLACED_BY_BOOK } from "../tools/python-labs.ts";
import { renderReadme } from "../tools/readme.ts";
import { runLesson } from "./helpers.ts";

const chapters = listChapters();
const lessons = listLessons();
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const sourceOf = (file: string): string => readFileSync(join(ROOT, file), "utf8");

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

  test("@serves and @limits are read, and a malformed one is refused", () => {
    const head = (tags: string) =>
      `/**\n * @title T\n * @summary S\n * @run bun run x.ts\n * @python new\n${tags} */\n`;
    const lesson = parseHeader(
      head(
        ' * @serves tcp "12 + 30\\n" -> "OK 42\\n"\n * @serves udp "\\u0023" padded to 48 -> 48 bytes\n * @limits idle --idle · memory 64 MiB · clients 1\n',
      ),
      "x.ts",
    );
    expect(lesson.serves.map((probe) => [probe.protocol, probe.request.length])).toEqual([
      ["tcp", 8],
      ["udp", 48],
    ]);
    expect(lesson.limits).toEqual({
      idleFlag: "--idle",
      memoryMiB: 64,
      clients: 1,
      oneAtATime: false,
    });
    expect(() => parseHeader(head(" * @serves tcp hello\n"), "x.ts")).toThrow("@serves must read");
    expect(() => parseHeader(head(" * @limits fast\n"), "x.ts")).toThrow(
      '@limits does not know "fast"',
    );
  });

  test("every chapter has a README.md and a tour", () => {
    for (const chapter of chapters) {
      expect({
        chapter: chapter.dir,
        readme: existsSync(join(ROOT, chapter.dir, "README.md")),
      }).toEqual({
        chapter: chapter.dir,
        readme: true,
      });
      expect({ chapter: chapter.dir, tour: chapter.tour }).toEqual({
        chapter: chapter.dir,
        tour: `tools/tours/${chapter.dir}.ts`,
      });
    }
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

  test("every Python lab file has its lesson (or the menu): none is left planned", () => {
    const claimed = new Set(lessons.flatMap((lesson) => lesson.python));
    for (const name of ALL_PYTHON_FILES)
      expect({ name, replaced: claimed.has(name) || name in REPLACED_BY_BOOK }).toEqual({
        name,
        replaced: true,
      });
  });

  test("every @run command names its own file", () => {
    for (const lesson of lessons) expect(lesson.run).toStartWith(`bun run ${lesson.file}`);
  });

  test("nextLesson walks the book: the next of the chapter, then the next chapter's first", () => {
    const first = chapters[0]?.lessons;
    expect(nextLesson(first?.[0]?.file ?? "")?.file).toBe(first?.[1]?.file);
    const lastOfFirst = first?.at(-1)?.file ?? "";
    expect(nextLesson(lastOfFirst)?.file).toBe(chapters[1]?.lessons[0]?.file);
    expect(nextLesson(lessons.at(-1)?.file ?? "")).toBeUndefined();
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

  test("opens with the two commands a newcomer needs: the menu and the grader", () => {
    const firstBlock = readme.match(/```sh\n([\s\S]*?)```/)?.[1] ?? "";
    expect(firstBlock).toMatch(/^bun \. /m);
    expect(firstBlock).toMatch(/^bun test /m);
  });

  test("says how to grade one chapter and one lesson, and that Ctrl-C stops a server", () => {
    expect(readme).toContain("bun test 04-server");
    expect(readme).toMatch(/bun test 04-server\/\d\d/);
    expect(readme).toContain("Ctrl-C");
  });

  test("links only to files inside the repository", () => {
    for (const match of readme.matchAll(/\]\(([^)#]+)(?:#[^)]*)?\)/g)) {
      const target = match[1] ?? "";
      if (/^https?:/.test(target)) continue;
      expect({
        target,
        inside: !target.startsWith("..") && existsSync(join(ROOT, target)),
      }).toEqual({
        target,
        inside: true,
      });
    }
  });
});

describe("every lesson keeps the book's conventions", () => {
  test.each(lessons.map((lesson) => [lesson.file]))(
    "%s: --help prints the @run line as its usage, explains the flags, names the next lesson, exit 0",
    async (file) => {
      const lesson = lessons.find((entry) => entry.file === file);
      const { code, stdout, stderr } = await runLesson(file, ["--help"]);
      expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
      expect(stdout.split("\n")[0]).toBe(`usage: ${lesson?.run}`);
      const next = nextLesson(file, lessons);
      if (next) expect(stdout).toContain(`next: bun run ${next.file}`);
    },
  );

  test.each(lessons.map((lesson) => [lesson.file]))(
    "%s: an unknown flag is one sentence, the usage, and exit 2",
    async (file) => {
      const { code, stderr } = await runLesson(file, ["--no-such-flag"]);
      expect(code).toBe(2);
      expect(stderr.split("\n")[0]).toBe("unknown flag --no-such-flag: see the list below");
      expect(stderr).not.toMatch(/^\s+at /m);
    },
  );

  test("every lesson has its rubric: tests/NN-chapter/NN-lesson.test.ts", () => {
    for (const lesson of lessons) {
      const rubric = `tests/${lesson.file.replace(/\.ts$/, ".test.ts")}`;
      expect({ lesson: lesson.file, rubric: existsSync(join(ROOT, rubric)) }).toEqual({
        lesson: lesson.file,
        rubric: true,
      });
    }
  });

  test("every chapter module (not a lesson, not a worker's script) has its own test file", () => {
    for (const chapter of chapters) {
      for (const name of readdirSync(join(ROOT, chapter.dir))) {
        const worker = /-(worker|thread)\.ts$/.test(name);
        if (!name.endsWith(".ts") || /^\d\d-/.test(name) || worker) continue;
        const tests = `tests/${chapter.dir}/${name.replace(/\.ts$/, ".test.ts")}`;
        expect({ module: `${chapter.dir}/${name}`, tests: existsSync(join(ROOT, tests)) }).toEqual({
          module: `${chapter.dir}/${name}`,
          tests: true,
        });
      }
    }
  });

  test("every lib/ module has its own test file", () => {
    for (const name of readdirSync(join(ROOT, "lib")).filter((entry) => entry.endsWith(".ts"))) {
      const tests = `tests/lib/${name.replace(/\.ts$/, ".test.ts")}`;
      expect({ module: `lib/${name}`, tests: existsSync(join(ROOT, tests)) }).toEqual({
        module: `lib/${name}`,
        tests: true,
      });
    }
  });

  test("every server (a lesson that calls serve()) says what it serves and what it promises: @serves, @limits memory", () => {
    for (const lesson of lessons) {
      if (!/\bserve\(/.test(sourceOf(lesson.file))) continue;
      expect({
        lesson: lesson.file,
        serves: lesson.serves.length > 0,
        memory: lesson.limits.memoryMiB !== undefined,
      }).toEqual({
        lesson: lesson.file,
        serves: true,
        memory: true,
      });
    }
  });

  test("imports: built-ins, lib/, the chapter's modules, and only an earlier server lesson (to start it offline)", () => {
    const known = new Set(lessons.map((lesson) => lesson.file));
    for (const lesson of lessons) {
      const source = sourceOf(lesson.file);
      for (const match of source.matchAll(
        /^\s*(?:import|export)\b[^'"]*?from\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm,
      )) {
        const spec = match[1] ?? match[2] ?? match[3] ?? "";
        let verdict = "ok";
        if (
          spec === "bun" ||
          spec.startsWith("bun:") ||
          spec.startsWith("node:") ||
          /^\.\.\/lib\/[a-z-]+\.ts$/.test(spec)
        )
          verdict = "ok";
        else if (!/^\.\/[^/]+$/.test(spec)) verdict = "outside its chapter and lib/";
        else {
          const target = `${lesson.chapter}/${spec.slice(2)}`;
          const other = lessons.find((entry) => entry.file === target);
          if (known.has(target) && other) {
            if (target >= lesson.file) verdict = "a later lesson";
            else if (other.serves.length === 0) verdict = "a lesson that is not a server";
          }
        }
        expect({ lesson: lesson.file, spec, verdict }).toEqual({
          lesson: lesson.file,
          spec,
          verdict: "ok",
        });
      }
    }
  });
});

/**
 * Runs `bun .` in a pseudo-terminal of `rows` lines, as a student would, types `keys` (all
 * at once, before the menu has drawn anything), and collects the screen's bytes until
 * `until` shows up in them.
 */
async function menuInTerminal(
  keys: string,
  until: RegExp,
  rows = 24,
): Promise<{
  screen: string;
  shows: (pattern: RegExp, from?: number) => Promise<void>;
  write: (keys: string) => void;
  close: () => Promise<number>;
}> {
  let screen = "";
  let changed: () => void = () => {};
  const proc = Bun.spawn(["bun", "."], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1" },
    terminal: {
      cols: 120,
      rows,
      data(_terminal, data) {
        screen += Buffer.from(data).toString("utf8");
        changed();
      },
    },
  });
  const terminal = proc.terminal;
  if (!terminal) throw new Error("no terminal");
  /** Resolves once the screen, from byte `from` on, shows `pattern`. */
  const shows = (pattern: RegExp, from = 0): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const seen = JSON.stringify(screen.slice(-800));
        reject(new Error(`the menu never showed ${pattern}; screen: ${seen}`));
      }, 15_000);
      changed = () => {
        if (!pattern.test(screen.slice(from))) return;
        clearTimeout(timer);
        changed = () => {};
        resolve();
      };
      changed();
    });
  terminal.write(keys);
  await shows(until);
  return {
    get screen() {
      return screen;
    },
    shows,
    write: (more) => terminal.write(more),
    close: async () => {
      terminal.write("q");
      const code = await Promise.race([proc.exited, Bun.sleep(5_000).then(() => -1)]);
      if (code === -1) proc.kill();
      terminal.close();
      return code;
    },
  };
}

/** The screen as text: escape sequences out. */
const plain = (screen: string): string => screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");

describe("the menu in a terminal (bun .)", () => {
  test("keys typed before it has drawn are not lost: 1, Enter, 5, Enter runs lesson 5 of chapter 1", async () => {
    const fifth = chapters[0]?.lessons[4];
    const menu = await menuInTerminal("1\r5\r", /exited with code/);
    expect(plain(menu.screen)).toContain(`$ bun run ${fifth?.file}`);
    expect(await menu.close()).toBe(0);
  });

  test("after a lesson ends its output stays on screen until Enter, which selects the next lesson", async () => {
    const fifth = chapters[0]?.lessons[4];
    const sixth = chapters[0]?.lessons[5];
    const menu = await menuInTerminal("1\r5\r", /exited with code \d+\) Enter: back/);
    const afterRun = menu.screen.slice(menu.screen.lastIndexOf(`$ bun run ${fifth?.file}`));
    // Nothing clears the screen between the lesson's output and the question.
    expect(afterRun).not.toContain("\x1b[2J");
    expect(plain(afterRun)).toContain(`with the next lesson, ${sixth?.title}, selected`);
    const before = menu.screen.length;
    menu.write("\r");
    const seventh = chapters[0]?.lessons[6]?.file ?? "";
    await menu.shows(new RegExp(`next: ${seventh.replaceAll(".", "\\.")}`), before);
    expect(await menu.close()).toBe(0);
  });

  test("two digits arriving in one read pick lesson 12; a number too big says so", async () => {
    const chapter = chapters.findIndex((entry) => entry.lessons.length >= 12);
    const twelfth = chapters[chapter]?.lessons[11];
    const menu = await menuInTerminal(
      `${chapter + 1}\r12`,
      new RegExp(`>\\s+12\\. ${twelfth?.title}`),
    );
    const before = menu.screen.length;
    menu.write("\x1b[B99");
    await menu.shows(/there is no 99 here/, before);
    expect(await menu.close()).toBe(0);
  });

  test("every screen fits a 24-line terminal", async () => {
    const longest = chapters.reduce(
      (best, chapter, index) =>
        chapter.lessons.length > (chapters[best]?.lessons.length ?? 0) ? index : best,
      0,
    );
    const menu = await menuInTerminal(`${longest + 1}\r`, /Backspace: the chapters/);
    const screens = menu.screen.split("\x1b[2J\x1b[H").filter(Boolean);
    for (const screen of screens)
      expect(plain(screen).split("\r\n").length).toBeLessThanOrEqual(24);
    expect(await menu.close()).toBe(0);
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
    expect(stderr.split("\n")[0]).toBe("unknown flag --tour: see the list below");
  });

  test("--demo runs every chapter's tour over loopback and exits 0", async () => {
    const { code, stdout, stderr } = await runMenu(["--demo"]);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    for (const chapter of chapters) expect(stdout).toContain(`=== ${chapter.dir}:`);
    expect(stdout).toContain("End of the tour.");
  }, 300_000);
});
