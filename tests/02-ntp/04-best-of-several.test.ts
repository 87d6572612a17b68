/**
 * 02-ntp/04-best-of-several.ts: several samples, the one with the shortest round trip kept,
 * a bad reply in any sample failing the whole measurement; and the file run as a student
 * would, its JSON to the microsecond.
 */
import { describe, expect, test } from "bun:test";
import { measureOffset } from "../../02-ntp/04-best-of-several.ts";
import { startNtpServer } from "../../02-ntp/05-sntp-server.ts";
import {
  canUsePrivateNetwork,
  expectUsageError,
  PRIVATE_NETWORK,
  runLesson,
  tracker,
} from "../helpers.ts";
import { failure, fakeServer, goodReply } from "./fake-ntp.ts";

const BEST = "02-ntp/04-best-of-several.ts";
const PRIVATE = await canUsePrivateNetwork();
const track = tracker();
/** What lib's peerOrStart says on stderr when a client starts the chapter's server itself. */
const STARTED =
  /^no --host or --port: started 02-ntp\/05-sntp-server\.ts on 127\.0\.0\.1:(\d+) for this run\n$/;

/** Whether a number has at most 3 decimals: milliseconds to the microsecond. */
const toTheMicrosecond = (ms: number): boolean => Math.round(ms * 1000) / 1000 === ms;

describe("measureOffset, in-process", () => {
  test("against a server 10 s ahead: the kept sample has the shortest round trip, offset 10 s", async () => {
    const fake = track(await fakeServer((request) => [goodReply(request, 10_000)]));
    const { samples, best, bestIndex } = await measureOffset("127.0.0.1", fake.port, 3);
    expect(samples.length).toBe(3);
    expect(fake.requests.length).toBe(3);
    expect(best).toBe(samples[bestIndex] as (typeof samples)[number]);
    for (const sample of samples) expect(best.delayMs).toBeLessThanOrEqual(sample.delayMs);
    expect(best.delayMs).toBeGreaterThanOrEqual(0);
    expect(Math.abs(best.offsetMs - 10_000)).toBeLessThanOrEqual(best.delayMs / 2 + 0.01);
  });

  test("against the chapter's server, same clock: the offset is within half the round trip of 0", async () => {
    const server = track(await startNtpServer({ port: 0 }));
    const { best } = await measureOffset("127.0.0.1", server.udp.port, 4);
    expect(Math.abs(best.offsetMs)).toBeLessThanOrEqual(best.delayMs / 2 + 0.01);
    expect(server.counts.answered).toBe(4);
  });

  test("a bad reply in any sample fails the whole measurement with its sentence", async () => {
    let seen = 0;
    const fake = track(
      await fakeServer((request) => {
        const reply = goodReply(request);
        seen++;
        if (seen === 2) reply[1] = 0;
        return [reply];
      }),
    );
    const error = await failure(measureOffset("127.0.0.1", fake.port, 3));
    expect(error.message).toContain("kiss-o'-death");
    expect(fake.requests.length).toBe(2);
  });
});

describe("run as a student would", () => {
  test("with no arguments: four samples, the kept one, and the corrected time", async () => {
    const { code, stdout, stderr } = await runLesson(BEST);
    expect(code).toBe(0);
    const [, port] = stderr.match(STARTED) ?? [];
    expect(stdout).toStartWith(`asking 127.0.0.1:${port} (udp) for 4 samples\n`);
    const sample = / {2}sample \d: offset [+-]\d+\.\d{3} ms, round trip \d+\.\d{3} ms/g;
    expect(stdout.match(sample)?.length).toBe(4);
    expect(stdout).toMatch(/kept sample [1-4], the shortest round trip: offset [+-]\d+\.\d{3} ms/);
    expect(stdout).toMatch(/corrected time {2}\d{4}-\d\d-\d\dT[\d:]{8}\.\d{9}Z/);
  });

  test("with --json --samples 3 against a server 10 s ahead: one JSON document, to the microsecond", async () => {
    const fake = track(await fakeServer((request) => [goodReply(request, 10_000)]));
    const args = ["--host", "127.0.0.1", "--port", String(fake.port), "--samples", "3", "--json"];
    const { code, stdout } = await runLesson(BEST, args);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.samples.length).toBe(3);
    const delays: number[] = report.samples.map((sample: { delayMs: number }) => sample.delayMs);
    expect(report.best.delayMs).toBe(Math.min(...delays));
    expect(report.best.sample).toBe(delays.indexOf(Math.min(...delays)) + 1);
    expect(Math.abs(report.best.offsetMs - 10_000)).toBeLessThan(report.best.delayMs / 2 + 1);
    expect(report.best.t1).toMatch(/^\d{4}-\d\d-\d\dT[\d:]{8}\.\d{9}Z$/);
    const corrected = Date.parse(report.correctedTime) - Date.parse(report.systemTime);
    expect(Math.abs(corrected - report.best.offsetMs)).toBeLessThan(1);
    const numbers = [report.best, ...report.samples].flatMap((entry) => [
      entry.offsetMs,
      entry.delayMs,
    ]);
    expect(numbers.filter((ms) => !toTheMicrosecond(ms))).toEqual([]);
  });

  test.skipIf(!PRIVATE)(
    "offline (a private network with no DNS server): pool.ntp.org is a look-up that failed",
    async () => {
      const run = await runLesson(BEST, ["--host", "pool.ntp.org"], {
        argvPrefix: PRIVATE_NETWORK,
      });
      expect(run).toEqual({
        code: 1,
        stdout: "asking pool.ntp.org:123 (udp) for 4 samples\n\n",
        stderr:
          'could not look up "pool.ntp.org": no DNS server answered (is this machine offline?); give an IP address, or a name from /etc/hosts\n',
      });
    },
  );

  test.skipIf(!PRIVATE)(
    "with no route to the host (a private network, as offline): one sentence",
    async () => {
      const run = await runLesson(BEST, ["--host", "192.0.2.5"], {
        argvPrefix: PRIVATE_NETWORK,
      });
      expect(run).toEqual({
        code: 1,
        stdout: "asking 192.0.2.5:123 (udp) for 4 samples\n\n",
        stderr:
          "no route to 192.0.2.5: this machine has no network path there (check the address, or your network)\n",
      });
    },
  );

  const usageErrors: [string[], string][] = [
    [["--samples", "0"], '--samples must be a whole number from 1 to 20 (got "0")'],
    [["--samples", "21"], '--samples must be a whole number from 1 to 20 (got "21")'],
    [["--samples", "-1"], '--samples must be a whole number from 1 to 20 (got "-1")'],
    [["--timeout", "-1"], '--timeout must be a number from 0.001 to 60 (got "-1")'],
  ];
  test.each(usageErrors)("%p: one sentence, the usage, exit 2", async (args, sentence) => {
    await expectUsageError(BEST, args, sentence);
  });
});
