/**
 * The disk side of a transfer, for the servers and the clients alike:
 *
 * - `FileSender`: a file into a socket, through one reusable buffer (02-get-server).
 * - `DiskWriter`: a socket's bytes into a file, a megabyte at a time, off the event loop,
 *   hashed on the way (03-client).
 * - `hashFile`: a file's SHA-256, without stopping the other clients (02-get-server).
 *
 * Why batches: Bun hands every `data` event a fresh chunk of up to 512 KiB, often 128 KiB.
 * A write per chunk is thousands of system calls per GiB; a `writev` of a megabyte of
 * chunks is a few hundred, done on a worker thread while the next megabyte arrives. Only
 * when a second megabyte is ready before the first is on disk does reading pause: memory
 * stays at about two batches, whatever the file's size.
 */
import { read, readSync, writev } from "node:fs";
import type { Outbox } from "../lib/stream.ts";

/** One buffer per file being sent: a read from disk fills it, the socket empties it. */
export const SEND_BUFFER_BYTES = 1 << 20;
/** A sender yields to the other clients after this many buffers in one turn. */
const BUFFERS_PER_TURN = 16;

/** Chunks are written once this many bytes wait. */
export const BATCH_BYTES = 1 << 20;
/** A file is hashed in slices of this size, the event loop free between two. */
const HASH_SLICE_BYTES = 4 << 20;

/**
 * Sends bytes [from, to) of an open file through an Outbox. The Outbox keeps what
 * `write()` did not take, and that rest points into our one buffer: so the buffer is
 * refilled from disk only when the Outbox holds none of it. A client that reads slowly
 * costs one buffer of memory, whatever the file's size. Call `pump()` from `drain`.
 */
export class FileSender {
  /** Resolves once the kernel has taken every byte; rejects on a read error or `stop`. */
  readonly done: Promise<void>;
  private next: number;
  private readonly buffer: Buffer;
  private finished = false;
  private settle: (error?: Error) => void = () => {};

  constructor(
    private readonly outbox: Outbox,
    private readonly fd: number,
    from: number,
    private readonly to: number,
    private readonly onProgress: (next: number) => void = () => {},
  ) {
    this.next = from;
    this.buffer = Buffer.allocUnsafe(Math.max(1, Math.min(SEND_BUFFER_BYTES, to - from)));
    this.done = new Promise((resolve, reject) => {
      this.settle = (error) => {
        this.finished = true;
        if (error) reject(error);
        else resolve();
      };
    });
  }

  /** Sends as much as the socket takes now. */
  pump(): void {
    for (let count = 0; this.outbox.queuedBytes === 0 && !this.finished; count++) {
      if (this.next === this.to) {
        this.settle();
        return;
      }
      // Other clients get a turn every 16 MiB, even while this one reads as fast as we send.
      if (count === BUFFERS_PER_TURN) {
        setImmediate(() => this.pump());
        return;
      }
      let length = 0;
      try {
        length = readSync(
          this.fd,
          this.buffer,
          0,
          Math.min(this.buffer.length, this.to - this.next),
          this.next,
        );
      } catch (error) {
        this.settle(error as Error);
        return;
      }
      if (length === 0) {
        this.settle(new Error("the file shrank while it was being sent"));
        return;
      }
      this.next += length;
      this.outbox.send(this.buffer.subarray(0, length));
      this.outbox.flush();
      this.onProgress(this.next);
    }
  }

  /** Gives up (the peer left): `done` rejects with `why`. */
  stop(why: Error): void {
    if (!this.finished) this.settle(why);
  }
}

export interface DiskWriterOptions {
  /** Where the first byte goes in the file: 0, or the end of a `.part` being resumed. */
  position?: number;
  /** Hash every byte into this hasher (it may hold a resumed file's first part); null: none. */
  hasher?: Bun.CryptoHasher | null;
  /** Stop reading the socket: the disk is behind. */
  pause?: () => void;
  /** Read again: the disk caught up. */
  resume?: () => void;
  /** A write failed (ENOSPC: the disk is full); told once, as soon as it happens. */
  onError?: (error: NodeJS.ErrnoException) => void;
}

