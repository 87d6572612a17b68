/**
 * Chapter 02, SNTP: the packet module, the request by hand, the careful client, the clock
 * offset and the server. Each lesson is driven in-process and run as a student would. The
 * bad replies are built here byte by byte by a fake UDP server (wrong size, wrong mode,
 * someone else's origin, a kiss-o'-death, a zero transmit time, an unsynchronized clock,
 * silence), and the bad requests are sent to the server the same way.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { buildRequest, requestTime } from "../02-ntp/01-sntp-request.ts";
import { problemWith, querySntp } from "../02-ntp/02-careful-client.ts";
import { measureOffset, offsetAndDelay } from "../02-ntp/03-clock-offset.ts";
import { answer, startNtpServer, type RunningServer } from "../02-ntp/04-sntp-server.ts";
import { chooseServer, NtpError } from "../02-ntp/client-cli.ts";
import * as ntp from "../02-ntp/ntp-packet.ts";
import {
  canUsePrivateNetwork,
  PRIVATE_NETWORK,
  runLesson,
  startLesson,
  udpRequest,
} from "./helpers.ts";

const REQUEST = "02-ntp/01-sntp-request.ts";
const CAREFUL = "02-ntp/02-careful-client.ts";
const OFFSET = "02-ntp/03-clock-offset.ts";
const SERVER = "02-ntp/04-sntp-server.ts";
const PRIVATE = await canUsePrivateNetwork();

/** 2036-02-07T06:28:16Z: NTP seconds wrap to 0 here, the start of era 1. */
const ERA_1 = Date.UTC(2036, 1, 7, 6, 28, 16);
const now = (): number => performance.timeOrigin + performance.now();

/** Writes Unix ms at `offset` as an NTP timestamp, by hand, independently of the lessons. */
function writeTimestamp(view: DataView, offset: number, unixMs: number): void {
  const seconds = Math.floor(unixMs / 1000);
  view.setUint32(offset, (seconds + 2_208_988_800) % 2 ** 32);
  view.setUint32(offset + 4, Math.floor(((unixMs - seconds * 1000) / 1000) * 2 ** 32));
}

/** A correct server reply to `request`, byte by byte; `skewMs` sets the fake server's clock. */
function goodReply(request: Uint8Array, skewMs = 0): Uint8Array {
  const reply = new Uint8Array(48);
  const view = new DataView(reply.buffer);
  const received = now() + skewMs;
  reply[0] = (0 << 6) | (4 << 3) | 4; // leap 0, version 4, mode 4 (server)
  reply[1] = 2; // stratum 2: the reference ID is an address
  reply[2] = 6;
  view.setInt8(3, -20);
  view.setUint32(4, 0x8000); // root delay 0.5 s
  view.setUint32(8, 0x0400); // root dispersion 1/64 s
  reply.set([192, 0, 2, 1], 12);
  writeTimestamp(view, 16, received - 60_000);
  reply.set(request.subarray(40, 48), 24); // origin: the request's transmit timestamp
  writeTimestamp(view, 32, received);
  writeTimestamp(view, 40, now() + skewMs);
  return reply;
}

/** A UDP server on loopback that answers each request with what `craft` returns. */
async function fakeServer(craft: (request: Uint8Array) => Uint8Array[]) {
  const requests: Uint8Array[] = [];
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    binaryType: "uint8array",
    socket: {
      data(socket, request, port, address) {
        requests.push(request.slice());
        for (const reply of craft(request)) socket.send(reply, port, address);
      },
      error() {},
    },
  });
  opened.push(() => socket.close());
  return { port: socket.port, requests };
}

