/**
 * Chapter 02 against real NTP software from Debian: our clients ask chronyd serving on
 * loopback, and real clients ask our server: chronyd in query-only mode (-Q, the clock is
 * never touched) and ntpsec's ntpdig (the `sntp` command of Debian 12), which can only use
 * port 123, so it and our server share a private network namespace of their own. Our
 * server's reply guard must let both through: their log lines are awaited.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRequest } from "../../02-ntp/01-sntp-request.ts";
import { querySntp } from "../../02-ntp/02-careful-client.ts";
import { offsetAndDelay } from "../../02-ntp/03-clock-offset.ts";
import { exchange } from "../../02-ntp/ntp-packet.ts";
import {
  canUsePrivateNetwork,
  freePort,
  hasCommand,
  PRIVATE_NETWORK,
  runLesson,
  startLesson,
  udpRequest,
  SLOW_TEST_MS,
} from "../helpers.ts";

const SERVER = "02-ntp/05-sntp-server.ts";
const HAS_CHRONY = hasCommand("chronyd");
const NTPDIG = ["ntpdig", "sntp"].find(hasCommand);
const PRIVATE = await canUsePrivateNetwork();

/** A temp dir chronyd can write to after it drops root for its own user. */
function chronyDir(lines: (dir: string) => string[]): { dir: string; conf: string } {
  const dir = mkdtempSync(join(tmpdir(), "sockets-lab-chrony-"));
  chmodSync(dir, 0o777);
  const conf = join(dir, "chrony.conf");
  writeFileSync(conf, `${lines(dir).join("\n")}\n`);
  return { dir, conf };
}

/** Runs a command to its end and collects what it printed. */
async function run(argv: string[]): Promise<{ code: number; output: string }> {
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, output: stdout + stderr };
}

describe.skipIf(!HAS_CHRONY)("our clients against chronyd (needs Debian package chrony)", () => {
  let chronyd: Subprocess<"ignore", "ignore", "pipe"> | undefined;
  let dir = "";
  let conf = "";
  let port = 0;
  let log: Promise<string> = Promise.resolve("");

  beforeAll(async () => {
    port = await freePort();
    // A server of its local clock only (no upstream), on loopback, never touching the clock.
    ({ dir, conf } = chronyDir((dir) => [
      `port ${port}`,
      "bindaddress 127.0.0.1",
      "local stratum 8",
      "allow 127.0.0.1",
      "cmdport 0",
      `driftfile ${dir}/drift`,
      `pidfile ${dir}/chronyd.pid`,
    ]));
    chronyd = Bun.spawn(["chronyd", "-d", "-x", "-f", conf], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    });
    log = new Response(chronyd.stderr).text();
    // Ready when it answers: the request is resent on silence until a reply comes.
    try {
      await udpRequest(port, buildRequest(Date.now()), { attempts: 60, waitMs: 250 });
    } catch (error) {
      chronyd.kill();
      throw new Error(`chronyd did not answer on port ${port}: ${await log}`, { cause: error });
    }
  });

  afterAll(async () => {
    chronyd?.kill();
    await chronyd?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  test("01-sntp-request decodes chronyd's reply: stratum 8, reference ID as an address", async () => {
    const args = ["--host", "127.0.0.1", "--port", String(port), "--json"];
    const { code, stdout, stderr } = await runLesson("02-ntp/01-sntp-request.ts", args);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const { reply } = JSON.parse(stdout);
    expect(reply).toMatchObject({ leap: 0, version: 4, mode: 4, stratum: 8 });
    // chrony's reference ID for its local clock is 127.127.1.1 (0x7F7F0101).
    expect(reply.referenceId).toBe("127.127.1.1");
    expect(reply.originTimestamp).not.toBe("00000000.00000000");
  });

  test("02-careful-client: chronyd echoes our random bytes, accepted on the first try", async () => {
    const exchange = await querySntp("127.0.0.1", port, 2000);
    expect(exchange).toMatchObject({ tries: 1, ignored: 0 });
    expect(exchange.t1).toBeLessThanOrEqual(exchange.t4);
  });

  test("03-clock-offset: one exchange with chronyd on loopback, within half its round trip of 0", async () => {
    const { offsetMs, delayMs } = offsetAndDelay(await exchange("127.0.0.1", port));
    expect(delayMs).toBeGreaterThanOrEqual(0);
    expect(Math.abs(offsetMs)).toBeLessThanOrEqual(delayMs / 2 + 0.01);
  });

  test("04-best-of-several: against chronyd on loopback the offset is under 1 ms", async () => {
    const args = ["--host", "127.0.0.1", "--port", String(port), "--samples", "4", "--json"];
    const { code, stdout, stderr } = await runLesson("02-ntp/04-best-of-several.ts", args);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const { best, samples } = JSON.parse(stdout);
    expect(samples.length).toBe(4);
    expect(best.delayMs).toBeGreaterThanOrEqual(0);
    expect(Math.abs(best.offsetMs)).toBeLessThan(1);
  });
});

describe("real clients against our server", () => {
  test.skipIf(!HAS_CHRONY)(
    "chronyd -Q (query only) measures our server within 1 ms (needs Debian package chrony)",
    async () => {
      await using server = startLesson(SERVER, ["--port", "0"]);
      const { port } = await server.listening("udp");
      const { dir, conf } = chronyDir((dir) => [
        `server 127.0.0.1 port ${port} iburst`,
        `pidfile ${dir}/query.pid`,
        "cmdport 0",
      ]);
      try {
        const { code, output } = await run(["chronyd", "-Q", "-d", "-f", conf, "-t", "20"]);
        const wrongBy = output.match(/System clock wrong by (-?\d+\.\d+) seconds/);
        expect({ code, wrongBy: wrongBy !== null }).toEqual({ code: 0, wrongBy: true });
        expect(Math.abs(Number(wrongBy?.[1]))).toBeLessThan(0.001);
        await server.waitFor(/answered 127\.0\.0\.1:\d+ \(NTPv4, 48 bytes in, 48 out\)/);
        expect(server.stdout).not.toContain("refused");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    SLOW_TEST_MS,
  );

  test.skipIf(!NTPDIG || !PRIVATE)(
    "ntpdig asks our server on port 123, in a private network (needs Debian package ntpsec-ntpdig, or sntp)",
    async () => {
      // Our server, alone in a fresh network namespace, may take NTP's own port there.
      await using server = startLesson(SERVER, ["--port", "123"], { argvPrefix: PRIVATE_NETWORK });
      await server.listening("udp");
      // `unshare` and `sh` exec into bun, so the lesson's pid is the namespace to join.
      const netns = `--net=/proc/${server.proc.pid}/ns/net`;
      const { code, output } = await run([
        "nsenter",
        netns,
        NTPDIG ?? "",
        "-j",
        "-p",
        "3",
        "127.0.0.1",
      ]);
      expect({ code, output }).toMatchObject({ code: 0 });
      const report = JSON.parse(output.trim().split("\n").at(-1) ?? "");
      expect(report).toMatchObject({ host: "127.0.0.1", stratum: 1, leap: "no-leap" });
      expect(Math.abs(report.offset)).toBeLessThan(0.01);
      await server.waitFor(/answered 127\.0\.0\.1:\d+ \(NTPv4, 48 bytes in, 48 out\)/);
      expect(server.stdout).not.toContain("refused");
    },
  );
});
