/**
 * Chapter 05's protocol module, protocol.ts: examples, an oracle, and property tests written
 * by hand with a seeded generator (whatever line comes in, exactly one well-formed reply goes
 * out), the quick bound of the one-thread servers, and the UDP rules: ids, a reply never
 * bigger than its request and ending in a newline, no reply to a reply.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  answer,
  answerDatagram,
  fitReply,
  isHeavy,
  LINE_TOO_LONG,
  MAX_DATAGRAM_BYTES,
  PADDED_TO,
  padded,
  parseDatagramReply,
  parseReply,
  QUICK_DIVISOR,
} from "../../05-calc/protocol.ts";
import { ROOT } from "../helpers.ts";
import { CODES, REPLY, SLOW, seeded } from "./support.ts";

describe("the protocol (protocol.ts)", () => {
  test.each([
    ["12 + 30", "OK 42"],
    ["12 - 30", "OK -18"],
    ["6 * 7", "OK 42"],
    ["7 / 2", "OK 3.5"],
    ["1 / 3", "OK 0.33333333333333333333"],
    ["-2 / 3", "OK -0.66666666666666666667"],
    ["1 / 99999999999999999999999", "OK 0.00000000000000000000001"],
    ["10000000000000000000001 / 2", "OK 5000000000000000000000.5"],
    ["84 / -2", "OK -42"],
    ["-7 % 3", "OK -1"],
    ["2 ^ 64", "OK 18446744073709551616"],
    ["-2 ^ 3", "OK -8"],
    ["2 ^ -1", "OK 0.5"],
    ["1 ^ 99999999999999999999999", "OK 1"],
    ["-1 ^ 99999999999999999999999", "OK -1"],
    ["0 ^ 0", "OK 1"],
    ["99999999999999999999 * 99999999999999999999", "OK 9999999999999999999800000000000000000001"],
    ["9007199254740993 + 0", "OK 9007199254740993"],
    ["0.1 + 0.2", "OK 0.30000000000000004"],
    ["1.5 * 2", "OK 3"],
    ["1e3 / 8", "OK 125"],
    [".5 - 1", "OK -0.5"],
    ["+5 + -5", "OK 0"],
    ["  12   +\t30  ", "OK 42"],
    ["isprime 97", "OK true"],
    ["ISPRIME 91", "OK false"],
    ["isprime 1", "OK false"],
    ["factor 600851475143", "OK 71 839 1471 6857"],
    ["factor 1", "OK 1"],
    ["factor 9007199254740991", "OK 6361 69431 20394401"],
  ])("%p -> %p", (line, reply) => {
    expect(answer(line)).toBe(reply);
  });

  test.each([
    [
      "",
      "ERR bad-request: empty request: expected NUMBER OP NUMBER separated by spaces, e.g. 12 + 30",
    ],
    [
      "12 +",
      "ERR bad-request: missing operand: expected NUMBER OP NUMBER separated by spaces, e.g. 12 + 30",
    ],
    [
      "12+30",
      "ERR bad-request: missing operand: expected NUMBER OP NUMBER separated by spaces, e.g. 12 + 30",
    ],
    [
      "1 + 2 3",
      "ERR bad-request: too many operands: expected NUMBER OP NUMBER separated by spaces, e.g. 12 + 30",
    ],
    ["isprime", "ERR bad-request: isprime takes one number, e.g. isprime 97"],
    ["abc + 1", 'ERR bad-number: "abc" is not a number'],
    ["0x10 + 1", 'ERR bad-number: "0x10" is not a number'],
    ["NaN + 1", 'ERR bad-number: "NaN" is not a number'],
    ["1 + Infinity", 'ERR bad-number: "Infinity" is not a number'],
    ["12 x 3", 'ERR unknown-op: unknown operation "x": use + - * / % ^ or isprime, factor'],
    ["sqrt 4", 'ERR unknown-op: unknown operation "sqrt": use + - * / % ^ or isprime, factor'],
    ["5 / 0", "ERR division-by-zero: cannot divide by zero"],
    ["5 % 0", "ERR division-by-zero: cannot divide by zero"],
    ["5.5 / 0.0", "ERR division-by-zero: cannot divide by zero"],
    ["0 ^ -1", "ERR division-by-zero: cannot divide by zero"],
    ["2 ^ 3322", "ERR too-large: the result would have more than 1000 digits"],
    ["2 ^ 99999999999999999999", "ERR too-large: the result would have more than 1000 digits"],
    ["1e400 + 1", 'ERR too-large: "1e400" is beyond the decimal range (1.8e308)'],
    ["1e308 * 10.0", "ERR too-large: the result is beyond 1.8e308"],
    ["-8 ^ 0.5", "ERR not-real: the result is not a real number"],
    ["isprime 0", "ERR bad-operand: isprime takes a whole number from 1 to 9007199254740991"],
    ["factor 2.5", "ERR bad-operand: factor takes a whole number from 1 to 9007199254740991"],
    [
      "factor 9007199254740992",
      "ERR bad-operand: factor takes a whole number from 1 to 9007199254740991",
    ],
    ["isprime x", 'ERR bad-number: "x" is not a number'],
    [`${"9".repeat(1100)} + 1`, "ERR line-too-long: a request is at most 1024 bytes"],
  ])("%p is refused with a reply, not an exception", (line, reply) => {
    expect(answer(line)).toBe(reply);
  });

  test("LINE_TOO_LONG is the reply a TCP server sends before it closes a connection", () => {
    expect(LINE_TOO_LONG).toBe(
      "ERR line-too-long: a request is at most 1024 bytes; closing the connection\n",
    );
    expect(parseReply(LINE_TOO_LONG.trimEnd())).toEqual({
      ok: false,
      code: "line-too-long",
      message: "a request is at most 1024 bytes; closing the connection",
    });
  });

  test("2 ^ 3321 is the largest power of two that fits in 1000 digits", () => {
    const value = answer("2 ^ 3321").slice(3);
    expect(value).toBe((2n ** 3321n).toString());
    expect(value.length).toBe(1000);
  });

  test("every example in the chapter README gets the reply the README shows", () => {
    const readme = readFileSync(join(ROOT, "05-calc/README.md"), "utf8");
    const tcp = [...readme.matchAll(/^(\S.*?\S) {2,}((?:OK|ERR) .+?)(?: {2,}\(.*\))?$/gm)];
    const udp = [...readme.matchAll(/^(\d+ \S.*?\S) {2,}(\d+ (?:OK|ERR) .+)$/gm)];
    expect([tcp.length, udp.length]).toEqual([7, 2]);
    for (const [, request = "", reply = ""] of tcp)
      expect({ request, got: answer(request) }).toEqual({ request, got: reply });
    for (const [, request = "", reply = ""] of udp) {
      const got = answerDatagram(Buffer.from(request.padEnd(100)));
      expect({ request, got }).toEqual({ request, got: `${reply}\n` });
    }
  });

  test("integer arithmetic is exact: 300 random pairs of up to 60 digits against BigInt", () => {
    const random = seeded(5);
    const big = (): bigint => {
      const digits = Array.from({ length: 1 + Math.floor(random() * 60) }, () =>
        Math.floor(random() * 10),
      ).join("");
      return BigInt(digits) * (random() < 0.3 ? -1n : 1n);
    };
    for (let i = 0; i < 300; i++) {
      const [a, b] = [big(), big()];
      const op = "+-*%/"[i % 5] ?? "+";
      const reply = answer(`${a} ${op} ${b}`);
      if (b === 0n && (op === "%" || op === "/")) {
        expect(reply).toBe("ERR division-by-zero: cannot divide by zero");
        continue;
      }
      const exact = { "+": a + b, "-": a - b, "*": a * b, "%": b === 0n ? 0n : a % b }[op];
      if (exact !== undefined) {
        expect({ line: `${a} ${op} ${b}`, reply }).toEqual({
          line: `${a} ${op} ${b}`,
          reply: `OK ${exact}`,
        });
        continue;
      }
      // Division: the whole part is BigInt's truncated quotient, the sign the quotient's.
      const [whole = ""] = reply.slice(3).split(".");
      expect(BigInt(whole)).toBe(a / b);
      expect(reply.slice(3).startsWith("-")).toBe(a !== 0n && a < 0n !== b < 0n);
      if (a % b === 0n) expect(reply).toBe(`OK ${a / b}`);
    }
  });

  test("powers are exact up to the 1000-digit bound, refused past it: 300 random ones", () => {
    const random = seeded(8);
    for (let i = 0; i < 300; i++) {
      const base = BigInt(Math.floor(random() * 2001) - 1000);
      const exponent = BigInt(Math.floor(random() * 400));
      const exact = (base ** exponent).toString();
      const fits = exact.replace("-", "").length <= 1000;
      const expected = fits
        ? `OK ${exact}`
        : "ERR too-large: the result would have more than 1000 digits";
      const line = `${base} ^ ${exponent}`;
      expect({ line, reply: answer(line) }).toEqual({ line, reply: expected });
    }
  });

  test("decimal arithmetic is the IEEE double arithmetic it says it is: 300 random pairs", () => {
    const random = seeded(6);
    for (let i = 0; i < 300; i++) {
      const [x, y] = [(random() - 0.5) * 1e6, (random() - 0.5) * 1e3];
      const op = "+-*/"[i % 4] ?? "+";
      const expected = { "+": x + y, "-": x - y, "*": x * y, "/": x / y }[op] ?? Number.NaN;
      expect(answer(`${x} ${op} ${y}`)).toBe(`OK ${expected}`);
    }
  });

  test("property: any line in, exactly one well-formed reply out, never a throw (3000 lines)", () => {
    const random = seeded(42);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const vocabulary = [
      ..."+-*/%^",
      "isprime",
      "factor",
      "x",
      "sqrt",
      "--",
      "0",
      "-0",
      "+0",
      ".5",
      "5.",
      "1e308",
      "1e309",
      "-1e-400",
      "NaN",
      "Infinity",
      "0x1f",
      "1_000",
      "١٢",
      "½",
      "\u0000",
      "\u00a0",
      "💥",
      "\r",
      '"',
      "\\",
      "9007199254740991",
      "9007199254740992",
    ];
    const number = (): string => {
      const digits = Array.from({ length: 1 + Math.floor(random() ** 4 * 1100) }, () =>
        Math.floor(random() * 10),
      ).join("");
      const sign = pick(["", "-", "+"]);
      return pick(
        [
          digits,
          `${digits}.${digits.slice(0, 3)}`,
          `${digits.slice(0, 5)}e${pick(["", "-"])}${Math.floor(random() * 400)}`,
        ].map((text) => sign + text),
      );
    };
    const shapes = [
      // Random bytes, decoded as the server decodes them (invalid UTF-8 becomes U+FFFD).
      () =>
        Buffer.from(
          Array.from({ length: Math.floor(random() * 80) }, () => {
            const byte = Math.floor(random() * 256);
            return byte === 10 ? 32 : byte;
          }),
        ).toString("utf8"),
      // Random tokens, separated by random spaces and tabs.
      () =>
        Array.from({ length: Math.floor(random() * 6) }, () =>
          random() < 0.5 ? pick(vocabulary) : number(),
        ).join(pick([" ", "  ", "\t", " \t "])),
      // Well-shaped requests with random, sometimes huge, operands.
      () => `${number()} ${pick([..."+-*/%^", "x"])} ${number()}`,
      // Powers with small bases and random exponents: the size bound must hold.
      () =>
        `${pick(["2", "-3", "10", "0", "1", "-1", "1.5"])} ^ ${pick([number(), String(Math.floor(random() * 5000))])}`,
      // Heavy requests, kept fast: small operands, or ones past 2^53 (refused at once).
      () =>
        `${pick(["isprime", "factor", "FACTOR"])} ${pick([String(Math.floor(random() * 1e9)), number()])}`,
    ];
    for (let i = 0; i < 3000; i++) {
      const line = pick(shapes)();
      let reply = "";
      expect(() => {
        reply = answer(line);
      }).not.toThrow();
      const parsed = parseReply(reply);
      expect({ line, reply, wellFormed: REPLY.test(reply) && parsed !== null }).toEqual({
        line,
        reply,
        wellFormed: true,
      });
      if (parsed && !parsed.ok)
        expect({ line, code: parsed.code, known: CODES.includes(parsed.code) }).toEqual({
          line,
          code: parsed.code,
          known: true,
        });
      // An integer result is at most 1000 digits, whatever was asked.
      if (parsed?.ok && /^-?\d+$/.test(parsed.value))
        expect(parsed.value.replace("-", "").length).toBeLessThanOrEqual(1000);
    }
  });

  test("isHeavy picks the requests that go to the workers", () => {
    expect(["isprime 7", "  factor 8", "ISPRIME 9"].map(isHeavy)).toEqual([true, true, true]);
    expect(["12 + 30", "prime 7", "", "7 isprime"].map(isHeavy)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  test("parseReply reads what a client must read, and nothing else", () => {
    expect(parseReply("OK 42")).toEqual({ ok: true, value: "42" });
    expect(parseReply("OK 2 2 3")).toEqual({ ok: true, value: "2 2 3" });
    expect(parseReply("ERR busy: try later")).toEqual({
      ok: false,
      code: "busy",
      message: "try later",
    });
    expect(parseReply("ERR reply-too-large")).toEqual({
      ok: false,
      code: "reply-too-large",
      message: "",
    });
    for (const bad of ["OK", "OK ", "ok 42", "ERR", "ERR Busy: x", "42", "OK 4\n2", "OK  42"])
      expect(parseReply(bad)).toBeNull();
  });

  test("isprime and factor within the quick bound are answered; past it, ERR too-heavy naming the bound and lesson 07", () => {
    const heavy = (op: string): string =>
      `ERR too-heavy: ${op} would try divisors past ${QUICK_DIVISOR}, too slow for one thread: lesson 07's worker pool takes it`;
    // Below QUICK_DIVISOR squared every number is answered; above it, one with a small factor.
    expect(answer("isprime 9999999967", QUICK_DIVISOR)).toBe("OK true");
    expect(answer("factor 600851475143", QUICK_DIVISOR)).toBe("OK 71 839 1471 6857");
    expect(answer("isprime 9007199254740990", QUICK_DIVISOR)).toBe("OK false");
    expect(answer(SLOW, QUICK_DIVISOR)).toBe(heavy("isprime"));
    expect(answer("factor 9007199254740881", QUICK_DIVISOR)).toBe(heavy("factor"));
    expect(answer("factor 18014398509481762", QUICK_DIVISOR)).toBe(
      "ERR bad-operand: factor takes a whole number from 1 to 9007199254740991",
    );
    // Refused quickly: at most QUICK_DIVISOR / 2 divisions, not the second of the full work.
    const started = performance.now();
    for (let i = 0; i < 20; i++) answer(SLOW, QUICK_DIVISOR);
    expect(performance.now() - started).toBeLessThan(1_000);
    // Without the bound (lessons 05 and 06), the same request is computed.
    expect(answer("isprime 999999999989")).toBe("OK true");
  });
});

describe("UDP datagrams: ids and the anti-amplification rule", () => {
  test("the reply repeats the id and ends in a newline; padding with spaces is allowed", () => {
    expect(answerDatagram(Buffer.from("7 12 + 30"))).toBe("7 OK 42\n");
    expect(answerDatagram(Buffer.from("abc-_9 6 * 7\n"))).toBe("abc-_9 OK 42\n");
    expect(answerDatagram(Buffer.from(`8 2 ^ 64${" ".repeat(20)}\n`))).toBe(
      "8 OK 18446744073709551616\n",
    );
  });

  test("replies end in a newline, so that replies do not run together under nc -u", () => {
    const replies = ["1 1 + 1", "2 2 + 2", `3 1 / 0${" ".repeat(40)}`].map((request) =>
      answerDatagram(Buffer.from(request)),
    );
    expect(replies.join("")).toBe(
      "1 OK 2\n2 OK 4\n3 ERR division-by-zero: cannot divide by zero\n",
    );
    // Even a reply cut to fit keeps its newline inside the request's size.
    expect(answerDatagram(Buffer.from(`9 2 ^ 64${" ".repeat(14)}`))).toBe(
      "9 ERR reply-too-large\n",
    );
    expect(answerDatagram(Buffer.from(`9 2 ^ 64${" ".repeat(13)}`))).toBeNull();
  });

  test("the one-thread UDP server's bound: too-heavy fits a 128-byte request", () => {
    const reply = answerDatagram(Buffer.from(`12 ${SLOW}`.padEnd(128)), QUICK_DIVISOR) ?? "";
    expect(reply).toStartWith("12 ERR too-heavy: isprime would try divisors past 100000,");
    expect(reply).toEndWith("\n");
    expect(Buffer.byteLength(reply)).toBeLessThanOrEqual(128);
  });

  test("a reply never has more bytes than its request; the shortest error that fits, else none", () => {
    expect(answerDatagram(Buffer.from(`9 2 ^ 64${" ".repeat(30)}`))).toBe(
      "9 OK 18446744073709551616\n",
    );
    expect(answerDatagram(Buffer.from(`9 2 ^ 64${" ".repeat(16)}`))).toBe(
      "9 ERR reply-too-large\n",
    );
    expect(answerDatagram(Buffer.from("9 2 ^ 64"))).toBeNull();
    expect(fitReply("9", `OK ${"1".repeat(60)}`, 40)).toBe(
      "9 ERR reply-too-large: needs 66 bytes\n",
    );
    expect(fitReply("9", `OK ${"1".repeat(60)}`, 66)).toBe(`9 OK ${"1".repeat(60)}\n`);
    expect(fitReply("9", `OK ${"1".repeat(60)}`, 65)).toBe(
      "9 ERR reply-too-large: needs 66 bytes\n",
    );
    expect(fitReply("9", 'ERR bad-number: "x" is not a number', 17)).toBe("9 ERR bad-number\n");
    expect(fitReply("9", 'ERR bad-number: "x" is not a number', 16)).toBeNull();
  });

  test("a datagram that is itself a reply gets none: two servers cannot ping-pong for ever", () => {
    for (const reply of ["7 OK 42", "7 ERR unknown-op", "? ERR bad-id", "x9 err busy: later"]) {
      const padded = Buffer.from(reply.padEnd(200));
      expect({ reply, answer: answerDatagram(padded) }).toEqual({ reply, answer: null });
    }
    // A request that only starts with those letters is still a request, and answered.
    expect(answerDatagram(Buffer.from("7 OKAY + 1".padEnd(100)))).toBe(
      '7 ERR bad-number: "OKAY" is not a number\n',
    );
  });

  test("no id, or a datagram over 1200 bytes, still gets an error that fits", () => {
    const noId = Buffer.from(`!! 1 + 1${" ".repeat(100)}`);
    expect(answerDatagram(noId)).toBe(
      "? ERR bad-id: a UDP request starts with an id (1-20 letters, digits, - or _), e.g. 7 12 + 30\n",
    );
    const huge = Buffer.from(`5 ${"1".repeat(MAX_DATAGRAM_BYTES)} + 1`);
    expect(answerDatagram(huge)).toBe("5 ERR line-too-long: a UDP request is at most 1200 bytes\n");
  });

  test("property: 3000 random datagrams, each answered in at most as many bytes, or not at all", () => {
    const random = seeded(11);
    const requests = ["12 + 30", "2 ^ 3000", "factor 360", "abc", "", "1 / 0", "isprime 97"];
    for (let i = 0; i < 3000; i++) {
      const kind = i % 3;
      const datagram =
        kind === 0
          ? Buffer.from(
              Array.from({ length: Math.floor(random() * 1500) }, () => Math.floor(random() * 256)),
            )
          : Buffer.from(
              `${kind === 1 ? Math.floor(random() * 1e6) : "id_" + i} ${requests[i % requests.length]}${" ".repeat(Math.floor(random() * 1100))}`,
            );
      const reply = answerDatagram(datagram);
      if (reply === null) continue;
      expect(Buffer.byteLength(reply)).toBeLessThanOrEqual(datagram.byteLength);
      expect(reply.endsWith("\n")).toBe(true);
      const parsed = parseDatagramReply(reply);
      expect({ reply, parsed: parsed !== null }).toEqual({ reply, parsed: true });
      // Sent back to a server (a forged source can arrange that), a reply starts no loop.
      for (const echo of [reply, reply.padEnd(1500)])
        expect({ echo, answer: answerDatagram(Buffer.from(echo)) }).toEqual({ echo, answer: null });
    }
  });
});

test("padded(): a request padded with spaces to PADDED_TO bytes (or N), counted in bytes", () => {
  expect(padded("7 12 + 30")).toBe(`7 12 + 30${" ".repeat(PADDED_TO - 9)}`);
  expect(Buffer.byteLength(padded("1 ½ + 1", 20))).toBe(20);
  expect(padded("x".repeat(200))).toBe("x".repeat(200));
  // Padded to what the server says it needs, the reply fits.
  const reply = answerDatagram(Buffer.from(padded("8 2 ^ 64", 26)));
  expect(reply).toBe("8 OK 18446744073709551616\n");
});