/** The error a promise rejects with (the test fails if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: Error) => ({ error }),
  );
  if ("error" in outcome) return outcome.error;
  throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
}

const opened: (() => void)[] = [];
afterEach(() => {
  for (const close of opened.splice(0)) close();
});
async function server(options: Parameters<typeof startNtpServer>[0] = {}): Promise<RunningServer> {
  const running = await startNtpServer({ port: 0, ...options });
  opened.push(() => running.close());
  return running;
}

const mutate =
  (change: (reply: Uint8Array) => Uint8Array | void) =>
  (request: Uint8Array): Uint8Array[] => {
    const reply = goodReply(request);
    return [change(reply) ?? reply];
  };

/** The bad replies of the chapter, each with the sentence the careful client must say. */
const badReplies: [string, (request: Uint8Array) => Uint8Array[], (where: string) => string][] = [
  [
    "a reply of 47 bytes",
    mutate((reply) => reply.subarray(0, 47)),
    (where) =>
      `${where} answered with 47 bytes, not an NTP packet (48 or more, in 4-byte words): is it an NTP server?`,
  ],
  [
    "a reply of 50 bytes, not whole 4-byte words",
    mutate((reply) => Uint8Array.from([...reply, 0, 0])),
    (where) =>
      `${where} answered with 50 bytes, not an NTP packet (48 or more, in 4-byte words): is it an NTP server?`,
  ],
  [
    "a reply in mode 3 (client) that quotes our bytes",
    mutate((reply) => void (reply[0] = (0 << 6) | (4 << 3) | 3)),
    (where) => `${where} answered in mode 3 (client), not 4 (server): is it an NTP server?`,
  ],
  [
    "a kiss-o'-death: stratum 0, code RATE",
    mutate((reply) => {
      reply[1] = 0;
      reply.set(new TextEncoder().encode("RATE"), 12);
    }),
    (where) =>
      `${where} sent a kiss-o'-death (stratum 0, code RATE): you are asking too often: wait longer between queries.`,
  ],
  [
    "a zero transmit timestamp",
    mutate((reply) => reply.fill(0, 40, 48)),
    (where) =>
      `${where} sent a zero transmit timestamp, so it does not know the time: ask another server.`,
  ],
  [
    "leap indicator 3: the server's clock is not synchronized",
    mutate((reply) => void (reply[0] = (3 << 6) | (4 << 3) | 4)),
    (where) => `${where} says its own clock is not synchronized: ask another server.`,
  ],
  [
    "replies whose origin is not the bytes we sent (spoofed or late)",
    mutate((reply) => crypto.getRandomValues(reply.subarray(24, 32)) && reply),
    (where) =>
      `${where} answered, but never with the origin timestamp we sent (a late or spoofed reply), so we ignored it: try again, perhaps with a longer --timeout.`,
  ],
  [
    "an echo server: our own request back, whose origin field is zero",
    (request) => [request.slice()],
    (where) =>
      `${where} answered, but never with the origin timestamp we sent (a late or spoofed reply), so we ignored it: try again, perhaps with a longer --timeout.`,
  ],
  [
    "silence",
    () => [],
    (where) =>
      `No answer from ${where} after 3 tries of 0.2 s each: check the host and port, and that UDP gets through.`,
  ],
];

