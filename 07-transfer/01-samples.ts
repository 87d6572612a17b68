/**
 * @title Sample files
 * @summary Make files to practise transfers on: text or random bytes, of the sizes you choose, written a megabyte at a time, with their sizes shown the way the lab's format_bytes showed them.
 * @run bun run 07-transfer/01-samples.ts [--dir PATH] [--sizes 1KiB,1MiB,10MiB] [--kind both|text|random] [--json]
 * @python tcp_sockets_python.py#create_sample_files tcp_sockets_python.py#format_bytes
 *
 * The lab's create_sample_files wrote a few small files into shared_files/. These can be any
 * size, and cost one megabyte of memory however big: each is written a piece at a time. Text
 * can be read with cat; random bytes do not compress, and one wrong byte in a transfer
 * changes their SHA-256 as surely as it does any file's. No network yet: the next lesson
 * serves these files.
 */
import { randomFillSync } from "node:crypto";
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { command, flag, usageError } from "../lib/cli.ts";
import { DEFAULT_ROOT } from "./folder.ts";
import { formatBytes } from "./protocol.ts";

export type Kind = "text" | "random";

const PIECE_BYTES = 1 << 20;
const LINE = "The quick brown fox jumps over the lazy dog. Pack my box with five dozen jugs.\n";

/** Writes `size` bytes of `kind` to `path`, one piece at a time. */
export function writeSample(path: string, kind: Kind, size: number): void {
  const piece = Buffer.alloc(Math.min(PIECE_BYTES, size));
  const fd = openSync(path, "w");
  try {
    for (let written = 0; written < size;) {
      const length = Math.min(piece.length, size - written);
      // Text is one line repeated; each piece goes on where the last stopped in the line.
      const shift = written % LINE.length;
      if (kind === "random") randomFillSync(piece, 0, length);
      else piece.fill(LINE.slice(shift) + LINE.slice(0, shift), 0, length, "latin1");
      written += writeSync(fd, piece, 0, length);
    }
  } finally {
    closeSync(fd);
  }
}

/** One file per size and kind, named like `random-10MiB.bin`; returns what was written. */
export function createSampleFiles(dir: string, sizes: number[], kinds: Kind[]) {
  mkdirSync(dir, { recursive: true });
  const files = [];
  for (const size of sizes) {
    for (const kind of kinds) {
      const name = `${kind}-${sizeLabel(size)}.${kind === "text" ? "txt" : "bin"}`;
      writeSample(join(dir, name), kind, size);
      files.push({ name, bytes: size, shown: formatBytes(size) });
    }
  }
  return files;
}

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1 << 10, m: 1 << 20, g: 1 << 30 };

/** `512`, `1KiB`, `1.5M`, `2GiB` -> bytes (binary units: 1 KiB is 1024 bytes). */
export function parseSize(text: string): number {
  const match = text.trim().match(/^(\d+(?:\.\d+)?)\s*([kmgb]?)(?:i?b)?$/i);
  const unit = UNITS[(match?.[2] ?? "").toLowerCase()];
  if (!match || unit === undefined) throw new Error(`"${text}" is not a size like 1KiB or 10MiB`);
  return Math.round(Number(match[1]) * unit);
}

/** 1048576 -> `1MiB`; a size that is no whole number of units stays in bytes. */
export function sizeLabel(bytes: number): string {
  for (const [unit, size] of [
    ["GiB", 1 << 30],
    ["MiB", 1 << 20],
    ["KiB", 1 << 10],
  ] as const)
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  return `${bytes}B`;
}

const cli = command(
  "07-transfer/01-samples.ts",
  "Writes sample files of the sizes and kinds given, for the file servers to serve.",
  {
    dir: flag.text(
      undefined,
      "folder to write in (default: shared_files/ beside the lesson)",
      "PATH",
    ),
    sizes: flag.text("1KiB,1MiB,10MiB", "sizes, comma-separated: 512, 64KiB, 1.5MiB, 1GiB", "LIST"),
    kind: flag.choice(["both", "text", "random"], "both", "what the files hold"),
    json: flag.bool("print one JSON document on stdout instead of sentences"),
  },
);

if (import.meta.main) {
  const { dir = DEFAULT_ROOT, sizes, kind, json } = cli.parse();
  let bytes: number[] = [];
  try {
    bytes = sizes.split(",").map(parseSize);
  } catch (error) {
    usageError(`--sizes: ${(error as Error).message}`, cli.usage);
  }
  const kinds: Kind[] = kind === "both" ? ["text", "random"] : [kind];
  const files = createSampleFiles(dir, bytes, kinds);
  if (json) console.log(JSON.stringify({ dir, files }));
  else console.log(`wrote ${files.length} files in ${dir}:`);
  for (const file of json ? [] : files) console.log(`  ${file.name.padEnd(24)} ${file.shown}`);
}
