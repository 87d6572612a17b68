/**
 * The calculator protocol that every lesson of this chapter speaks (README.md shows it
 * with `nc`): one request per line (TCP) or per datagram (UDP, with an id in front),
 * one reply per request, `OK value` or `ERR code: why`. Integers are exact (BigInt);
 * anything with a decimal point or an exponent is a decimal (an IEEE double).
 *
 * `answer(line)` never throws: whatever bytes arrive, exactly one well-formed reply
 * line comes out. That is what lets a server survive every client. Framing the lines,
 * and everything else a server does with its sockets, is the lessons' own business.
 */

/** The servers' default ports (TCP and UDP); `--port 0` asks the system for any free one. */
export const TCP_PORT = 65432;
export const UDP_PORT = 65433;

/** Longest request line, in bytes before its newline. */
export const MAX_LINE_BYTES = 1024;
/** Largest result, in decimal digits: `^` is refused before it would compute more. */
export const MAX_RESULT_DIGITS = 1000;
/** Largest UDP request: above this a datagram risks IP fragmentation. */
export const MAX_DATAGRAM_BYTES = 1200;
/** `isprime` and `factor` take numbers up to 2^53 - 1: trial division stays in exact doubles. */
export const MAX_HEAVY_OPERAND = Number.MAX_SAFE_INTEGER;
/**
 * The largest trial divisor a server with one thread tries (lessons 01 and 03): about a
 * millisecond of work here. Past it, `ERR too-heavy`: `isprime 9007199254740881` would take
 * a second, and every other client would wait that second (lesson 06 shows it).
 */
export const QUICK_DIVISOR = 100_000;

export const BINARY_OPS = ["+", "-", "*", "/", "%", "^"] as const;
export const HEAVY_OPS = ["isprime", "factor"] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];
export type HeavyOp = (typeof HEAVY_OPS)[number];

export type ErrorCode =
  | "bad-request"
  | "bad-number"
  | "unknown-op"
  | "division-by-zero"
  | "too-large"
  | "not-real"
  | "bad-operand"
  | "line-too-long"
  | "too-heavy"
  | "busy"
  | "timeout"
  | "reply-too-large"
  | "bad-id"
  | "internal";

/** An integer operand is a bigint (exact); a decimal one is a number. */
export type Operand = bigint | number;

export type Request =
  | { kind: "binary"; left: Operand; op: BinaryOp; right: Operand }
  | { kind: "heavy"; op: HeavyOp; n: number };

export class CalcError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const ok = (value: string): string => `OK ${value}`;
export const err = (code: ErrorCode, message: string): string => `ERR ${code}: ${message}`;

