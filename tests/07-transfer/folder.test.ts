// 07-transfer/folder.ts: the shared folder and the only ways in and out of it. Every escape
// is tried on the file system directly (the servers' tests try them over the wire too).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { closeSync, existsSync, readdirSync, readFileSync, readSync, symlinkSync } from "node:fs";
import { utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  DEFAULT_ROOT,
  DigestCache,
  listFolder,
  MAX_LISTED,
  openInRoot,
  prepareRoot,
  Upload,
  whyNotStored,
} from "../../07-transfer/folder.ts";
import { Refused } from "../../07-transfer/protocol.ts";
import {
  escapes,
  fingerprintOutside,
  makeScene,
  type Scene,
  SECRET,
  sha256,
} from "../fixtures/transfer-scene.ts";

let scene: Scene;
beforeEach(() => {
  scene = makeScene(64 * 1024);
});
afterEach(() => scene.remove());

const refusal = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    if (error instanceof Refused) return error.message;
    throw error;
  }
  return "(not refused)";
};

describe("prepareRoot", () => {
  test("gives the real path of an existing folder", () => {
    const link = join(scene.dir, "root-link");
    symlinkSync(scene.root, link);
    expect(prepareRoot(link)).toBe(prepareRoot(scene.root));
  });

  test("a --root that is missing, or a file, is one sentence", () => {
    expect(refusal(() => prepareRoot(join(scene.dir, "nothing")))).toEndWith(
      "is not a folder: create it, or leave --root out",
    );
    expect(refusal(() => prepareRoot(join(scene.root, "hello.txt")))).toContain("is not a folder");
  });

  test("the default folder beside the lessons exists, with sample files, from any working directory", () => {
    expect(prepareRoot(DEFAULT_ROOT)).toEndWith("07-transfer/shared_files");
    expect(readdirSync(DEFAULT_ROOT)).toContain("hello.txt");
  });
});

