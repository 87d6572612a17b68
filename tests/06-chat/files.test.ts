// 06-chat/files.ts: the client's side of lesson 09's files. A download kept under its name
// only when it is the file announced (size and SHA-256), never overwriting, never through a
// link; a file to send, read and hashed in chunks; and Transfers, which runs both over a
// connection (here a fake one; the real one is in 11-chat-client.test.ts).
import { afterEach, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChatConnection } from "../../06-chat/connection.ts";
import { Download, Outgoing, Transfers } from "../../06-chat/files.ts";
import { CHUNK_BYTES, parseClientLine } from "../../06-chat/protocol.ts";

const folders: string[] = [];
const folder = (): string => {
  const made = mkdtempSync(join(tmpdir(), "chat-files-"));
  folders.push(made);
  return made;
};
afterEach(() => {
  for (const made of folders.splice(0)) rmSync(made, { recursive: true, force: true });
});
const sha256 = (bytes: Uint8Array | string): string =>
  new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

describe("Download", () => {
  test("kept under its name when size and SHA-256 match, with nothing else left behind", () => {
    const dir = folder();
    const bytes = crypto.getRandomValues(new Uint8Array(70_000));
    const download = new Download(dir, 7, "noise.bin", bytes.length, sha256(bytes));
    expect(download.add(bytes.subarray(0, 40_000))).toBe(true);
    expect(download.add(bytes.subarray(40_000))).toBe(true);
    expect(download.finish()).toEqual({ saved: true, path: join(dir, "noise.bin") });
    expect(readFileSync(join(dir, "noise.bin")).equals(Buffer.from(bytes))).toBe(true);
    expect(readdirSync(dir)).toEqual(["noise.bin"]);
  });

  test("bytes changed on the way: not saved under its name, and the part is gone", () => {
    const dir = folder();
    const download = new Download(dir, 8, "a.txt", 3, sha256("abc"));
    download.add(Buffer.from("abX"));
    expect(download.finish()).toEqual({
      saved: false,
      why: `its SHA-256 is ${sha256("abX")}, not ${sha256("abc")}`,
    });
    expect(readdirSync(dir)).toEqual([]);
  });

  test("too few bytes, or too many: not saved", () => {
    const dir = folder();
    const short = new Download(dir, 1, "s.txt", 3, sha256("abc"));
    short.add(Buffer.from("ab"));
    expect(short.finish()).toEqual({ saved: false, why: "2 of 3 bytes arrived" });
    const long = new Download(dir, 2, "l.txt", 2, sha256("ab"));
    expect(long.add(Buffer.from("abc"))).toBe(false);
    long.abort();
    expect(readdirSync(dir)).toEqual([]);
  });

  test("an existing file is never overwritten: the new one gets -1, -2...", () => {
    const dir = folder();
    writeFileSync(join(dir, "notes.txt"), "mine");
    for (const id of [1, 2]) {
      const download = new Download(dir, id, "notes.txt", 2, sha256("hi"));
      download.add(Buffer.from("hi"));
      download.finish();
    }
    expect(readdirSync(dir).sort()).toEqual(["notes-1.txt", "notes-2.txt", "notes.txt"]);
    expect(readFileSync(join(dir, "notes.txt"), "utf8")).toBe("mine");
  });

  test("a link planted where the download is written is not followed", () => {
    const dir = folder();
    const victim = join(folder(), "victim.txt");
    writeFileSync(victim, "precious");
    symlinkSync(victim, join(dir, ".x.txt.5.part"));
    symlinkSync(victim, join(dir, "x.txt"));
    const download = new Download(dir, 5, "x.txt", 4, sha256("evil"));
    download.add(Buffer.from("evil"));
    expect(download.finish().saved).toBe(true);
    expect(readFileSync(victim, "utf8")).toBe("precious");
  });

  test("the folder is created if need be", () => {
    const dir = join(folder(), "new", "deeper");
    const download = new Download(dir, 1, "a", 0, sha256(""));
    expect(download.finish()).toEqual({ saved: true, path: join(dir, "a") });
  });
});

describe("Outgoing", () => {
  test("a safe name, the size and SHA-256, then chunks of CHUNK_BYTES that make the file", async () => {
    const dir = folder();
    const bytes = crypto.getRandomValues(new Uint8Array(CHUNK_BYTES * 2 + 5));
    const path = join(dir, "my report.bin");
    writeFileSync(path, bytes);
    const file = await Outgoing.open(path);
    expect([file.name, file.size, file.sha256]).toEqual([
      "my_report.bin",
      bytes.length,
      sha256(bytes),
    ]);
    const chunks: Buffer[] = [];
    for (let chunk = file.next(); chunk; chunk = file.next()) chunks.push(Buffer.from(chunk));
    expect(chunks.map((chunk) => chunk.length)).toEqual([CHUNK_BYTES, CHUNK_BYTES, 5]);
    expect(Buffer.concat(chunks).equals(Buffer.from(bytes))).toBe(true);
    file.close();
    file.close();
  });

  test("a missing file, or a folder, is one sentence", async () => {
    const dir = folder();
    await expect(Outgoing.open(join(dir, "nope"))).rejects.toThrow(
      `cannot read ${join(dir, "nope")} (ENOENT)`,
    );
    mkdirSync(join(dir, "sub"));
    await expect(Outgoing.open(join(dir, "sub"))).rejects.toThrow(
      `${join(dir, "sub")} is not a file`,
    );
  });
});