/** A token quoted for an error message: short, printable ASCII only, so a reply stays one line. */
export function show(token: string): string {
  const cut = token.length > 24 ? `${token.slice(0, 24)}...` : token;
  return `"${cut.replace(/[^\x20-\x7e]/g, "?")}"`;
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const USAGE = "expected NUMBER OP NUMBER separated by spaces, e.g. 12 + 30";
const MAX_RESULT_BITS = BigInt(Math.ceil(MAX_RESULT_DIGITS * Math.log2(10)));
const tooLarge = (): CalcError =>
  new CalcError("too-large", `the result would have more than ${MAX_RESULT_DIGITS} digits`);
const divisionByZero = (): CalcError => new CalcError("division-by-zero", "cannot divide by zero");
const tooHeavy = (op: HeavyOp, maxDivisor: number): CalcError =>
  new CalcError(
    "too-heavy",
    `${op} would try divisors past ${maxDivisor}, too slow for one thread: lesson 07's worker pool takes it`,
  );

export function parseNumber(token: string): Operand {
  if (INTEGER.test(token)) return BigInt(token);
  if (DECIMAL.test(token)) {
    const value = Number(token);
    if (!Number.isFinite(value)) {
      throw new CalcError("too-large", `${show(token)} is beyond the decimal range (1.8e308)`);
    }
    return value;
  }
  throw new CalcError("bad-number", `${show(token)} is not a number`);
}

function parseWhole(token: string, op: HeavyOp): number {
  const value = parseNumber(token);
  if (typeof value !== "bigint" || value < 1n || value > BigInt(MAX_HEAVY_OPERAND)) {
    throw new CalcError("bad-operand", `${op} takes a whole number from 1 to ${MAX_HEAVY_OPERAND}`);
  }
  return Number(value);
}

const isBinaryOp = (token: string): token is BinaryOp =>
  (BINARY_OPS as readonly string[]).includes(token);
const isHeavyOp = (token: string): token is HeavyOp =>
  (HEAVY_OPS as readonly string[]).includes(token);

/** Reads one request line; throws a CalcError that says what is wrong with it. */
export function parseRequest(line: string): Request {
  const text = line.trim();
  if (Buffer.byteLength(text) > MAX_LINE_BYTES) {
    throw new CalcError("line-too-long", `a request is at most ${MAX_LINE_BYTES} bytes`);
  }
  const tokens = text.split(/\s+/).filter((token) => token.length > 0);
  const [first = "", second = "", third = ""] = tokens;
  if (tokens.length === 0) throw new CalcError("bad-request", `empty request: ${USAGE}`);
  const name = first.toLowerCase();
  if (isHeavyOp(name)) {
    if (tokens.length !== 2) {
      throw new CalcError("bad-request", `${name} takes one number, e.g. ${name} 97`);
    }
    return { kind: "heavy", op: name, n: parseWhole(second, name) };
  }
  if (tokens.length > 3) throw new CalcError("bad-request", `too many operands: ${USAGE}`);
  if (tokens.length < 3) {
    if (/^[a-z]+$/i.test(first)) throw unknownOp(first);
    throw new CalcError("bad-request", `missing operand: ${USAGE}`);
  }
  const left = parseNumber(first);
  if (!isBinaryOp(second)) throw unknownOp(second);
  return { kind: "binary", left, op: second, right: parseNumber(third) };
}

const unknownOp = (token: string): CalcError =>
  new CalcError(
    "unknown-op",
    `unknown operation ${show(token)}: use ${BINARY_OPS.join(" ")} or ${HEAVY_OPS.join(", ")}`,
  );

function integer(value: bigint): string {
  const text = value.toString();
  if (text.length - (value < 0n ? 1 : 0) > MAX_RESULT_DIGITS) throw tooLarge();
  return text;
}

function decimal(value: number): string {
  if (Number.isNaN(value)) throw new CalcError("not-real", "the result is not a real number");
  if (!Number.isFinite(value)) throw new CalcError("too-large", "the result is beyond 1.8e308");
  return String(value);
}

const SIGNIFICANT_DIGITS = 20;

/**
 * a / b exactly when it divides evenly, else rounded to 20 places after the point (more
 * when the quotient starts with zeros, so 20 significant digits remain), all in BigInt.
 */
function divide(a: bigint, b: bigint): string {
  if (b === 0n) throw divisionByZero();
  if (a % b === 0n) return integer(a / b);
  const [top, bottom] = [a < 0n ? -a : a, b < 0n ? -b : b];
  const places = SIGNIFICANT_DIGITS + Math.max(0, `${bottom}`.length - `${top}`.length);
  const scale = 10n ** BigInt(places);
  let whole = top / bottom;
  let fraction = ((top % bottom) * scale * 2n + bottom) / (2n * bottom);
  if (fraction === scale) [whole, fraction] = [whole + 1n, 0n];
  if (`${whole}`.length > MAX_RESULT_DIGITS) throw tooLarge();
  const digits = `${fraction}`.padStart(places, "0").replace(/0+$/, "");
  return `${a < 0n !== b < 0n ? "-" : ""}${whole}${digits ? `.${digits}` : ""}`;
}

function power(base: bigint, exponent: bigint): string {
  if (base === 0n) {
    if (exponent < 0n) throw divisionByZero();
    return exponent === 0n ? "1" : "0";
  }
  if (base === 1n) return "1";
  if (base === -1n) return exponent % 2n === 0n ? "1" : "-1";
  if (exponent < 0n) return decimal(Number(base) ** Number(exponent));
  // |base| >= 2^(bits-1), so the result has at least (bits-1)*exponent bits: refuse
  // before computing, or `2 ^ 99999999` would keep the CPU busy and fill the memory.
  const bits = BigInt((base < 0n ? -base : base).toString(2).length);
  if ((bits - 1n) * exponent > MAX_RESULT_BITS) throw tooLarge();
  return integer(base ** exponent);
}

function binary(left: Operand, op: BinaryOp, right: Operand): string {
  if (typeof left === "bigint" && typeof right === "bigint") {
    switch (op) {
      case "+":
        return integer(left + right);
      case "-":
        return integer(left - right);
      case "*":
        return integer(left * right);
      case "/":
        return divide(left, right);
      case "%":
        if (right === 0n) throw divisionByZero();
        return integer(left % right);
      case "^":
        return power(left, right);
    }
  }
  const [x, y] = [Number(left), Number(right)];
  if (!Number.isFinite(x) || !Number.isFinite(y)) {
    throw new CalcError("too-large", "an integer beyond 1.8e308 cannot be mixed with decimals");
  }
  if ((op === "/" || op === "%") && y === 0) throw divisionByZero();
  if (op === "^" && x === 0 && y < 0) throw divisionByZero();
  const result = { "+": x + y, "-": x - y, "*": x * y, "/": x / y, "%": x % y, "^": x ** y }[op];
  return decimal(result);
}

/**
 * Trial division by odd numbers: slow on purpose for big primes (it is the chapter's CPU hog).
 * Past `maxDivisor` it gives up with `ERR too-heavy` rather than go on.
 */
export function isPrime(n: number, maxDivisor = Number.POSITIVE_INFINITY): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let divisor = 3; divisor * divisor <= n; divisor += 2) {
    if (divisor > maxDivisor) throw tooHeavy("isprime", maxDivisor);
    if (n % divisor === 0) return false;
  }
  return true;
}

