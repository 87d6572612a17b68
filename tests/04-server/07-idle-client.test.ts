// Lesson 07, the idle client (a guard): connections that drip one byte a second stay open on
// a server whose idle clock any byte resets; an IdleTimer touched only by whole lines closes them.
import { describe, expect, test } from "bun:test";
import { drip, idleServer } from "../../04-server/07-idle-client.ts";
import { runLesson, SLOW_TEST_MS, TcpTestClient, tracker } from "../helpers.ts";

const track = tracker();
const FILE = "04-server/07-idle-client.ts";

describe("07-idle-client in-process", () => {
  test(
    "drippers: the naive server closes none, the guarded one closes all",
    async () => {
      const naive = track(idleServer(2_000, "byte"));
      const guarded = track(idleServer(2_000, "line"));
      const [naiveClosed, guardedClosed] = await Promise.all([
        drip(naive.port, 5, 3_500),
        drip(guarded.port, 5, 3_500),
      ]);
      expect({ naiveClosed, guardedClosed }).toEqual({ naiveClosed: 0, guardedClosed: 5 });
    },
    SLOW_TEST_MS,
  );

  test("whole lines are progress for the guarded server: a client sending lines stays", async () => {
    const guarded = track(idleServer(300, "line"));
    await using talker = await TcpTestClient.connect(guarded.port);
    await using quiet = await TcpTestClient.connect(guarded.port);
    const talk = setInterval(() => talker.send("a line\n"), 50);
    try {
      await quiet.whenClosed;
    } finally {
      clearInterval(talk);
    }
    expect(talker.closed).toBe(false);
  });
});

describe("07-idle-client as a student runs it", () => {
  test(
    "prints both counts, with a number",
    async () => {
      const result = await runLesson(FILE, ["--clients", "4", "--idle", "2"]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("4 clients drip one byte a second into each server for 4 s");
      expect(result.stdout).toContain("naive timer, reset by every byte:  closed 0 of 4");
      expect(result.stdout).toContain("IdleTimer, touched by whole lines: closed 4 of 4");
    },
    SLOW_TEST_MS,
  );

  test(
    "--json prints one JSON document",
    async () => {
      const result = await runLesson(FILE, ["--clients", "3", "--json"]);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({
        clients: 3,
        idleSeconds: 2,
        seconds: 4,
        naiveClosed: 0,
        guardedClosed: 3,
      });
    },
    SLOW_TEST_MS,
  );

  test("bad flags: one sentence and the usage, exit 2", async () => {
    const result = await runLesson(FILE, ["--idle", "1"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith(
      `--idle must be a whole number from 2 to 60 (got "1")\n\nusage: bun run ${FILE}`,
    );
  });
});
