/**
 * The book's toolbox for TCP streams: what Go's `bufio` and Python's `sendall` give their
 * programmers, and Bun's sockets do not.
 *
 * - `LineReader` cuts a byte stream into lines, with a length limit. Taught in
 *   04-server/03-echo-once: one `data` event is not one message.
 * - `Outbox` keeps what `socket.write()` did not take, sends it on `drain`, stops reading a
 *   client whose replies pile up, and half-closes when done. Taught in
 *   04-server/08-slow-reader: a client that never reads.
 * - `IdleTimer` closes a connection that makes no progress. Taught in
 *   04-server/07-idle-client: a peer that goes quiet, or drips one byte a second.
 *
 * Every lesson after the one that teaches a tool uses it by name from here.
 */
import type { Socket } from "bun";

/** The longest line a reader keeps by default: 64 KiB. */
export const MAX_LINE_BYTES = 64 * 1024;

const NEWLINE = 10;
const CARRIAGE_RETURN = 13;
const EMPTY = Buffer.alloc(0);

/** A line's bytes as UTF-8 text (a broken sequence becomes U+FFFD, never a crash). */
const utf8 = (bytes: Buffer): string => bytes.toString("utf8");

/**
 * Lines out of a byte stream. `push(chunk)` adds one `data` event's bytes and returns the
 * reader itself, so `for (const line of reader.push(chunk))` walks the lines that chunk
 * completed. A line is cut at "\n" (a "\r" just before it goes too), so a UTF-8 character is
 * never split. Leave the loop early (`break`) and the lines not taken wait for the next walk.
 *
 * A line longer than `maxBytes` is never kept: the reader sets `tooLong` and from then on
 * yields nothing, so one peer that never sends "\n" cannot fill the memory.
 *
 * Lines are text by default; pass `(bytes) => bytes` as `decode` to get their bytes.
 */
export class LineReader<Line = string> implements Iterable<Line> {
  /** Set once a line grew past `maxBytes`; the reader yields nothing more. */
  tooLong = false;
  private buffer: Buffer = EMPTY;
  /** Where the next line starts in `buffer`, and where the search for "\n" goes on. */
  private start = 0;
  private searched = 0;

  constructor(
    readonly maxBytes: number = MAX_LINE_BYTES,
    private readonly decode: (bytes: Buffer) => Line = utf8 as (bytes: Buffer) => Line,
  ) {}

  /** Adds the bytes of one read and returns this reader, to walk with `for...of`. */
  push(chunk: Uint8Array): this {
    if (this.tooLong) return this;
    // Bun hands `data` a Buffer already; wrapping it again would cost on every event.
    const bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.start === this.buffer.length) {
      // The usual case: nothing left over. Keep the chunk as it is: Bun gives every
      // `data` event a fresh copy, so nobody else will write into it.
      this.buffer = bytes;
      this.start = 0;
      this.searched = 0;
    } else {
      const rest = this.buffer.subarray(this.start);
      this.buffer = Buffer.concat([rest, bytes]);
      this.searched -= this.start;
      this.start = 0;
    }
    return this;
  }

  /** The complete lines held so far, each taken out of the reader as it is handed over. */
  *[Symbol.iterator](): Iterator<Line> {
    for (let line = this.take(); line !== undefined; line = this.take()) yield line;
  }

  /** The next complete line, taken out of the reader, or undefined when none is whole yet. */
  take(): Line | undefined {
    if (this.tooLong) return undefined;
    const end = this.buffer.indexOf(NEWLINE, this.searched);
    if (end === -1) {
      this.searched = this.buffer.length;
      if (this.buffered > this.maxBytes) this.giveUp();
      return undefined;
    }
    const last = end > this.start && this.buffer[end - 1] === CARRIAGE_RETURN ? end - 1 : end;
    if (last - this.start > this.maxBytes) {
      this.giveUp();
      return undefined;
    }
    const from = this.start;
    this.start = end + 1;
    this.searched = this.start;
    // Text straight from the buffer, without a view of each line first: the hot path of a
    // server that answers many short lines.
    if (this.decode === utf8) return this.buffer.toString("utf8", from, last) as Line;
    return this.decode(this.buffer.subarray(from, last));
  }

  /** Bytes held that are not a complete line yet. */
  get buffered(): number {
    return this.buffer.length - this.start;
  }

  /**
   * At the end of the stream: the last line if the peer closed without a final "\n", or
   * undefined when nothing is left (or the line was too long). Walk the reader first.
   */
  rest(): Line | undefined {
    if (this.tooLong || this.buffered === 0) return undefined;
    const end = this.buffer[this.buffer.length - 1] === CARRIAGE_RETURN ? -1 : undefined;
    const line = this.buffer.subarray(this.start, end);
    this.buffer = EMPTY;
    this.start = 0;
    this.searched = 0;
    return this.decode(line);
  }

  private giveUp(): void {
    this.tooLong = true;
    this.buffer = EMPTY;
    this.start = 0;
    this.searched = 0;
  }
}

