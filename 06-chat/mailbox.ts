/**
 * The chat's storage, in one SQLite file (bun:sqlite): the accounts, and every private
 * message and file on its way to someone. Taught in 06-chat/02-accounts (accounts),
 * 04-offline (store, deliver, acknowledge) and 05-files (a file in chunks).
 *
 * Store first, deliver second: a private message is written here before the sender hears
 * `OK`, and it stays until its recipient acknowledges it (`/ack ID`), not merely until it was
 * written to a socket. So a server killed at any moment loses nothing it said OK to, and a
 * client that drops before acknowledging gets the message again at its next login.
 *
 * The journal is a write-ahead log (WAL) with synchronous=NORMAL: a commit reaches the
 * operating system before `run()` returns, so it survives a killed process (not a power
 * cut, which would need synchronous=FULL, about 7 times slower per commit here).
 */
import { Database, type Statement } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IncomingFile, nickKey } from "./protocol.ts";

/** One thing waiting for its recipient: a message, or a file in `chunks` pieces. */
export interface StoredItem {
  id: number;
  kind: "msg" | "file";
  sender: string;
  /** The message, or the file's name. */
  body: string;
  size: number;
  sha256: string;
  chunks: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (
  key TEXT PRIMARY KEY, nick TEXT NOT NULL, hash TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS items (
  id INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT NOT NULL, sender TEXT NOT NULL,
  kind TEXT NOT NULL, body TEXT NOT NULL, size INTEGER NOT NULL DEFAULT 0,
  sha256 TEXT NOT NULL DEFAULT '', chunks INTEGER NOT NULL DEFAULT 0,
  complete INTEGER NOT NULL DEFAULT 1, created INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS items_by_recipient ON items (recipient, id);
CREATE TABLE IF NOT EXISTS chunks (
  item INTEGER NOT NULL, seq INTEGER NOT NULL, bytes BLOB NOT NULL,
  PRIMARY KEY (item, seq)) WITHOUT ROWID;
`;

/** The file a server keeps in its data folder. */
export const DATABASE_FILE = "chat.sqlite";

/** Where a chat server keeps its data unless told (`--data`): the system's temporary folder. */
export const DATA_FOLDER = join(tmpdir(), "sockets-lab-chat");

export class Mailbox {
  readonly db: Database;
  private readonly statements: Record<string, Statement>;

  /** Opens (or creates) `path`; `:memory:` keeps everything in memory, for one run. */
  constructor(path: string) {
    this.db = new Database(path, { create: true, strict: true });
    this.db.run("PRAGMA journal_mode = WAL");
    this.db.run("PRAGMA synchronous = NORMAL");
    // Two servers on one folder (a test, a student's second terminal) wait for each other.
    this.db.run("PRAGMA busy_timeout = 5000");
    this.db.run(SCHEMA);
    // An upload cut off by a crash is not worth keeping: its sender never heard OK.
    this.db.run("DELETE FROM chunks WHERE item IN (SELECT id FROM items WHERE complete = 0)");
    this.db.run("DELETE FROM items WHERE complete = 0");
    const prepare = (sql: string): Statement => this.db.prepare(sql);
    this.statements = {
      account: prepare("SELECT nick, hash FROM accounts WHERE key = ?"),
      addAccount: prepare(
        "INSERT OR IGNORE INTO accounts (key, nick, hash, created) VALUES (?, ?, ?, ?)",
      ),
      store: prepare(
        "INSERT INTO items (recipient, sender, kind, body, size, sha256, chunks, complete, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      pending: prepare(
        "SELECT id, kind, sender, body, size, sha256, chunks FROM items WHERE recipient = ? AND id > ? AND complete = 1 ORDER BY id LIMIT ?",
      ),
      chunk: prepare("SELECT bytes FROM chunks WHERE item = ? AND seq = ?"),
      addChunk: prepare("INSERT INTO chunks (item, seq, bytes) VALUES (?, ?, ?)"),
      finish: prepare("UPDATE items SET chunks = ?, complete = 1 WHERE id = ?"),
      owned: prepare("SELECT id FROM items WHERE id = ? AND recipient = ?"),
      drop: prepare("DELETE FROM items WHERE id = ?"),
      dropChunks: prepare("DELETE FROM chunks WHERE item = ?"),
      count: prepare(
        "SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM items WHERE recipient = ?",
      ),
    };
  }

  /**
   * The mailbox of a server's data folder, created if need be. Throws an error whose
   * message is the sentence to print if the folder cannot be used.
   */
  static inFolder(folder: string): Mailbox {
    try {
      mkdirSync(folder, { recursive: true });
      return new Mailbox(join(folder, DATABASE_FILE));
    } catch (error) {
      const why = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new Error(`cannot keep the chat's data in ${folder} (${why}): give another --data`);
    }
  }

