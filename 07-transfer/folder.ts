/**
 * The shared folder a file server serves, and the only ways in and out of it:
 *
 * - `openInRoot` opens a file for GET so that no name leaves the folder (04-escape teaches it).
 * - `Upload` receives a PUT into a temporary file and renames it into place only once its
 *   SHA-256 matches (05-put).
 * - `DigestCache` computes each file version's SHA-256 once, however many GETs ask (06).
 * - `listFolder` and `prepareRoot` list it, and create the default one with samples (02).
 */
import {
  closeSync,
  constants,
  fstatSync,
  fsync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, isAbsolute, join, relative } from "node:path";
import { hashFile } from "./disk.ts";
import { checkName, type Entry, printable, Refused } from "./protocol.ts";

/** The folder the servers share unless `--root` names another: beside the lessons. */
export const DEFAULT_ROOT = join(import.meta.dir, "shared_files");

/** A LIST shows at most this many files (the first ones found). */
export const MAX_LISTED = 1000;

/**
 * The real path of the folder to serve. The default one is created, with a few sample
 * files, when it is missing; a folder named by `--root` must exist.
 */
export function prepareRoot(root: string): string {
  if (root === DEFAULT_ROOT && !statSync(root, { throwIfNoEntry: false })) {
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, "hello.txt"), "Hello from the sockets lab's file server!\n");
    const line = "The quick brown fox jumps over the lazy dog. 0123456789\n";
    writeFileSync(join(root, "lorem.txt"), line.repeat(Math.ceil(65_536 / line.length)));
    writeFileSync(join(root, "random-256KiB.bin"), crypto.getRandomValues(new Uint8Array(262_144)));
  }
  if (!statSync(root, { throwIfNoEntry: false })?.isDirectory())
    throw new Refused(`--root ${root} is not a folder: create it, or leave --root out`);
  return realpathSync(root);
}

/**
 * The regular files under `root` whose names a GET accepts, sorted by name: at most
 * MAX_LISTED of them, and the walk stops there, so a huge folder costs a LIST no more.
 */