/** The part of a Bun socket an Outbox needs (tests pass a fake). */
export type Writable = Pick<
  Socket<unknown>,
  "write" | "pause" | "resume" | "shutdown" | "terminate" | "readyState"
>;

export interface OutboxOptions {
  /** Above this many bytes waiting, stop reading the client until they are sent. */
  highWater?: number;
  /** A client that takes none of our bytes for this long is cut off. */
  stallMs?: number;
  /** After `end()`, how long the peer has to close its side before it is cut off. */
  graceMs?: number;
  /** Told why the outbox gave up on a client (it stopped reading, or it was gone). */
  onGiveUp?: (why: string) => void;
}

/** One reply owed but not ready yet (see `Outbox.reserve`). */
interface Reserved {
  data: string | Uint8Array | undefined;
}

type Entry = string | Uint8Array | Reserved;

/**
 * About the most one write() is handed when many small replies wait. Text is measured in
 * characters, so a batch of non-ASCII text may be a few times that in bytes.
 */
const BATCH_BYTES = 256 * 1024;

/**
 * Bytes on their way to one client. `socket.write()` takes only what fits in the kernel's
 * buffer and returns that count; an Outbox keeps the rest, in order, and writes it when the
 * socket says `drain` (call `flush()` from the `drain` handler). Replies sent in one turn of
 * the event loop leave in one write: a client that sends a hundred requests in one packet
 * gets its hundred replies in one system call, not a hundred.
 *
 * Backpressure: once more than `highWater` bytes wait, it pauses reading from the client
 * (`socket.pause()`), so a client that sends requests and never reads our replies stalls
 * itself, not our memory; it resumes when the queue is back under half of that. `full` tells
 * a server to stop producing replies for now.
 *
 * Two guards come with it. A client that takes nothing for `stallMs` is cut off. And a
 * client that resets the connection while it is paused is noticed: Bun reports no `close`
 * for a paused socket that was reset, so while bytes wait, the outbox tries to write once a
 * second, and a write that fails means the client is gone.
 */
export class Outbox {
  private queue: Entry[] = [];
  private queued = 0;
  private scheduled = false;
  private paused = false;
  private holds = 0;
  private ending = false;
  private halfClosed = false;
  private closed = false;
  private lastProgress = performance.now();
  private watchdog: Timer | undefined;
  readonly highWater: number;
  private readonly stallMs: number;
  private readonly graceMs: number;
  private readonly onGiveUp: (why: string) => void;

  constructor(
    private readonly socket: Writable,
    { highWater = 1 << 20, stallMs = 30_000, graceMs = 5_000, onGiveUp }: OutboxOptions = {},
  ) {
    this.highWater = highWater;
    this.stallMs = stallMs;
    this.graceMs = graceMs;
    this.onGiveUp = onGiveUp ?? (() => {});
  }

  /** Bytes given to `send` that the kernel has not taken yet. */
  get queuedBytes(): number {
    return this.queued;
  }

  /** True above the high-water mark: produce no more replies until `drain`. */
  get full(): boolean {
    return this.queued > this.highWater;
  }

  /** True once `end()` was called. */
  get ended(): boolean {
    return this.ending;
  }

  /** Queues bytes (or text, sent as UTF-8); they are written before the event loop goes on. */
  send(data: string | Uint8Array): void {
    if (this.ending || this.closed) return;
    const last = this.queue.length - 1;
    const tail = this.queue[last];
    // Text after text waiting for the same write is joined at once: one entry, not many.
    if (typeof tail === "string" && typeof data === "string") this.queue[last] = tail + data;
    else this.queue.push(data);
    this.queued += byteLength(data);
    this.soon();
  }

  /**
   * A place in the queue for a reply that is not ready yet (a worker is computing it):
   * bytes sent after it wait behind it, so replies leave in the order of their requests.
   * Call the returned function once, with the reply.
   */
  reserve(): (data: string | Uint8Array) => void {
    const slot: Reserved = { data: undefined };
    this.queue.push(slot);
    return (data) => {
      if (slot.data !== undefined || this.closed) return;
      slot.data = data;
      this.queued += byteLength(data);
      this.soon();
    };
  }

  /** Writes what waits, in order, as far as the kernel takes it. Call it on `drain`. */
  flush(): void {
    this.scheduled = false;
    while (!this.closed) {
      const batch = this.takeBatch();
      if (batch === undefined) break;
      const written = this.socket.write(batch);
      if (written < 0) {
        this.giveUp("the connection is gone");
        return;
      }
      if (written > 0) this.lastProgress = performance.now();
      // The batch's size in bytes: everything queued when it emptied the queue (the usual
      // case, and no second pass over the text), else counted.
      const length = this.queue.length === 0 ? this.queued : byteLength(batch);
      this.queued -= written;
      if (written < length) {
        // The kernel's buffer is full: keep the rest at the head and wait for `drain`.
        const bytes = typeof batch === "string" ? Buffer.from(batch) : batch;
        this.queue.unshift(bytes.subarray(written));
        this.watch();
        break;
      }
    }
    this.checkPause();
    if (this.ending && this.queue.length === 0) this.halfClose();
  }

