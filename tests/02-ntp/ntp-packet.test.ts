/**
 * 02-ntp/ntp-packet.ts, the chapter's protocol module: the 48-byte packet, NTP time and its
 * eras, the reference ID, what a client checks in a reply, and the server's clock.
 */
import { describe, expect, test } from "bun:test";
import * as ntp from "../../02-ntp/ntp-packet.ts";
import { Explained } from "../../lib/cli.ts";
import { ERA_1, goodReply, now } from "./fake-ntp.ts";

describe("NTP time", () => {
  test("Unix time 0 is NTP second 2208988800, and half a second is fraction 2^31", () => {
    expect(ntp.toNtpTimestamp(500)).toEqual({ seconds: 2_208_988_800, fraction: 2 ** 31 });
    expect(ntp.toUnixMs({ seconds: 2_208_988_800, fraction: 2 ** 31 })).toBe(500);
    expect(ntp.formatTimestamp({ seconds: 2_208_988_800, fraction: 2 ** 30 })).toBe(
      "1970-01-01T00:00:00.250000000Z",
    );
    expect(ntp.utc(250)).toBe("1970-01-01T00:00:00.250000000Z");
    expect(ntp.hexTimestamp({ seconds: 0xeebf6b92, fraction: 0x0c })).toBe("eebf6b92.0000000c");
  });

  test("in 2036 the seconds wrap to 0, and a clear top bit is read as era 1", () => {
    expect(ntp.toNtpTimestamp(ERA_1 + 250)).toEqual({ seconds: 0, fraction: 2 ** 30 });
    expect(ntp.toUnixMs({ seconds: 0, fraction: 0 })).toBe(ERA_1);
    expect(ntp.toUnixMs({ seconds: 2 ** 31, fraction: 0 })).toBe(Date.UTC(1968, 0, 20, 3, 14, 8));
    const today = Date.UTC(2025, 2, 1, 12, 0, 0, 125);
    expect(ntp.toUnixMs(ntp.toNtpTimestamp(today))).toBe(today);
  });

  test("the server's clock: clockMs follows Date.now() with sub-millisecond steps; precision is measured", () => {
    const fine = ntp.clockMs();
    expect(Math.abs(fine - Date.now())).toBeLessThan(5);
    const precision = ntp.measurePrecision();
    expect(Number.isInteger(precision)).toBe(true);
    // Finer than a millisecond, coarser than NTP's own 2^-32 s.
    expect(precision).toBeLessThan(-9);
    expect(precision).toBeGreaterThan(-32);
  });
});

