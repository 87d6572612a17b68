// Lesson 08, the slow reader (a guard): a client that sends and never reads grows a naive
// echo's queue with every byte; an Outbox stops reading it above its high-water mark.
import { describe, expect, test } from "bun:test";
import { echoServer, slowReader } from "../../04-server/08-slow-reader.ts";
import { runLesson, TcpTestClient, tracker } from "../helpers.ts";

const track = tracker();
const FILE = "04-server/08-slow-reader.ts";
const MiB = 1024 * 1024;

describe("08-slow-reader in-process", () => {
  test("without a high-water mark the server keeps nearly all the client sent; with one, about 1 MiB", async () => {
    const naive = await slowReader(Number.POSITIVE_INFINITY, 32 * MiB, 500);
    const guarded = await slowReader(MiB, 32 * MiB, 500);
    expect(naive.sent).toBe(32 * MiB);
    // The kernel's buffers hold a few MiB; the naive server holds the rest.
    expect(naive.queued).toBeGreaterThan(16 * MiB);
    expect(guarded.sent).toBeLessThan(32 * MiB);
    expect(guarded.queued).toBeLessThan(2 * MiB);
  });

  test("the guarded echo is still an echo: a client that reads gets every byte back", async () => {
    const guarded = track(echoServer(MiB));
    await using client = await TcpTestClient.connect(guarded.port);
    const payload = Buffer.alloc(4 * MiB, 7);
    client.send(payload);
    await client.until((received) => received.length >= payload.length);
    expect(client.received.equals(payload)).toBe(true);
  });
});

describe("08-slow-reader as a student runs it", () => {
  test("prints both figures, in MiB", async () => {
    const result = await runLesson(FILE, ["--send", "16"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^naive: the client sent 16\.0 MiB; the server holds [\d.]+ MiB$/m,
    );
    expect(result.stdout).toMatch(
      /^Outbox: the client sent [\d.]+ MiB; the server holds [01]\.\d MiB$/m,
    );
  });

  test("--json prints one JSON document", async () => {
    const result = await runLesson(FILE, ["--send", "8", "--json"]);
    expect(result.code).toBe(0);
    const figures = JSON.parse(result.stdout) as Record<string, { sent: number; queued: number }>;
    expect(Object.keys(figures)).toEqual(["naive", "Outbox"]);
    expect(figures.naive?.sent).toBe(8 * MiB);
    expect(figures.Outbox?.queued).toBeLessThan(2 * MiB);
  });

  test("bad flags: one sentence and the usage, exit 2", async () => {
    const result = await runLesson(FILE, ["--send", "0"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith(
      `--send must be a whole number from 1 to 256 (got "0")\n\nusage: bun run ${FILE}`,
    );
  });
});