  /**
   * Keep the client's input paused (while its requests wait for a worker, say), whatever
   * the queue holds; `release()` undoes one `hold()`.
   */
  hold(): void {
    this.holds++;
    this.checkPause();
  }

  release(): void {
    this.holds--;
    this.checkPause();
  }

  /**
   * Nothing more to send: once the queue is empty, send FIN but keep reading. Closing with
   * unread input would make the kernel send a reset, which can destroy our last reply before
   * the client reads it. The connection closes when the client closes its side (Bun then
   * calls `close`), or `graceMs` after our FIN. Replies still being computed (`reserve`) go
   * out first: the FIN, and the grace period, wait for them.
   */
  end(): void {
    if (this.ending) return;
    this.ending = true;
    this.flush();
  }

  /** Takes the ready entries at the head of the queue, joined up to about BATCH_BYTES. */
  private takeBatch(): string | Uint8Array | undefined {
    const parts: (string | Uint8Array)[] = [];
    let size = 0;
    let allText = true;
    while (this.queue.length > 0 && size < BATCH_BYTES) {
      const head = this.queue[0] as Entry;
      const data = typeof head === "object" && !(head instanceof Uint8Array) ? head.data : head;
      // A reply still being computed holds back everything behind it.
      if (data === undefined) break;
      this.queue.shift();
      parts.push(data);
      // Characters for text: a cheap measure, and a batch is large enough either way.
      size += data.length;
      allText &&= typeof data === "string";
    }
    if (parts.length <= 1) return parts[0];
    if (allText) return parts.join("");
    return Buffer.concat(
      parts.map((part) => (typeof part === "string" ? Buffer.from(part) : part)),
    );
  }

  private soon(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  private checkPause(): void {
    if (this.closed) return;
    const shouldPause = this.holds > 0 || this.queued > this.highWater;
    const mayResume = this.holds === 0 && this.queued <= this.highWater / 2;
    if (shouldPause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (this.paused && mayResume) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** While bytes wait: once a second, write again, and give up on a client that takes none. */
  private watch(): void {
    if (this.watchdog) return;
    this.watchdog = setInterval(() => {
      if (this.closed || this.socket.readyState !== 1 || this.queued === 0) {
        clearInterval(this.watchdog);
        this.watchdog = undefined;
        return;
      }
      this.flush();
      const stalled = performance.now() - this.lastProgress;
      if (this.queued > 0 && stalled > this.stallMs)
        this.giveUp(`it read nothing for ${Math.round(stalled / 1000)} s`);
    }, 1_000);
    this.watchdog.unref();
  }

  private halfClose(): void {
    if (this.halfClosed || this.socket.readyState !== 1) return;
    this.halfClosed = true;
    this.socket.shutdown();
    // Infinity: no limit (a client that closes when it has read everything, say).
    if (Number.isFinite(this.graceMs)) setTimeout(() => this.terminate(), this.graceMs).unref();
  }

  private terminate(): void {
    if (this.socket.readyState !== -1) this.socket.terminate();
  }

  private giveUp(why: string): void {
    this.closed = true;
    this.queue = [];
    this.queued = 0;
    clearInterval(this.watchdog);
    this.watchdog = undefined;
    this.onGiveUp(why);
    this.terminate();
  }
}

const byteLength = (data: string | Uint8Array): number =>
  typeof data === "string" ? Buffer.byteLength(data) : data.length;

/**
 * Calls `onIdle` once when `touch()` has not been called for `ms`. Touch it when the peer
 * makes progress (a complete line, a finished request), not on every byte: a client that
 * drips one byte a second is as idle as one that sends nothing.
 */
export class IdleTimer {
  private last = performance.now();
  private timer: Timer | undefined;

  constructor(
    readonly ms: number,
    private readonly onIdle: () => void,
  ) {
    this.arm(ms);
  }

  /** The peer did something worth waiting for: the clock starts again. */
  touch(): void {
    this.last = performance.now();
  }

  /** The connection is over: no more calls. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  // One timer per connection, moved only when it fires: touching is a single assignment,
  // cheap enough for every line of a busy client.
  private arm(delay: number): void {
    this.timer = setTimeout(() => {
      const quiet = performance.now() - this.last;
      if (quiet >= this.ms) {
        this.timer = undefined;
        this.onIdle();
      } else this.arm(this.ms - quiet);
    }, delay);
    this.timer.unref();
  }
}