export function factorize(n: number, maxDivisor = Number.POSITIVE_INFINITY): number[] {
  const factors: number[] = [];
  let rest = n;
  for (let divisor = 2; divisor * divisor <= rest; divisor += divisor === 2 ? 1 : 2) {
    if (divisor > maxDivisor) throw tooHeavy("factor", maxDivisor);
    while (rest % divisor === 0) {
      factors.push(divisor);
      rest /= divisor;
    }
  }
  if (rest > 1 || factors.length === 0) factors.push(rest);
  return factors;
}

/**
 * The value a request computes to (the text after `OK `); throws a CalcError. `maxDivisor`
 * bounds the trial division of `isprime` and `factor` (see QUICK_DIVISOR).
 */
export function evaluate(request: Request, maxDivisor = Number.POSITIVE_INFINITY): string {
  if (request.kind === "binary") return binary(request.left, request.op, request.right);
  if (request.op === "isprime") return String(isPrime(request.n, maxDivisor));
  return factorize(request.n, maxDivisor).join(" ");
}

/** One reply line (without its newline) for any request line. Never throws. */
export function answer(line: string, maxDivisor = Number.POSITIVE_INFINITY): string {
  try {
    return ok(evaluate(parseRequest(line), maxDivisor));
  } catch (error) {
    if (error instanceof CalcError) return err(error.code, error.message);
    return err("internal", "the server failed on this request");
  }
}

/** Whether a line asks for a CPU-heavy operation (isprime, factor): lesson 07 sends those to workers. */
export function isHeavy(line: string): boolean {
  const first = line.trimStart().split(/\s/, 1)[0] ?? "";
  return isHeavyOp(first.toLowerCase());
}