/** A socket's bytes to a file, a batch at a time, with backpressure. */
export class DiskWriter {
  /** Bytes handed to `add`, and bytes known to be on disk. */
  received = 0;
  written = 0;
  readonly hasher: Bun.CryptoHasher | null;
  private position: number;
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private writing: Promise<void> | undefined;
  private paused = false;
  private failure: NodeJS.ErrnoException | undefined;

  constructor(
    readonly fd: number,
    private readonly options: DiskWriterOptions = {},
  ) {
    this.position = options.position ?? 0;
    this.hasher = options.hasher === undefined ? new Bun.CryptoHasher("sha256") : options.hasher;
  }

  /** The write error, once one happened; later bytes are dropped. */
  get failed(): NodeJS.ErrnoException | undefined {
    return this.failure;
  }

  /** Takes one chunk. Bun gave it to us fresh, so it is kept as it is, not copied. */
  add(chunk: Uint8Array): void {
    if (this.failure) return;
    this.hasher?.update(chunk);
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    this.received += chunk.length;
    if (this.batchBytes < BATCH_BYTES) return;
    if (!this.writing) this.writeBatch();
    else if (!this.paused) {
      this.paused = true;
      this.options.pause?.();
    }
  }

  /** Writes what is left; resolves once every byte is on disk, rejects with a write error. */
  async finish(): Promise<void> {
    while (this.writing) await this.writing;
    if (!this.failure && this.batchBytes > 0) this.writeBatch();
    while (this.writing) await this.writing;
    if (this.failure) throw this.failure;
  }

  private writeBatch(): void {
    const chunks = this.batch;
    const bytes = this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    this.writing = writeAll(this.fd, chunks, this.position).then(
      () => {
        this.position += bytes;
        this.written += bytes;
        this.writing = undefined;
        if (this.batchBytes >= BATCH_BYTES) this.writeBatch();
        else this.unpause();
      },
      (error: NodeJS.ErrnoException) => {
        this.failure = error;
        this.writing = undefined;
        this.batch = [];
        this.batchBytes = 0;
        this.unpause();
        this.options.onError?.(error);
      },
    );
  }

  private unpause(): void {
    if (!this.paused) return;
    this.paused = false;
    this.options.resume?.();
  }
}

/** `writev` until every byte is written: a short write is retried from where it stopped. */
async function writeAll(fd: number, chunks: Uint8Array[], position: number): Promise<void> {
  let rest = chunks;
  let at = position;
  while (rest.length > 0) {
    const written = await new Promise<number>((resolve, reject) => {
      writev(fd, rest, at, (error, count) => (error ? reject(error) : resolve(count)));
    });
    at += written;
    rest = skip(rest, written);
  }
}

/** The chunks after the first `count` bytes. */
function skip(chunks: Uint8Array[], count: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let left = count;
  for (const chunk of chunks) {
    if (left >= chunk.length) left -= chunk.length;
    else {
      rest.push(chunk.subarray(left));
      left = 0;
    }
  }
  return rest;
}

/**
 * Hashes the first `length` bytes of an open file into `hasher` (a new SHA-256 unless one is
 * given) and returns it. Reads run on a worker thread, 4 MiB at a time, so other clients are
 * served between two slices; a file shorter than `length` is an error.
 */
export async function hashFile(
  fd: number,
  length: number,
  hasher: Bun.CryptoHasher = new Bun.CryptoHasher("sha256"),
): Promise<Bun.CryptoHasher> {
  const buffer = Buffer.allocUnsafe(Math.min(HASH_SLICE_BYTES, Math.max(length, 1)));
  let at = 0;
  while (at < length) {
    const want = Math.min(buffer.length, length - at);
    const count = await new Promise<number>((resolve, reject) => {
      read(fd, buffer, 0, want, at, (error, bytes) => (error ? reject(error) : resolve(bytes)));
    });
    if (count === 0) throw new Error(`the file ended after ${at} of ${length} bytes`);
    hasher.update(buffer.subarray(0, count));
    at += count;
  }
  return hasher;
}
