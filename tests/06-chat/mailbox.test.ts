// 06-chat/mailbox.ts: the chat's storage. Accounts (first login sets the password, a wrong one
// is refused, hashing capped), messages stored in order and forgotten only when acknowledged
// by their recipient, files written chunk by chunk and kept only when their SHA-256 matches,
// and what survives a process killed with SIGKILL.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Accounts, DATABASE_FILE, Mailbox } from "../../06-chat/mailbox.ts";
import { ROOT } from "../helpers.ts";

const folders: string[] = [];
const folder = (): string => {
  const made = mkdtempSync(join(tmpdir(), "chat-mailbox-"));
  folders.push(made);
  return made;
};
afterEach(() => {
  for (const made of folders.splice(0)) rmSync(made, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array | string): string =>
  new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

describe("the database", () => {
  test("WAL journal and synchronous=NORMAL, in the folder it is given", () => {
    const dir = folder();
    const mailbox = Mailbox.inFolder(join(dir, "data"));
    expect(mailbox.db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(mailbox.db.query("PRAGMA synchronous").get()).toEqual({ synchronous: 1 });
    expect(Bun.file(join(dir, "data", DATABASE_FILE)).size).toBeGreaterThan(0);
    mailbox.close();
  });

  test("a folder that cannot be used is one sentence that names it", () => {
    const dir = folder();
    writeFileSync(join(dir, "a-file"), "");
    expect(() => Mailbox.inFolder(join(dir, "a-file", "data"))).toThrow(
      `cannot keep the chat's data in ${join(dir, "a-file", "data")} (ENOTDIR): give another --data`,
    );
  });
});

describe("accounts", () => {
  test("the first login sets the password; the right one is welcome, a wrong one is not", async () => {
    const accounts = new Accounts(new Mailbox(":memory:"), { cheap: true });
    expect(await accounts.login("alice", "secret")).toEqual({ outcome: "created", nick: "alice" });
    expect(await accounts.login("alice", "secret")).toEqual({ outcome: "welcome", nick: "alice" });
    expect(await accounts.login("alice", "guess")).toEqual({ outcome: "wrong", nick: "alice" });
  });

  test("nicks are one account whatever the case, spelled as first registered", async () => {
    const accounts = new Accounts(new Mailbox(":memory:"), { cheap: true });
    await accounts.login("Alice", "secret");
    expect(await accounts.login("ALICE", "secret")).toEqual({ outcome: "welcome", nick: "Alice" });
    expect(await accounts.login("alice", "other")).toEqual({ outcome: "wrong", nick: "Alice" });
  });

  test("only an argon2id hash is stored, never the password", async () => {
    const mailbox = new Mailbox(":memory:");
    await new Accounts(mailbox).login("alice", "correct horse");
    const row = mailbox.db.query("SELECT * FROM accounts").get() as Record<string, string>;
    expect(row.hash).toStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
    expect(JSON.stringify(row)).not.toContain("correct horse");
  });

  test("--cheap-hashes is cheap (tests and benchmarks only)", async () => {
    const mailbox = new Mailbox(":memory:");
    await new Accounts(mailbox, { cheap: true }).login("bob", "pw");
    expect(mailbox.account("bob")?.hash).toStartWith("$argon2id$v=19$m=8,t=1,p=1$");
  });

  test("a damaged hash is a wrong password, not a crash (Bun.password.verify throws on it)", async () => {
    const mailbox = new Mailbox(":memory:");
    mailbox.addAccount("carol", "garbage");
    expect(await new Accounts(mailbox, { cheap: true }).login("carol", "pw")).toEqual({
      outcome: "wrong",
      nick: "carol",
    });
  });

  test("two first logins of one nick at once: one sets the password, the other must match it", async () => {
    const accounts = new Accounts(new Mailbox(":memory:"), { cheap: true });
    const [first, second] = await Promise.all([
      accounts.login("dave", "one"),
      accounts.login("dave", "two"),
    ]);
    expect([first.outcome, second.outcome].sort()).toEqual(["created", "wrong"]);
  });

  test("hashes run `concurrency` at a time; past `maxWaiting` in the queue a login is told busy", async () => {
    const accounts = new Accounts(new Mailbox(":memory:"), { concurrency: 1, maxWaiting: 1 });
    const logins = ["a1", "a2", "a3"].map((nick) => accounts.login(nick, "pw"));
    const outcomes = (await Promise.all(logins)).map((login) => login.outcome);
    expect(outcomes).toEqual(["created", "created", "busy"]);
  });
});

describe("stored messages", () => {
  test("wait in order for their recipient (any case), and are forgotten only when acknowledged", () => {
    const mailbox = new Mailbox(":memory:");
    const ids = ["one", "two", "three"].map((text) => mailbox.storeMessage("Bob", "alice", text));
    expect(mailbox.pending("bob", 0).map((item) => item.body)).toEqual(["one", "two", "three"]);
    expect(mailbox.pending("BOB", ids[0] ?? 0).map((item) => item.body)).toEqual(["two", "three"]);
    expect(mailbox.waiting("bob")).toEqual({ items: 3, bytes: 0 });
    expect(mailbox.ack("bob", [ids[0] ?? 0, ids[1] ?? 0])).toEqual([]);
    expect(mailbox.pending("bob", 0).map((item) => item.body)).toEqual(["three"]);
  });

  test("only the recipient can acknowledge (delete) an item; unknown ids are returned", () => {
    const mailbox = new Mailbox(":memory:");
    const id = mailbox.storeMessage("bob", "alice", "for bob");
    expect(mailbox.ack("mallory", [id, 999])).toEqual([id, 999]);
    expect(mailbox.pending("bob", 0)).toHaveLength(1);
    expect(mailbox.ack("bob", [id])).toEqual([]);
    expect(mailbox.ack("bob", [id])).toEqual([id]);
  });

  test("ids are never reused, so an old acknowledgement cannot delete a new message", () => {
    const mailbox = new Mailbox(":memory:");
    const first = mailbox.storeMessage("bob", "alice", "a");
    mailbox.ack("bob", [first]);
    expect(mailbox.storeMessage("bob", "alice", "b")).toBeGreaterThan(first);
  });

  test("what was stored before a SIGKILL is there after it (WAL with synchronous=NORMAL)", async () => {
    const dir = folder();
    const script = `
      import { Mailbox } from "${join(ROOT, "06-chat/mailbox.ts")}";
      const mailbox = Mailbox.inFolder(${JSON.stringify(dir)});
      for (let i = 0; i < 100; i++) mailbox.storeMessage("bob", "alice", "message " + i);
      console.log("stored");
      process.kill(process.pid, "SIGKILL");
    `;
    const child = Bun.spawn(["bun", "-e", script], { stdout: "pipe", stderr: "pipe" });
    expect(await new Response(child.stdout).text()).toBe("stored\n");
    await child.exited;
    expect(child.signalCode).toBe("SIGKILL");
    const mailbox = Mailbox.inFolder(dir);
    const bodies = mailbox.pending("bob", 0, 1000).map((item) => item.body);
    expect(bodies).toHaveLength(100);
    expect(bodies[99]).toBe("message 99");
    mailbox.close();
  });
});

describe("files", () => {
  test("written chunk by chunk, invisible until complete, then kept with its chunks", () => {
    const mailbox = new Mailbox(":memory:");
    const bytes = crypto.getRandomValues(new Uint8Array(10_000));
    const upload = mailbox.upload("bob", "alice", "noise.bin", bytes.length, sha256(bytes));
    expect(upload.add(bytes.subarray(0, 6000))).toBe("more");
    expect(mailbox.pending("bob", 0)).toEqual([]);
    expect(upload.add(bytes.subarray(6000))).toBe("done");
    const [item] = mailbox.pending("bob", 0);
    expect(item).toMatchObject({
      kind: "file",
      sender: "alice",
      body: "noise.bin",
      size: 10_000,
      chunks: 2,
    });
    const back = Buffer.concat([
      mailbox.chunk(upload.id, 0) ?? new Uint8Array(),
      mailbox.chunk(upload.id, 1) ?? new Uint8Array(),
    ]);
    expect(back.equals(Buffer.from(bytes))).toBe(true);
    mailbox.ack("bob", [upload.id]);
    expect(mailbox.chunk(upload.id, 0)).toBeUndefined();
  });

  test("a file whose SHA-256 is not the one announced is dropped, chunks and all", () => {
    const mailbox = new Mailbox(":memory:");
    const upload = mailbox.upload("bob", "alice", "a.txt", 3, sha256("abc"));
    expect(upload.add(Buffer.from("abX"))).toBe("mismatch");
    expect(mailbox.pending("bob", 0)).toEqual([]);
    expect(mailbox.chunk(upload.id, 0)).toBeUndefined();
  });

  test("more bytes than announced: dropped", () => {
    const mailbox = new Mailbox(":memory:");
    const upload = mailbox.upload("bob", "alice", "a.txt", 2, sha256("ab"));
    expect(upload.add(Buffer.from("abc"))).toBe("too-much");
    expect(upload.state).toBe("dropped");
    expect(mailbox.db.query("SELECT count(*) AS n FROM items").get()).toEqual({ n: 0 });
  });

  test("an empty file is complete at once", () => {
    const mailbox = new Mailbox(":memory:");
    expect(mailbox.upload("bob", "alice", "empty", 0, sha256("")).add(new Uint8Array())).toBe(
      "done",
    );
    expect(mailbox.pending("bob", 0)).toHaveLength(1);
  });

  test("an upload cut off by a crash is gone when the mailbox opens again", () => {
    const dir = folder();
    const before = Mailbox.inFolder(dir);
    before.upload("bob", "alice", "half.bin", 10, sha256("0123456789")).add(Buffer.from("01234"));
    before.storeMessage("bob", "alice", "kept");
    before.close();
    const after = Mailbox.inFolder(dir);
    expect(after.pending("bob", 0).map((item) => item.body)).toEqual(["kept"]);
    expect(after.db.query("SELECT count(*) AS n FROM chunks").get()).toEqual({ n: 0 });
    after.close();
  });
});
