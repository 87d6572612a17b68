/**
 * 02-ntp/02-careful-client.ts: resend on silence, trust only a reply that quotes our random
 * bytes, and one sentence for every other way a reply can fail. The bad replies come from
 * a fake UDP server (tests/02-ntp/fake-ntp.ts); the file is also run as a student would.
 */
import { describe, expect, test } from "bun:test";
import { querySntp } from "../../02-ntp/02-careful-client.ts";
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
import { BAD_REPLIES, failure, fakeServer, goodReply, triesOf } from "./fake-ntp.ts";

const CAREFUL = "02-ntp/02-careful-client.ts";
const PRIVATE = await canUsePrivateNetwork();
const track = tracker();
/** What lib's peerOrStart says on stderr when a client starts the chapter's server itself. */
const STARTED =
  /^no --host or --port: started 02-ntp\/05-sntp-server\.ts on 127\.0\.0\.1:(\d+) for this run\n$/;

describe("querySntp, in-process", () => {
  test("a good reply is accepted on the first try", async () => {
    const server = track(await startNtpServer({ port: 0 }));
    const exchange = await querySntp("127.0.0.1", server.udp.port);
    expect(exchange).toMatchObject({ tries: 1, ignored: 0, address: "127.0.0.1" });
    expect(exchange.reply.mode).toBe(4);
    expect(exchange.t1).toBeLessThanOrEqual(exchange.t4);
    expect(server.counts.answered).toBe(1);
  });

  test("the request is 48 bytes, client mode, with fresh random bytes as transmit time each try", async () => {
    const silent = track(await fakeServer(() => []));
    const error = await failure(querySntp("127.0.0.1", silent.port, 200));
    expect(error).toBeInstanceOf(Explained);
    expect(error.message).toContain("after 3 tries");
    expect(silent.requests.length).toBe(3);
    for (const request of silent.requests) {
      expect(request.length).toBe(48);
      expect(request[0]).toBe(0x23);
      expect(request.subarray(1, 40).every((byte) => byte === 0)).toBe(true);
    }
    const nonces = silent.requests.map((request) =>
      Buffer.from(request.subarray(40)).toString("hex"),
    );
    expect(new Set(nonces).size).toBe(3);
  });

  test.each(BAD_REPLIES)("%s: rejected with one sentence", async (_name, craft, sentence) => {
    const fake = track(await fakeServer(craft));
    const timeoutMs = triesOf(sentence("x")) * 1000;
    const error = await failure(querySntp("127.0.0.1", fake.port, timeoutMs));
    expect(error).toBeInstanceOf(Explained);
    expect(error.message).toBe(sentence(`127.0.0.1:${fake.port}`));
  });

  test("a stale reply first, then the right one: the stale one is ignored, the right one used", async () => {
    const fake = track(
      await fakeServer((request) => {
        const stale = goodReply(request);
        crypto.getRandomValues(stale.subarray(24, 32));
        return [stale, goodReply(request)];
      }),
    );
    const exchange = await querySntp("127.0.0.1", fake.port);
    expect(exchange).toMatchObject({ tries: 1, ignored: 1 });
  });

  test("the second try is answered when the first is not", async () => {
    let seen = 0;
    const fake = track(
      await fakeServer((request) => {
        seen++;
        return seen === 1 ? [] : [goodReply(request)];
      }),
    );
    const exchange = await querySntp("127.0.0.1", fake.port, 1000);
    expect(exchange.tries).toBe(2);
    expect(fake.requests.length).toBe(2);
  });

  test("a late answer to the first try, arriving during the second, is not taken for it", async () => {
    const requests: Uint8Array[] = [];
    const fake = track(
      await fakeServer((request) => {
        requests.push(request.slice());
        // Silent to the first; to the second, the answer to the first, then its own.
        const first = requests[0] ?? request;
        return requests.length === 1 ? [] : [goodReply(first), goodReply(request)];
      }),
    );
    const exchange = await querySntp("127.0.0.1", fake.port, 300);
    expect(exchange).toMatchObject({ tries: 2, ignored: 1 });
    const origin = Buffer.from(requests[1]?.subarray(40, 48) ?? []).toString("hex");
    expect(ntp.hexTimestamp(exchange.reply.originTimestamp).replace(".", "")).toBe(origin);
  });
});