  /** The account of a nick (any case), or undefined. */
  account(nick: string): { nick: string; hash: string } | undefined {
    const row = this.statements.account?.get(nickKey(nick));
    return (row ?? undefined) as { nick: string; hash: string } | undefined;
  }

  /** Creates an account; false if the nick was taken meanwhile (two first logins at once). */
  addAccount(nick: string, hash: string): boolean {
    const result = this.statements.addAccount?.run(nickKey(nick), nick, hash, Date.now());
    return (result?.changes ?? 0) === 1;
  }

  /** Keeps a message for `to` (a nick with an account); returns its id once it is on disk. */
  storeMessage(to: string, from: string, text: string): number {
    return this.insert(to, from, "msg", text, 0, "", 0, 1);
  }

  /** Starts a file for `to`: its chunks come with `upload.add()`. */
  upload(to: string, from: string, name: string, size: number, sha256: string): Upload {
    const id = this.insert(to, from, "file", name, size, sha256, 0, 0);
    return new Upload(this, id, to, name, size, sha256);
  }

  /** What waits for `to` after id `after`, oldest first, at most `limit` of them. */
  pending(to: string, after: number, limit = 100): StoredItem[] {
    return this.statements.pending?.all(nickKey(to), after, limit) as StoredItem[];
  }

  /** Piece `seq` of file `id`. */
  chunk(id: number, seq: number): Uint8Array | undefined {
    const row = this.statements.chunk?.get(id, seq) as { bytes: Uint8Array } | null;
    return row?.bytes;
  }

  /**
   * `to` has these items: forget them, in one transaction. Ids that are not `to`'s (or are
   * gone already) are left alone and returned, so the server can say so.
   */
  ack(to: string, ids: number[]): number[] {
    const key = nickKey(to);
    const unknown: number[] = [];
    this.db.transaction(() => {
      for (const id of ids) {
        if (this.statements.owned?.get(id, key)) this.remove(id);
        else unknown.push(id);
      }
    })();
    return unknown;
  }

  /** How many items and bytes wait for `to`. */
  waiting(to: string): { items: number; bytes: number } {
    const row = this.statements.count?.get(nickKey(to)) as { n: number; bytes: number };
    return { items: row.n, bytes: row.bytes };
  }

  close(): void {
    this.db.close();
  }

  /** @internal used by Upload */
  addChunk(id: number, seq: number, bytes: Uint8Array): void {
    this.statements.addChunk?.run(id, seq, bytes);
  }

  /** @internal used by Upload */
  finish(id: number, chunks: number): void {
    this.statements.finish?.run(chunks, id);
  }

  /** Deletes an item and its chunks. */
  remove(id: number): void {
    this.statements.dropChunks?.run(id);
    this.statements.drop?.run(id);
  }

  private insert(
    to: string,
    from: string,
    kind: "msg" | "file",
    body: string,
    size: number,
    sha256: string,
    chunks: number,
    complete: number,
  ): number {
    const args = [nickKey(to), from, kind, body, size, sha256, chunks, complete, Date.now()];
    const result = this.statements.store?.run(...args);
    return Number(result?.lastInsertRowid ?? 0);
  }
}

/**
 * A file on its way into the mailbox: each chunk is written as it arrives (so a big file
 * never sits in memory) and hashed; at the end it is kept only if its size and SHA-256 are
 * the ones announced. Until then its recipient cannot see it.
 */
export class Upload {
  private readonly file: IncomingFile;
  private chunks = 0;
  /** The file is stored and complete (`done`), or gone (`dropped`). */
  state: "open" | "done" | "dropped" = "open";

