// Lesson 07, a guard: a client that stops reading. Shown failing first: with no bound, all the
// chat said meanwhile waits for it in the server's memory; with room.ts's bound it is cut off
// once 1 MiB waits, and the others read why. Then the 20-chatters case on the guarded room,
// and the lesson as a student runs it.
import { expect, test } from "bun:test";
import { stopReading } from "../../06-chat/07-slow-reader.ts";
import { broadcastRoom } from "../../06-chat/room.ts";
import { ChatTestClient, chatLatencies, percentile, stuckClient } from "../fixtures/chat-client.ts";
import { runLesson, SLOW_TEST_MS, tracker } from "../helpers.ts";

const track = tracker();

test(
  "the failure: with no bound, the chat said meanwhile waits for it (megabytes of it)",
  async () => {
    const run = await stopReading(Infinity, 20);
    expect(run.left).toBeUndefined();
    expect(run.waitingKiB).toBeGreaterThan(8 * 1024);
  },
  SLOW_TEST_MS,
);

test(
  "the guard: cut off once 1 MiB waits, and the others are told why",
  async () => {
    const run = await stopReading(1024 * 1024, 20);
    expect(run.left).toMatch(/^too slow: \d+ KiB waited unread$/);
    expect(Number(run.left?.match(/(\d+) KiB/)?.[1])).toBeGreaterThanOrEqual(1024);
    expect(run.waitingKiB).toBe(0);
  },
  SLOW_TEST_MS,
);

test(
  "20 members chat while one never reads: it is cut off, and their p99 latency stays low",
  async () => {
    const { room, port } = broadcastRoom();
    track(room);
    await using watcher = await ChatTestClient.connect(port);
    await watcher.login("watcher", "pw");
    await using stuck = await stuckClient(port, "/login stuck pw\n");
    await watcher.line(/^JOIN stuck$/);
    const options = { chatters: 20, lines: 30, bytes: 8000, gapMs: 50, login: true };
    const latencies = await chatLatencies(port, options);
    expect(latencies).toHaveLength(20 * 19 * 30);
    expect(percentile(latencies, 99)).toBeLessThan(250);
    expect(await watcher.line(/^LEAVE stuck /, 0, 20_000)).toMatch(
      /too slow: \d+ KiB waited unread$/,
    );
  },
  SLOW_TEST_MS,
);

test(
  "run as a student would: both rooms, in words; --json; a bad --megabytes",
  async () => {
    const { code, stdout } = await runLesson("06-chat/07-slow-reader.ts", ["--megabytes", "10"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^10 MB of chat while "stuck" reads nothing:\n {2}no bound: +[\d,]+ KiB wait for it in the server's memory\n {2}1 MiB at most: +cut off, and the others read: LEAVE stuck too slow: \d+ KiB waited unread\n$/,
    );
    const json = await runLesson("06-chat/07-slow-reader.ts", ["--megabytes", "10", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      megabytes: 10,
      bounded: { waitingKiB: 0, left: expect.stringMatching(/^too slow: \d+ KiB waited unread$/) },
    });
    // Fewer megabytes would fit in the kernel's buffers: nothing would be shown waiting.
    const bad = await runLesson("06-chat/07-slow-reader.ts", ["--megabytes", "4"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split("\n")[0]).toBe(
      '--megabytes must be a whole number from 8 to 1000 (got "4")',
    );
  },
  SLOW_TEST_MS,
);