describe("ntp-packet.ts: the 48-byte packet and NTP time", () => {
  test("Unix time 0 is NTP second 2208988800, and half a second is fraction 2^31", () => {
    expect(ntp.toNtpTimestamp(500)).toEqual({ seconds: 2_208_988_800, fraction: 2 ** 31 });
    expect(ntp.toUnixMs({ seconds: 2_208_988_800, fraction: 2 ** 31 })).toBe(500);
    expect(ntp.formatTimestamp({ seconds: 2_208_988_800, fraction: 2 ** 30 })).toBe(
      "1970-01-01T00:00:00.250000000Z",
    );
  });

  test("in 2036 the seconds wrap to 0, and a clear top bit is read as era 1", () => {
    expect(ntp.toNtpTimestamp(ERA_1 + 250)).toEqual({ seconds: 0, fraction: 2 ** 30 });
    expect(ntp.toUnixMs({ seconds: 0, fraction: 0 })).toBe(ERA_1);
    expect(ntp.toUnixMs({ seconds: 2 ** 31, fraction: 0 })).toBe(Date.UTC(1968, 0, 20, 3, 14, 8));
    const today = Date.UTC(2025, 2, 1, 12, 0, 0, 125);
    expect(ntp.toUnixMs(ntp.toNtpTimestamp(today))).toBe(today);
  });

  test("encode then decode gives back every field, at the offsets RFC 5905 gives", () => {
    const packet: ntp.NtpPacket = {
      leap: 1,
      version: 3,
      mode: 4,
      stratum: 2,
      poll: 10,
      precision: -23,
      rootDelay: 1.5,
      rootDispersion: 0.25,
      referenceId: Uint8Array.from([10, 0, 0, 1]),
      referenceTimestamp: { seconds: 1, fraction: 2 },
      originTimestamp: { seconds: 3, fraction: 4 },
      receiveTimestamp: { seconds: 5, fraction: 6 },
      transmitTimestamp: { seconds: 0xfffffffe, fraction: 0xffffffff },
    };
    const bytes = ntp.encodePacket(packet);
    expect(bytes.length).toBe(48);
    expect([...bytes.subarray(0, 4)]).toEqual([0b01_011_100, 2, 10, 256 - 23]);
    expect([...bytes.subarray(4, 12)]).toEqual([0, 1, 0x80, 0, 0, 0, 0x40, 0]);
    expect([...bytes.subarray(40, 48)]).toEqual([0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff]);
    expect(ntp.decodePacket(bytes)).toEqual(packet);
    expect(() => ntp.decodePacket(bytes.subarray(0, 47))).toThrow(RangeError);
  });

  test("the reference ID is text at stratum 0-1 and an address above", () => {
    const locl = ntp.encodeReferenceId(1, "LOCL");
    expect([...locl]).toEqual([76, 79, 67, 76]);
    expect(ntp.referenceIdText(1, locl)).toBe("LOCL");
    expect(ntp.referenceIdText(1, ntp.encodeReferenceId(1, "GPS"))).toBe("GPS");
    expect(ntp.referenceIdText(3, locl)).toBe("76.79.67.76");
    expect(ntp.referenceIdText(2, ntp.encodeReferenceId(2, "192.0.2.7"))).toBe("192.0.2.7");
    // Bytes from the network that are not printable text (an escape code) are shown in hex.
    expect(ntp.referenceIdText(0, Uint8Array.from([0x1b, 0x5b, 0x32, 0x4a]))).toBe("0x1b5b324a");
    expect(() => ntp.encodeReferenceId(1, "gps")).toThrow(
      'at stratum 1 the reference ID is 1-4 capital letters or digits (like GPS or LOCL), not "gps"',
    );
    expect(() => ntp.encodeReferenceId(4, "192.0.2.256")).toThrow(
      'at stratum 4 the reference ID is the IPv4 address of the server followed, not "192.0.2.256"',
    );
  });

  test("the clock: nowMs follows Date.now() with sub-millisecond steps; precision is measured", () => {
    const fine = ntp.nowMs();
    expect(Math.abs(fine - Date.now())).toBeLessThan(5);
    const precision = ntp.measurePrecision();
    expect(Number.isInteger(precision)).toBe(true);
    expect(precision).toBeLessThan(-9); // finer than a millisecond
    expect(precision).toBeGreaterThan(-32);
  });

  test("describePacket puts each field into words", () => {
    const fields = ntp.describePacket(ntp.decodePacket(goodReply(new Uint8Array(48))));
    const byName = Object.fromEntries(fields.map((field) => [field.field, field]));
    expect(fields.map((field) => field.field)).toEqual([
      "leap",
      "version",
      "mode",
      "stratum",
      "poll",
      "precision",
      "rootDelay",
      "rootDispersion",
      "referenceId",
      "referenceTimestamp",
      "originTimestamp",
      "receiveTimestamp",
      "transmitTimestamp",
    ]);
    expect(byName.mode?.meaning).toBe("server");
    expect(byName.stratum?.meaning).toBe("secondary: 1 server(s) between it and a reference clock");
    expect(byName.referenceId?.value).toBe("192.0.2.1");
    expect(byName.rootDelay?.value).toBe(0.5);
    expect(byName.precision?.value).toBe(-20);
    expect(byName.originTimestamp?.value).toBe("00000000.00000000");
  });
});

