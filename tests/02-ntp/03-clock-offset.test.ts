/**
 * 02-ntp/03-clock-offset.ts: offset and round trip from the four timestamps of one careful
 * exchange (RFC 5905 section 8), against a fake server whose clock is 10 s ahead and the
 * chapter's own; and the file run as a student would.
 */
import { describe, expect, test } from "bun:test";
import { offsetAndDelay } from "../../02-ntp/03-clock-offset.ts";
import { exchange } from "../../02-ntp/ntp-packet.ts";
import { startNtpServer } from "../../02-ntp/05-sntp-server.ts";
import {
  canUsePrivateNetwork,
  expectUsageError,
  PRIVATE_NETWORK,
  runLesson,
  tracker,
} from "../helpers.ts";
import { failure, fakeServer, goodReply, mutate } from "./fake-ntp.ts";

const OFFSET = "02-ntp/03-clock-offset.ts";
const PRIVATE = await canUsePrivateNetwork();
const track = tracker();
/** What lib's peerOrStart says on stderr when a client starts the chapter's server itself. */
const STARTED =
  /^no --host or --port: started 02-ntp\/05-sntp-server\.ts on 127\.0\.0\.1:(\d+) for this run\n$/;

/** Whether a number has at most 3 decimals: milliseconds to the microsecond. */
const toTheMicrosecond = (ms: number): boolean => Math.round(ms * 1000) / 1000 === ms;

describe("offsetAndDelay and one exchange, in-process", () => {
  test("offsetAndDelay: the RFC 5905 formulas", () => {
    // Sent at 0 by us, received at 110 and answered at 120 by the server, back at 30 by us:
    // 20 ms on the wire, and the server 100 ms ahead.
    expect(offsetAndDelay({ t1: 0, t2: 110, t3: 120, t4: 30 })).toEqual({
      offsetMs: 100,
      delayMs: 20,
    });
    expect(offsetAndDelay({ t1: 1000, t2: 900, t3: 901, t4: 1011 })).toEqual({
      offsetMs: -105,
      delayMs: 10,
    });
  });

  test("against a server 10 s ahead: the offset is 10 s, within half the round trip", async () => {
    const fake = track(await fakeServer((request) => [goodReply(request, 10_000)]));
    const times = await exchange("127.0.0.1", fake.port);
    const { offsetMs, delayMs } = offsetAndDelay(times);
    expect(delayMs).toBeGreaterThanOrEqual(0);
    expect(Math.abs(offsetMs - 10_000)).toBeLessThanOrEqual(delayMs / 2 + 0.01);
    expect(fake.requests.length).toBe(1);
  });

  test("against the chapter's server, same clock: the offset is within half the round trip (and the server clock's 2 ms) of 0", async () => {
    const server = track(await startNtpServer({ port: 0 }));
    const { offsetMs, delayMs } = offsetAndDelay(await exchange("127.0.0.1", server.udp.port));
    // The server's clock follows Date.now() within 2 ms (ntp-packet.ts clockMs), ours does not.
    expect(Math.abs(offsetMs)).toBeLessThanOrEqual(delayMs / 2 + 2);
    expect(server.counts.answered).toBe(1);
  });

  test("a reply no client may use is refused with its sentence, as in lesson 02", async () => {
    const kiss = mutate((reply) => {
      reply[1] = 0;
      reply.set(new TextEncoder().encode("DENY"), 12);
    });
    const fake = track(await fakeServer(kiss));
    const error = await failure(exchange("127.0.0.1", fake.port));
    expect(error.message).toBe(
      `127.0.0.1:${fake.port} sent a kiss-o'-death (stratum 0, code DENY): access denied: this server will not serve you, use another one`,
    );
  });
});

