/**
 * Chapter 05, the calculator: its protocol (examples, an oracle, and a property test written
 * by hand with a seeded generator: whatever line comes in, exactly one well-formed reply goes
 * out), then every lesson in-process and run as a student would. UDP loss and reordering come
 * from a proxy that drops and holds datagrams by number (tests/fixtures/udp-proxy.ts). The bad
 * inputs: over-long lines, malformed requests, clients that do not read, refused connections,
 * addresses that never answer, ports in use, a full worker queue (`ERR busy`) and a heavy
 * request over its time limit (`ERR timeout`). Real third-party peers (ncat, socat, the lab's
 * design in Python) are in tests/interop/05-calc.test.ts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { startTcpServer } from "../05-calc/01-tcp-server.ts";
import {
  type CalcResult,
  calculate,
  describe as describeResult,
} from "../05-calc/02-tcp-client.ts";
import { startUdpServer } from "../05-calc/03-udp-server.ts";
import { calculateUdp } from "../05-calc/04-udp-client.ts";
import { startConcurrentServer } from "../05-calc/05-concurrent-server.ts";
import { defaultWorkers, startPoolServer, WorkerPool } from "../05-calc/06-worker-pool.ts";
import { openPeer, ping, type Sample } from "../05-calc/07-ping.ts";
import { percentiles, plan, runLoad } from "../05-calc/08-load.ts";
import { compare, lessonArgv, spawnServer } from "../05-calc/09-loop-vs-pool.ts";
import {
  answer,
  answerDatagram,
  fitReply,
  isHeavy,
  LineSplitter,
  MAX_DATAGRAM_BYTES,
  MAX_LINE_BYTES,
  parseDatagramReply,
  parseReply,
} from "../05-calc/protocol.ts";
import { endpoint, parseFlag, parsePort, reason } from "../05-calc/command-line.ts";
import { UdpProxy } from "./fixtures/udp-proxy.ts";
import {
  canUsePrivateNetwork,
  hasCommand,
  PRIVATE_NETWORK,
  ROOT,
  runLesson,
  startLesson,
  TcpTestClient,
  SLOW_TEST_MS,
  udpRequest,
} from "./helpers.ts";
import { silentPort } from "./fixtures/silent-port.ts";

// ---------------------------------------------------------------------------------------
// Shared pieces

/**
 * Everything a test opened in-process; closed after each test, whatever happened. `true`
 * makes a plain Bun listener close its accepted connections too (our servers always do).
 */
const opened: { stop(closeActiveConnections?: boolean): unknown }[] = [];
function track<T extends { stop(closeActiveConnections?: boolean): unknown }>(thing: T): T {
  opened.push(thing);
  return thing;
}
afterEach(async () => {
  for (const thing of opened.splice(0)) await thing.stop(true);
});

const quiet = (): void => {};

/**
 * The message a promise rejects with, or null if it resolves. Use it instead of
 * `await expect(promise).rejects`: in Bun 1.4.5 that waits for the promise in a way the test's
 * time limit cannot interrupt, so a promise that never settles hangs the whole run.
 */
const rejection = (promise: Promise<unknown>): Promise<string | null> =>
  promise.then(
    () => null,
    (error: Error) => error.message,
  );

/** A pool a test made, terminated after the test. */
function trackPool(pool: WorkerPool): WorkerPool {
  track({ stop: () => pool.close() });
  return pool;
}

const RESEND_MS = 1_000;

/**
 * Sends `datagrams` from one socket, resending them all on silence (loopback UDP is treated
 * as lossy, as in helpers.ts), until `done(replies)` holds.
 */
async function exchange(
  port: number,
  datagrams: string[],
  done: (replies: string[]) => boolean,
): Promise<string[]> {
  const replies: string[] = [];
  let wake = (): void => {};
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(_socket, data) {
        replies.push(data.toString());
        if (done(replies)) wake();
      },
      error() {},
    },
  });
  try {
    for (let attempt = 0; attempt < 5 && !done(replies); attempt++) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, RESEND_MS);
        wake = () => (clearTimeout(timer), resolve());
        for (const datagram of datagrams) socket.send(datagram, port, "127.0.0.1");
      });
    }
    return replies;
  } finally {
    socket.close();
  }
}

/** A log sink for a server's `log` option, with a wait for a line that may come later. */
function logCollector() {
  const lines: string[] = [];
  const waiting: { pattern: RegExp; resolve: () => void }[] = [];
  return {
    lines,
    log: (line: string): void => {
      lines.push(line);
      for (const entry of waiting.splice(0)) {
        if (entry.pattern.test(line)) entry.resolve();
        else waiting.push(entry);
      }
    },
    waitFor(pattern: RegExp): Promise<void> {
      if (lines.some((line) => pattern.test(line))) return Promise.resolve();
      return new Promise((resolve) => waiting.push({ pattern, resolve }));
    },
  };
}

/** mulberry32: a small seeded generator, so every "random" test input is the same each run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A TCP port that was ours a moment ago and is closed now: connecting there is refused. */
function closedTcpPort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

async function closedUdpPort(): Promise<number> {
  const socket = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data() {}, error() {} } });
  const { port } = socket;
  socket.close();
  return port;
}

/**
 * Runs a lesson in a private network namespace where 192.0.2.0/24 (TEST-NET-1) is routed
 * into loopback and dropped there: a connect to 192.0.2.1 gets no answer at all, never a
 * refusal, like a host that is down.
 */
const BLACKHOLE = [
  "unshare",
  "-n",
  "sh",
  "-c",
  'ip link set lo up && ip route add 192.0.2.0/24 dev lo && exec "$@"',
  "sh",
];
const privateNetwork = await canUsePrivateNetwork();
const python = hasCommand("python3");

/** Lines received by a TcpTestClient so far (complete lines only). */
const receivedLines = (client: TcpTestClient): string[] => client.text.split("\n").slice(0, -1);

/** Waits until the client has `count` complete lines. */
async function replyLines(client: TcpTestClient, count: number): Promise<string[]> {
  await client.until((buffer) => buffer.toString().split("\n").length > count);
  return receivedLines(client);
}

const REPLY = /^(OK [!-~]+( [!-~]+)*|ERR [a-z-]+: [ -~]+)$/;
const CODES = [
  "bad-request",
  "bad-number",
  "unknown-op",
  "division-by-zero",
  "too-large",
  "not-real",
  "bad-operand",
  "line-too-long",
];

const inUse = (port: number): string =>
  `could not listen on 127.0.0.1:${port}: port ${port} is already in use; stop the other program or choose another --port (0 = any free port)\n`;

// A prime just under 2^53: trial division takes about a second, the chapter's slowest request.
const SLOW = "isprime 9007199254740881";

// ---------------------------------------------------------------------------------------
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
      expect({ request, got }).toEqual({ request, got: reply });
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

  test("parsePort, parseFlag and reason: which flag is wrong, what failed, in words", () => {
    expect(parsePort("0")).toBe(0);
    expect(parsePort("65535")).toBe(65535);
    for (const bad of ["65536", "-1", "x", "", "1.5", "80 "])
      expect(() => parsePort(bad)).toThrow(
        `--port must be a whole number from 0 to 65535, not "${bad}"`,
      );
    expect(parseFlag("heavy-ratio", "0.25", 0, 1, false)).toBe(0.25);
    expect(() => parseFlag("count", "0", 1, 10)).toThrow(
      '--count must be a whole number from 1 to 10, not "0"',
    );
    expect(endpoint("::1", 80)).toBe("[::1]:80");
    const failure = (code: string, message: string) => Object.assign(new Error(message), { code });
    expect(reason(failure("ECONNREFUSED", "Failed to connect"))).toBe(
      "connection refused; is the calculator server running there?",
    );
    expect(reason(failure("ENOTFOUND", "getaddrinfo ENOTFOUND x"))).toBe(
      "unknown host: the name does not resolve; check --host",
    );
    expect(reason(failure("EAI_AGAIN", "getaddrinfo EAI_AGAIN x"))).toBe(
      "the name could not be looked up (no DNS server answered); check --host",
    );
    expect(reason(failure("ENETUNREACH", "ENETUNREACH: network is unreachable, send"))).toBe(
      "no route to that network; check --host and your network",
    );
    // A code it has no words for: the error's own message, which then says it all.
    expect(reason(failure("ETIMEDOUT", "no answer within 5 s"))).toBe("no answer within 5 s");
    expect(endpoint("127.0.0.1", 80)).toBe("127.0.0.1:80");
  });
});