describe("04-sntp-server: answer() and the running server", () => {
  const me = {
    stratum: 1,
    referenceId: ntp.encodeReferenceId(1, "LOCL"),
    precision: -20,
    referenceTimestamp: ntp.toNtpTimestamp(Date.UTC(2025, 0, 1)),
  };

  test("a client request gets mode 4, its own version and poll, and its transmit time as origin", () => {
    const request = buildRequest(Date.UTC(2025, 2, 1, 12));
    request[0] = (0 << 6) | (3 << 3) | 3; // an NTPv3 client
    request[2] = 7;
    const reply = answer(request, Date.UTC(2025, 2, 1, 12, 0, 1), me);
    if (typeof reply === "string") throw new Error(reply);
    expect(reply).toMatchObject({ leap: 0, version: 3, mode: 4, stratum: 1, poll: 7 });
    expect(reply.originTimestamp).toEqual(ntp.toNtpTimestamp(Date.UTC(2025, 2, 1, 12)));
    expect(ntp.toUnixMs(reply.receiveTimestamp)).toBe(Date.UTC(2025, 2, 1, 12, 0, 1));
    expect(ntp.referenceIdText(1, reply.referenceId)).toBe("LOCL");
  });

  test("anything but a well-formed client request is ignored, with the reason", () => {
    const request = buildRequest(Date.now());
    const withFirstByte = (first: number): Uint8Array => {
      const copy = request.slice();
      copy[0] = first;
      return copy;
    };
    expect(answer(request.subarray(0, 47), 0, me)).toBe("47 bytes, too short for NTP");
    expect(answer(new Uint8Array(0), 0, me)).toBe("0 bytes, too short for NTP");
    expect(answer(withFirstByte((4 << 3) | 4), 0, me)).toBe(
      "mode 4 (server), not a client request",
    );
    expect(answer(withFirstByte((4 << 3) | 6), 0, me)).toBe(
      "mode 6 (control message), not a client request",
    );
    expect(answer(withFirstByte((0 << 3) | 3), 0, me)).toBe("NTP version 0, not 1-4");
    expect(answer(withFirstByte((5 << 3) | 3), 0, me)).toBe("NTP version 5, not 1-4");
    expect(answer(withFirstByte((7 << 3) | 3), 0, me)).toBe("NTP version 7, not 1-4");
    expect(typeof answer(withFirstByte((1 << 3) | 3), 0, me)).toBe("object");
  });

  test("in-process: answers with 48 bytes whatever the request's length, never more than it got", async () => {
    const lines: string[] = [];
    const running = await server({ log: (line) => lines.push(line) });
    for (const extra of [0, 20, 100]) {
      const request = new Uint8Array(48 + extra);
      request.set(buildRequest(now()));
      const reply = await udpRequest(running.port, request);
      expect(reply.length).toBe(48);
      expect([...reply.subarray(24, 32)]).toEqual([...request.subarray(40, 48)]);
    }
    // udpRequest resends on silence, so count the log's lines rather than assume 3.
    expect(running.answered).toBe(lines.filter((line) => line.startsWith("answered")).length);
    expect(lines[0]).toMatch(/^answered 127\.0\.0\.1:\d+ \(NTPv4, 48 bytes in, 48 out\)$/);
  });

  test("in-process: the receive and transmit times bracket the moment of the request", async () => {
    const running = await server({ stratum: 3, refid: "192.0.2.9" });
    const t1 = now();
    const bytes = await udpRequest(running.port, buildRequest(t1));
    const t4 = now();
    const reply = ntp.decodePacket(bytes);
    const [t2, t3] = [ntp.toUnixMs(reply.receiveTimestamp), ntp.toUnixMs(reply.transmitTimestamp)];
    // Same process, same clock: T1 <= T2 <= T3 <= T4 (to the 2^-32 s of NTP's fraction).
    expect(t2).toBeGreaterThanOrEqual(t1 - 0.001);
    expect(t3).toBeGreaterThanOrEqual(t2);
    expect(t4).toBeGreaterThanOrEqual(t3 - 0.001);
    expect(reply.stratum).toBe(3);
    expect(ntp.referenceIdText(3, reply.referenceId)).toBe("192.0.2.9");
    expect(reply.precision).toBeLessThan(-9);
  });

  test("in-process: garbage is counted and logged, and the server keeps answering", async () => {
    const lines: string[] = [];
    const running = await server({ log: (line) => lines.push(line) });
    const socket = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { error() {} } });
    opened.push(() => socket.close());
    socket.send("hello\n", running.port, "127.0.0.1");
    socket.send(new Uint8Array(48).fill(0x24), running.port, "127.0.0.1");
    await udpRequest(running.port, buildRequest(now()));
    expect(running.ignored).toBe(2);
    expect(lines.filter((line) => line.startsWith("ignored"))).toEqual([
      `ignored 127.0.0.1:${socket.port}: 6 bytes, too short for NTP`,
      `ignored 127.0.0.1:${socket.port}: mode 4 (server), not a client request`,
    ]);
  });

  test("in-process: a port in use is an EADDRINUSE error", async () => {
    const first = await server();
    expect(await failure(startNtpServer({ port: first.port }))).toMatchObject({
      code: "EADDRINUSE",
    });
  });
});