/** What a TCP server answers to a line over MAX_LINE_BYTES, before it closes the connection. */
export const LINE_TOO_LONG = `${err("line-too-long", `a request is at most ${MAX_LINE_BYTES} bytes; closing the connection`)}\n`;

export type Reply = { ok: true; value: string } | { ok: false; code: string; message: string };

/** Reads a reply line as a client would; null when it is not one. */
export function parseReply(line: string): Reply | null {
  const good = /^OK ([!-~]+(?: [!-~]+)*)$/.exec(line);
  if (good?.[1]) return { ok: true, value: good[1] };
  const bad = /^ERR ([a-z-]+)(?:: ([ -~]+))?$/.exec(line);
  if (bad?.[1]) return { ok: false, code: bad[1], message: bad[2] ?? "" };
  return null;
}

// UDP: each datagram is `ID REQUEST`, each reply `ID REPLY`, so a client can tell a
// late reply to an old request from the answer to its current one.

const UDP_ID = /^[A-Za-z0-9_-]{1,20}$/;

/**
 * The reply to send for one datagram, `ID REPLY` and a newline (so that replies do not run
 * together under `nc -u`), or null when none may be sent. Anti-amplification: a reply is
 * never longer than its request, or a request with a forged source address could make this
 * server flood a victim with more bytes than the attacker sent. And a reply is never
 * answered: one forged datagram from calculator A to calculator B would otherwise start an
 * endless ping-pong of `7 ERR unknown-op` between them (a "loop attack").
 */
export function answerDatagram(
  datagram: Uint8Array,
  maxDivisor = Number.POSITIVE_INFINITY,
): string | null {
  // Bun hands datagrams over as Buffers: no copy, and no ArrayBuffer built for each one.
  const bytes = Buffer.isBuffer(datagram)
    ? datagram
    : Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const text = bytes.toString();
  const [, id = "", body = ""] = /^\s*(\S*)([\s\S]*)$/.exec(text) ?? [];
  if (/^\s+(?:OK|ERR)(?:\s|$)/i.test(body)) return null;
  if (!UDP_ID.test(id)) {
    const why = "a UDP request starts with an id (1-20 letters, digits, - or _), e.g. 7 12 + 30";
    return fitReply("?", err("bad-id", why), datagram.byteLength);
  }
  const reply =
    datagram.byteLength > MAX_DATAGRAM_BYTES
      ? err("line-too-long", `a UDP request is at most ${MAX_DATAGRAM_BYTES} bytes`)
      : answer(body, maxDivisor);
  return fitReply(id, reply, datagram.byteLength);
}

/**
 * `ID REPLY\n` if it fits in `limit` bytes, else the shortest error that does (`needs N
 * bytes` tells the client how much to pad), else null.
 */
export function fitReply(id: string, reply: string, limit: number): string | null {
  const full = `${id} ${reply}\n`;
  const size = Buffer.byteLength(full);
  const code = reply.startsWith("OK") ? "reply-too-large" : (reply.split(/[ :]/)[1] ?? "internal");
  const choices = [full, `${id} ERR ${code}\n`];
  if (code === "reply-too-large") choices.splice(1, 0, `${id} ERR ${code}: needs ${size} bytes\n`);
  return choices.find((choice) => Buffer.byteLength(choice) <= limit) ?? null;
}

/** What a client pads its UDP requests to, so that an error reply fits (lesson 05). */
export const PADDED_TO = 128;

/** A request padded with spaces to `size` bytes: the server's reply may be that long. */
export const padded = (text: string, size = PADDED_TO): string =>
  text + " ".repeat(Math.max(0, size - Buffer.byteLength(text)));

/** Reads `ID REPLY`; null when the datagram is not a well-formed reply. */
export function parseDatagramReply(text: string): { id: string; reply: Reply } | null {
  const match = /^(\S+) (.*)$/s.exec(text.replace(/\r?\n$/, ""));
  const reply = match?.[2] === undefined ? null : parseReply(match[2]);
  return match?.[1] && reply ? { id: match[1], reply } : null;
}
