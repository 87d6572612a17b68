// Lesson 06, a guard: hostile lines. Shown failing first: a room without the guards hands
// escape sequences to the others raw and passes a 1 MiB line on to everyone; with them the
// escapes arrive visible (clean()) and the line gets ERR too-long and a close. Then the
// same as a student runs it, --json included.
import { expect, test } from "bun:test";
import { ESCAPES, hostileLines } from "../../06-chat/06-hostile-lines.ts";
import { runLesson, SLOW_TEST_MS } from "../helpers.ts";

test("the failure: without the guards, escape sequences and a 1 MiB line reach the others as sent", async () => {
  const open = await hostileLines(false);
  expect(open.seen).toBe(`MSG evil ${ESCAPES}`);
  expect(open.longLine).toBe("passed on: 1,048,585 bytes to each member");
});

test("the guard: the escapes arrive visible, never obeyed; the long line gets ERR too-long, then BYE", async () => {
  const guarded = await hostileLines(true);
  expect(guarded.seen).toBe("MSG evil ^[[2J^[[41mpainted red");
  expect(guarded.seen).not.toMatch(/[\u0000-\u001f]/);
  expect(guarded.longLine).toBe(
    "ERR too-long: a line has at most 65536 bytes, then BYE line too long",
  );
});

test(
  "run as a student would: both rooms side by side, the escapes shown without being obeyed",
  async () => {
    const { code, stdout } = await runLesson("06-chat/06-hostile-lines.ts");
    expect(code).toBe(0);
    expect(stdout).toContain('passed on raw:  "MSG evil \\u001b[2J\\u001b[41mpainted red"');
    expect(stdout).toContain('with clean():   "MSG evil ^[[2J^[[41mpainted red"');
    expect(stdout).not.toContain("\u001b");
  },
  SLOW_TEST_MS,
);

test(
  "--json: one document",
  async () => {
    const { code, stdout } = await runLesson("06-chat/06-hostile-lines.ts", ["--json"]);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as { guarded: { longLine: string } };
    expect(result.guarded.longLine).toStartWith("ERR too-long");
  },
  SLOW_TEST_MS,
);
