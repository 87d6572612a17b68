/**
 * @title Escape guard
 * @summary Names that leave the shared folder: lesson 02's path join serves the secret beside it, and openInRoot refuses every one with a reason.
 * @run bun run 07-transfer/04-escape.ts [--json]
 * @python new
 *
 * Lesson 02 joined names to its folder unchecked, as the lab did. This page builds a scratch
 * folder with a secret beside it, links that lead out and a FIFO, then asks for each hostile
 * name twice: with lesson 02's join, which hands out the secret and hangs on the FIFO, and
 * with openInRoot (folder.ts, read it now), which refuses them all and says why. Every
 * later server opens names with openInRoot.
 */
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { symlinkSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { command, flag } from "../lib/cli.ts";
import { openInRoot } from "./folder.ts";
import { printable } from "./protocol.ts";

/** Lesson 02's way: join, open, read. Waits at most `ms`: opening a FIFO never returns. */
export async function naiveGet(root: string, name: string, ms = 300): Promise<string> {
  const path = join(root, name);
  const opening = open(path, "r");
  try {
    const file = await Promise.race([opening, Bun.sleep(ms).then(() => undefined)]);
    if (!file) {
      // Open the FIFO's other end and close it: the waiting open() returns, nothing leaks.
      closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
      await (await opening).close();
      return `no answer after ${ms} ms: open() waits for a writer that never comes`;
    }
    const { buffer, bytesRead } = await file.read(Buffer.alloc(40), 0, 40, 0);
    await file.close();
    return `SERVED ${bytesRead} bytes: ${printable(buffer.toString("latin1", 0, bytesRead))}`;
  } catch (error) {
    return `error ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
}

/** openInRoot's answer: the file it would serve, or its refusal. */
export function guardedGet(root: string, name: string): string {
  try {
    const file = openInRoot(root, name);
    closeSync(file.fd);
    return `served (${file.size} bytes)`;
  } catch (error) {
    return `refused: ${(error as Error).message}`;
  }
}

/**
 * The names a hostile client tries, after one honest name. `/etc/hostname` stays inside by
 * luck: join() glues it on, where resolve() would have jumped to it. On Linux a backslash is
 * an ordinary character; on Windows it is a separator, and `..\` leaves too.
 */
export const NAMES = [
  "hello.txt",
  "../secret.txt",
  "docs/../../secret.txt",
  "link-out",
  "linked-folder/secret.txt",
  "zero",
  "fifo",
  "/etc/hostname",
  "..\\secret.txt",
  "hello.txt\u0000.png",
  "x".repeat(300),
];

/**
 * A scratch folder: `secret.txt` and `outside/secret.txt` beside the shared folder, and in
 * it a file, a link to the secret, a link to the outside folder, one to /dev/zero, a FIFO.
 */
export function makeScratch(): { root: string; remove: () => void } {
  const scratch = mkdtempSync(join(tmpdir(), "escape-"));
  const root = join(scratch, "shared");
  mkdirSync(join(scratch, "outside"));
  mkdirSync(root);
  writeFileSync(join(scratch, "secret.txt"), "the password is swordfish\n");
  writeFileSync(join(scratch, "outside", "secret.txt"), "the other password is 1234\n");
  writeFileSync(join(root, "hello.txt"), "hello\n");
  symlinkSync("../secret.txt", join(root, "link-out"));
  symlinkSync("../outside", join(root, "linked-folder"));
  symlinkSync("/dev/zero", join(root, "zero"));
  Bun.spawnSync(["mkfifo", join(root, "fifo")]);
  return { root, remove: () => rmSync(scratch, { recursive: true, force: true }) };
}

const cli = command(
  "07-transfer/04-escape.ts",
  "Tries hostile names against lesson 02's path join and against openInRoot, in a scratch folder.",
  { json: flag.bool("print one JSON document on stdout instead of sentences") },
);

if (import.meta.main) {
  const { json } = cli.parse();
  const { root, remove } = makeScratch();
  const rows = [];
  for (const name of NAMES)
    rows.push({ name, join: await naiveGet(root, name), openInRoot: guardedGet(root, name) });
  remove();
  const hostile = rows.slice(1);
  const leaks = hostile.filter((row) => row.join.startsWith("SERVED")).length;
  const hung = hostile.filter((row) => row.join.startsWith("no answer")).length;
  const refused = hostile.filter((row) => row.openInRoot.startsWith("refused")).length;
  const naive = `lesson 02's join served ${leaks} and hung on ${hung}`;
  const summary = `of ${hostile.length} hostile names, ${naive}; openInRoot refused ${refused}`;
  if (json) console.log(JSON.stringify({ rows, summary }));
  for (const row of json ? [] : rows)
    console.log(
      `GET ${printable(row.name)}\n  join:        ${row.join}\n  openInRoot:  ${row.openInRoot}`,
    );
  if (!json) console.log(summary);
}
