// Lesson 08, offline delivery: a private message is stored (SQLite, WAL) before its sender
// hears OK, delivered in order when its recipient is online, and deleted only on `/ack ID`.
// A client that drops before acknowledging gets it again; after, never. A server killed with
// SIGKILL between storing and delivering loses nothing and delivers nothing twice.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sendPrivately, startOffline } from "../../06-chat/04-offline.ts";
import { DATA_FOLDER, Mailbox } from "../../06-chat/mailbox.ts";
import { ChatTestClient } from "../fixtures/chat-client.ts";
import { runLesson, SLOW_TEST_MS, startLesson, tracker } from "../helpers.ts";

const track = tracker();
const folders: string[] = [];
const folder = (): string => {
  const made = mkdtempSync(join(tmpdir(), "chat-offline-"));
  folders.push(made);
  return made;
};
afterEach(() => {
  for (const made of folders.splice(0)) rmSync(made, { recursive: true, force: true });
});

function server(mailbox = new Mailbox(":memory:")) {
  const { room, tcp } = startOffline("127.0.0.1", 0, mailbox, {
    cheapHashes: true,
    log: () => {},
  });
  track(room);
  return { room, mailbox, port: tcp.port };
}

/** Connects and logs in. */
async function as(port: number, nick: string, password = "pw"): Promise<ChatTestClient> {
  const client = await ChatTestClient.connect(port);
  const answer = await client.login(nick, password);
  if (!answer.startsWith("OK")) throw new Error(`${nick}: ${answer}`);
  return client;
}

/** The PRIV lines a client got: `ID FROM TEXT` without the tag. */
const privs = (client: ChatTestClient): string[] =>
  client.lines.filter((line) => line.startsWith("PRIV ")).map((line) => line.slice(5));

describe("in-process", () => {
  test("stored for someone away, delivered in order at the login, and only there", async () => {
    const { port } = server();
    (await as(port, "bob")).close();
    await using alice = await as(port, "alice");
    for (const text of ["first", "second", "third"]) alice.send(`/msg bob ${text}\n`);
    await alice.line(/^OK stored for bob$/, 0);
    await alice.sync();
    expect(alice.count(/^OK stored for bob$/)).toBe(3);
    await using bob = await ChatTestClient.connect(port);
    expect(await bob.login("BOB", "pw")).toBe("OK bob: welcome back; 3 stored for you");
    await bob.line(/third$/);
    expect(privs(bob).map((line) => line.split(" ").slice(1).join(" "))).toEqual([
      "alice first",
      "alice second",
      "alice third",
    ]);
  });

  test("someone online gets it at once, by the same path (stored, then delivered)", async () => {
    const { port, mailbox } = server();
    await using bob = await as(port, "bob");
    await using alice = await as(port, "alice");
    const from = alice.mark;
    alice.send("/msg bob quick one\n");
    expect(await alice.line(/^OK/, from)).toBe("OK sent to bob");
    const line = await bob.line(/^PRIV/);
    expect(line).toMatch(/^PRIV \d+ alice quick one$/);
    expect(mailbox.waiting("bob").items).toBe(1);
    bob.send(`/ack ${line.split(" ")[1]}\n`);
    await bob.sync();
    expect(mailbox.waiting("bob").items).toBe(0);
  });

  test("a client that drops before acknowledging gets it again; after /ack, never again", async () => {
    const { port } = server();
    (await as(port, "bob")).close();
    await using alice = await as(port, "alice");
    alice.send("/msg bob remember me\n");
    await alice.line(/^OK stored/);
    const first = await as(port, "bob");
    const line = await first.line(/^PRIV/);
    first.close();
    await using second = await as(port, "bob");
    expect(await second.line(/^PRIV/)).toBe(line);
    second.send(`/ack ${line.split(" ")[1]}\n`);
    await second.sync();
    second.close();
    await using third = await as(port, "bob");
    expect(third.lines.at(-1)).toBe("OK bob: welcome back; 0 stored for you");
    await third.sync();
    expect(privs(third)).toEqual([]);
  });

  test("a wrong password reads nothing of someone else's mailbox", async () => {
    const { port, mailbox } = server();
    (await as(port, "bob", "bobs-secret")).close();
    mailbox.storeMessage("bob", "alice", "for bob's eyes only");
    await using mallory = await ChatTestClient.connect(port);
    expect(await mallory.login("bob", "guess")).toBe("ERR password: wrong password for bob");
    mallory.send("/ack 1\n");
    expect(await mallory.line(/^ERR login/)).toBe("ERR login: log in first: /login NICK PASSWORD");
    expect(mallory.count(/eyes only/)).toBe(0);
    expect(mailbox.waiting("bob").items).toBe(1);
  });

  test("/ack of what was not sent to you is refused; /msg to nobody is ERR nobody", async () => {
    const { port, mailbox } = server();
    (await as(port, "bob")).close();
    const id = mailbox.storeMessage("bob", "alice", "not yours");
    await using carol = await as(port, "carol");
    carol.send(`/ack ${id}\n/msg nobody hi\n`);
    expect(await carol.line(/^ERR ack/)).toBe(`ERR ack: not yours to acknowledge: ${id}`);
    expect(await carol.line(/^ERR nobody/)).toBe("ERR nobody: nobody is called nobody");
    expect(mailbox.waiting("bob").items).toBe(1);
  });

  test("sendPrivately() writes to the mailbox before the sender hears OK", async () => {
    const { port, room, mailbox } = server();
    (await as(port, "bob")).close();
    await using alice = await as(port, "alice");
    const member = room.find("alice");
    if (!member) throw new Error("alice is not in the room");
    const sent: string[] = [];
    const spy = Object.assign(Object.create(member), {
      send: (line: string) => void sent.push(line),
    });
    sendPrivately(room, mailbox, spy, "bob", "\u001b[2Jhi");
    expect(mailbox.pending("bob", 0).map((item) => item.body)).toEqual(["^[[2Jhi"]);
    expect(sent).toEqual(["OK stored for bob\n"]);
  });
});

