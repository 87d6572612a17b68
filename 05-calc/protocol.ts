/**
 * The calculator protocol that every lesson of this chapter speaks (README.md shows it
 * with `nc`): one request per line (TCP) or per datagram (UDP, with an id in front),
 * one reply per request, `OK value` or `ERR code: why`. Integers are exact (BigInt);
 * anything with a decimal point or an exponent is a decimal (an IEEE double).
 *
 * `answer(line)` never throws: whatever bytes arrive, exactly one well-formed reply
 * line comes out. That is what lets a server survive every client.
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

/** Trial division by odd numbers: slow on purpose for big primes (it is the chapter's CPU hog). */
export function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let divisor = 3; divisor * divisor <= n; divisor += 2) {
    if (n % divisor === 0) return false;
  }
  return true;
}

export function factorize(n: number): number[] {
  const factors: number[] = [];
  let rest = n;
  for (let divisor = 2; divisor * divisor <= rest; divisor += divisor === 2 ? 1 : 2) {
    while (rest % divisor === 0) {
      factors.push(divisor);
      rest /= divisor;
    }
  }
  if (rest > 1 || factors.length === 0) factors.push(rest);
  return factors;
}

/** The value a request computes to (the text after `OK `); throws a CalcError. */
export function evaluate(request: Request): string {
  if (request.kind === "binary") return binary(request.left, request.op, request.right);
  return request.op === "isprime" ? String(isPrime(request.n)) : factorize(request.n).join(" ");
}

/** One reply line (without its newline) for any request line. Never throws. */
export function answer(line: string): string {
  try {
    return ok(evaluate(parseRequest(line)));
  } catch (error) {
    if (error instanceof CalcError) return err(error.code, error.message);
    return err("internal", "the server failed on this request");
  }
}

/** Whether a line asks for a CPU-heavy operation (isprime, factor): lesson 06 sends those to workers. */
export function isHeavy(line: string): boolean {
  const first = line.trimStart().split(/\s/, 1)[0] ?? "";
  return isHeavyOp(first.toLowerCase());
}

export type Reply = { ok: true; value: string } | { ok: false; code: string; message: string };

/** Reads a reply line as a client would; null when it is not one. */
export function parseReply(line: string): Reply | null {
  const good = /^OK ([!-~]+(?: [!-~]+)*)$/.exec(line);
  if (good?.[1]) return { ok: true, value: good[1] };
  const bad = /^ERR ([a-z-]+)(?:: ([ -~]+))?$/.exec(line);
  if (bad?.[1]) return { ok: false, code: bad[1], message: bad[2] ?? "" };
  return null;
}

const NOTHING = Buffer.alloc(0);

/**
 * The bytes as a Buffer, without a copy. Bun hands socket data over as Buffers already;
 * wrapping one again through `.buffer` would make the engine build an ArrayBuffer object
 * for every chunk, a cost that shows in a server's requests per second.
 */
const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * Cuts a TCP byte stream into lines: a `data` event is any slice of the stream, never
 * "one request". `overflow` turns true once a line is longer than `limit` bytes.
 */
export class LineSplitter {
  private pending: Buffer = NOTHING;

  constructor(private readonly limit: number = MAX_LINE_BYTES) {}

  push(chunk: Uint8Array): { lines: string[]; overflow: boolean } {
    const bytes = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : asBuffer(chunk);
    const lines: string[] = [];
    let start = 0;
    for (let end = bytes.indexOf(10); end !== -1; end = bytes.indexOf(10, start)) {
      if (end - start > this.limit) return { lines, overflow: true };
      const last = end > start && bytes[end - 1] === 13 ? end - 1 : end;
      lines.push(bytes.toString("utf8", start, last));
      start = end + 1;
    }
    // Copy the unfinished line, if any: the chunk's memory is not ours to keep.
    this.pending = start === bytes.length ? NOTHING : Buffer.from(bytes.subarray(start));
    return { lines, overflow: this.pending.length > this.limit };
  }

  /** The unfinished last line, when the peer closed without a final newline. */
  rest(): string | null {
    const text = this.pending.toString("utf8").replace(/\r$/, "");
    this.pending = NOTHING;
    return text.length > 0 ? text : null;
  }
}

/**
 * Writes `text` after `unsent` (bytes an earlier write left over) and returns what is left
 * now, to keep for the `drain` event: write() takes only what the kernel has room for. With
 * nothing left from before, the text goes as it is and only a rest is copied: that is the
 * usual case, and a busy server's most frequent call.
 */
export function writeSome(socket: Writable, unsent: Buffer, text: string): Buffer {
  if (unsent.length === 0) {
    const written = Math.max(0, socket.write(text)); // -1: the socket is closed
    return written < Buffer.byteLength(text) ? Buffer.from(text).subarray(written) : NOTHING;
  }
  const bytes = text ? Buffer.concat([unsent, Buffer.from(text)]) : unsent;
  return bytes.subarray(Math.max(0, socket.write(bytes)));
}
type Writable = { write(data: string | Buffer): number };

// UDP: each datagram is `ID REQUEST`, each reply `ID REPLY`, so a client can tell a
// late reply to an old request from the answer to its current one.

const UDP_ID = /^[A-Za-z0-9_-]{1,20}$/;

/**
 * The reply to send for one datagram, or null when none may be sent. Anti-amplification: a
 * reply is never longer than its request, or a request with a forged source address could
 * make this server flood a victim with more bytes than the attacker sent. And a reply is
 * never answered: one forged datagram from calculator A to calculator B would otherwise
 * start an endless ping-pong of `7 ERR unknown-op` between them (a "loop attack").
 */
export function answerDatagram(datagram: Uint8Array): string | null {
  const text = asBuffer(datagram).toString();
  const [, id = "", body = ""] = /^\s*(\S*)([\s\S]*)$/.exec(text) ?? [];
  if (/^\s+(?:OK|ERR)(?:\s|$)/i.test(body)) return null;
  if (!UDP_ID.test(id)) {
    const why = "a UDP request starts with an id (1-20 letters, digits, - or _), e.g. 7 12 + 30";
    return fitReply("?", err("bad-id", why), datagram.byteLength);
  }
  const reply =
    datagram.byteLength > MAX_DATAGRAM_BYTES
      ? err("line-too-long", `a UDP request is at most ${MAX_DATAGRAM_BYTES} bytes`)
      : answer(body);
  return fitReply(id, reply, datagram.byteLength);
}

/** `ID REPLY` if it fits in `limit` bytes, else the shortest error that does, else null. */
export function fitReply(id: string, reply: string, limit: number): string | null {
  const full = `${id} ${reply}`;
  const size = Buffer.byteLength(full);
  const code = reply.startsWith("OK") ? "reply-too-large" : (reply.split(/[ :]/)[1] ?? "internal");
  const choices = [full, `${id} ERR ${code}`];
  if (code === "reply-too-large") choices.splice(1, 0, `${id} ERR ${code}: needs ${size} bytes`);
  return choices.find((choice) => Buffer.byteLength(choice) <= limit) ?? null;
}

/** Reads `ID REPLY`; null when the datagram is not a well-formed reply. */
export function parseDatagramReply(text: string): { id: string; reply: Reply } | null {
  const match = /^(\S+) (.*)$/s.exec(text.replace(/\r?\n$/, ""));
  const reply = match?.[2] === undefined ? null : parseReply(match[2]);
  return match?.[1] && reply ? { id: match[1], reply } : null;
}
