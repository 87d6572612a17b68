// Lesson 08, a guard: a flood. Shown failing first: with no rate, a paste of thousands of lines
// reaches everyone at once; with a token bucket per member, a second later the others have
// seen only the burst and a second's worth, nothing is dropped, and someone else's line
// overtakes the paste.
import { expect, test } from "bun:test";
import { paste } from "../../06-chat/08-flood.ts";
import { broadcastRoom, GUARDS } from "../../06-chat/room.ts";
import { ChatTestClient } from "../fixtures/chat-client.ts";
import { runLesson, SLOW_TEST_MS, tracker } from "../helpers.ts";

const track = tracker();

test(
  "the failure: with no rate, all 20,000 lines of a paste reach the others within a second",
  async () => {
    const run = await paste(Infinity, Infinity, 20_000);
    expect(run.afterOneSecond).toBe(20_000);
  },
  SLOW_TEST_MS,
);

test(
  "the guard: a second later, only the burst and a second's worth; another's line is not held up",
  async () => {
    const run = await paste(GUARDS.linesPerSecond, GUARDS.burst, 20_000);
    expect(run.afterOneSecond).toBeGreaterThanOrEqual(GUARDS.burst);
    expect(run.afterOneSecond).toBeLessThanOrEqual(GUARDS.burst + 3 * GUARDS.linesPerSecond);
    expect(run.otherMs).toBeLessThan(500);
  },
  SLOW_TEST_MS,
);

test(
  "paced, not dropped: every line of a burst arrives, in order",
  async () => {
    const { room, port } = broadcastRoom({ linesPerSecond: 50, burst: 10 });
    track(room);
    await using flooder = await ChatTestClient.connect(port);
    await flooder.login("flooder", "pw");
    await using reader = await ChatTestClient.connect(port);
    await reader.login("reader", "pw");
    const started = performance.now();
    flooder.send(Array.from({ length: 60 }, (_, i) => `n${i}\n`).join(""));
    await reader.line(/^MSG flooder n59$/, 0, 10_000);
    expect(performance.now() - started).toBeGreaterThan(900);
    const got = reader.lines.filter((line) => line.startsWith("MSG flooder"));
    expect(got).toEqual(Array.from({ length: 60 }, (_, i) => `MSG flooder n${i}`));
  },
  SLOW_TEST_MS,
);

test(
  "run as a student would: both rooms, in words, and --json",
  async () => {
    const { code, stdout } = await runLesson("06-chat/08-flood.ts", ["--lines", "2000"]);
    expect(code).toBe(0);
    expect(stdout).toContain("a paste of 2,000 lines, and someone else's line right after it:");
    expect(stdout).toMatch(/no rate: +1 s later the others have 2,000 of them/);
    expect(stdout).toMatch(/40 at once, 20 a second: +1 s later the others have \d{2,3} of them/);
    const json = await runLesson("06-chat/08-flood.ts", ["--lines", "500", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ lines: 500, noRate: { afterOneSecond: 500 } });
  },
  SLOW_TEST_MS,
);
