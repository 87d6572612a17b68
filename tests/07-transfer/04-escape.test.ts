// Lesson 07-transfer/04-escape: the failure first (lesson 02's path join hands out the secret
// beside the folder, and hangs on a FIFO), then the guard (openInRoot refuses every name).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { guardedGet, makeScratch, NAMES, naiveGet } from "../../07-transfer/04-escape.ts";
import { runLesson } from "../helpers.ts";

const LESSON = "07-transfer/04-escape.ts";
let scratch: ReturnType<typeof makeScratch>;
beforeEach(() => {
  scratch = makeScratch();
});
afterEach(() => scratch.remove());

describe("in-process", () => {
  test("the naive join serves the secret through .., a folder's .., a link and a linked folder", async () => {
    for (const name of ["../secret.txt", "docs/../../secret.txt", "link-out"])
      expect(await naiveGet(scratch.root, name)).toBe(
        "SERVED 26 bytes: the password is swordfish\\x0a",
      );
    expect(await naiveGet(scratch.root, "linked-folder/secret.txt")).toStartWith(
      "SERVED 27 bytes: the other password is 1234",
    );
    expect(await naiveGet(scratch.root, "zero")).toStartWith("SERVED 40 bytes: \\x00");
  });

  test("the naive join waits for ever on a FIFO (here, 100 ms), and cleans up after itself", async () => {
    expect(await naiveGet(scratch.root, "fifo", 100)).toBe(
      "no answer after 100 ms: open() waits for a writer that never comes",
    );
  });

  test("openInRoot serves the honest name and refuses every hostile one, saying why", () => {
    expect(guardedGet(scratch.root, "hello.txt")).toBe("served (6 bytes)");
    const answers = NAMES.slice(1).map((name) => guardedGet(scratch.root, name));
    for (const answer of answers) expect(answer).toStartWith("refused: ");
    expect(answers).toContain(
      "refused: link-out leads outside the shared folder (a symbolic link)",
    );
    expect(answers).toContain("refused: fifo is a FIFO, not a regular file");
  });
});

describe("as a student runs it", () => {
  test("prints each name's two answers and the count: the join let 5 out and hung once; openInRoot refused all 10", async () => {
    const { code, stdout, stderr } = await runLesson(LESSON, []);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toContain(
      'GET ../secret.txt\n  join:        SERVED 26 bytes: the password is swordfish\\x0a\n  openInRoot:  refused: ".." would leave the shared folder\n',
    );
    expect(stdout.trim().split("\n").at(-1)).toBe(
      "of 10 hostile names, lesson 02's join served 5 and hung on 1; openInRoot refused 10",
    );
  });

  test("--json: one document with every row", async () => {
    const { code, stdout } = await runLesson(LESSON, ["--json"]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { rows: { name: string }[]; summary: string };
    expect(report.rows.map((row) => row.name)).toEqual(NAMES);
    expect(report.summary).toContain("openInRoot refused 10");
  });
});