describe("run as a student would", () => {
  test("with no arguments: the four times, offset, delay and the corrected time", async () => {
    const { code, stdout, stderr } = await runLesson(OFFSET);
    expect(code).toBe(0);
    const [, port] = stderr.match(STARTED) ?? [];
    expect(stdout).toStartWith(`asked 127.0.0.1:${port} (udp)\n`);
    expect(stdout).toMatch(/T1 \d{4}-\S+Z {2}T4 \d{4}-\S+Z {2}\(our clock\)/);
    expect(stdout).toMatch(/T2 \d{4}-\S+Z {2}T3 \d{4}-\S+Z {2}\(its clock\)/);
    expect(stdout).toMatch(/offset \(\(T2-T1\)\+\(T3-T4\)\)\/2 = [+-]\d+\.\d{3} ms: the server's/);
    expect(stdout).toMatch(/delay {2}\(T4-T1\)-\(T3-T2\) {5}= \d+\.\d{3} ms on the wire/);
    expect(stdout).toMatch(/corrected time {2}\d{4}-\d\d-\d\dT[\d:]{8}\.\d{9}Z/);
  });

  test("with --json against a server 10 s ahead: one JSON document, times to the microsecond", async () => {
    const fake = track(await fakeServer((request) => [goodReply(request, 10_000)]));
    const args = ["--host", "127.0.0.1", "--port", String(fake.port), "--json"];
    const { code, stdout } = await runLesson(OFFSET, args);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ host: "127.0.0.1", address: "127.0.0.1", port: fake.port });
    expect(Math.abs(report.offsetMs - 10_000)).toBeLessThan(report.delayMs / 2 + 1);
    expect({
      offset: toTheMicrosecond(report.offsetMs),
      delay: toTheMicrosecond(report.delayMs),
    }).toEqual({ offset: true, delay: true });
    const corrected = Date.parse(report.correctedTime) - Date.parse(report.systemTime);
    expect(Math.abs(corrected - report.offsetMs)).toBeLessThan(1);
  });

  test("against a silent server: 3 tries, then one sentence, exit 1", async () => {
    const silent = track(await fakeServer(() => []));
    const args = ["--host", "127.0.0.1", "--port", String(silent.port), "--timeout", "0.2"];
    expect(await runLesson(OFFSET, args)).toEqual({
      code: 1,
      stdout: "",
      stderr: `127.0.0.1:${silent.port} (udp) did not answer (no answer within 0.6 s): the host may be down, or a firewall drops the packets\n`,
    });
    expect(silent.requests.length).toBe(3);
  });

  test.skipIf(!PRIVATE)(
    "offline (a private network with no DNS server): pool.ntp.org is a look-up that failed",
    async () => {
      const run = await runLesson(OFFSET, ["--host", "pool.ntp.org"], {
        argvPrefix: PRIVATE_NETWORK,
      });
      expect(run).toEqual({
        code: 1,
        stdout: "",
        stderr:
          'could not look up "pool.ntp.org": no DNS server answered (is this machine offline?); give an IP address, or a name from /etc/hosts\n',
      });
    },
  );

  test.skipIf(!PRIVATE)(
    "with no route to the host (a private network, as offline): one sentence",
    async () => {
      const run = await runLesson(OFFSET, ["--host", "192.0.2.5"], {
        argvPrefix: PRIVATE_NETWORK,
      });
      expect(run).toEqual({
        code: 1,
        stdout: "",
        stderr:
          "no route to 192.0.2.5: this machine has no network path there (check the address, or your network)\n",
      });
    },
  );

  const usageErrors: [string[], string][] = [
    [["--port", "12x"], '--port must be a whole number from 1 to 65535 (got "12x")'],
    [["--timeout", "0x10"], '--timeout must be a number from 0.001 to 60 (got "0x10")'],
    [["--timeout", "-1"], '--timeout must be a number from 0.001 to 60 (got "-1")'],
    [["--samples", "4"], "unknown flag --samples: see the list below"],
  ];
  test.each(usageErrors)("%p: one sentence, the usage, exit 2", async (args, sentence) => {
    await expectUsageError(OFFSET, args, sentence);
  });
});
