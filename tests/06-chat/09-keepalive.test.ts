// Lesson 09, a guard: silence. Shown failing first: a plain idle limit closes a member who only
// reads as it closes a vanished one. A keepalive asks first: the reader's connection answers
// the PING by itself and stays; the ghost gets a PING, then a BYE, as long again later.
import { expect, test } from "bun:test";
import { silence } from "../../06-chat/09-keepalive.ts";
import { runLesson, SLOW_TEST_MS } from "../helpers.ts";

test("the failure: a plain idle limit closes the one who only reads, like the ghost", async () => {
  const run = await silence(false, 300);
  expect(run.reader).toMatch(/^closed after 0\.[3-9] s$/);
  expect(run.ghost).toMatch(/^closed after 0\.[3-9] s$/);
  expect(run.ghostWasTold).toEqual(["BYE silent for 0.3 s"]);
});

test("the guard: the reader answers PINGs and stays; the ghost gets PING, then BYE", async () => {
  const run = await silence(true, 300);
  expect(run.reader).toBe("still here");
  expect(run.ghost).toMatch(/^closed after (0\.[6-9]|1\.\d) s$/);
  expect(run.ghostWasTold).toEqual(["PING", "BYE no answer to PING in 0.3 s"]);
});

test(
  "run as a student would: both rooms in words; --json; --idle checked",
  async () => {
    const { code, stdout } = await runLesson("06-chat/09-keepalive.ts", ["--idle", "0.2"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /the ghost: {2}closed after 0\.\d s, told PING, then BYE no answer to PING in 0\.2 s/,
    );
    const json = await runLesson("06-chat/09-keepalive.ts", ["--idle", "0.2", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      idle: 0.2,
      keepalive: { reader: "still here" },
    });
    const bad = await runLesson("06-chat/09-keepalive.ts", ["--idle", "0"]);
    expect(bad.stderr.split("\n")[0]).toBe('--idle must be a number from 0.1 to 60 (got "0")');
  },
  SLOW_TEST_MS,
);
