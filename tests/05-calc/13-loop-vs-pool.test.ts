/**
 * Lesson 05/13, single loop vs worker pool: each server in a process of its own, lesson 12's
 * load in another, the same load for both; the comparison in words and as JSON; a server
 * that cannot start, and a load that fails, each one sentence.
 */
import { expect, test } from "bun:test";
import { compare } from "../../05-calc/13-loop-vs-pool.ts";
import { runLesson, SLOW_TEST_MS } from "../helpers.ts";
import { lesson, rejection } from "./support.ts";

const FILE = lesson("13-loop-vs-pool");
const SMALL = { connections: 4, requests: 40, "heavy-ratio": 0.1 };

test(
  "compare(): the same load on both servers, each in its own process",
  async () => {
    const results = await compare(SMALL);
    expect(results.map((result) => result.server)).toEqual([
      "single loop (06-concurrent-server.ts)",
      "worker pool (07-worker-pool.ts)",
    ]);
    for (const { report } of results) {
      expect(report).toMatchObject({ sent: 40, answered: 40, errors: 0, lost: 0 });
      expect([report.cheap.count, report.heavy.count]).toEqual([36, 4]);
    }
  },
  SLOW_TEST_MS,
);

test("compare() runs any server lesson given, with its arguments, in a process of its own", async () => {
  const load = { connections: 2, requests: 20, "heavy-ratio": 0 };
  const results = await compare(load, { "lesson 01": ["01-tcp-server.ts", "--idle", "5"] });
  expect(results).toEqual([{ server: "lesson 01", report: expect.any(Object) }]);
  expect(results[0]?.report).toMatchObject({ sent: 20, answered: 20, errors: 0, lost: 0 });
});

test("compare(): a server that cannot start is an error with what it said", async () => {
  const failed = await rejection(compare(SMALL, { broken: ["01-tcp-server.ts", "--idle", "0"] }));
  expect(failed).toBe(
    'the server did not start: 05-calc/01-tcp-server.ts exited before listening: --idle must be a number from 0.1 to 86400 (got "0")',
  );
});

test("compare(): a load that fails is an error with what it said", async () => {
  const failed = await rejection(compare({ ...SMALL, connections: 0 }));
  expect(failed).toBe(
    'the load failed: --connections must be a whole number from 1 to 1000 (got "0")',
  );
});

test(
  "spawned: both servers in words, then the cheap requests' p99 side by side",
  async () => {
    const result = await runLesson(FILE, ["--requests", "40", "--connections", "4"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^single loop \(06-concurrent-server\.ts\)\n {2}40 of 40 answered in [\d.]+ s, \d+ req\/s; 0 wrong or ERR, 0 lost\n {2}cheap \(36\): p50 [\d.]+ ms, p99 [\d.]+ ms\n {2}heavy \(4\): /,
    );
    expect(result.stdout).toContain("\nworker pool (07-worker-pool.ts)\n  40 of 40 answered");
    expect(result.stdout).toMatch(
      /\ncheap requests' p99: [\d.]+ ms on the single loop, [\d.]+ ms with the pool\n$/,
    );
  },
  SLOW_TEST_MS,
);

test(
  "spawned: --json is one document, its figures rounded; bad flags are exit 2",
  async () => {
    const args = ["--requests", "20", "--connections", "2", "--json"];
    const result = await runLesson(FILE, args);
    expect(result.stdout).not.toMatch(/\d\.\d{4,}/);
    expect(JSON.parse(result.stdout)).toHaveLength(2);
    for (const [flags, why] of [
      [["--requests", "0"], '--requests must be a whole number from 1 to 1000000 (got "0")'],
      [["--heavy-ratio", "-0.5"], '--heavy-ratio must be a number from 0 to 1 (got "-0.5")'],
    ] as const) {
      const bad = await runLesson(FILE, [...flags]);
      expect({ code: bad.code, why: bad.stderr.split("\n")[0] }).toEqual({ code: 2, why });
    }
  },
  SLOW_TEST_MS,
);
