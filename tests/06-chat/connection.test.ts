// 06-chat/connection.ts: a client's connection to the chat server (the terminal client, the
// benchmark, the bridges use it). It logs in, tells a login refused for good from one refused
// for now, hands over every event (those that share a packet with the login's OK too),
// answers PING by itself, and batches acknowledgements.
import { describe, expect, test } from "bun:test";
import { startChat } from "../../06-chat/10-chat-server.ts";
import { ChatConnection, LoginRefused } from "../../06-chat/connection.ts";
import { Mailbox } from "../../06-chat/mailbox.ts";
import type { ServerEvent } from "../../06-chat/protocol.ts";
import { ChatTestClient } from "../fixtures/chat-client.ts";
import { closedPort, logCollector, tracker } from "../helpers.ts";

const track = tracker();

function chat(options: { idleMs?: number } = {}) {
  const mailbox = new Mailbox(":memory:");
  const { room, tcp } = startChat("127.0.0.1", 0, mailbox, {
    cheapHashes: true,
    log: () => {},
    ...options,
  });
  track(room);
  return { mailbox, room, port: tcp.port };
}

/** Opens a connection whose events are logged as JSON lines. */
async function open(port: number, nick: string, password = "pw") {
  const events = logCollector();
  const connection = await ChatConnection.open("127.0.0.1", port, nick, password, {
    onEvent: (event: ServerEvent) => events.log(JSON.stringify(event)),
    onClose: () => events.log("closed"),
  });
  return { connection, events };
}

describe("ChatConnection", () => {
  test("logs in; the login's OK is the first event", async () => {
    const { port } = chat();
    const { connection, events } = await open(port, "alice");
    expect(JSON.parse(events.lines[0] ?? "")).toEqual({
      kind: "ok",
      text: "alice: your password is set; 0 stored for you",
    });
    expect(connection.loggedIn).toBe(true);
    connection.close();
  });

  test("a wrong password is refused for good; a nick in use only for now", async () => {
    const { port } = chat();
    const first = await open(port, "alice", "right");
    const taken = await open(port, "alice", "right").catch((error: unknown) => error);
    expect(taken).toBeInstanceOf(LoginRefused);
    expect((taken as LoginRefused).forGood).toBe(false);
    expect((taken as LoginRefused).message).toBe("taken: alice is logged in on another connection");
    first.connection.close();
    const wrong = await open(port, "alice", "wrong").catch((error: unknown) => error);
    expect((wrong as LoginRefused).forGood).toBe(true);
    expect((wrong as LoginRefused).message).toBe("password: wrong password for alice");
  });

  test("nobody listening: the connect's own error (ECONNREFUSED)", async () => {
    const error = await open(closedPort(), "alice").catch((caught: unknown) => caught);
    expect((error as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });

  test("events in the same packet as the login's OK are not lost; acks go out in one line", async () => {
    const { port, mailbox } = chat();
    (await open(port, "bob")).connection.close();
    const ids = [1, 2, 3, 4, 5].map((n) => mailbox.storeMessage("bob", "alice", `note ${n}`));
    const { connection, events } = await open(port, "bob");
    await events.waitFor(/note 5/);
    const privs = events.lines
      .map((line) => JSON.parse(line) as ServerEvent)
      .filter((event) => event.kind === "priv");
    expect(privs.map((event) => (event.kind === "priv" ? event.id : 0))).toEqual(ids);
    for (const id of ids) connection.ack(id);
    connection.send("/list\n");
    await events.waitFor(/"kind":"list"/);
    expect(mailbox.pending("bob", 0)).toEqual([]);
    connection.close();
  });

  test("PING is answered by itself, so a quiet client stays; the owner hears of a close", async () => {
    const { port, room } = chat({ idleMs: 200 });
    const { events } = await open(port, "carol");
    // A raw client that answers nothing is closed after two keepalive periods...
    await using ghost = await ChatTestClient.connect(port);
    await ghost.whenClosed();
    // ...and one that came after it, two periods later: carol has been quiet all along.
    await using later = await ChatTestClient.connect(port);
    await later.whenClosed();
    expect(ghost.lines).toContain("PING");
    expect(room.online()).toEqual(["carol"]);
    expect(events.lines.some((line) => line.includes('"ping"'))).toBe(false);
    room.find("carol")?.close("bye for the test");
    await events.waitFor(/^closed$/);
    expect(events.lines.slice(-2)).toEqual([
      '{"kind":"bye","reason":"bye for the test"}',
      "closed",
    ]);
  });
});
