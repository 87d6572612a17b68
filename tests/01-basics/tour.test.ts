// The chapter's tour, tools/tours/01-basics.ts (`bun . --demo` plays it): every lesson run as
// a student would, over loopback, with nothing to type, on tools/drive.ts.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { listChapters } from "../../tools/catalog.ts";
import { ROOT, runLesson } from "../helpers.ts";

const TOUR = "tools/tours/01-basics.ts";

test("the tour plays every lesson of the chapter and exits 0", async () => {
  const { code, stdout, stderr } = await runLesson(TOUR, [], { timeoutMs: 120_000 });
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  const lessons = listChapters().find((chapter) => chapter.dir === "01-basics")?.lessons ?? [];
  expect(lessons.length).toBeGreaterThan(0);
  for (const lesson of lessons) expect(stdout).toContain(`$ bun run ${lesson.file}`);
  expect(stdout).not.toContain("!!");
  expect(stdout).toEndWith("01-basics: every lesson did what it promises.\n");
}, 150_000);

test("the tour drives the lessons with tools/drive.ts, and no process watcher of its own", () => {
  const source = readFileSync(join(ROOT, TOUR), "utf8");
  expect(source).toContain('from "../drive.ts"');
  expect(source).not.toContain("Bun.spawn(");
});