describe("listFolder", () => {
  test("lists regular files, in subfolders too, with size and time; no links, FIFOs, devices or hidden files", () => {
    writeFileSync(join(scene.root, ".hidden"), "x");
    writeFileSync(join(scene.root, "two words.txt"), "x");
    const entries = listFolder(prepareRoot(scene.root));
    expect(entries.map((entry) => entry.name)).toEqual([
      "empty.txt",
      "hello.txt",
      "random.bin",
      "sub/inner.txt",
    ]);
    expect(entries[1]?.size).toBe(scene.files["hello.txt"]?.length);
    expect(entries[1]?.modified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
});

test("listFolder stops at MAX_LISTED files, however many there are", () => {
  for (let i = 0; i < MAX_LISTED + 50; i++) writeFileSync(join(scene.root, "sub", `f${i}.txt`), "");
  const entries = listFolder(prepareRoot(scene.root));
  expect(entries).toHaveLength(MAX_LISTED);
  expect(entries.map((entry) => entry.name)).toEqual(entries.map((entry) => entry.name).sort());
});

describe("openInRoot", () => {
  test("opens a file, one in a folder, and one through a link that stays inside", () => {
    const root = prepareRoot(scene.root);
    for (const name of ["hello.txt", "sub/inner.txt", "inner-link", "empty.txt"]) {
      const file = openInRoot(root, name);
      const buffer = Buffer.alloc(100);
      const count = readSync(file.fd, buffer, 0, 100, 0);
      closeSync(file.fd);
      const expected = scene.files[name === "inner-link" ? "hello.txt" : name];
      expect(buffer.subarray(0, count)).toEqual(expected ?? Buffer.alloc(0));
      expect(file.size).toBe(expected?.length ?? -1);
    }
  });

  test("refuses every way out with its reason, and never hands out the secret", () => {
    const root = prepareRoot(scene.root);
    for (const [name, reason] of escapes(scene))
      expect({ name, why: refusal(() => openInRoot(root, name)) }).toEqual({
        name,
        why: expect.stringContaining(reason),
      });
  });

  test("a FIFO is refused at once, not waited on", () => {
    const started = performance.now();
    expect(refusal(() => openInRoot(prepareRoot(scene.root), "fifo"))).toContain("FIFO");
    expect(performance.now() - started).toBeLessThan(500);
  });

  test("a name that does not exist is named in the refusal", () => {
    expect(refusal(() => openInRoot(prepareRoot(scene.root), "nothing.txt"))).toBe(
      "no such file: nothing.txt (LIST shows the files)",
    );
    expect(refusal(() => openInRoot(prepareRoot(scene.root), "hello.txt/x"))).toContain(
      "is not a folder",
    );
  });

  test("a file's version changes when its bytes do, even with the same size and mtime", () => {
    const root = prepareRoot(scene.root);
    const path = join(root, "hello.txt");
    const first = openInRoot(root, "hello.txt");
    closeSync(first.fd);
    writeFileSync(path, "HELLO FROM THE SHARED FOLDER\n");
    utimesSync(path, 1_000_000, 1_000_000);
    const second = openInRoot(root, "hello.txt");
    closeSync(second.fd);
    expect(second.size).toBe(first.size);
    expect(second.version).not.toBe(first.version);
  });
});

describe("DigestCache", () => {
  test("hashes each version once, however many ask at once; a new version is hashed again", async () => {
    const root = prepareRoot(scene.root);
    const cache = new DigestCache();
    const opened = [1, 2, 3].map(() => openInRoot(root, "random.bin"));
    const digests = await Promise.all(opened.map((file) => cache.of(file)));
    for (const file of opened) closeSync(file.fd);
    expect(new Set(digests)).toEqual(new Set([sha256(scene.files["random.bin"] ?? "")]));
    expect(cache.hashed).toBe(1);
    writeFileSync(join(root, "random.bin"), "changed\n");
    const changed = openInRoot(root, "random.bin");
    expect(await cache.of(changed)).toBe(sha256("changed\n"));
    closeSync(changed.fd);
    expect(cache.hashed).toBe(2);
  });

  test("keeps at most `max` versions", async () => {
    const cache = new DigestCache(2);
    for (const version of ["a", "b", "c"]) cache.remember(version, version);
    expect(await cache.of({ fd: -1, size: 0, version: "b" })).toBe("b");
    expect(cache.hashed).toBe(0);
    // "a" was forgotten: asked again, it is hashed (an empty file, here).
    expect(await cache.of({ fd: -1, size: 0, version: "a" })).toBe(sha256(""));
    expect(cache.hashed).toBe(1);
  });
});

describe("Upload", () => {
  const hidden = (folder: string) => readdirSync(folder).filter((name) => name.startsWith("."));

  test("a temporary hidden file, renamed into place only on commit, with the digest checked", async () => {
    const root = prepareRoot(scene.root);
    const upload = Upload.begin(root, "sub/new.txt", false);
    expect(hidden(join(root, "sub"))).toHaveLength(1);
    expect(existsSync(join(root, "sub/new.txt"))).toBe(false);
    writeFileSync(upload.fd, "new bytes\n");
    const version = await upload.commit(sha256("new bytes\n"), sha256("new bytes\n"));
    expect(readFileSync(join(root, "sub/new.txt"), "utf8")).toBe("new bytes\n");
    expect(hidden(join(root, "sub"))).toEqual([]);
    const reopened = openInRoot(root, "sub/new.txt");
    closeSync(reopened.fd);
    expect(reopened.version).toBe(version);
  });

  test("a digest that does not match stores nothing and leaves no temporary file", async () => {
    const root = prepareRoot(scene.root);
    const upload = Upload.begin(root, "bad.txt", false);
    writeFileSync(upload.fd, "altered\n");
    await expect(upload.commit(sha256("altered\n"), sha256("original\n"))).rejects.toThrow(
      "the bytes received do not match the SHA-256 given",
    );
    expect(existsSync(join(root, "bad.txt"))).toBe(false);
    expect(hidden(root)).toEqual([]);
  });

  test("an existing name is refused unless replace; with replace it is replaced whole", async () => {
    const root = prepareRoot(scene.root);
    expect(refusal(() => Upload.begin(root, "hello.txt", false))).toBe(
      "hello.txt exists: add the word replace to overwrite it",
    );
    const upload = Upload.begin(root, "hello.txt", true);
    writeFileSync(upload.fd, "replaced\n");
    await upload.commit(sha256("replaced\n"), sha256("replaced\n"));
    expect(readFileSync(join(root, "hello.txt"), "utf8")).toBe("replaced\n");
  });

  test("a name taken by someone else during the upload is not overwritten (link, not rename)", async () => {
    const root = prepareRoot(scene.root);
    const upload = Upload.begin(root, "race.txt", false);
    writeFileSync(upload.fd, "mine\n");
    writeFileSync(join(root, "race.txt"), "theirs\n");
    await expect(upload.commit(sha256("mine\n"), sha256("mine\n"))).rejects.toThrow(
      "was stored by someone else meanwhile",
    );
    expect(readFileSync(join(root, "race.txt"), "utf8")).toBe("theirs\n");
    expect(hidden(root)).toEqual([]);
  });

  test("abort deletes the temporary file, and may be called twice", () => {
    const root = prepareRoot(scene.root);
    const upload = Upload.begin(root, "gone.txt", false);
    upload.abort();
    upload.abort();
    expect(hidden(root)).toEqual([]);
  });

  test("no upload can be placed outside the root, nor over a link, FIFO or folder", () => {
    const root = prepareRoot(scene.root);
    const before = fingerprintOutside(scene.dir, scene.root);
    const cases: [string, string][] = [
      ["../evil.txt", '".." would leave'],
      ["/tmp/evil.txt", "an absolute path"],
      ["linked-folder/evil.txt", "leads outside the shared folder"],
      ["link-out", "exists and is not a regular file"],
      ["fifo", "exists and is not a regular file"],
      ["sub", "exists and is not a regular file"],
      ["missing/evil.txt", "no such file"],
      ["evil\u0000.txt", "control characters"],
    ];
    for (const [name, reason] of cases)
      expect({ name, why: refusal(() => Upload.begin(root, name, true)) }).toEqual({
        name,
        why: expect.stringContaining(reason),
      });
    expect(fingerprintOutside(scene.dir, scene.root)).toEqual(before);
    expect(readFileSync(join(scene.dir, "secret.txt"), "utf8")).toBe(SECRET);
  });

  test("whyNotStored: a full disk, a quota, a file too big, anything else", () => {
    const error = (code: string) => Object.assign(new Error(code), { code });
    expect(whyNotStored("a.bin", error("ENOSPC"))).toBe(
      "the disk is full: a.bin was not stored, nothing of it is left",
    );
    expect(whyNotStored("a.bin", error("EDQUOT"))).toContain("quota");
    expect(whyNotStored("a.bin", error("EFBIG"))).toContain("too big");
    expect(whyNotStored("a.bin", error("EIO"))).toBe("a.bin was not stored: EIO");
  });
});
