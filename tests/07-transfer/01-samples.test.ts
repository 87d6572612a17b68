// Lesson 07-transfer/01-samples: sample files of chosen sizes and kinds, their sizes shown the
// way the lab's format_bytes showed them. In-process, and as a student runs it.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createSampleFiles,
  parseSize,
  sizeLabel,
  writeSample,
} from "../../07-transfer/01-samples.ts";
import { runLesson } from "../helpers.ts";

const LESSON = "07-transfer/01-samples.ts";
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "samples-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("in-process", () => {
  test("parseSize reads bytes and binary units; sizeLabel names them back", () => {
    expect(parseSize("512")).toBe(512);
    expect(parseSize("1KiB")).toBe(1024);
    expect(parseSize("1k")).toBe(1024);
    expect(parseSize("1.5MiB")).toBe(1_572_864);
    expect(parseSize("2G")).toBe(2 ** 31);
    expect(parseSize(" 10 MB ")).toBe(10 * 2 ** 20);
    expect(() => parseSize("ten")).toThrow('"ten" is not a size like 1KiB or 10MiB');
    expect(() => parseSize("1TiB")).toThrow("is not a size");
    expect(sizeLabel(1024)).toBe("1KiB");
    expect(sizeLabel(10 * 2 ** 20)).toBe("10MiB");
    expect(sizeLabel(2 ** 30)).toBe("1GiB");
    expect(sizeLabel(1500)).toBe("1500B");
  });

  test("writeSample: exact sizes; text is whole lines across the megabyte pieces; random is not text", () => {
    writeSample(join(dir, "t.txt"), "text", 3 * 2 ** 20 + 7);
    writeSample(join(dir, "r.bin"), "random", 2 ** 20 + 1);
    writeSample(join(dir, "e.bin"), "random", 0);
    expect(statSync(join(dir, "t.txt")).size).toBe(3 * 2 ** 20 + 7);
    expect(statSync(join(dir, "r.bin")).size).toBe(2 ** 20 + 1);
    expect(statSync(join(dir, "e.bin")).size).toBe(0);
    const lines = readFileSync(join(dir, "t.txt"), "latin1").split("\n");
    expect(new Set(lines.slice(0, -1)).size).toBe(1);
    const random = readFileSync(join(dir, "r.bin"));
    expect(new Set(random).size).toBeGreaterThan(200);
  });

  test("createSampleFiles: one file per size and kind, named by both, sizes shown like format_bytes", () => {
    const files = createSampleFiles(join(dir, "new"), [1024, 1536], ["text", "random"]);
    expect(files).toEqual([
      { name: "text-1KiB.txt", bytes: 1024, shown: "1.0 KiB" },
      { name: "random-1KiB.bin", bytes: 1024, shown: "1.0 KiB" },
      { name: "text-1536B.txt", bytes: 1536, shown: "1.5 KiB" },
      { name: "random-1536B.bin", bytes: 1536, shown: "1.5 KiB" },
    ]);
    expect(readdirSync(join(dir, "new")).sort()).toEqual(files.map((f) => f.name).sort());
  });
});

describe("as a student runs it", () => {
  test("writes the files and lists them with their sizes", async () => {
    const { code, stdout, stderr } = await runLesson(LESSON, [
      "--dir",
      dir,
      "--sizes",
      "1KiB,2MiB",
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toContain(`wrote 4 files in ${dir}:`);
    expect(stdout).toMatch(/random-2MiB\.bin\s+2\.0 MiB/);
    expect(statSync(join(dir, "text-2MiB.txt")).size).toBe(2 ** 21);
  });

  test("--kind random --json prints one JSON document", async () => {
    const { code, stdout } = await runLesson(LESSON, [
      "--dir",
      dir,
      "--sizes",
      "100",
      "--kind",
      "random",
      "--json",
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      dir,
      files: [{ name: "random-100B.bin", bytes: 100, shown: "100 B" }],
    });
  });

  test("a size that is not one: the sentence, the usage, exit 2", async () => {
    const { code, stderr } = await runLesson(LESSON, ["--dir", dir, "--sizes", "1KiB,lots"]);
    expect(code).toBe(2);
    expect(stderr.split("\n")[0]).toBe('--sizes: "lots" is not a size like 1KiB or 10MiB');
    expect(readdirSync(dir)).toEqual([]);
  });
});