describe("kill -9 of the server between storing and delivering", () => {
  test(
    "nothing it said OK to is lost, and nothing acknowledged is delivered twice",
    async () => {
      const data = folder();
      const args = ["--port", "0", "--data", data, "--cheap-hashes"];
      await using first = startLesson("06-chat/04-offline.ts", args);
      let { port } = await first.listening();
      (await as(port, "bob")).close();
      const alice = await as(port, "alice");
      for (let n = 1; n <= 50; n++) alice.send(`/msg bob note ${n}\n`);
      await alice.line(/^OK stored for bob$/, 0);
      await alice.tcp.until(() => alice.count(/^OK stored for bob$/) === 50);
      first.proc.kill("SIGKILL");
      await first.finished();
      alice.close();

      await using second = startLesson("06-chat/04-offline.ts", args);
      ({ port } = await second.listening());
      const bob = await as(port, "bob");
      expect(await bob.line(/^OK bob/)).toBe("OK bob: welcome back; 50 stored for you");
      await bob.line(/note 50$/);
      const got = privs(bob);
      expect(got.map((line) => line.split(" ").slice(2).join(" "))).toEqual(
        Array.from({ length: 50 }, (_, i) => `note ${i + 1}`),
      );
      bob.send(`/ack ${got.map((line) => line.split(" ")[0]).join(" ")}\n`);
      await bob.sync();
      second.proc.kill("SIGKILL");
      await second.finished();
      bob.close();

      await using third = startLesson("06-chat/04-offline.ts", args);
      ({ port } = await third.listening());
      await using again = await as(port, "bob");
      expect(again.lines.at(-1)).toBe("OK bob: welcome back; 0 stored for you");
      await again.sync();
      expect(privs(again)).toEqual([]);
    },
    SLOW_TEST_MS,
  );
});

describe("run as a student would", () => {
  test("--help names the default data folder", async () => {
    const { stdout } = await runLesson("06-chat/04-offline.ts", ["--help"]);
    expect(stdout).toMatch(
      new RegExp(`--data DIR +folder of the SQLite file \\(default ${DATA_FOLDER}\\)`),
    );
  });

  test("a --data that cannot be used: one sentence, exit 1", async () => {
    const dir = folder();
    writeFileSync(join(dir, "file"), "");
    const bad = join(dir, "file", "sub");
    const { code, stderr } = await runLesson("06-chat/04-offline.ts", [
      "--port",
      "0",
      "--data",
      bad,
    ]);
    expect({ code, stderr: stderr.trim() }).toEqual({
      code: 1,
      stderr: `cannot keep the chat's data in ${bad} (ENOTDIR): give another --data`,
    });
  });
});
