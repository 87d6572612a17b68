// Lesson 07, commands: /list, /msg NICK text, /quit [reason], /help; an unknown command gets
// an error line and is never broadcast; // sends a line that starts with /.
import { describe, expect, test } from "bun:test";
import { startCommands } from "../../06-chat/03-commands.ts";
import { ChatTestClient } from "../fixtures/chat-client.ts";
import { startLesson, tracker } from "../helpers.ts";

const track = tracker();

async function threeOnline() {
  const { room, tcp } = startCommands("127.0.0.1", 0, { cheapHashes: true, log: () => {} });
  track(room);
  // One after the other: the order of the logins is the order of /list.
  const clients: ChatTestClient[] = [];
  for (const nick of ["alice", "bob", "carol"]) {
    const client = await ChatTestClient.connect(tcp.port);
    await client.login(nick, "pw");
    clients.push(client);
  }
  const [alice, bob, carol] = clients;
  if (!alice || !bob || !carol) throw new Error("no clients");
  return {
    port: tcp.port,
    alice,
    bob,
    carol,
    [Symbol.asyncDispose]: async () => {
      for (const client of [alice, bob, carol]) client.close();
    },
  };
}

describe("the commands", () => {
  test("/list names who is here, in the order they came; /LIST works too", async () => {
    await using chat = await threeOnline();
    const from = chat.alice.mark;
    chat.alice.send("/LIST\n");
    expect(await chat.alice.line(/^LIST /, from)).toBe("LIST alice bob carol");
  });

  test("/msg reaches one person only, as PRIV 0 (not stored: nothing to acknowledge)", async () => {
    await using chat = await threeOnline();
    chat.alice.send("/msg Bob just between us\n");
    expect(await chat.bob.line(/^PRIV /)).toBe("PRIV 0 alice just between us");
    expect(await chat.alice.line(/^OK sent/)).toBe("OK sent to bob");
    await chat.carol.sync();
    expect(chat.carol.count(/between us/)).toBe(0);
  });

  test("/msg to someone away, or to nobody: one ERR line each", async () => {
    await using chat = await threeOnline();
    chat.carol.send("/quit\n");
    await chat.carol.whenClosed();
    chat.alice.send("/msg carol are you there?\n/msg zed hello\n");
    expect(await chat.alice.line(/^ERR offline/)).toBe("ERR offline: carol is not here");
    expect(await chat.alice.line(/^ERR nobody/)).toBe("ERR nobody: nobody is called zed");
  });

  test("/quit with a reason: BYE for the one who leaves, LEAVE with the reason for the rest", async () => {
    await using chat = await threeOnline();
    chat.bob.send("/quit off to lunch\n");
    await chat.bob.whenClosed();
    expect(chat.bob.lines.at(-1)).toBe("BYE off to lunch");
    expect(await chat.alice.line(/^LEAVE/)).toBe("LEAVE bob off to lunch");
  });

  test("an unknown command is an error for its sender and reaches nobody else", async () => {
    await using chat = await threeOnline();
    chat.alice.send("/lsit\n");
    expect(await chat.alice.line(/^ERR unknown/)).toBe(
      "ERR unknown: /lsit is not a command; /help lists them",
    );
    await chat.bob.sync();
    expect(chat.bob.count(/lsit/)).toBe(0);
  });

  test("// sends a line that starts with /; /help lists what this lesson knows", async () => {
    await using chat = await threeOnline();
    chat.alice.send("//shrug\n/help\n");
    expect(await chat.bob.line(/^MSG/)).toBe("MSG alice /shrug");
    await chat.alice.line(/^HELP \/quit/);
    const help = chat.alice.lines.filter((line) => line.startsWith("HELP"));
    expect(help.map((line) => line.split(/\s+/)[1])).toEqual([
      "/login",
      "TEXT",
      "/msg",
      "/list",
      "/quit",
    ]);
  });
});

test("run as a student would: a hint with a command to try, and a clean stop", async () => {
  await using lesson = startLesson("06-chat/03-commands.ts", ["--port", "0", "--cheap-hashes"]);
  const { port } = await lesson.listening();
  await lesson.waitFor(/type \/login alice secret, then \/list/);
  await using client = await ChatTestClient.connect(port);
  await client.login("alice", "pw");
  expect(await client.sync()).toBe("LIST alice");
  expect((await lesson.stop()).code).toBe(0);
});
