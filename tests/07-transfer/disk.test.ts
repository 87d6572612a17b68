// 07-transfer/disk.ts: a file into a socket (FileSender), a socket's bytes into a file
// (DiskWriter), a file into a digest (hashFile). Real files, a real full device
// (/dev/full), real loopback sockets with a client that stops reading.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BATCH_BYTES, DiskWriter, FileSender, hashFile } from "../../07-transfer/disk.ts";
import { Outbox } from "../../lib/stream.ts";
import { randomBytes, sha256 } from "../fixtures/transfer-scene.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "transfer-disk-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves once `check()` holds, looking again after each turn of the event loop. */
async function until(check: () => boolean, turns = 100_000): Promise<void> {
  for (let turn = 0; turn < turns && !check(); turn++)
    await new Promise((resolve) => setImmediate(resolve));
  expect(check()).toBe(true);
}

describe("DiskWriter", () => {
  test("writes chunks in order from its position, hashing each; counts what arrived and what is on disk", async () => {
    const path = join(dir, "out.bin");
    writeFileSync(path, "KEEP");
    const fd = openSync(path, "r+");
    const bytes = randomBytes(3 * BATCH_BYTES + 12_345);
    const hasher = new Bun.CryptoHasher("sha256").update("KEEP");
    const writer = new DiskWriter(fd, { position: 4, hasher });
    for (let at = 0; at < bytes.length; at += 100_000) writer.add(bytes.subarray(at, at + 100_000));
    expect(writer.received).toBe(bytes.length);
    await writer.finish();
    closeSync(fd);
    expect(writer.written).toBe(bytes.length);
    const file = readFileSync(path);
    expect(file).toEqual(Buffer.concat([Buffer.from("KEEP"), bytes]));
    expect(hasher.digest("hex")).toBe(sha256(file));
  });

  test("a second megabyte ready before the first is on disk pauses the reader; done, it resumes", async () => {
    const fd = openSync(join(dir, "out.bin"), "w");
    const calls: string[] = [];
    const writer = new DiskWriter(fd, {
      pause: () => calls.push("pause"),
      resume: () => calls.push("resume"),
    });
    // Both in the same turn: the first write cannot have finished before the second batch.
    writer.add(new Uint8Array(BATCH_BYTES));
    writer.add(new Uint8Array(BATCH_BYTES));
    expect(calls).toEqual(["pause"]);
    await writer.finish();
    closeSync(fd);
    expect(calls).toEqual(["pause", "resume"]);
  });

  test("hasher null: nothing is hashed (a raw transfer)", async () => {
    const fd = openSync("/dev/null", "w");
    const writer = new DiskWriter(fd, { hasher: null });
    writer.add(new Uint8Array(10));
    await writer.finish();
    closeSync(fd);
    expect(writer.hasher).toBeNull();
    expect(writer.written).toBe(10);
  });

  test("a full disk (/dev/full): told once, at once, ENOSPC; finish rejects; later bytes are dropped", async () => {
    const fd = openSync("/dev/full", "w");
    const errors: string[] = [];
    const writer = new DiskWriter(fd, { onError: (error) => errors.push(error.code ?? "") });
    writer.add(new Uint8Array(BATCH_BYTES));
    await until(() => errors.length > 0);
    writer.add(new Uint8Array(BATCH_BYTES));
    await expect(writer.finish()).rejects.toThrow();
    closeSync(fd);
    expect(errors).toEqual(["ENOSPC"]);
    expect(writer.failed?.code).toBe("ENOSPC");
    expect(writer.written).toBe(0);
  });
});

describe("hashFile", () => {
  test("the SHA-256 of a whole file, of its first bytes, and continued into a given hasher", async () => {
    const bytes = randomBytes(9 << 20);
    const path = join(dir, "a.bin");
    writeFileSync(path, bytes);
    const fd = openSync(path, "r");
    expect((await hashFile(fd, bytes.length)).digest("hex")).toBe(sha256(bytes));
    expect((await hashFile(fd, 1000)).digest("hex")).toBe(sha256(bytes.subarray(0, 1000)));
    const resumed = await hashFile(fd, 5 << 20);
    resumed.update(bytes.subarray(5 << 20));
    expect(resumed.digest("hex")).toBe(sha256(bytes));
    expect((await hashFile(fd, 0)).digest("hex")).toBe(sha256(""));
    await expect(hashFile(fd, bytes.length + 1)).rejects.toThrow("the file ended after");
    closeSync(fd);
  });
});

describe("FileSender", () => {
  /** A loopback pair: the server side's socket, and everything the client receives. */
  async function pair(): Promise<{
    server: Socket<undefined>;
    client: Socket<undefined>;
    received: Buffer[];
    drained: (() => void)[];
    stop: () => void;
  }> {
    const received: Buffer[] = [];
    const drained: (() => void)[] = [];
    let accepted: (socket: Socket<undefined>) => void = () => {};
    const gotServer = new Promise<Socket<undefined>>((resolve) => {
      accepted = resolve;
    });
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: (socket) => accepted(socket),
        data() {},
        drain: () => {
          for (const call of drained) call();
        },
      },
    });
    const client = await Bun.connect({
      hostname: "127.0.0.1",
      port: listener.port,
      socket: { data: (_socket, chunk) => void received.push(Buffer.from(chunk)) },
    });
    const server = await gotServer;
    return { server, client, received, drained, stop: () => listener.stop(true) };
  }

  test("a client that stops reading: the rest waits in the outbox, the buffer is not refilled, every byte arrives in order", async () => {
    const bytes = randomBytes(24 << 20);
    const path = join(dir, "big.bin");
    writeFileSync(path, bytes);
    const fd = openSync(path, "r");
    const { server, client, received, drained, stop } = await pair();
    client.pause();
    const outbox = new Outbox(server);
    let progress = 0;
    const sender = new FileSender(outbox, fd, 1000, bytes.length, (next) => {
      progress = next;
    });
    drained.push(() => {
      outbox.flush();
      sender.pump();
    });
    sender.pump();
    await until(() => outbox.queuedBytes > 0);
    // Stalled: what was read from disk is at most what the kernel took plus one buffer.
    expect(progress).toBeLessThan(bytes.length);
    client.resume();
    await sender.done;
    await until(
      () => received.reduce((sum, chunk) => sum + chunk.length, 0) >= bytes.length - 1000,
    );
    expect(sha256(Buffer.concat(received))).toBe(sha256(bytes.subarray(1000)));
    closeSync(fd);
    client.terminate();
    stop();
  });

  test("stop() rejects `done` with the reason; a file that shrank is an error", async () => {
    const path = join(dir, "small.bin");
    writeFileSync(path, "12345");
    const fd = openSync(path, "r");
    const { server, client, stop } = await pair();
    const stopped = new FileSender(new Outbox(server), fd, 0, 5);
    stopped.stop(new Error("the client left"));
    await expect(stopped.done).rejects.toThrow("the client left");
    const shrank = new FileSender(new Outbox(server), fd, 0, 10);
    shrank.pump();
    await expect(shrank.done).rejects.toThrow("the file shrank while it was being sent");
    closeSync(fd);
    client.terminate();
    stop();
  });
});