/** A stand-in for a ChatConnection: what was sent, and what was acknowledged. */
function fakeConnection() {
  const sent: string[] = [];
  const acked: number[] = [];
  const connection = {
    closed: false,
    outbox: { queuedBytes: 0 },
    send: (text: string) => void sent.push(text),
    ack: (id: number) => void acked.push(id),
  };
  return { connection: connection as unknown as ChatConnection, sent, acked };
}

describe("Transfers", () => {
  test("receives a file: saved and acknowledged; a wrong one is reported and not acknowledged", () => {
    const dir = folder();
    const shown: string[] = [];
    const transfers = new Transfers(dir, (line) => shown.push(line));
    const { connection, acked } = fakeConnection();
    const good = Buffer.from("good bytes");
    transfers.receive(connection, {
      kind: "file",
      id: 1,
      from: "alice",
      name: "g.txt",
      size: good.length,
      sha256: sha256(good),
    });
    transfers.receive(connection, { kind: "data", id: 1, bytes: good });
    transfers.receive(connection, { kind: "end", id: 1 });
    transfers.receive(connection, {
      kind: "file",
      id: 2,
      from: "alice",
      name: "b.txt",
      size: 3,
      sha256: sha256("abc"),
    });
    transfers.receive(connection, { kind: "data", id: 2, bytes: Buffer.from("abX") });
    transfers.receive(connection, { kind: "end", id: 2 });
    expect(acked).toEqual([1]);
    expect(existsSync(join(dir, "b.txt"))).toBe(false);
    expect(shown).toEqual([
      "* receiving g.txt (10 bytes) from alice",
      `* saved ${join(dir, "g.txt")} (10 bytes, SHA-256 checked)`,
      "* receiving b.txt (3 bytes) from alice",
      `! b.txt was not saved: its SHA-256 is ${sha256("abX")}, not ${sha256("abc")}`,
    ]);
  });

  test("sends a file: /file, then its chunks only after the server's go-ahead, then done", async () => {
    const dir = folder();
    const bytes = crypto.getRandomValues(new Uint8Array(CHUNK_BYTES + 10));
    writeFileSync(join(dir, "up.bin"), bytes);
    const shown: string[] = [];
    const transfers = new Transfers(dir, (line) => shown.push(line));
    const { connection, sent } = fakeConnection();
    await transfers.offer(connection, "bob", join(dir, "up.bin"));
    expect(sent).toEqual([`/file bob up.bin ${bytes.length} ${sha256(bytes)}\n`]);
    await transfers.offer(connection, "bob", join(dir, "up.bin"));
    expect(shown.at(-1)).toBe("! one file at a time: the last one is still on its way");
    transfers.answer(connection, {
      kind: "ok",
      text: `file up.bin: send ${bytes.length} bytes in /data lines`,
    });
    const chunks = sent.slice(1).map((line) => parseClientLine(line.trimEnd()));
    expect(chunks.map((chunk) => chunk.kind)).toEqual(["data", "data"]);
    const back = Buffer.concat(
      chunks.map((chunk) => (chunk.kind === "data" ? chunk.bytes : Buffer.alloc(0))),
    );
    expect(back.equals(Buffer.from(bytes))).toBe(true);
    transfers.answer(connection, { kind: "ok", text: "file up.bin: sent to bob" });
    await transfers.offer(connection, "bob", join(dir, "up.bin"));
    expect(sent.at(-1)).toStartWith("/file bob up.bin");
  });

  test("a refused offer (ERR file) frees the way for the next; a dropped connection says what was cut", async () => {
    const dir = folder();
    writeFileSync(join(dir, "f"), "x");
    const shown: string[] = [];
    const transfers = new Transfers(dir, (line) => shown.push(line));
    const { connection, sent } = fakeConnection();
    await transfers.offer(connection, "nobody", join(dir, "f"));
    transfers.answer(connection, { kind: "err", code: "file", text: "nobody is called nobody" });
    await transfers.offer(connection, "bob", join(dir, "f"));
    expect(sent.filter((line) => line.startsWith("/file"))).toHaveLength(2);
    transfers.drop();
    expect(shown.at(-1)).toBe("! sending f was cut off: send it again");
  });
});
