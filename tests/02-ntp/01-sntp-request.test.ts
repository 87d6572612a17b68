/**
 * 02-ntp/01-sntp-request.ts: the request built by hand, one exchange with the chapter's
 * server, and the file run as a student would: offline with no arguments, against a server
 * given by --host/--port, and its failures (silence, a short reply, no DNS, no route).
 */
import { describe, expect, test } from "bun:test";
import { buildRequest, requestTime } from "../../02-ntp/01-sntp-request.ts";
import { startNtpServer } from "../../02-ntp/05-sntp-server.ts";
import * as ntp from "../../02-ntp/ntp-packet.ts";
import { Explained } from "../../lib/cli.ts";
import {
  canUsePrivateNetwork,
  expectUsageError,
  PRIVATE_NETWORK,
  runLesson,
  tracker,
} from "../helpers.ts";
import { ERA_1, failure, fakeServer, goodReply } from "./fake-ntp.ts";

const REQUEST = "02-ntp/01-sntp-request.ts";
const PRIVATE = await canUsePrivateNetwork();
const track = tracker();
/** What lib's peerOrStart says on stderr when a client starts the chapter's server itself. */
const STARTED =
  /^no --host or --port: started 02-ntp\/05-sntp-server\.ts on 127\.0\.0\.1:(\d+) for this run\n$/;

describe("buildRequest and requestTime, in-process", () => {
  test("buildRequest: byte 0 is leap 0, version 4, mode 3; T1 in bytes 40-47; all else zero", () => {
    const request = buildRequest(ERA_1 + 250);
    expect(request.length).toBe(48);
    expect(request[0]).toBe(0x23);
    expect([...request.subarray(40, 48)]).toEqual([0, 0, 0, 0, 0x40, 0, 0, 0]);
    expect(request.subarray(1, 40).every((byte) => byte === 0)).toBe(true);
    const today = buildRequest(Date.UTC(2025, 2, 1));
    expect(new DataView(today.buffer).getUint32(40)).toBe(
      Date.UTC(2025, 2, 1) / 1000 + 2_208_988_800,
    );
  });

  test("requestTime against the chapter's server: T1 <= T2 <= T3 <= T4 and every field", async () => {
    const server = track(await startNtpServer({ port: 0 }));
    const { t1, t2, t3, t4, reply, address } = await requestTime("127.0.0.1", server.udp.port);
    expect(address).toBe("127.0.0.1");
    expect(t1).toBeLessThanOrEqual(t2 + 0.001);
    expect(t2).toBeLessThanOrEqual(t3);
    expect(t3).toBeLessThanOrEqual(t4 + 0.001);
    expect(reply).toMatchObject({ leap: 0, version: 4, mode: 4, stratum: 1 });
    expect(ntp.toUnixMs(reply.originTimestamp)).toBeCloseTo(t1, 3);
  });

  test("requestTime: silence is an ETIMEDOUT error after the timeout; a short reply an Explained error", async () => {
    const silent = track(await fakeServer(() => []));
    const timedOut = await failure(requestTime("127.0.0.1", silent.port, 200));
    expect(timedOut).toMatchObject({ code: "ETIMEDOUT", message: "no answer within 0.2 s" });
    expect(silent.requests.length).toBe(1);
    const short = track(await fakeServer((request) => [goodReply(request).subarray(0, 12)]));
    const tooShort = await failure(requestTime("127.0.0.1", short.port));
    expect(tooShort).toBeInstanceOf(Explained);
    expect(tooShort.message).toBe(
      `127.0.0.1:${short.port} answered with 12 bytes, too few for NTP (48): is it an NTP server?`,
    );
  });
});

describe("run as a student would", () => {
  test("with no arguments: starts the chapter's server, says so on stderr, shows every field", async () => {
    const { code, stdout, stderr } = await runLesson(REQUEST);
    expect(code).toBe(0);
    const [, port] = stderr.match(STARTED) ?? [];
    expect(stdout).toStartWith(`asked 127.0.0.1:${port} (udp)\n`);
    expect(stdout).toMatch(/ {2}stratum +1 +primary: it reads a reference clock itself/);
    expect(stdout).toMatch(/ {2}referenceId +LOCL +text: the kind of clock/);
    for (const time of ["T1 we sent", "T2 it received", "T3 it answered", "T4 we received"])
      expect(stdout).toMatch(new RegExp(`${time} +\\d{4}-\\d\\d-\\d\\dT[\\d:]{8}\\.\\d{9}Z`));
  });

  test("with --json against a server given by --host/--port: one JSON document", async () => {
    const server = track(await startNtpServer({ port: 0, stratum: 2, refid: "192.0.2.44" }));
    const port = server.udp.port;
    const args = ["--host", "127.0.0.1", "--port", String(port), "--json"];
    const { code, stdout } = await runLesson(REQUEST, args);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ host: "127.0.0.1", address: "127.0.0.1", port });
    expect(report.reply).toMatchObject({
      mode: 4,
      version: 4,
      stratum: 2,
      referenceId: "192.0.2.44",
    });
    expect(report.t1 <= report.t4).toBe(true);
    expect(server.counts.answered).toBe(1);
  });

  test("with --port alone: asks that port on 127.0.0.1", async () => {
    const server = track(await startNtpServer({ port: 0 }));
    const { code, stdout } = await runLesson(REQUEST, ["--port", String(server.udp.port)]);
    expect(code).toBe(0);
    expect(stdout).toStartWith(`asked 127.0.0.1:${server.udp.port} (udp)\n`);
    expect(server.counts.answered).toBe(1);
  });

  test("against a silent server: one sentence, exit 1", async () => {
    const silent = track(await fakeServer(() => []));
    const args = ["--host", "127.0.0.1", "--port", String(silent.port), "--timeout", "0.3"];
    expect(await runLesson(REQUEST, args)).toEqual({
      code: 1,
      stdout: "",
      stderr: `127.0.0.1:${silent.port} (udp) did not answer (no answer within 0.3 s): the host may be down, or a firewall drops the packets\n`,
    });
  });

  test.skipIf(!PRIVATE)(
    "offline (a private network with no DNS server): pool.ntp.org is a look-up that failed, not a wrong name",
    async () => {
      const run = await runLesson(REQUEST, ["--host", "pool.ntp.org"], {
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
      const run = await runLesson(REQUEST, ["--host", "192.0.2.5"], {
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
    [["--timeout", "0"], '--timeout must be a number from 0.001 to 60 (got "0")'],
    [["--timeout", "soon"], '--timeout must be a number from 0.001 to 60 (got "soon")'],
    [["--timeout", "-1"], '--timeout must be a number from 0.001 to 60 (got "-1")'],
    [["--samples", "2"], "unknown flag --samples: see the list below"],
  ];
  test.each(usageErrors)("%p: one sentence, the usage, exit 2", async (args, sentence) => {
    await expectUsageError(REQUEST, args, sentence);
  });
});