describe("run as a student would", () => {
  test("with no arguments: starts the chapter's server, says so, accepted on try 1, the bytes quoted back shown", async () => {
    const { code, stdout, stderr } = await runLesson(CAREFUL);
    expect(code).toBe(0);
    const [, port] = stderr.match(STARTED) ?? [];
    expect(stdout).toStartWith(`asked 127.0.0.1:${port} (udp)\n`);
    expect(stdout).toMatch(
      /accepted the answer to try 1: it quoted our random bytes [0-9a-f]{8}\.[0-9a-f]{8}\n/,
    );
    expect(stdout).toMatch(/stratum 1, reference LOCL, its time \d{4}-/);
  });

  test("with --json: one JSON document", async () => {
    const { code, stdout } = await runLesson(CAREFUL, ["--json"]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      accepted: true,
      tries: 1,
      ignored: 0,
      stratum: 1,
      referenceId: "LOCL",
    });
    expect(report.origin).toMatch(/^[0-9a-f]{8}\.[0-9a-f]{8}$/);
  });

  test.each(BAD_REPLIES)(
    "against %s: the sentence on stderr, exit 1, no stack",
    async (_name, craft, sentence) => {
      const fake = track(await fakeServer(craft));
      const timeout = String(triesOf(sentence("x")));
      const args = ["--host", "127.0.0.1", "--port", String(fake.port), "--timeout", timeout];
      const { code, stdout, stderr } = await runLesson(CAREFUL, args);
      expect({ code, stdout, stderr }).toEqual({
        code: 1,
        stdout: "",
        stderr: `${sentence(`127.0.0.1:${fake.port}`)}\n`,
      });
    },
  );

  test.skipIf(!PRIVATE)(
    "with --host alone, at a port nobody listens on (private network): port 123 refused, at once",
    async () => {
      const run = await runLesson(CAREFUL, ["--host", "127.0.0.1"], {
        argvPrefix: PRIVATE_NETWORK,
      });
      expect(run).toEqual({
        code: 1,
        stdout: "",
        stderr:
          "127.0.0.1:123 (udp): port unreachable, nothing listens on that UDP port; start the server, or check --host and --port\n",
      });
    },
  );

  test.skipIf(!PRIVATE)(
    "offline (a private network with no DNS server): pool.ntp.org, or any name, is a look-up that failed",
    async () => {
      for (const name of ["pool.ntp.org", "no-such-host.invalid"]) {
        const run = await runLesson(CAREFUL, ["--host", name], { argvPrefix: PRIVATE_NETWORK });
        expect(run).toEqual({
          code: 1,
          stdout: "",
          stderr: `could not look up "${name}": no DNS server answered (is this machine offline?); give an IP address, or a name from /etc/hosts\n`,
        });
      }
    },
  );

  test.skipIf(!PRIVATE)(
    "with no route to the host (a private network, as offline): one sentence",
    async () => {
      const run = await runLesson(CAREFUL, ["--host", "192.0.2.5"], {
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
    [["--port", "70000"], '--port must be a whole number from 1 to 65535 (got "70000")'],
    [["--port", "0"], '--port must be a whole number from 1 to 65535 (got "0")'],
    [["--port", "-1"], '--port must be a whole number from 1 to 65535 (got "-1")'],
    [["--timeout", "-0.5"], '--timeout must be a number from 0.001 to 60 (got "-0.5")'],
    [["--host", "a b"], '--host must be a host name or an IP address (got "a b")'],
  ];
  test.each(usageErrors)("%p: one sentence, the usage, exit 2", async (args, sentence) => {
    await expectUsageError(CAREFUL, args, sentence);
  });
});