export function listFolder(root: string, folder = "", entries: Entry[] = []): Entry[] {
  const here = join(root, folder);
  for (const item of readdirSync(here, { withFileTypes: true })) {
    if (entries.length === MAX_LISTED) break;
    const name = folder ? `${folder}/${item.name}` : item.name;
    // Links are not followed and devices are not files: LIST shows what GET would send.
    if (checkName(name) !== undefined || item.isSymbolicLink()) continue;
    if (item.isDirectory()) listFolder(root, name, entries);
    else if (item.isFile()) {
      const stat = lstatSync(join(here, item.name), { throwIfNoEntry: false });
      if (!stat) continue;
      const modified = `${new Date(stat.mtimeMs).toISOString().slice(0, 19)}Z`;
      entries.push({ name, size: stat.size, modified });
    }
  }
  return folder ? entries : entries.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** A file opened for reading, and the version it is: a key that changes when it does. */
export interface OpenFile {
  fd: number;
  size: number;
  version: string;
}

/**
 * Opens `name` under `root` for reading, or throws Refused with the reason. Each step
 * closes one way out:
 * 1. the name rules (protocol.ts): no "..", no absolute path, no control character, no
 *    backslash, nothing hidden, nothing over-long;
 * 2. the real path (every symbolic link resolved, in the middle or at the end) must still
 *    be inside the root;
 * 3. open with O_NOFOLLOW (a link swapped in after step 2 fails instead of being followed)
 *    and O_NONBLOCK (opening a FIFO would otherwise wait for a writer, forever);
 * 4. fstat the open file, not the name: only a regular file is served, never a folder,
 *    a device or a FIFO.
 * What is left: a folder in the middle swapped for a link between steps 2 and 3. Closing
 * that needs openat2(RESOLVE_BENEATH), which Bun does not offer.
 */
export function openInRoot(root: string, name: string): OpenFile {
  const why = checkName(name);
  if (why) throw new Refused(why);
  const real = realPath(join(root, name), name);
  if (!isInside(root, real))
    throw new Refused(`${printable(name)} leads outside the shared folder (a symbolic link)`);
  let fd: number;
  try {
    fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    throw new Refused(`${printable(name)} cannot be opened (${(error as Error).message})`);
  }
  const stat = fstatSync(fd, { bigint: true });
  if (!stat.isFile()) {
    closeSync(fd);
    const kind = stat.isDirectory() ? "a folder" : stat.isFIFO() ? "a FIFO" : "a device or socket";
    throw new Refused(`${printable(name)} is ${kind}, not a regular file`);
  }
  // ctime cannot be set back by a program (touch -d sets mtime only): with the inode and
  // the size, it tells one version of a file from the next.
  const version = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  return { fd, size: Number(stat.size), version };
}

/** `path` with every link resolved, or Refused saying why it cannot be. */
function realPath(path: string, name: string): string {
  try {
    return realpathSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const shown = printable(name);
    if (code === "ENOENT") throw new Refused(`no such file: ${shown} (LIST shows the files)`);
    if (code === "ENOTDIR") throw new Refused(`no such file: a part of ${shown} is not a folder`);
    if (code === "ELOOP") throw new Refused(`${shown} is a loop of symbolic links`);
    throw new Refused(`${shown} cannot be opened (${code ?? (error as Error).message})`);
  }
}

/** Whether `path` (a real path) is `root` itself or under it. */
function isInside(root: string, path: string, allowRoot = false): boolean {
  const rel = relative(root, path);
  if (rel === "") return allowRoot;
  return rel !== ".." && !rel.startsWith("../") && !isAbsolute(rel);
}

/** Each file version's SHA-256, computed once; at most `max` versions remembered. */
export class DigestCache {
  private readonly digests = new Map<string, Promise<string>>();
  hashed = 0;

  constructor(private readonly max = 1000) {}

  /** The digest of the open file's version: from memory, or hashed now (once, if many ask). */
  of(file: OpenFile): Promise<string> {
    const known = this.digests.get(file.version);
    if (known) return known;
    this.hashed++;
    const hashing = hashFile(file.fd, file.size).then((hasher) => hasher.digest("hex"));
    this.remember(file.version, hashing);
    hashing.catch(() => this.digests.delete(file.version));
    return hashing;
  }

  remember(version: string, digest: string | Promise<string>): void {
    this.digests.set(version, Promise.resolve(digest));
    const oldest = this.digests.keys().next().value;
    if (this.digests.size > this.max && oldest !== undefined) this.digests.delete(oldest);
  }
}

/**
 * A PUT on its way in: a temporary file beside its target, created exclusively (O_EXCL: a
 * file or link already there is an error, never opened), hidden from LIST and GET by its
 * leading dot, renamed into place only once every byte is there and its SHA-256 matches.
 */
export class Upload {
  private done = false;

  private constructor(
    readonly name: string,
    readonly fd: number,
    private readonly temporary: string,
    private readonly target: string,
    private readonly replace: boolean,
  ) {}

  /** Checks the name and its folder, refuses an existing file unless `replace`, opens the temp. */
  static begin(root: string, name: string, replace: boolean): Upload {
    const why = checkName(name);
    if (why) throw new Refused(why);
    const folder = realPath(dirname(join(root, name)), name);
    if (!isInside(root, folder, true))
      throw new Refused(`${printable(name)} leads outside the shared folder (a symbolic link)`);
    const target = join(folder, basename(name));
    const existing = lstatSync(target, { throwIfNoEntry: false });
    if (existing && !existing.isFile())
      throw new Refused(`${printable(name)} exists and is not a regular file`);
    if (existing && !replace)
      throw new Refused(`${printable(name)} exists: add the word replace to overwrite it`);
    const random = Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString("hex");
    const temporary = join(folder, `.upload-${random}`);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    return new Upload(name, openSync(temporary, flags, 0o644), temporary, target, replace);
  }

  /**
   * Puts the file in place if `digest` (of the bytes received) is `expected`; otherwise
   * deletes it and throws Refused. The data reaches the disk (fsync) before the name does,
   * so a crash cannot leave a renamed file with missing bytes. Returns the new version.
   */
  async commit(digest: string, expected: string): Promise<string> {
    if (digest !== expected) {
      this.abort();
      throw new Refused(
        `the bytes received do not match the SHA-256 given (they hash to ${digest}): ` +
          "nothing was stored",
      );
    }
    await new Promise<void>((resolve, reject) =>
      fsync(this.fd, (error) => (error ? reject(error) : resolve())),
    );
    try {
      // link() fails if the name exists, where rename() would replace it: no overwrite
      // unless asked, even when another client stored the same name meanwhile.
      if (this.replace) renameSync(this.temporary, this.target);
      else {
        linkSync(this.temporary, this.target);
        unlinkSync(this.temporary);
      }
    } catch (error) {
      this.abort();
      if ((error as NodeJS.ErrnoException).code === "EEXIST")
        throw new Refused(
          `${printable(this.name)} was stored by someone else meanwhile: nothing was stored`,
        );
      throw error;
    }
    const stat = fstatSync(this.fd, { bigint: true });
    this.done = true;
    closeSync(this.fd);
    return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  }

  /** Gives up: closes and deletes the temporary file. Safe to call more than once. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    closeSync(this.fd);
    try {
      unlinkSync(this.temporary);
    } catch {
      // Already gone: nothing to clean.
    }
  }
}

/** One sentence for an upload whose write failed: ENOSPC is a full disk. */
export function whyNotStored(name: string, error: NodeJS.ErrnoException): string {
  const shown = printable(name);
  if (error.code === "ENOSPC")
    return `the disk is full: ${shown} was not stored, nothing of it is left`;
  if (error.code === "EDQUOT") return `the disk quota is used up: ${shown} was not stored`;
  if (error.code === "EFBIG") return `${shown} is too big for this file system: not stored`;
  return `${shown} was not stored: ${error.code ?? error.message}`;
}