describe("LineSplitter: a TCP stream cut into lines", () => {
  test("the same lines however the stream is split into chunks (200 random splits)", () => {
    const random = seeded(7);
    const text = "12 + 30\r\n7 / 2\n\nfactor 12\nlast";
    const bytes = Buffer.from(text);
    for (let round = 0; round < 200; round++) {
      const splitter = new LineSplitter();
      const got: string[] = [];
      for (let start = 0; start < bytes.length;) {
        const end = Math.min(bytes.length, start + 1 + Math.floor(random() * 6));
        const { lines: out, overflow } = splitter.push(bytes.subarray(start, end));
        expect(overflow).toBe(false);
        got.push(...out);
        start = end;
      }
      expect(got).toEqual(["12 + 30", "7 / 2", "", "factor 12"]);
      expect(splitter.rest()).toBe("last");
      expect(splitter.rest()).toBeNull();
    }
  });

  test("a multi-byte character split across chunks comes out whole", () => {
    const splitter = new LineSplitter();
    const bytes = Buffer.from("½ + 1\n");
    expect(splitter.push(bytes.subarray(0, 1)).lines).toEqual([]);
    expect(splitter.push(bytes.subarray(1)).lines).toEqual(["½ + 1"]);
  });

  test("overflow: a complete line over the limit, and an unfinished one", () => {
    expect(new LineSplitter(10).push(Buffer.from("1 + 1\n12345678901\n"))).toEqual({
      lines: ["1 + 1"],
      overflow: true,
    });
    expect(new LineSplitter(10).push(Buffer.from("1234567890\n"))).toEqual({
      lines: ["1234567890"],
      overflow: false,
    });
    const splitter = new LineSplitter(10);
    expect(splitter.push(Buffer.from("123456")).overflow).toBe(false);
    expect(splitter.push(Buffer.from("78901")).overflow).toBe(true);
  });
});

describe("UDP datagrams: ids and the anti-amplification rule", () => {
  test("the reply repeats the id; padding with spaces is allowed", () => {
    expect(answerDatagram(Buffer.from("7 12 + 30"))).toBe("7 OK 42");
    expect(answerDatagram(Buffer.from("abc-_9 6 * 7\n"))).toBe("abc-_9 OK 42");
    expect(answerDatagram(Buffer.from(`8 2 ^ 64${" ".repeat(20)}\n`))).toBe(
      "8 OK 18446744073709551616",
    );
  });

  test("a reply never has more bytes than its request; the shortest error that fits, else none", () => {
    expect(answerDatagram(Buffer.from(`9 2 ^ 64${" ".repeat(30)}`))).toBe(
      "9 OK 18446744073709551616",
    );
    expect(answerDatagram(Buffer.from(`9 2 ^ 64${" ".repeat(16)}`))).toBe("9 ERR reply-too-large");
    expect(answerDatagram(Buffer.from("9 2 ^ 64"))).toBeNull();
    expect(fitReply("9", `OK ${"1".repeat(60)}`, 40)).toBe("9 ERR reply-too-large: needs 65 bytes");
    expect(fitReply("9", `OK ${"1".repeat(60)}`, 65)).toBe(`9 OK ${"1".repeat(60)}`);
    expect(fitReply("9", 'ERR bad-number: "x" is not a number', 16)).toBe("9 ERR bad-number");
    expect(fitReply("9", 'ERR bad-number: "x" is not a number', 5)).toBeNull();
  });

  test("a datagram that is itself a reply gets none: two servers cannot ping-pong for ever", () => {
    for (const reply of ["7 OK 42", "7 ERR unknown-op", "? ERR bad-id", "x9 err busy: later"]) {
      const padded = Buffer.from(reply.padEnd(200));
      expect({ reply, answer: answerDatagram(padded) }).toEqual({ reply, answer: null });
    }
    // A request that only starts with those letters is still a request, and answered.
    expect(answerDatagram(Buffer.from("7 OKAY + 1".padEnd(100)))).toBe(
      '7 ERR bad-number: "OKAY" is not a number',
    );
  });

  test("no id, or a datagram over 1200 bytes, still gets an error that fits", () => {
    const noId = Buffer.from(`!! 1 + 1${" ".repeat(100)}`);
    expect(answerDatagram(noId)).toBe(
      "? ERR bad-id: a UDP request starts with an id (1-20 letters, digits, - or _), e.g. 7 12 + 30",
    );
    const huge = Buffer.from(`5 ${"1".repeat(MAX_DATAGRAM_BYTES)} + 1`);
    expect(answerDatagram(huge)).toBe("5 ERR line-too-long: a UDP request is at most 1200 bytes");
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
      const parsed = parseDatagramReply(reply);
      expect({ reply, parsed: parsed !== null }).toEqual({ reply, parsed: true });
      // Sent back to a server (a forged source can arrange that), a reply starts no loop.
      for (const echo of [reply, reply.padEnd(1500)])
        expect({ echo, answer: answerDatagram(Buffer.from(echo)) }).toEqual({ echo, answer: null });
    }
  });
});

