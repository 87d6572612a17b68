// The chapter's protocol module: the daytime line, the padding of UDP requests and its
// removal, the Informe's replies, on bytes, and the load generator's latency histogram.
import { describe, expect, test } from "bun:test";
import {
  DAYTIME_REQUEST,
  daytimeLine,
  Latencies,
  PADDED_BYTES,
  padded,
  replyTo,
  unpadded,
} from "../../04-server/protocol.ts";

describe("04-server/protocol.ts", () => {
  test("the daytime line is the HTTP date and CRLF: 31 bytes; the UDP request leaves room for it", () => {
    const line = daytimeLine(new Date("2024-02-29T12:34:56Z"));
    expect(line).toBe("Thu, 29 Feb 2024 12:34:56 GMT\r\n");
    expect(line.length).toBe(31);
    expect(Buffer.byteLength(DAYTIME_REQUEST)).toBe(64);
  });

  test("padded: spaces up to 1200 bytes, or 64 more than a long message; unpadded takes them off", () => {
    const short = padded(Buffer.from("hello"));
    expect(short.length).toBe(PADDED_BYTES);
    expect(short.subarray(0, 6).toString()).toBe("hello ");
    expect(unpadded(short).toString()).toBe("hello");
    const long = padded(Buffer.alloc(2000, 0x61));
    expect(long.length).toBe(2064);
    expect(unpadded(long).length).toBe(2000);
  });

  test("unpadded also drops the newline nc adds, NULs and CRLF, and nothing else", () => {
    expect(unpadded(Buffer.from("hola\n")).toString()).toBe("hola");
    expect(unpadded(Buffer.from("a b\r\n\0\0  ")).toString()).toBe("a b");
    expect(unpadded(Buffer.from("\ttab")).toString()).toBe("\ttab");
    expect(unpadded(Buffer.alloc(10)).length).toBe(0);
  });

  test("replyTo: the Informe's reply in English, on bytes; `exit`, in any case, ends the conversation", () => {
    expect(replyTo("TCP", Buffer.from("hola"))).toEqual({
      reply: Buffer.from("server (TCP) received: hola"),
      end: false,
    });
    expect(replyTo("UDP", Buffer.from(" EXIT "))).toEqual({
      reply: Buffer.from("server (UDP): goodbye"),
      end: true,
    });
    const broken = Buffer.from([0xff, 0xfe]);
    expect(replyTo("UDP", broken).reply.subarray(-2)).toEqual(broken);
  });

  test("Latencies: exact percentiles to the microsecond; a second or more lands in the last bucket", () => {
    const latencies = new Latencies();
    for (let i = 1; i <= 100; i++) latencies.record(i / 10);
    expect(latencies.count).toBe(100);
    expect(latencies.percentile(0.5)).toBe(5);
    expect(latencies.percentile(0.99)).toBe(9.9);
    latencies.record(5_000);
    expect(latencies.percentile(1)).toBe(999.999);
    expect(latencies.summary(2)).toEqual({
      requests: 101,
      seconds: 2,
      requestsPerSecond: 51,
      p50Ms: 5.1,
      p99Ms: 10,
    });
  });
});