describe("01-sntp-request: one request by hand, one reply decoded", () => {
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
    const running = await server();
    const { t1, t2, t3, t4, reply } = await requestTime("127.0.0.1", running.port, 2000);
    expect(t1).toBeLessThanOrEqual(t2 + 0.001);
    expect(t2).toBeLessThanOrEqual(t3);
    expect(t3).toBeLessThanOrEqual(t4 + 0.001);
    expect(reply).toMatchObject({ leap: 0, version: 4, mode: 4, stratum: 1 });
    expect(ntp.toUnixMs(reply.originTimestamp)).toBeCloseTo(t1, 3);
  });

  test("requestTime: silence is an NtpError after the timeout; a short reply another", async () => {
    const silent = await fakeServer(() => []);
    const timedOut = await failure(requestTime("127.0.0.1", silent.port, 200));
    expect(timedOut).toBeInstanceOf(NtpError);
    expect(timedOut.message).toBe(
      `No answer from 127.0.0.1:${silent.port} in 0.2 s: check the host and port.`,
    );
    expect(silent.requests.length).toBe(1);
    const short = await fakeServer((request) => [goodReply(request).subarray(0, 12)]);
    const tooShort = await failure(requestTime("127.0.0.1", short.port, 2000));
    expect(tooShort).toBeInstanceOf(NtpError);
    expect(tooShort.message).toBe(
      `127.0.0.1:${short.port} answered with 12 bytes, too few for NTP (48): is it an NTP server?`,
    );
  });

  test("chooseServer: no host and no port starts the chapter's server on a free port", async () => {
    const chosen = await chooseServer();
    opened.push(() => chosen.local?.close());
    expect(chosen.local).not.toBeNull();
    expect(chosen.address).toBe("127.0.0.1");
    expect(chosen.port).toBeGreaterThan(0);
    // Given a host or a port, nothing is started and nothing is sent: it only says where.
    const named = 4123;
    const given = await chooseServer("127.0.0.1", named);
    expect(given).toMatchObject({ address: "127.0.0.1", port: named, local: null, about: "" });
    expect(await chooseServer(undefined, named)).toMatchObject({
      address: "127.0.0.1",
      port: named,
    });
    expect((await chooseServer("127.0.0.1")).port).toBe(123);
  });

  test("run with no arguments: starts the server, says so, names pool.ntp.org, shows every field", async () => {
    const { code, stdout, stderr } = await runLesson(REQUEST);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toMatch(
      /^asked this chapter's server, started in this process \(no --host given\), at 127\.0\.0\.1:\d+ \(udp\)\n/,
    );
    expect(stdout).toContain("For the real thing add --host pool.ntp.org --port 123.");
    expect(stdout).toMatch(/ {2}stratum +1 +primary: it reads a reference clock itself/);
    expect(stdout).toMatch(/ {2}referenceId +LOCL +text: the kind of clock/);
    for (const time of ["T1 we sent", "T2 it received", "T3 it answered", "T4 we received"])
      expect(stdout).toMatch(new RegExp(`${time} +\\d{4}-\\d\\d-\\d\\dT[\\d:]{8}\\.\\d{9}Z`));
  });

  test("run with --json against a server given by --host/--port: one JSON document", async () => {
    const running = await server({ stratum: 2, refid: "192.0.2.44" });
    const { code, stdout } = await runLesson(REQUEST, [
      ...["--host", "127.0.0.1", "--port", String(running.port), "--json"],
    ]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ host: "127.0.0.1", address: "127.0.0.1", port: running.port });
    expect(report.reply).toMatchObject({
      mode: 4,
      version: 4,
      stratum: 2,
      referenceId: "192.0.2.44",
    });
    expect(report.t1 <= report.t4).toBe(true);
    expect(running.answered).toBe(1);
  });

  test("run against a silent server: one sentence, exit 1", async () => {
    const silent = await fakeServer(() => []);
    const args = ["--host", "127.0.0.1", "--port", String(silent.port), "--timeout", "0.3"];
    expect(await runLesson(REQUEST, args)).toEqual({
      code: 1,
      stdout: "",
      stderr: `No answer from 127.0.0.1:${silent.port} in 0.3 s: check the host and port.\n`,
    });
  });
});