// ---------------------------------------------------------------------------------------
describe("01-tcp-server", () => {
  test("pipelined requests, sent one byte at a time, get their replies in order", async () => {
    const server = track(startTcpServer({ port: 0, log: quiet }));
    await using client = await TcpTestClient.connect(server.port);
    const text = "12 + 30\r\n7 / 0\nabc + 1\n2 ^ 10\n";
    for (const byte of Buffer.from(text)) client.send(Uint8Array.of(byte));
    expect(await replyLines(client, 4)).toEqual([
      "OK 42",
      "ERR division-by-zero: cannot divide by zero",
      'ERR bad-number: "abc" is not a number',
      "OK 1024",
    ]);
  });

  test("random bytes on the wire: one reply per line, and the connection stays open", async () => {
    const server = track(startTcpServer({ port: 0, log: quiet }));
    await using client = await TcpTestClient.connect(server.port);
    const random = seeded(3);
    const garbage = Array.from({ length: 200 }, () =>
      Buffer.from(
        Array.from({ length: Math.floor(random() * 100) }, () => {
          const byte = Math.floor(random() * 256);
          return byte === 10 ? 0 : byte;
        }),
      ),
    );
    client.send(Buffer.concat(garbage.flatMap((line) => [line, Buffer.from("\n")])));
    client.send("6 * 7\n");
    const replies = await replyLines(client, 201);
    expect(replies.length).toBe(201);
    for (const reply of replies) expect(reply).toMatch(REPLY);
    expect(replies[200]).toBe("OK 42");
    expect(client.closed).toBe(false);
  });

  test("a line over 1024 bytes: the replies before it, then ERR line-too-long, then the server closes", async () => {
    const server = track(startTcpServer({ port: 0, log: quiet }));
    await using client = await TcpTestClient.connect(server.port);
    client.send(`1 + 1\n${"9".repeat(MAX_LINE_BYTES + 1)}`);
    await client.whenClosed;
    expect(receivedLines(client)).toEqual([
      "OK 2",
      "ERR line-too-long: a request is at most 1024 bytes; closing the connection",
    ]);
  });

  test("a 1 MiB flood without a newline still reads the reason before the close (no reset)", async () => {
    const server = track(startTcpServer({ port: 0, log: quiet }));
    await using client = await TcpTestClient.connect(server.port);
    client.send(Buffer.alloc(1 << 20, 0x39));
    await client.whenClosed;
    expect(client.text).toBe(
      "ERR line-too-long: a request is at most 1024 bytes; closing the connection\n",
    );
  });

  test("a last request without its newline is answered after the client's FIN", async () => {
    const server = track(startTcpServer({ port: 0, log: quiet }));
    await using client = await TcpTestClient.connect(server.port);
    client.send("1 + 1\n2 + 2");
    client.shutdown();
    await client.whenClosed;
    expect(client.text).toBe("OK 2\nOK 4\n");
  });

  test.each([
    ["01-tcp-server", startTcpServer],
    ["05-concurrent-server", startConcurrentServer],
  ] as const)(
    "%s: a client that sends but does not read is paused (its replies stay bounded), then served in full",
    async (_name, start) => {
      const log = logCollector();
      const server = track(start({ port: 0, log: log.log }));
      // 20,000 requests of 9 bytes ask for 20 MB of replies: more than the kernel's buffers
      // hold, so without backpressure the server would keep most of it in memory.
      const requests = 20_000;
      const reply = `${answer("2 ^ 3321")}\n`;
      const all = Promise.withResolvers<void>();
      let [received, unsent] = [0, Buffer.from("2 ^ 3321\n".repeat(requests))];
      const send = (socket: { write(data: Buffer): number }): void => {
        unsent = unsent.subarray(Math.max(0, socket.write(unsent)));
      };
      const socket = await Bun.connect({
        hostname: "127.0.0.1",
        port: server.port,
        socket: {
          data(_socket, chunk) {
            received += chunk.length;
            if (received >= requests * reply.length) all.resolve();
          },
          drain: send,
          error() {},
        },
      });
      try {
        socket.pause(); // read nothing yet
        send(socket);
        await log.waitFor(/^127\.0\.0\.1:\d+ reads no replies \(\d+ bytes wait\): paused$/);
        socket.resume();
        await all.promise;
        expect(received).toBe(requests * reply.length);
      } finally {
        socket.end();
      }
    },
  );

  test("logs clients coming and going, with their request counts", async () => {
    const log = logCollector();
    const server = track(startTcpServer({ port: 0, log: log.log }));
    {
      await using client = await TcpTestClient.connect(server.port);
      client.send("1 + 1\n2 + 2\n");
      await replyLines(client, 2);
      client.end();
      await log.waitFor(/left after 2 request\(s\)/);
    }
    expect(log.lines[0]).toMatch(/^127\.0\.0\.1:\d+ connected$/);
  });

  test("spawned: listening line, a session as with nc, Ctrl-C stops it with exit 0", async () => {
    await using lesson = startLesson("05-calc/01-tcp-server.ts", ["--port", "0"]);
    const { host, port } = await lesson.listening("tcp");
    expect(host).toBe("127.0.0.1");
    await using client = await TcpTestClient.connect(port);
    client.send("12 * 30\nfactor 360\n");
    expect(await replyLines(client, 2)).toEqual(["OK 360", "OK 2 2 2 3 3 5"]);
    const { code, stderr } = await lesson.stop("SIGINT");
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  });

  test("spawned on IPv6 ::1: the listening line brackets the address; SIGTERM stops it", async () => {
    await using lesson = startLesson("05-calc/01-tcp-server.ts", ["--host", "::1", "--port", "0"]);
    await lesson.waitFor(/listening on \[::1\]:\d+ \(tcp\)/);
    const { port } = await lesson.listening("tcp");
    await using client = await TcpTestClient.connect(port, "::1");
    client.send("1 + 1\n");
    expect(await replyLines(client, 1)).toEqual(["OK 2"]);
    expect((await lesson.stop("SIGTERM")).code).toBe(0);
  });

  test("port in use: one sentence naming the port, exit 1", async () => {
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const result = await runLesson("05-calc/01-tcp-server.ts", ["--port", String(holder.port)]);
      expect(result).toEqual({ code: 1, stdout: "", stderr: inUse(holder.port) });
    } finally {
      holder.stop(true);
    }
  });

  test("an address that is not this machine's (TEST-NET-1): one sentence, exit 1", async () => {
    const result = await runLesson("05-calc/01-tcp-server.ts", [
      "--host",
      "192.0.2.1",
      "--port",
      "0",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^could not listen on 192\.0\.2\.1:0 \(.+\): is --host an address of this machine\?\n$/,
    );
  });

  test.each([
    [["--port", "70000"], '--port must be a whole number from 0 to 65535, not "70000"'],
    [["--port", "http"], '--port must be a whole number from 0 to 65535, not "http"'],
    [["--verbose"], "Unknown option '--verbose'"],
  ])("bad arguments %p: the reason and the usage, exit 2", async (args, reason) => {
    const { code, stdout, stderr } = await runLesson("05-calc/01-tcp-server.ts", args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toStartWith(`${reason}`);
    expect(stderr).toContain("usage: bun run 05-calc/01-tcp-server.ts");
  });
});

// ---------------------------------------------------------------------------------------
describe("02-tcp-client", () => {
  test("calculate(): replies matched to requests in order, reported as they come", async () => {
    const server = track(startTcpServer({ port: 0, log: quiet }));
    const seen: CalcResult[] = [];
    const requests = Array.from({ length: 500 }, (_, i) => `${i} * ${i}`);
    const results = await calculate(["", ...requests, "  "], {
      port: server.port,
      onResult: (result) => seen.push(result),
    });
    expect(results).toEqual(
      requests.map((request, i) => ({ request, ok: true, value: String(i * i) })),
    );
    expect(seen).toEqual(results);
  });

  test("calculate() pipelines: every request is sent before the first reply is read", async () => {
    // A server that answers only once it has all three requests: a client that waited for
    // each reply before sending the next would hang here.
    let buffered = "";
    const listener = track(
      Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        socket: {
          data(socket, chunk) {
            buffered += chunk.toString();
            if (buffered.split("\n").length > 3)
              socket.write(buffered.split("\n").slice(0, 3).map(answer).join("\n") + "\n");
          },
        },
      }),
    );
    const results = await calculate(["1 + 1", "2 + 2", "3 + 3"], { port: listener.port });
    expect(results.map((result) => result.ok && result.value)).toEqual(["2", "4", "6"]);
  });

  test("calculate() rejects when the server closes with requests unanswered", async () => {
    const server = track(startTcpServer({ port: 0, log: quiet }));
    const promise = calculate(["1 + 1", "9".repeat(2000), "2 + 2"], { port: server.port });
    expect(await rejection(promise)).toContain(
      "the server closed the connection with 1 request(s) unanswered",
    );
  });

  test("calculate() rejects a reply that is not one", async () => {
    const listener = track(
      Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        socket: { data: (socket) => void socket.write("hello there\n") },
      }),
    );
    expect(await rejection(calculate(["1 + 1"], { port: listener.port }))).toContain(
      'the server sent something that is not a reply: "hello there"',
    );
  });

  test("describe(): results in words, long requests shortened", () => {
    expect(describeResult({ request: "12 + 30", ok: true, value: "42" })).toBe("12 + 30 = 42");
    expect(
      describeResult({
        request: "1 / 0",
        ok: false,
        code: "division-by-zero",
        message: "cannot divide by zero",
      }),
    ).toBe("1 / 0 -> division-by-zero: cannot divide by zero");
    expect(describeResult({ request: "9".repeat(100), ok: true, value: "1" })).toBe(
      `${"9".repeat(40)}... = 1`,
    );
  });

  test("spawned with no --host/--port: starts a server itself, says so, answers the arguments", async () => {
    const result = await runLesson("05-calc/02-tcp-client.ts", ["2", "^", "100"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^no --host\/--port: started a calculator server in this process on 127\.0\.0\.1:\d+\n2 \^ 100 = 1267650600228229401496703205376\n$/,
    );
  });

  test("spawned: stdin lines to a running server, --json is one document", async () => {
    const server = track(startTcpServer({ port: 0, log: quiet }));
    const result = await runLesson(
      "05-calc/02-tcp-client.ts",
      ["--host", "127.0.0.1", "--port", String(server.port), "--json"],
      {
        input: "12 + 30\n\n7 / 0\nisprime 97\n",
      },
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      server: `127.0.0.1:${server.port}`,
      local: false,
      results: [
        { request: "12 + 30", ok: true, value: "42" },
        { request: "7 / 0", ok: false, code: "division-by-zero", message: "cannot divide by zero" },
        { request: "isprime 97", ok: true, value: "true" },
      ],
    });
  });

  test("spawned: a calculation starting with - is quoted with a space first", async () => {
    const result = await runLesson("05-calc/02-tcp-client.ts", [" -5 + 3"]);
    expect(result.stdout).toContain("-5 + 3 = -2\n");
  });

  test("spawned: refused connection is one sentence, exit 1", async () => {
    const port = closedTcpPort();
    const result = await runLesson("05-calc/02-tcp-client.ts", ["--port", String(port), "1 + 1"]);
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: `could not connect to 127.0.0.1:${port}: connection refused; is the calculator server running there?\n`,
    });
  });

  test("spawned: the server hanging up early is one sentence, exit 1, after the replies it did send", async () => {
    const server = track(startTcpServer({ port: 0, log: quiet }));
    const result = await runLesson("05-calc/02-tcp-client.ts", ["--port", String(server.port)], {
      input: `1 + 1\n${"x".repeat(3000)}\n2 + 2\n`,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toStartWith("1 + 1 = 2\n");
    expect(result.stderr).toMatch(
      /^127\.0\.0\.1:\d+: the server closed the connection with 1 request\(s\) unanswered\n$/,
    );
  });

  test("spawned: -5 + 3 unquoted looks like a flag: one sentence and the usage that says what to do", async () => {
    const result = await runLesson("05-calc/02-tcp-client.ts", ["-5", "+", "3"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith("Unknown option '-5'\n\nusage:");
    expect(result.stderr).toContain('" -5 + 3" with a space first');
  });

  test.skipIf(!python)(
    "calculate(): a server that never accepts is given up after the connect time limit (needs Debian package python3)",
    async () => {
      await using silent = await silentPort();
      const promise = calculate(["1 + 1"], { port: silent.port, connectTimeoutMs: 300 });
      expect(await rejection(promise)).toBe(
        "no answer within 0.3 s; is the host up, and is that its address?",
      );
    },
  );

  test("calculate(): a server that accepts but never answers is given up after the reply time limit", async () => {
    // Half-open: the client's FIN after its last request must not close it. (Bun 1.4.5 closes
    // on FIN anyway unless there is an `end` handler, allowHalfOpen or not.)
    const socket = { data() {}, end() {} };
    const mute = track(Bun.listen({ hostname: "127.0.0.1", port: 0, allowHalfOpen: true, socket }));
    const started = performance.now();
    expect(await rejection(calculate(["1 + 1"], { port: mute.port, replyTimeoutMs: 200 }))).toBe(
      "no reply within 0.2 s; is it a calculator server?",
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  test.skipIf(!privateNetwork)(
    "spawned: every TCP client gives up on an address that never answers, in one sentence (private network)",
    async () => {
      const target = ["--host", "192.0.2.1", "--port", "65432"];
      const options = { argvPrefix: BLACKHOLE };
      const [client, ping, load] = await Promise.all([
        runLesson("05-calc/02-tcp-client.ts", [...target, "1 + 1"], options),
        runLesson("05-calc/07-ping.ts", target, options),
        runLesson("05-calc/08-load.ts", [...target, "--connections", "2"], options),
      ]);
      const why = "no answer within 5 s; is the host up, and is that its address?";
      expect(client).toEqual({
        code: 1,
        stdout: "",
        stderr: `could not connect to 192.0.2.1:65432: ${why}\n`,
      });
      expect(ping).toEqual({
        code: 1,
        stdout: "",
        stderr: `could not reach 192.0.2.1:65432 (tcp): ${why}\n`,
      });
      expect(load).toEqual({
        code: 1,
        stdout: "",
        stderr: `could not load 192.0.2.1:65432: ${why}\n`,
      });
    },
    SLOW_TEST_MS,
  );

  test("spawned: a bad port is exit 2 with the reason and the usage", async () => {
    const result = await runLesson("05-calc/02-tcp-client.ts", ["--port", "99999", "1 + 1"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith(
      '--port must be a whole number from 0 to 65535, not "99999"\n\nusage:',
    );
  });
});

// ---------------------------------------------------------------------------------------
describe("03-udp-server", () => {
  test("answers each datagram to its sender with the id repeated", async () => {
    const server = track(await startUdpServer({ port: 0, log: quiet }));
    expect((await udpRequest(server.port, "7 12 + 30")).toString()).toBe("7 OK 42");
    expect((await udpRequest(server.port, `x9 1 / 0${" ".repeat(40)}\n`)).toString()).toBe(
      "x9 ERR division-by-zero: cannot divide by zero",
    );
  });

  test("a request too short for its reply gets no reply at all: the next request's reply comes first", async () => {
    const server = track(await startUdpServer({ port: 0, log: quiet }));
    // One socket, and the server answers in order: once the reply to 2 is in, a reply to 1
    // would have come before it.
    const replies = await exchange(server.port, ["1 2 ^ 64", "2 1 + 1"], (got) =>
      got.some((reply) => reply.startsWith("2 ")),
    );
    expect(replies[0]).toBe("2 OK 2");
    expect(replies.some((reply) => reply.startsWith("1 "))).toBe(false);
    expect(server.stats.withheld).toBeGreaterThanOrEqual(1);
  });

  test("a padded request gets the big reply; a half-padded one the short error", async () => {
    const server = track(await startUdpServer({ port: 0, log: quiet }));
    expect((await udpRequest(server.port, `3 2 ^ 64${" ".repeat(17)}`)).toString()).toBe(
      "3 OK 18446744073709551616",
    );
    expect((await udpRequest(server.port, `4 2 ^ 64${" ".repeat(40)}`)).toString()).toBe(
      "4 OK 18446744073709551616",
    );
    expect((await udpRequest(server.port, `5 2 ^ 200${" ".repeat(40)}`)).toString()).toBe(
      "5 ERR reply-too-large: needs 66 bytes",
    );
  });

  test("a datagram that is a reply gets no reply, so no loop with another server", async () => {
    const server = track(await startUdpServer({ port: 0, log: quiet }));
    // As above: once the reply to 2 is in, a reply to the first datagram would be in too.
    const replies = await exchange(server.port, ["1 ERR unknown-op".padEnd(60), "2 1 + 1"], (got) =>
      got.some((reply) => reply.startsWith("2 ")),
    );
    expect(replies).toEqual(["2 OK 2"]);
    expect(server.stats.withheld).toBeGreaterThanOrEqual(1);
  });

  test("spawned: listening line (udp), --verbose logs each request, Ctrl-C prints the counts", async () => {
    await using lesson = startLesson("05-calc/03-udp-server.ts", ["--port", "0", "--verbose"]);
    const { port } = await lesson.listening("udp");
    expect((await udpRequest(port, "1 6 * 7")).toString()).toBe("1 OK 42");
    await lesson.waitFor(/127\.0\.0\.1:\d+: "1 6 \* 7" -> 1 OK 42/);
    const { code, stdout } = await lesson.stop("SIGINT");
    expect(code).toBe(0);
    expect(stdout).toMatch(/stopped: \d+ request\(s\), \d+ answered, 0 left unanswered\n$/);
  });

  test("spawned: UDP port in use is one sentence, exit 1", async () => {
    const holder = await Bun.udpSocket({
      hostname: "127.0.0.1",
      socket: { data() {}, error() {} },
    });
    try {
      const result = await runLesson("05-calc/03-udp-server.ts", ["--port", String(holder.port)]);
      expect(result).toEqual({ code: 1, stdout: "", stderr: inUse(holder.port) });
    } finally {
      holder.close();
    }
  });
});

// ---------------------------------------------------------------------------------------
describe("04-udp-client", () => {
  test("calculateUdp(): results in order, each after one attempt", async () => {
    const server = track(await startUdpServer({ port: 0, log: quiet }));
    const { results, ignored } = await calculateUdp(["12 + 30", "", "1 / 0"], {
      port: server.port,
    });
    expect(ignored).toBe(0);
    expect(results).toEqual([
      { request: "12 + 30", attempts: 1, ok: true, value: "42" },
      {
        request: "1 / 0",
        attempts: 1,
        ok: false,
        code: "division-by-zero",
        message: "cannot divide by zero",
      },
    ]);
  });

  test("over IPv6 (::1) too", async () => {
    const server = track(await startUdpServer({ host: "::1", port: 0, log: quiet }));
    const { results } = await calculateUdp(["6 * 7"], { host: "::1", port: server.port });
    expect(results).toEqual([{ request: "6 * 7", attempts: 1, ok: true, value: "42" }]);
  });

  test("a result bigger than the 128-byte padding: told the size, asks again padded to it", async () => {
    const server = track(await startUdpServer({ port: 0, log: quiet }));
    const { results } = await calculateUdp(["2 ^ 3000"], { port: server.port });
    expect(results[0]).toEqual({
      request: "2 ^ 3000",
      attempts: 1,
      ok: true,
      value: (2n ** 3000n).toString(),
    });
  });

  test("the request is lost (proxy drops datagram 1 to the server): resent, answered", async () => {
    const server = track(await startUdpServer({ port: 0, log: quiet }));
    await using proxy = await UdpProxy.start({ port: server.port }, { drop: { "to-server": [1] } });
    const { results } = await calculateUdp(["6 * 7"], { port: proxy.port, timeoutMs: 500 });
    expect(results).toEqual([{ request: "6 * 7", attempts: 2, ok: true, value: "42" }]);
    expect(
      proxy.events.filter((event) => event.direction === "to-server").map((event) => event.action),
    ).toEqual(["dropped", "forwarded"]);
  });

  test("the reply is lost (proxy drops datagram 1 to the client): resent, answered", async () => {
    const server = track(await startUdpServer({ port: 0, log: quiet }));
    await using proxy = await UdpProxy.start({ port: server.port }, { drop: { "to-client": [1] } });
    const { results } = await calculateUdp(["6 * 7"], { port: proxy.port, timeoutMs: 500 });
    expect(results).toEqual([{ request: "6 * 7", attempts: 2, ok: true, value: "42" }]);
  });

  test("a late reply to request 1 arriving while request 2 waits is not taken for its answer", async () => {
    const server = track(await startUdpServer({ port: 0, log: quiet }));
    // Reply 1 is held until the next datagram: the resend of request 1. The client takes the
    // released reply for request 1, moves on, and the duplicate reply to the resend comes in
    // while it waits for request 2's: ignored, by its id.
    await using proxy = await UdpProxy.start({ port: server.port }, { hold: { "to-client": [1] } });
    const { results, ignored } = await calculateUdp(["1 + 1", "40 + 2"], {
      port: proxy.port,
      timeoutMs: 500,
    });
    expect(results.map((result) => result.ok && result.value)).toEqual(["2", "42"]);
    expect(ignored).toBe(1);
    expect(proxy.events.some((event) => event.action === "released")).toBe(true);
  });

  test("reordered requests (proxy holds request 1 behind request 2): the server's ids keep them apart", async () => {
    const server = track(await startUdpServer({ port: 0, log: quiet }));
    await using proxy = await UdpProxy.start({ port: server.port }, { hold: { "to-server": [1] } });
    const replies: string[] = [];
    const { promise, resolve } = Promise.withResolvers<void>();
    const socket = await Bun.udpSocket({
      hostname: "127.0.0.1",
      socket: {
        data(_socket, data) {
          replies.push(data.toString());
          if (replies.length === 2) resolve();
        },
        error() {},
      },
    });
    try {
      socket.send(`a 1 + 1${" ".repeat(10)}`, proxy.port, "127.0.0.1");
      socket.send(`b 2 + 2${" ".repeat(10)}`, proxy.port, "127.0.0.1");
      await promise;
      expect(replies).toEqual(["b OK 4", "a OK 2"]);
      expect(
        proxy.events.map((event) => `${event.direction}#${event.n} ${event.action}`).slice(0, 3),
      ).toEqual(["to-server#1 held", "to-server#2 forwarded", "to-server#1 released"]);
    } finally {
      socket.close();
    }
  });

  test("nothing listening: the kernel's port unreachable ends it at once, in a sentence", async () => {
    const port = await closedUdpPort();
    expect(await rejection(calculateUdp(["1 + 1"], { port, timeoutMs: 10_000 }))).toContain(
      "nothing listens there: the host answered port unreachable",
    );
  });

  test("every datagram lost: gives up after --attempts, in a sentence", async () => {
    const server = track(await startUdpServer({ port: 0, log: quiet }));
    await using proxy = await UdpProxy.start(
      { port: server.port },
      { drop: { "to-server": [1, 2, 3] } },
    );
    expect(
      await rejection(calculateUdp(["1 + 1"], { port: proxy.port, timeoutMs: 100, attempts: 3 })),
    ).toContain("no reply after 3 attempts of 100 ms: is a server there?");
    expect(proxy.count("to-server")).toBe(3);
  });

  test("spawned with no --host/--port: its own server, the answer", async () => {
    const result = await runLesson("05-calc/04-udp-client.ts", ["2 ^ 64"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^no --host\/--port: started a UDP server in this process on 127\.0\.0\.1:\d+\n2 \^ 64 = 18446744073709551616\n$/,
    );
  });

  test("spawned: stdin to a spawned UDP server, --json", async () => {
    await using server = startLesson("05-calc/03-udp-server.ts", ["--port", "0"]);
    const { port } = await server.listening("udp");
    const result = await runLesson(
      "05-calc/04-udp-client.ts",
      ["--host", "127.0.0.1", "--port", String(port), "--json"],
      {
        input: "factor 360\nabc\n",
      },
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      server: `127.0.0.1:${port}`,
      local: false,
      ignored: 0,
      results: [
        { request: "factor 360", attempts: 1, ok: true, value: "2 2 2 3 3 5" },
        {
          request: "abc",
          attempts: 1,
          ok: false,
          code: "unknown-op",
          message: 'unknown operation "abc": use + - * / % ^ or isprime, factor',
        },
      ],
    });
  });

  test.skipIf(!privateNetwork)(
    "spawned: no route to the address is one sentence, exit 1 (private network)",
    async () => {
      const args = ["--host", "192.0.2.1", "--port", "65433", "1 + 1"];
      const result = await runLesson("05-calc/04-udp-client.ts", args, {
        argvPrefix: PRIVATE_NETWORK,
      });
      expect(result).toEqual({
        code: 1,
        stdout: "",
        stderr: "192.0.2.1:65433 (udp): no route to that network; check --host and your network\n",
      });
    },
  );

  test("spawned: nothing on that port is one sentence, exit 1", async () => {
    const port = await closedUdpPort();
    const result = await runLesson("05-calc/04-udp-client.ts", ["--port", String(port), "1 + 1"]);
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: `127.0.0.1:${port} (udp): nothing listens there: the host answered port unreachable\n`,
    });
  });

  test.each([
    [["--attempts", "0"], '--attempts must be a whole number from 1 to 100, not "0"'],
    [["--timeout-ms", "fast"], '--timeout-ms must be a whole number from 1 to 60000, not "fast"'],
  ])("spawned: bad arguments %p, exit 2", async (args, reason) => {
    const result = await runLesson("05-calc/04-udp-client.ts", args);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith(`${reason}\n\nusage:`);
  });
});

// ---------------------------------------------------------------------------------------
describe("05-concurrent-server", () => {
  test("50 clients connected at once, each answered on its own connection", async () => {
    const server = track(startConcurrentServer({ port: 0, log: quiet }));
    const clients = await Promise.all(
      Array.from({ length: 50 }, () => TcpTestClient.connect(server.port)),
    );
    try {
      await Promise.all(
        clients.map((client, i) => (client.send(`${i} * 2\n${i} + 1\n`), replyLines(client, 2))),
      );
      expect(server.clients()).toBe(50);
      clients.forEach((client, i) =>
        expect(receivedLines(client)).toEqual([`OK ${i * 2}`, `OK ${i + 1}`]),
      );
    } finally {
      for (const client of clients) await client[Symbol.asyncDispose]();
    }
  });

  test("a CPU-bound request is logged as a stall of the whole loop", async () => {
    const log = logCollector();
    const server = track(startConcurrentServer({ port: 0, log: log.log, stallMs: 1 }));
    await using client = await TcpTestClient.connect(server.port);
    client.send("isprime 99999999999973\n1 + 1\n");
    expect(await replyLines(client, 2)).toEqual(["OK true", "OK 2"]);
    await log.waitFor(/held the event loop/);
    expect(log.lines.find((line) => line.includes("held"))).toMatch(
      /^"isprime 99999999999973" held the event loop for \d+ ms$/,
    );
  });

  test("replies computed later (promises) still go out in request order", async () => {
    const slow = Promise.withResolvers<string>();
    const asked: string[] = [];
    const seenFast = Promise.withResolvers<void>();
    const server = track(
      startConcurrentServer({
        port: 0,
        log: quiet,
        answer: (line) => {
          asked.push(line);
          if (line === "fast") seenFast.resolve();
          return line === "slow" ? slow.promise : `OK ${line}`;
        },
      }),
    );
    await using client = await TcpTestClient.connect(server.port);
    client.send("slow\nfast\n");
    await seenFast.promise;
    // "fast" is answered, but its reply must wait behind "slow"'s.
    expect(client.text).toBe("");
    slow.resolve("OK slow");
    expect(await replyLines(client, 2)).toEqual(["OK slow", "OK fast"]);
    expect(asked).toEqual(["slow", "fast"]);
  });

  test("over-long line behind a pending reply: that reply, then ERR line-too-long, then the close", async () => {
    const slow = Promise.withResolvers<string>();
    const server = track(
      startConcurrentServer({
        port: 0,
        log: quiet,
        answer: (line) => (line === "slow" ? slow.promise : answer(line)),
      }),
    );
    await using client = await TcpTestClient.connect(server.port);
    client.send(`slow\n1 + 1\n${"x".repeat(2000)}\n`);
    slow.resolve("OK slow");
    await client.whenClosed;
    expect(receivedLines(client)).toEqual([
      "OK slow",
      "OK 2",
      "ERR line-too-long: a request is at most 1024 bytes; closing the connection",
    ]);
  });

  test("spawned: logs each client in and out, the stall, and a summary on SIGTERM", async () => {
    await using lesson = startLesson("05-calc/05-concurrent-server.ts", [
      "--port",
      "0",
      "--stall-ms",
      "1",
    ]);
    const { port } = await lesson.listening("tcp");
    {
      await using client = await TcpTestClient.connect(port);
      client.send("isprime 99999999999973\n");
      expect(await replyLines(client, 1)).toEqual(["OK true"]);
      client.end();
      await lesson.waitFor(/client #1 left after 1 request\(s\); 0 connected/);
    }
    const { code, stdout } = await lesson.stop("SIGTERM");
    expect(code).toBe(0);
    expect(stdout).toMatch(/client #1 \(127\.0\.0\.1:\d+\) connected; 1 connected/);
    expect(stdout).toMatch(/"isprime 99999999999973" held the event loop for \d+ ms/);
    expect(stdout).toContain("stopped: 1 client(s), at most 1 at once, 1 request(s)");
  });

  test("spawned: port in use, exit 1; a bad --stall-ms, exit 2", async () => {
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      expect(
        await runLesson("05-calc/05-concurrent-server.ts", ["--port", String(holder.port)]),
      ).toEqual({
        code: 1,
        stdout: "",
        stderr: inUse(holder.port),
      });
    } finally {
      holder.stop(true);
    }
    const result = await runLesson("05-calc/05-concurrent-server.ts", ["--stall-ms=-5"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith(
      '--stall-ms must be a whole number from 0 to 60000, not "-5"',
    );
  });
});

// ---------------------------------------------------------------------------------------
describe("06-worker-pool", () => {
  test("the pool is sized to the machine, leaving a core to the event loop; --help says so", async () => {
    const cores = availableParallelism();
    expect(defaultWorkers()).toBe(cores > 1 ? cores - 1 : 1);
    const help = await runLesson("05-calc/06-worker-pool.ts", ["--help"]);
    expect(help.stdout).toContain(`(default ${defaultWorkers()}: this machine's cores minus one)`);
  });

  test("close() with requests in flight and queued answers them all and leaves nothing running", async () => {
    // In a process of its own: it must exit by itself, with no worker or timer left behind.
    const script = `
      import { WorkerPool } from ${JSON.stringify(join(ROOT, "05-calc/06-worker-pool.ts"))};
      const pool = new WorkerPool(1, 4, 300);
      await pool.run("isprime 97");
      const [computing, queued] = [pool.run(${JSON.stringify(SLOW)}), pool.run("isprime 97")];
      pool.close();
      console.log(await computing);
      console.log(await queued);`;
    await using child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe" });
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    clearTimeout(timer);
    const stopping = "ERR busy: the server is stopping";
    expect({ code, stdout }).toEqual({ code: 0, stdout: `${stopping}\n${stopping}\n` });
  });

  test("WorkerPool: heavy lines computed on workers", async () => {
    const pool = trackPool(new WorkerPool(2, 8, 10_000));
    const replies = await Promise.all(
      ["isprime 97", "factor 360", "isprime 1000000007", "isprime x"].map((line) => pool.run(line)),
    );
    expect(replies).toEqual([
      "OK true",
      "OK 2 2 2 3 3 5",
      "OK true",
      'ERR bad-number: "x" is not a number',
    ]);
    expect(pool.stats).toEqual({ done: 4, busy: 0, timedOut: 0 });
  });

  test("WorkerPool: a full queue answers ERR busy at once", async () => {
    const pool = trackPool(new WorkerPool(1, 1, 400));
    expect(await pool.run("isprime 97")).toBe("OK true"); // the worker has loaded and is free
    // In one tick: the first goes to the worker, the second waits, the third finds no room.
    const [first, second, third] = [pool.run(SLOW), pool.run(SLOW), pool.run("isprime 97")];
    expect(await third).toBe("ERR busy: 1 heavy requests wait already; try again later");
    expect(await first).toBe("ERR timeout: still computing after 400 ms; stopped");
    expect(await second).toBe("ERR timeout: still computing after 400 ms; stopped");
    expect(pool.stats).toEqual({ done: 1, busy: 1, timedOut: 2 });
  });

  test("WorkerPool: a worker over the time limit is replaced, and the pool goes on", async () => {
    const pool = trackPool(new WorkerPool(1, 4, 400));
    expect(await pool.run(SLOW)).toBe("ERR timeout: still computing after 400 ms; stopped");
    expect(await pool.run("isprime 97")).toBe("OK true");
    expect(pool.stats).toEqual({ done: 1, busy: 0, timedOut: 1 });
  });

  test("the server answers a cheap request while a worker computes a heavy one", async () => {
    const server = track(startPoolServer({ port: 0, log: quiet, workers: 1, timeLimitMs: 20_000 }));
    await using heavy = await TcpTestClient.connect(server.port);
    await using cheap = await TcpTestClient.connect(server.port);
    heavy.send(`${SLOW}\n`);
    cheap.send("1 + 1\n");
    expect(await replyLines(cheap, 1)).toEqual(["OK 2"]);
    expect(heavy.text).toBe(""); // still computing, on another thread
    expect(await replyLines(heavy, 1)).toEqual(["OK true"]);
  });

  test("over TCP: timeouts and ERR busy, each reply in its request's place", async () => {
    const server = track(
      startPoolServer({ port: 0, log: quiet, workers: 1, queue: 1, timeLimitMs: 400 }),
    );
    await using client = await TcpTestClient.connect(server.port);
    client.send("isprime 97\n"); // once answered, the worker has loaded and is free
    expect(await replyLines(client, 1)).toEqual(["OK true"]);
    client.send(`${SLOW}\n${SLOW}\n1 + 1\nfactor 12\n`);
    expect((await replyLines(client, 5)).slice(1)).toEqual([
      "ERR timeout: still computing after 400 ms; stopped",
      "ERR timeout: still computing after 400 ms; stopped",
      "OK 2",
      "ERR busy: 1 heavy requests wait already; try again later",
    ]);
    expect(server.pool.stats.timedOut).toBe(2);
  });

  test("spawned: a heavy request over --time-limit-ms is ERR timeout; SIGINT prints the pool's counts", async () => {
    await using lesson = startLesson("05-calc/06-worker-pool.ts", [
      "--port",
      "0",
      "--workers",
      "1",
      "--time-limit-ms",
      "400",
    ]);
    const { port } = await lesson.listening("tcp");
    await using client = await TcpTestClient.connect(port);
    client.send(`${SLOW}\nfactor 91\n`);
    expect(await replyLines(client, 2)).toEqual([
      "ERR timeout: still computing after 400 ms; stopped",
      "OK 7 13",
    ]);
    const { code, stdout } = await lesson.stop("SIGINT");
    expect(code).toBe(0);
    expect(stdout).toContain("pool: 1 computed, 0 busy, 1 timed out");
  });

  test.each([
    [["--workers", "0"], '--workers must be a whole number from 1 to 256, not "0"'],
    [["--queue=-1"], '--queue must be a whole number from 0 to 100000, not "-1"'],
    [
      ["--time-limit-ms", "0.5"],
      '--time-limit-ms must be a whole number from 1 to 600000, not "0.5"',
    ],
  ])("spawned: bad arguments %p, exit 2", async (args, reason) => {
    const result = await runLesson("05-calc/06-worker-pool.ts", args);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith(`${reason}\n\nusage:`);
  });

  test("spawned: port in use, exit 1 (and its workers do not keep it alive)", async () => {
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const result = await runLesson("05-calc/06-worker-pool.ts", ["--port", String(holder.port)]);
      expect(result).toEqual({ code: 1, stdout: "", stderr: inUse(holder.port) });
    } finally {
      holder.stop(true);
    }
  });
});

// ---------------------------------------------------------------------------------------
describe("07-ping", () => {
  test("ping(): one sample per request, over TCP and UDP", async () => {
    const tcp = track(startTcpServer({ port: 0, log: quiet }));
    const udp = track(await startUdpServer({ port: 0, log: quiet }));
    const overTcp = await Array.fromAsync(ping("6 * 7", { port: tcp.port, count: 3 }));
    const overUdp = await Array.fromAsync(ping("2 ^ 100", { port: udp.port, udp: true, count: 3 }));
    expect(overTcp.map((sample) => sample.reply)).toEqual(["OK 42", "OK 42", "OK 42"]);
    expect(overUdp.map((sample) => sample.reply)).toEqual(
      Array(3).fill("OK 1267650600228229401496703205376"),
    );
    for (const sample of [...overTcp, ...overUdp]) expect(sample.ms).toBeGreaterThan(0);
  });

  test("UDP: a lost request is a lost sample, and the loop goes on", async () => {
    const server = track(await startUdpServer({ port: 0, log: quiet }));
    await using proxy = await UdpProxy.start({ port: server.port }, { drop: { "to-server": [2] } });
    const samples = await Array.fromAsync(
      ping("1 + 1", { port: proxy.port, udp: true, count: 3, timeoutMs: 600 }),
    );
    expect(samples.map((sample) => sample.reply)).toEqual(["OK 2", null, "OK 2"]);
  });

  test("openPeer over UDP: a late reply is not the answer to the next request", async () => {
    const server = track(await startUdpServer({ port: 0, log: quiet }));
    await using proxy = await UdpProxy.start({ port: server.port }, { hold: { "to-client": [1] } });
    const peer = await openPeer("127.0.0.1", proxy.port, { udp: true, timeoutMs: 1000 });
    try {
      expect(await peer.ask("1 + 1")).toBeNull(); // its reply is held...
      expect(await peer.ask("20 + 22")).toBe("OK 42"); // ...and released first here, ignored
      await proxy.until((event) => event.action === "released");
    } finally {
      peer.close();
    }
  });

  test("TCP: a server that never answers ends the loop after one lost sample", async () => {
    const mute = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    const samples = await Array.fromAsync(
      ping("1 + 1", { port: mute.port, count: 5, timeoutMs: 100 }),
    );
    expect(samples.map((sample: Sample) => sample.reply)).toEqual([null]);
  });

  test("spawned with no --host/--port: starts a server, five samples and a summary", async () => {
    const result = await runLesson("05-calc/07-ping.ts", []);
    expect(result.code).toBe(0);
    const out = result.stdout.split("\n");
    expect(out[0]).toMatch(/^no --host\/--port: started a server on 127\.0\.0\.1:\d+ \(tcp\)$/);
    for (const line of out.slice(1, 6)) expect(line).toMatch(/^OK 42 in \d+\.\d\d ms$/);
    expect(out[6]).toMatch(
      /^127\.0\.0\.1:\d+ \(tcp\): 5 sent, 0 lost; min\/avg\/max [\d.]+\/[\d.]+\/[\d.]+ ms$/,
    );
  });

  test("spawned: --udp --json against a spawned server", async () => {
    await using server = startLesson("05-calc/03-udp-server.ts", ["--port", "0"]);
    const { port } = await server.listening("udp");
    const result = await runLesson("05-calc/07-ping.ts", [
      "--udp",
      "--port",
      String(port),
      "--count",
      "2",
      "--json",
      "factor 12",
    ]);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      server: `127.0.0.1:${port} (udp)`,
      request: "factor 12",
      lost: 0,
    });
    expect(report.samples.map((sample: Sample) => sample.reply)).toEqual(["OK 2 2 3", "OK 2 2 3"]);
  });

  test("spawned: refused is one sentence, exit 1; --count 0 is exit 2", async () => {
    const port = closedTcpPort();
    const refused = await runLesson("05-calc/07-ping.ts", ["--port", String(port)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `could not reach 127.0.0.1:${port} (tcp): connection refused; is the calculator server running there?\n`,
    );
    const bad = await runLesson("05-calc/07-ping.ts", ["--count", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toStartWith('--count must be a whole number from 1 to 10000, not "0"');
  });
});

// ---------------------------------------------------------------------------------------
describe("08-load", () => {
  test("percentiles: nearest rank", () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(samples)).toEqual({ count: 100, p50: 50, p90: 90, p99: 99 });
    expect(percentiles([])).toEqual({ count: 0, p50: 0, p90: 0, p99: 0 });
    expect(percentiles([7])).toEqual({ count: 1, p50: 7, p90: 7, p99: 7 });
  });

  test("plan: the same every time, heavy requests exactly at the ratio, cheap ones never ERR", () => {
    const jobs = plan(1000, 0.1, "isprime 97");
    expect(plan(1000, 0.1, "isprime 97")).toEqual(jobs);
    expect(jobs.filter((job) => job.heavy).length).toBe(100);
    expect(plan(50, 0, "isprime 97").some((job) => job.heavy)).toBe(false);
    for (const job of jobs.filter((entry) => !entry.heavy)) expect(job.expected).toStartWith("OK ");
  });

  test("runLoad over TCP: every request answered and checked, cheap and heavy apart", async () => {
    const server = track(startConcurrentServer({ port: 0, log: quiet }));
    const report = await runLoad({
      host: "127.0.0.1",
      port: server.port,
      connections: 8,
      requests: 400,
      heavyRatio: 0.05,
      heavy: "isprime 1000003",
    });
    expect(report).toMatchObject({
      target: `127.0.0.1:${server.port} (tcp)`,
      sent: 400,
      answered: 400,
      errors: 0,
      lost: 0,
    });
    expect([report.cheap.count, report.heavy.count]).toEqual([380, 20]);
    expect(report.rate).toBeGreaterThan(0);
    expect(report.cheap.p50).toBeLessThanOrEqual(report.cheap.p99);
  });

  test("runLoad --pipeline: several requests in flight per connection, every reply matched to its own", async () => {
    const tcp = track(startConcurrentServer({ port: 0, log: quiet }));
    const udp = track(await startUdpServer({ port: 0, log: quiet }));
    for (const [port, overUdp] of [
      [tcp.port, false],
      [udp.port, true],
    ] as const) {
      const report = await runLoad({
        host: "127.0.0.1",
        port,
        udp: overUdp,
        connections: 3,
        pipeline: 8,
        requests: 600,
        heavyRatio: 0,
      });
      // Every cheap request's reply differs: one matched to the wrong request would be an error.
      expect(report).toMatchObject({ sent: 600, answered: 600, errors: 0, lost: 0 });
    }
  });

  test("runLoad counts wrong answers as errors", async () => {
    const liar = track(
      Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        socket: {
          data: (socket, chunk) =>
            void socket.write("OK 0\n".repeat(chunk.toString().split("\n").length - 1)),
        },
      }),
    );
    const report = await runLoad({
      host: "127.0.0.1",
      port: liar.port,
      connections: 2,
      requests: 20,
      heavyRatio: 0,
    });
    expect(report).toMatchObject({ answered: 20, errors: 20, lost: 0 });
  });

  test("runLoad over UDP through a lossy proxy: exactly the dropped datagrams are lost", async () => {
    const server = track(await startUdpServer({ port: 0, log: quiet }));
    await using proxy = await UdpProxy.start(
      { port: server.port },
      { drop: { "to-server": [3, 7], "to-client": [10] } },
    );
    const report = await runLoad({
      host: "127.0.0.1",
      port: proxy.port,
      udp: true,
      connections: 1,
      requests: 30,
      heavyRatio: 0,
      timeoutMs: 500,
    });
    expect(report).toMatchObject({ sent: 30, answered: 27, lost: 3, errors: 0 });
  });

  test("runLoad over UDP: a held (late) reply is lost, and never taken for the next request's", async () => {
    const server = track(await startUdpServer({ port: 0, log: quiet }));
    await using proxy = await UdpProxy.start({ port: server.port }, { hold: { "to-client": [4] } });
    const report = await runLoad({
      host: "127.0.0.1",
      port: proxy.port,
      udp: true,
      connections: 1,
      requests: 12,
      heavyRatio: 0,
      timeoutMs: 500,
    });
    expect(report).toMatchObject({ sent: 12, answered: 11, lost: 1, errors: 0 });
  });

  test("runLoad against a mute TCP server ends: each client loses one request and stops", async () => {
    const mute = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    const report = await runLoad({
      host: "127.0.0.1",
      port: mute.port,
      connections: 3,
      requests: 100,
      timeoutMs: 100,
    });
    expect(report).toMatchObject({ sent: 3, answered: 0, lost: 3 });
  });

  test("spawned with no --host/--port: a small run against its own server, in words", async () => {
    const result = await runLesson("05-calc/08-load.ts", [
      "--requests",
      "60",
      "--connections",
      "3",
      "--heavy-ratio",
      "0.1",
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^no --host\/--port: started a server on 127\.0\.0\.1:\d+\n/);
    expect(result.stdout).toMatch(
      /127\.0\.0\.1:\d+ \(tcp\): 60 of 60 answered in [\d.]+ s, [\d,]+ req\/s; 0 wrong or ERR, 0 lost\n  cheap \(54\): p50 [\d.]+ ms, p90 [\d.]+ ms, p99 [\d.]+ ms\n  heavy \(6\): p50/,
    );
  });

  test("spawned: --udp --json against a spawned UDP server is one JSON document", async () => {
    await using server = startLesson("05-calc/03-udp-server.ts", ["--port", "0"]);
    const { port } = await server.listening("udp");
    const result = await runLesson("05-calc/08-load.ts", [
      "--udp",
      "--port",
      String(port),
      "--requests",
      "50",
      "--heavy-ratio",
      "0",
      "--json",
    ]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      target: `127.0.0.1:${port} (udp)`,
      sent: 50,
      answered: 50,
      lost: 0,
      errors: 0,
    });
  });

  test("spawned: refused is one sentence, exit 1; bad flags exit 2", async () => {
    const port = closedTcpPort();
    const refused = await runLesson("05-calc/08-load.ts", [
      "--port",
      String(port),
      "--requests",
      "5",
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `could not load 127.0.0.1:${port}: connection refused; is the calculator server running there?\n`,
    );
    for (const [args, reason] of [
      [["--heavy-ratio", "2"], '--heavy-ratio must be a number from 0 to 1, not "2"'],
      [["--connections", "0"], '--connections must be a whole number from 1 to 1000, not "0"'],
      [["--pipeline", "0"], '--pipeline must be a whole number from 1 to 1000, not "0"'],
      [["--max-seconds", "x"], '--max-seconds must be a whole number from 1 to 600, not "x"'],
    ] as const) {
      const result = await runLesson("05-calc/08-load.ts", [...args]);
      expect({ code: result.code, reason: result.stderr.split("\n")[0] }).toEqual({
        code: 2,
        reason,
      });
    }
  });
});

// ---------------------------------------------------------------------------------------
describe("09-loop-vs-pool", () => {
  test("spawnServer: a lesson in its own process, its port, its output, stopped", async () => {
    const server = await spawnServer(lessonArgv("./01-tcp-server.ts"));
    try {
      await using client = await TcpTestClient.connect(server.port);
      client.send("1 + 1\n");
      expect(await replyLines(client, 1)).toEqual(["OK 2"]);
      expect(server.output()).toContain(`listening on 127.0.0.1:${server.port} (tcp)`);
    } finally {
      await server.stop();
    }
  });

  test("spawnServer: a server that cannot start is an error with what it said", async () => {
    expect(
      await rejection(spawnServer(lessonArgv("./01-tcp-server.ts", "--port", "99999"))),
    ).toContain("exited before listening");
  });

  test("compare(): the same load on both servers, each in its own process", async () => {
    const results = await compare({ connections: 4, requests: 40, heavyRatio: 0.1 });
    expect(results.map((result) => result.server)).toEqual([
      "single loop (05-concurrent-server.ts)",
      "worker pool (06-worker-pool.ts)",
    ]);
    for (const { report } of results) {
      expect(report).toMatchObject({ sent: 40, answered: 40, errors: 0, lost: 0 });
      expect([report.cheap.count, report.heavy.count]).toEqual([36, 4]);
    }
  });

  test("spawned: both servers in words, then the cheap requests' p99 side by side", async () => {
    const result = await runLesson("05-calc/09-loop-vs-pool.ts", [
      "--requests",
      "40",
      "--connections",
      "4",
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("single loop (05-concurrent-server.ts)\n  127.0.0.1:");
    expect(result.stdout).toContain("worker pool (06-worker-pool.ts)\n  127.0.0.1:");
    expect(result.stdout).toMatch(
      /cheap requests' p99: [\d.]+ ms on the single loop, [\d.]+ ms with the pool\n$/,
    );
  });

  test("spawned: --json is one document; a bad flag is exit 2", async () => {
    const result = await runLesson("05-calc/09-loop-vs-pool.ts", [
      "--requests",
      "20",
      "--connections",
      "2",
      "--json",
    ]);
    expect(JSON.parse(result.stdout)).toHaveLength(2);
    const bad = await runLesson("05-calc/09-loop-vs-pool.ts", ["--requests", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toStartWith('--requests must be a whole number from 1 to 1000000, not "0"');
  });
});
