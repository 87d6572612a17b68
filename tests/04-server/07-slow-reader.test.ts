// Lesson 07, the slow reader (a guard): a client that sends and never reads grows a naive
// echo's queue with every byte; an Outbox stops reading it above its high-water mark.
import { describe, expect, test } from "bun:test";
import { echoServer, slowReader } from "../../04-server/07-slow-reader.ts";
import { runLesson, TcpTestClient, tracker } from "../helpers.ts";

const track = tracker();
const FILE = "04-server/07-slow-reader.ts";
const MiB = 1024 * 1024;

describe("07-slow-reader in-process", () => {
  test("without a high-water mark the server keeps nearly all the client sent; with one, about 1 MiB", async () => {
    const naive = echoServer(Number.POSITIVE_INFINITY);
    const guarded = echoServer(MiB);
    track(naive.listener);
    track(guarded.listener);
    const naiveSent = await slowReader(naive.listener.port, 32 * MiB, 500);
    const naiveQueued = naive.queued();
    const guardedSent = await slowReader(guarded.listener.port, 32 * MiB, 500);
    const guardedQueued = guarded.queued();
    expect(naiveSent).toBe(32 * MiB);
    // The kernel's buffers hold a few MiB; the naive server holds the rest.
    expect(naiveQueued).toBeGreaterThan(16 * MiB);
    expect(guardedSent).toBeLessThan(32 * MiB);
    expect(guardedQueued).toBeLessThan(2 * MiB);
  });

  test("the guarded echo is still an echo: a client that reads gets every byte back", async () => {
    const guarded = echoServer(MiB);
    track(guarded.listener);
    await using client = await TcpTestClient.connect(guarded.listener.port);
    const payload = Buffer.alloc(4 * MiB, 7);
    client.send(payload);
    await client.until((received) => received.length >= payload.length);
    expect(client.received.equals(payload)).toBe(true);
  });
});

describe("07-slow-reader as a student runs it", () => {
  test("prints both figures, in MiB", async () => {
    const result = await runLesson(FILE, ["--send", "16"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^naive: the client sent 16\.0 MiB; the server holds [\d.]+ MiB$/m,
    );
    expect(result.stdout).toMatch(
      /^Outbox: the client could send [\d.]+ MiB; the server holds [01]\.\d MiB$/m,
    );
  });

  test("--json prints one JSON document", async () => {
    const result = await runLesson(FILE, ["--send", "8", "--json"]);
    expect(result.code).toBe(0);
    const figures = JSON.parse(result.stdout) as Record<string, number>;
    expect(Object.keys(figures).sort()).toEqual([
      "naiveQueued",
      "naiveSent",
      "outboxQueued",
      "outboxSent",
    ]);
    expect(figures.naiveSent).toBe(8 * MiB);
    expect(figures.outboxQueued).toBeLessThan(2 * MiB);
  });

  test("bad flags: one sentence and the usage, exit 2", async () => {
    const result = await runLesson(FILE, ["--send", "0"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith(
      `--send must be a whole number from 1 to 1024 (got "0")\n\nusage: bun run ${FILE}`,
    );
  });
});