  constructor(
    private readonly mailbox: Mailbox,
    readonly id: number,
    /** The recipient, and the file's name. */
    readonly to: string,
    readonly name: string,
    size: number,
    sha256: string,
  ) {
    this.file = new IncomingFile(size, sha256);
  }

  get received(): number {
    return this.file.received;
  }

  /**
   * Adds a chunk. `more`: keep sending; `done`: complete and verified; `mismatch`: complete
   * but not the announced SHA-256 (dropped); `too-much`: past the announced size (dropped).
   */
  add(bytes: Uint8Array): "more" | "done" | "mismatch" | "too-much" {
    if (!this.file.add(bytes)) {
      this.drop();
      return "too-much";
    }
    this.mailbox.addChunk(this.id, this.chunks, bytes);
    this.chunks++;
    if (!this.file.complete) return "more";
    if (this.file.digest() !== this.file.sha256) {
      this.drop();
      return "mismatch";
    }
    this.mailbox.finish(this.id, this.chunks);
    this.state = "done";
    return "done";
  }

  /** Forgets a file that will not be finished (its sender left, or it was wrong). */
  drop(): void {
    if (this.state !== "open") return;
    this.state = "dropped";
    this.mailbox.remove(this.id);
  }
}

// ---------------------------------------------------------------------------------------
// Accounts

/** How a login went: a new account, the right password, the wrong one, or too many at once. */
export type Login =
  { outcome: "created" | "welcome"; nick: string } | { outcome: "wrong" | "busy"; nick: string };

export interface AccountOptions {
  /** Hash with almost no cost: for tests and benchmarks only, never for real passwords. */
  cheap?: boolean;
  /** Hashes computed at once; each takes its memory (19 MiB by default) while it runs. */
  concurrency?: number;
  /** Logins that may wait for their turn; more are told to come back (`busy`). */
  maxWaiting?: number;
}

/**
 * argon2id with the cost OWASP recommends (19 MiB, 2 passes: about 40 ms here). Bun's own
 * default (64 MiB, about 150 ms) would let ten logins at once take 640 MiB.
 */
const HASH = { algorithm: "argon2id", memoryCost: 19_456, timeCost: 2 } as const;
const CHEAP_HASH = { algorithm: "argon2id", memoryCost: 8, timeCost: 1 } as const;

/**
 * Accounts kept in a mailbox: the first login of a nick sets its password (only its hash is
 * stored), later logins must match. Hashing is slow on purpose, so it runs `concurrency` at
 * a time: a crowd of logins waits in a short queue instead of taking all the memory.
 */
export class Accounts {
  private running = 0;
  private readonly queue: (() => void)[] = [];
  private readonly cost: typeof HASH | typeof CHEAP_HASH;
  private readonly concurrency: number;
  private readonly maxWaiting: number;

  constructor(
    private readonly mailbox: Mailbox,
    { cheap = false, concurrency = 2, maxWaiting = 100 }: AccountOptions = {},
  ) {
    this.cost = cheap ? CHEAP_HASH : HASH;
    this.concurrency = concurrency;
    this.maxWaiting = maxWaiting;
  }

  /** Logs `nick` in with `password`, creating the account on its first login. */
  async login(nick: string, password: string): Promise<Login> {
    if (this.queue.length >= this.maxWaiting) return { outcome: "busy", nick };
    await this.turn();
    try {
      const known = this.mailbox.account(nick);
      if (known) {
        const right = await matches(password, known.hash);
        return { outcome: right ? "welcome" : "wrong", nick: known.nick };
      }
      const hash = await Bun.password.hash(password, this.cost);
      if (this.mailbox.addAccount(nick, hash)) return { outcome: "created", nick };
      // Someone created it while we hashed: their password decides.
      const winner = this.mailbox.account(nick);
      const right = winner !== undefined && (await matches(password, winner.hash));
      return { outcome: right ? "welcome" : "wrong", nick: winner?.nick ?? nick };
    } finally {
      this.done();
    }
  }

  private async turn(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return;
    }
    // A finished login hands its place straight to the next: `running` stays the same.
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }

  private done(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.running--;
  }
}

/** Whether `password` matches `hash`; a damaged hash is a mismatch (Bun would throw). */
async function matches(password: string, hash: string): Promise<boolean> {
  try {
    return await Bun.password.verify(password, hash);
  } catch {
    return false;
  }
}
