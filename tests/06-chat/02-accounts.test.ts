// Lesson 06, nicknames and accounts: the first login of a nick sets its password (only its
// argon2id hash is kept), later logins must match, nicks are one account whatever their case.
// A wrong password, a nick in use and a nick that breaks the rules each get one line; the
// password is never printed, logged or echoed.
import { describe, expect, test } from "bun:test";
import { Accounts, startAccounts } from "../../06-chat/02-accounts.ts";
import { ChatTestClient } from "../fixtures/chat-client.ts";
import { startLesson, tracker } from "../helpers.ts";

const track = tracker();

function server() {
  const { room, tcp } = startAccounts("127.0.0.1", 0, { cheapHashes: true, log: () => {} });
  track(room);
  return { room, port: tcp.port };
}

describe("Accounts (in memory)", () => {
  test("created, then welcome with the right password, wrong with another; any case", async () => {
    const accounts = new Accounts(true);
    expect(await accounts.login("Alice", "s3cret")).toEqual({ outcome: "created", nick: "Alice" });
    expect(await accounts.login("alice", "s3cret")).toEqual({ outcome: "welcome", nick: "Alice" });
    expect(await accounts.login("ALICE", "guess")).toEqual({ outcome: "wrong", nick: "Alice" });
  });

  test("two first logins of one nick at once: the second must match the first's password", async () => {
    const accounts = new Accounts(true);
    const outcomes = await Promise.all([
      accounts.login("bob", "one"),
      accounts.login("bob", "two"),
    ]);
    expect(outcomes.map((login) => login.outcome)).toEqual(["created", "wrong"]);
  });

  test("the real cost (argon2id, 19 MiB, 2 passes) still answers", async () => {
    const accounts = new Accounts();
    expect((await accounts.login("carol", "pw")).outcome).toBe("created");
    expect((await accounts.login("carol", "pw")).outcome).toBe("welcome");
  });
});

describe("the server", () => {
  test("a wrong password, a nick in use, a nick that breaks the rules: one ERR line each", async () => {
    const { port } = server();
    await using alice = await ChatTestClient.connect(port);
    expect(await alice.login("alice", "right")).toBe("OK alice: your password is set");
    await using mallory = await ChatTestClient.connect(port);
    expect(await mallory.login("Alice", "right")).toBe(
      "ERR taken: Alice is logged in on another connection",
    );
    alice.send("/quit\n");
    await alice.whenClosed();
    expect(await mallory.login("alice", "wrong")).toBe("ERR password: wrong password for alice");
    expect(await mallory.login("4lice", "x")).toBe(
      "ERR nick: a nick is ASCII letters, digits, _ and -, and starts with a letter",
    );
    expect(await mallory.login("a".repeat(17), "x")).toBe(
      "ERR nick: a nick has 1 to 16 characters",
    );
    expect(mallory.lines.filter((line) => line.startsWith("ERR"))).toHaveLength(4);
  });

  test("before a login, a line gets ERR login and reaches nobody; after, it reaches everyone", async () => {
    const { port } = server();
    await using alice = await ChatTestClient.connect(port);
    await alice.login("alice", "pw");
    await using bob = await ChatTestClient.connect(port);
    bob.send("anonymous shout\n");
    expect(await bob.line(/^ERR/)).toBe("ERR login: log in first: /login NICK PASSWORD");
    await bob.login("bob", "pw");
    expect(await alice.line(/^JOIN/)).toBe("JOIN bob");
    bob.send("signed shout\n");
    expect(await alice.line(/^MSG/)).toBe("MSG bob signed shout");
    expect(alice.count(/anonymous/)).toBe(0);
  });

  test("/help before the login; /quit says why to the others", async () => {
    const { port } = server();
    await using bob = await ChatTestClient.connect(port);
    bob.send("/help\n");
    expect(await bob.line(/^HELP \/login/)).toStartWith("HELP /login NICK PASSWORD");
    await using alice = await ChatTestClient.connect(port);
    await alice.login("alice", "pw");
    await bob.login("bob", "pw");
    bob.send("/quit dinner\n");
    expect(await alice.line(/^LEAVE/)).toBe("LEAVE bob dinner");
  });
});

test("run as a student would: the password is never printed, logged or echoed", async () => {
  await using lesson = startLesson("06-chat/02-accounts.ts", ["--port", "0", "--cheap-hashes"]);
  const { port } = await lesson.listening();
  await using alice = await ChatTestClient.connect(port);
  await alice.login("alice", "hunter2-secret");
  await using again = await ChatTestClient.connect(port);
  await again.login("alice", "wrong-secret");
  await lesson.waitFor(/alice logged in from 127\.0\.0\.1:\d+/);
  const { stdout, stderr } = await lesson.stop();
  for (const text of [stdout, stderr, alice.tcp.text, again.tcp.text]) {
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("wrong-secret");
  }
});