describe("the packet", () => {
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

  test("clientRequest: byte 0 is 0x23 (version 4, mode 3), the given bytes at 40-47, all else zero", () => {
    const transmit = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const request = ntp.clientRequest(transmit);
    expect(request.length).toBe(48);
    expect(request[0]).toBe(0x23);
    expect([...request.subarray(40)]).toEqual([...transmit]);
    expect(request.subarray(1, 40).every((byte) => byte === 0)).toBe(true);
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

  test("referenceIdProblem: a sentence for an ID that does not fit the stratum, none for one that does", () => {
    expect(ntp.referenceIdProblem(1, "GPS")).toBeUndefined();
    expect(ntp.referenceIdProblem(1)).toBeUndefined();
    expect(ntp.referenceIdProblem(2)).toBeUndefined();
    expect(ntp.referenceIdProblem(15, "10.0.0.1")).toBeUndefined();
    expect(ntp.referenceIdProblem(1, "LOCAL")).toBe(
      'at stratum 1 the reference ID is 1-4 capital letters or digits (like GPS or LOCL), not "LOCAL"',
    );
    expect(ntp.referenceIdProblem(2, "10.0.0")).toBe(
      'at stratum 2 the reference ID is the IPv4 address of the server followed, not "10.0.0"',
    );
    // With no text: LOCL at stratum 1, 127.0.0.1 above.
    expect([...ntp.encodeReferenceId(1)]).toEqual([76, 79, 67, 76]);
    expect([...ntp.encodeReferenceId(3)]).toEqual([127, 0, 0, 1]);
  });

  test("serverIdentity: stratum, reference ID, a measured precision, and its start as the reference time", () => {
    const before = Date.now();
    const me = ntp.serverIdentity(2, "192.0.2.9");
    expect(me.stratum).toBe(2);
    expect(ntp.referenceIdText(2, me.referenceId)).toBe("192.0.2.9");
    expect(me.precision).toBeLessThan(-9);
    expect(ntp.toUnixMs(me.referenceTimestamp)).toBeGreaterThanOrEqual(before - 1);
    expect(ntp.referenceIdText(1, ntp.serverIdentity(1).referenceId)).toBe("LOCL");
    expect(() => ntp.serverIdentity(1, "gps")).toThrow(RangeError);
  });

  test("roundMs and signedMs keep milliseconds to the microsecond", () => {
    expect(ntp.roundMs(0.9407370000000004)).toBe(0.941);
    expect(ntp.roundMs(-3.4000001)).toBe(-3.4);
    expect(ntp.roundMs(10_000.0004)).toBe(10_000);
    expect(ntp.signedMs(0.0123)).toBe("+0.012 ms");
    expect(ntp.signedMs(-3.4)).toBe("-3.400 ms");
    expect(ntp.signedMs(-0.0004)).toBe("+0.000 ms");
  });

  test("describePacket puts each field into words, its durations to the microsecond", () => {
    const bytes = goodReply(new Uint8Array(48));
    const fields = ntp.describePacket(ntp.decodePacket(bytes));
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
    // 1/65536 s is 15.2587890625 µs: JSON gets 0.000015 s, not every binary digit.
    bytes.set([0, 0, 0, 1], 8);
    const dispersion = ntp.describePacket(ntp.decodePacket(bytes))[7];
    expect(dispersion).toMatchObject({ field: "rootDispersion", value: 0.000015 });
    expect(dispersion?.meaning).toBe("0.015 ms of error it admits to");
  });
});

describe("usableReply: what a client checks before it trusts a reply", () => {
  const good = goodReply(ntp.clientRequest(new Uint8Array(8)));
  const changed = (change: (bytes: Uint8Array) => void): Uint8Array => {
    const bytes = good.slice();
    change(bytes);
    return bytes;
  };

  test("a good reply is returned decoded", () => {
    expect(ntp.usableReply(good, "x")).toMatchObject({ mode: 4, stratum: 2 });
  });

  test("each way a reply can be no use gets its own sentence, naming the server", () => {
    const sentence = (bytes: Uint8Array): string => {
      try {
        ntp.usableReply(bytes, "x");
      } catch (error) {
        expect(error).toBeInstanceOf(Explained);
        return (error as Error).message;
      }
      throw new Error("the reply was accepted");
    };
    expect(sentence(good.subarray(0, 47))).toBe(
      "x answered with 47 bytes, not an NTP packet (48 or more, in 4-byte words): is it an NTP server?",
    );
    const client = changed((bytes) => {
      bytes[0] = 0x23;
    });
    expect(sentence(client)).toBe(
      "x answered in mode 3 (client), not 4 (server): is it an NTP server?",
    );
    const kiss = (code: number[]): Uint8Array =>
      changed((bytes) => {
        bytes[1] = 0;
        bytes.set(code, 12);
      });
    expect(sentence(kiss([68, 69, 78, 89]))).toBe(
      "x sent a kiss-o'-death (stratum 0, code DENY): access denied: this server will not serve you, use another one",
    );
    expect(sentence(kiss([88, 89, 90, 0]))).toBe(
      "x sent a kiss-o'-death (stratum 0, code XYZ): it will not serve you now",
    );
    // ESC [ 2 J would clear the student's terminal: it is shown in hex instead.
    expect(sentence(kiss([0x1b, 0x5b, 0x32, 0x4a]))).toBe(
      "x sent a kiss-o'-death (stratum 0, code 0x1b5b324a): it will not serve you now",
    );
    expect(sentence(changed((bytes) => bytes.fill(0, 40, 48)))).toBe(
      "x sent a zero transmit timestamp, so it does not know the time: ask another server",
    );
    const unsynchronized = changed((bytes) => {
      bytes[1] = 16;
    });
    expect(sentence(unsynchronized)).toBe(
      "x says its own clock is not synchronized: ask another server",
    );
  });

  test("the reply's own clock reading survives the check", () => {
    const t = now();
    const reply = ntp.usableReply(goodReply(ntp.clientRequest(new Uint8Array(8))), "x");
    expect(Math.abs(ntp.toUnixMs(reply.transmitTimestamp) - t)).toBeLessThan(1000);
  });
});
