// Lesson 11, the UDP guard: a naive echo answers a datagram from its own address, and two
// naive echoes answer each other, for ever; a ReplyGuard stops both at once.
import { describe, expect, test } from "bun:test";
import { loop, STOP_AT } from "../../04-server/11-udp-guard.ts";
import { runLesson, SLOW_TEST_MS } from "../helpers.ts";

const FILE = "04-server/11-udp-guard.ts";

describe("11-udp-guard in-process", () => {
  test("a datagram from its own address: the naive echo loops until stopped, the guarded one refuses it", async () => {
    const naive = await loop("self", false, 10_000);
    expect(naive).toMatchObject({ datagrams: STOP_AT, stillGoing: true });
    const guarded = await loop("self", true, 300);
    expect(guarded).toMatchObject({ datagrams: 1, stillGoing: false });
    expect(guarded.refused).toEqual(["1 refused: own address"]);
  });

  test("two echoes: the naive pair plays ping-pong until stopped, the guarded pair stops when its reply comes back", async () => {
    const naive = await loop("pair", false, 10_000);
    expect(naive).toMatchObject({ datagrams: STOP_AT, stillGoing: true });
    const guarded = await loop("pair", true, 300);
    expect(guarded.stillGoing).toBe(false);
    expect(guarded.datagrams).toBeLessThanOrEqual(3);
    expect(guarded.refused).toEqual(["1 refused: echoed"]);
  });
});

describe("11-udp-guard as a student runs it", () => {
  test(
    "prints the naive figure, with a number, then the guard's",
    async () => {
      const result = await runLesson(FILE);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(
        /^ {2}naive: [\d,]+ datagrams in [\d.]+ s \([\d,]+ a second\), still going when we stopped it$/m,
      );
      expect(result.stdout).toContain(
        "with a ReplyGuard: 1 datagram(s), then silence (1 refused: own address)",
      );
      expect(result.stdout).toMatch(
        /with a ReplyGuard: [23] datagram\(s\), then silence \(1 refused: echoed\)/,
      );
    },
    SLOW_TEST_MS,
  );

  test(
    "--json prints one JSON document",
    async () => {
      const result = await runLesson(FILE, ["--json"]);
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout) as Record<
        string,
        Record<string, { datagrams: number; stillGoing: boolean }>
      >;
      expect(report.self?.naive?.stillGoing).toBe(true);
      expect(report.self?.guarded).toMatchObject({ datagrams: 1, stillGoing: false });
      expect(report.pair?.naive?.stillGoing).toBe(true);
      expect(report.pair?.guarded?.stillGoing).toBe(false);
    },
    SLOW_TEST_MS,
  );

  test("an unknown flag: one sentence and the usage, exit 2", async () => {
    const result = await runLesson(FILE, ["--forge"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith("unknown flag --forge");
  });
});