describe("02-careful-client: resend on silence, trust only what echoes our bytes", () => {
  test("a good reply is accepted on the first try", async () => {
    const running = await server();
    const exchange = await querySntp("127.0.0.1", running.port);
    expect(exchange).toMatchObject({ tries: 1, ignored: 0 });
    expect(exchange.reply.mode).toBe(4);
    expect(running.answered).toBe(1);
  });

  test("the request is 48 bytes, client mode, with fresh random bytes as transmit time each try", async () => {
    const silent = await fakeServer(() => []);
    const error = await failure(querySntp("127.0.0.1", silent.port, 200));
    expect(error).toBeInstanceOf(NtpError);
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

  test.each(badReplies)("%s: rejected with one sentence", async (_name, craft, sentence) => {
    const fake = await fakeServer(craft);
    const error = await failure(querySntp("127.0.0.1", fake.port, 200));
    expect(error).toBeInstanceOf(NtpError);
    expect(error.message).toBe(sentence(`127.0.0.1:${fake.port}`));
  });

  test("a stale reply first, then the right one: the stale one is ignored, the right one used", async () => {
    const fake = await fakeServer((request) => {
      const stale = goodReply(request);
      crypto.getRandomValues(stale.subarray(24, 32));
      return [stale, goodReply(request)];
    });
    const exchange = await querySntp("127.0.0.1", fake.port, 2000);
    expect(exchange).toMatchObject({ tries: 1, ignored: 1 });
  });

  test("the second try is answered when the first is not", async () => {
    let seen = 0;
    const fake = await fakeServer((request) => (++seen === 1 ? [] : [goodReply(request)]));
    const exchange = await querySntp("127.0.0.1", fake.port, 1000);
    expect(exchange.tries).toBe(2);
    expect(fake.requests.length).toBe(2);
  });

  test("problemWith accepts a good reply and says what is wrong with the others", () => {
    const good = ntp.decodePacket(goodReply(buildRequest(now())));
    expect(problemWith(good, "x")).toBeNull();
    expect(
      problemWith({ ...good, stratum: 0, referenceId: ntp.encodeReferenceId(1, "DENY") }, "x"),
    ).toBe(
      "x sent a kiss-o'-death (stratum 0, code DENY): access denied: this server will not serve you, use another one.",
    );
    expect(
      problemWith({ ...good, stratum: 0, referenceId: ntp.encodeReferenceId(1, "XYZ") }, "x"),
    ).toBe("x sent a kiss-o'-death (stratum 0, code XYZ): it will not serve you now.");
    const escape = Uint8Array.from([0x1b, 0x5b, 0x32, 0x4a]); // ESC [ 2 J clears a terminal
    expect(problemWith({ ...good, stratum: 0, referenceId: escape }, "x")).toBe(
      "x sent a kiss-o'-death (stratum 0, code 0x1b5b324a): it will not serve you now.",
    );
    expect(problemWith({ ...good, stratum: 16 }, "x")).toBe(
      "x says its own clock is not synchronized: ask another server.",
    );
  });

  test("run with no arguments: accepted on try 1, the bytes quoted back shown", async () => {
    const { code, stdout, stderr } = await runLesson(CAREFUL);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toContain("started in this process (no --host given)");
    expect(stdout).toMatch(
      /accepted the answer to try 1: it quoted our random bytes [0-9a-f]{8}\.[0-9a-f]{8}\n/,
    );
    expect(stdout).toMatch(/stratum 1, reference LOCL, its time \d{4}-/);
  });

  test("run with --json: one JSON document", async () => {
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

  test.each(badReplies)(
    "run against %s: the sentence on stderr, exit 1, no stack",
    async (_name, craft, sentence) => {
      const fake = await fakeServer(craft);
      const args = ["--host", "127.0.0.1", "--port", String(fake.port), "--timeout", "0.2"];
      const { code, stdout, stderr } = await runLesson(CAREFUL, args);
      expect({ code, stdout, stderr }).toEqual({
        code: 1,
        stdout: "",
        stderr: `${sentence(`127.0.0.1:${fake.port}`)}\n`,
      });
    },
  );

  test.skipIf(!PRIVATE)(
    "run against a port nobody listens on (private network): port unreachable, at once",
    async () => {
      const run = await runLesson(CAREFUL, ["--host", "127.0.0.1", "--port", "123"], {
        argvPrefix: PRIVATE_NETWORK,
      });
      expect(run).toEqual({
        code: 1,
        stdout: "",
        stderr: `Nothing listens on UDP 127.0.0.1:123 (its host said "port unreachable"): check the port.\n`,
      });
    },
  );

  test.skipIf(!PRIVATE)(
    "run with a name that cannot be looked up (private network): one sentence",
    async () => {
      const run = await runLesson(CAREFUL, ["--host", "no-such-host.invalid"], {
        argvPrefix: PRIVATE_NETWORK,
      });
      expect(run).toEqual({
        code: 1,
        stdout: "",
        stderr: "Cannot find the address of no-such-host.invalid: check the name.\n",
      });
    },
  );

  test.skipIf(!PRIVATE)(
    "run with no route to the host (private network, as offline): one sentence, every client",
    async () => {
      const args = ["--host", "192.0.2.5", "--port", "123"];
      for (const file of [REQUEST, CAREFUL, OFFSET]) {
        const run = await runLesson(file, args, { argvPrefix: PRIVATE_NETWORK });
        expect({ code: run.code, stderr: run.stderr }).toEqual({
          code: 1,
          stderr: `Cannot send to 192.0.2.5:123: network is unreachable (ENETUNREACH); check the address and this machine's network.\n`,
        });
      }
    },
  );
});

describe("03-clock-offset: offset and delay from T1-T4, the best of several samples", () => {
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
    const fake = await fakeServer((request) => [goodReply(request, 10_000)]);
    const { samples, best, bestIndex } = await measureOffset("127.0.0.1", fake.port, 3, 2000);
    expect(samples.length).toBe(3);
    expect(fake.requests.length).toBe(3);
    expect(best).toBe(samples[bestIndex] as (typeof samples)[number]);
    for (const sample of samples) expect(best.delayMs).toBeLessThanOrEqual(sample.delayMs);
    expect(best.delayMs).toBeGreaterThanOrEqual(0);
    expect(Math.abs(best.offsetMs - 10_000)).toBeLessThanOrEqual(best.delayMs / 2 + 0.01);
  });

  test("against the chapter's server, same clock: the offset is within half the round trip of 0", async () => {
    const running = await server();
    const { best } = await measureOffset("127.0.0.1", running.port, 4, 2000);
    expect(Math.abs(best.offsetMs)).toBeLessThanOrEqual(best.delayMs / 2 + 0.01);
    expect(running.answered).toBe(4);
  });

  test("a bad reply in any sample fails the whole measurement with its sentence", async () => {
    let seen = 0;
    const fake = await fakeServer((request) => {
      const reply = goodReply(request);
      if (++seen === 2) reply[1] = 0;
      return [reply];
    });
    const error = await failure(measureOffset("127.0.0.1", fake.port, 3, 2000));
    expect(error.message).toContain("kiss-o'-death");
    expect(fake.requests.length).toBe(2);
  });

  test("run with no arguments: samples, the kept one, offset, delay and the corrected time", async () => {
    const { code, stdout, stderr } = await runLesson(OFFSET);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toContain("started in this process (no --host given)");
    expect(stdout).toContain("pool.ntp.org");
    expect(
      stdout.match(/ {2}sample \d: offset [+-]\d+\.\d{3} ms, round trip \d+\.\d{3} ms/g)?.length,
    ).toBe(4);
    expect(stdout).toMatch(/kept sample [1-4], the shortest round trip/);
    expect(stdout).toMatch(/offset \(\(T2-T1\)\+\(T3-T4\)\)\/2 = [+-]\d+\.\d{3} ms/);
    expect(stdout).toMatch(/corrected time {2}\d{4}-\d\d-\d\dT[\d:]{8}\.\d{9}Z/);
  });

  test("run with --json --samples 3 against a server 10 s ahead: one JSON document", async () => {
    const fake = await fakeServer((request) => [goodReply(request, 10_000)]);
    const args = ["--host", "127.0.0.1", "--port", String(fake.port), "--samples", "3", "--json"];
    const { code, stdout } = await runLesson(OFFSET, args);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.samples.length).toBe(3);
    const delays = report.samples.map((sample: { delayMs: number }) => sample.delayMs);
    expect(report.best.delayMs).toBe(Math.min(...delays));
    expect(report.best.sample).toBe(delays.indexOf(Math.min(...delays)) + 1);
    expect(Math.abs(report.best.offsetMs - 10_000)).toBeLessThan(report.best.delayMs / 2 + 1);
    const corrected = Date.parse(report.correctedTime) - Date.parse(report.systemTime);
    expect(Math.abs(corrected - report.best.offsetMs)).toBeLessThan(1);
  });
});

describe("the clients' command line", () => {
  const usageErrors: [string, string[], string][] = [
    [
      REQUEST,
      ["--timeout", "0"],
      '--timeout must be seconds, more than 0 and at most 60, not "0".',
    ],
    [
      REQUEST,
      ["--timeout", "soon"],
      '--timeout must be seconds, more than 0 and at most 60, not "soon".',
    ],
    [CAREFUL, ["--port", "70000"], '--port must be a whole number from 1 to 65535, not "70000".'],
    [CAREFUL, ["--port", "0"], '--port must be a whole number from 1 to 65535, not "0".'],
    [OFFSET, ["--port", "12x"], '--port must be a whole number from 1 to 65535, not "12x".'],
    [
      OFFSET,
      ["--timeout", "0x10"],
      '--timeout must be seconds, more than 0 and at most 60, not "0x10".',
    ],
    [OFFSET, ["--samples", "0"], '--samples must be a whole number from 1 to 20, not "0".'],
    [OFFSET, ["--samples", "21"], '--samples must be a whole number from 1 to 20, not "21".'],
    [REQUEST, ["--samples", "2"], "Unknown option '--samples'"],
  ];
  test.each(usageErrors)("%s %p: one sentence, the usage, exit 2", async (file, args, sentence) => {
    const { code, stdout, stderr } = await runLesson(file, args);
    expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
    expect(stderr).toStartWith(sentence);
    expect(stderr).toContain(`\n\nusage: bun run ${file}`);
  });
});

describe("04-sntp-server, run as a student would", () => {
  test("prints its listening line, answers, logs, and stops on Ctrl-C with a count", async () => {
    await using lesson = startLesson(SERVER, ["--port", "0"]);
    const { host, port } = await lesson.listening("udp");
    expect(host).toBe("127.0.0.1");
    const reply = ntp.decodePacket(await udpRequest(port, buildRequest(now())));
    expect(reply).toMatchObject({ mode: 4, stratum: 1, version: 4 });
    expect(ntp.referenceIdText(1, reply.referenceId)).toBe("LOCL");
    const socket = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { error() {} } });
    opened.push(() => socket.close());
    socket.send("hi", port, "127.0.0.1");
    await lesson.waitFor(/ignored 127\.0\.0\.1:\d+: 2 bytes, too short for NTP\n/);
    const { code, stdout } = await lesson.stop("SIGINT");
    expect(code).toBe(0);
    expect(stdout).toMatch(/answered 127\.0\.0\.1:\d+ \(NTPv4, 48 bytes in, 48 out\)/);
    const answered = stdout.match(/^answered /gm)?.length ?? 0;
    expect(answered).toBeGreaterThanOrEqual(1);
    expect(stdout).toEndWith(`stopped: answered ${answered}, ignored 1\n`);
  });

  test("stops cleanly on SIGTERM", async () => {
    await using lesson = startLesson(SERVER, ["--port", "0"]);
    await lesson.listening("udp");
    expect((await lesson.stop("SIGTERM")).code).toBe(0);
  });

  test("listens on IPv6 loopback with --host ::1, and shows it in brackets", async () => {
    await using lesson = startLesson(SERVER, ["--host", "::1", "--port", "0"]);
    const { host, port } = await lesson.listening("udp");
    expect(host).toBe("::1");
    expect(lesson.stdout).toMatch(/^listening on \[::1\]:\d+ \(udp\)$/m);
    const reply = await udpRequest(port, buildRequest(now()), { hostname: "::1" });
    expect(ntp.decodePacket(reply).mode).toBe(4);
    const asked = await runLesson(CAREFUL, ["--host", "::1", "--port", String(port), "--json"]);
    expect(JSON.parse(asked.stdout)).toMatchObject({ address: "::1", accepted: true });
  });

  test("--stratum 2 --refid 192.0.2.5: the reply says so", async () => {
    await using lesson = startLesson(SERVER, [
      "--port",
      "0",
      "--stratum",
      "2",
      "--refid",
      "192.0.2.5",
    ]);
    const { port } = await lesson.listening("udp");
    const reply = ntp.decodePacket(await udpRequest(port, buildRequest(now())));
    expect(reply.stratum).toBe(2);
    expect([...reply.referenceId]).toEqual([192, 0, 2, 5]);
  });

  test("a port in use: one sentence naming the port, exit 1", async () => {
    const holder = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { error() {} } });
    opened.push(() => holder.close());
    const run = await runLesson(SERVER, ["--port", String(holder.port)]);
    expect(run).toEqual({
      code: 1,
      stdout: "",
      stderr: `UDP port ${holder.port} is already in use: stop the other program, or choose another port (--port 0 takes any free one).\n`,
    });
  });

  test.skipIf(!PRIVATE)(
    "a --host name that cannot be looked up (private network): one sentence, exit 1",
    async () => {
      const run = await runLesson(SERVER, ["--host", "no-such-host.invalid", "--port", "0"], {
        argvPrefix: PRIVATE_NETWORK,
      });
      expect(run).toEqual({
        code: 1,
        stdout: "",
        stderr:
          "Cannot find the address of no-such-host.invalid: check the name, or give an IP address.\n",
      });
    },
  );

  const usageErrors: [string[], string][] = [
    [["--stratum", "0"], '--stratum must be a whole number from 1 to 15, not "0".'],
    [["--stratum", "16"], '--stratum must be a whole number from 1 to 15, not "16".'],
    [["--port", "65536"], '--port must be a whole number from 0 to 65535, not "65536".'],
    [["--port", "1.5"], '--port must be a whole number from 0 to 65535, not "1.5".'],
    [
      ["--refid", "gps"],
      '--refid: at stratum 1 the reference ID is 1-4 capital letters or digits (like GPS or LOCL), not "gps".',
    ],
    [
      ["--stratum", "3", "--refid", "LOCL"],
      '--refid: at stratum 3 the reference ID is the IPv4 address of the server followed, not "LOCL".',
    ],
  ];
  test.each(usageErrors)("%p: one sentence, the usage, exit 2", async (args, sentence) => {
    const { code, stdout, stderr } = await runLesson(SERVER, ["--port", "0", ...args]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
    expect(stderr).toStartWith(`${sentence}\n\nusage: bun run ${SERVER}`);
  });
});

describe("the chapter's tour", () => {
  test("runs every lesson over loopback without input and exits 0", async () => {
    const { code, stdout, stderr } = await runLesson("02-ntp/tour.ts", [], { timeoutMs: 60_000 });
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    for (const file of [REQUEST, CAREFUL, OFFSET, SERVER]) expect(stdout).toContain(file);
    expect(stdout).toMatch(/answered 127\.0\.0\.1:\d+/);
  });
});
