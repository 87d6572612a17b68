// Lesson 01, the broadcast chat: each complete line of one client goes to every other, however
// TCP cut the bytes; a guest joins (JOIN) with its first line and leaves (LEAVE) when it goes;
// a silent client is let go after --idle; a line with no end is cut off. In-process, then run
// as a student would, with its bad inputs.
import { describe, expect, test } from "bun:test";
import { startBroadcast } from "../../06-chat/01-broadcast.ts";
import { ChatTestClient } from "../fixtures/chat-client.ts";
import { inUse, runLesson, startLesson, tracker } from "../helpers.ts";

const track = tracker();
const LESSON = "06-chat/01-broadcast.ts";

describe("startBroadcast (in-process)", () => {
  test("a line goes to every other guest, not back to its sender; the first one announces the guest", async () => {
    const { port } = track(startBroadcast("127.0.0.1", 0, 60_000, () => {}));
    await using one = await ChatTestClient.connect(port);
    await using two = await ChatTestClient.connect(port);
    await using three = await ChatTestClient.connect(port);
    expect(one.lines).toEqual(["HELLO you are guest1: type a line and everyone else reads it"]);
    one.send("hello everyone\n");
    for (const other of [two, three]) {
      expect(await other.line(/^JOIN /)).toBe("JOIN guest1");
      expect(await other.line(/^MSG /)).toBe("MSG guest1 hello everyone");
    }
    two.send("hi\n");
    expect(await one.line(/^MSG guest2/)).toBe("MSG guest2 hi");
    expect(one.count(/guest1/)).toBe(1);
  });

  test("lines are framed: one written byte by byte, and three in one write, come out whole", async () => {
    const { port } = track(startBroadcast("127.0.0.1", 0, 60_000, () => {}));
    await using sender = await ChatTestClient.connect(port);
    await using reader = await ChatTestClient.connect(port);
    for (const byte of Buffer.from("日本語 across packets\n")) sender.send(new Uint8Array([byte]));
    sender.send("a\nb\nc\n");
    await reader.line(/^MSG guest1 c$/);
    expect(reader.lines.filter((line) => line.startsWith("MSG"))).toEqual([
      "MSG guest1 日本語 across packets",
      "MSG guest1 a",
      "MSG guest1 b",
      "MSG guest1 c",
    ]);
  });

  test("a guest that leaves: LEAVE for the others; a silent one that leaves announces nothing", async () => {
    const { port } = track(startBroadcast("127.0.0.1", 0, 60_000, () => {}));
    await using stays = await ChatTestClient.connect(port);
    const talker = await ChatTestClient.connect(port);
    const silent = await ChatTestClient.connect(port);
    talker.send("bye now\n");
    await stays.line(/^MSG guest2 bye now$/);
    silent.close();
    talker.close();
    expect(await stays.line(/^LEAVE /)).toBe("LEAVE guest2 left");
    expect(stays.count(/guest3/)).toBe(0);
  });

  test("a client silent for --idle is let go; one that talks is kept", async () => {
    const { port } = track(startBroadcast("127.0.0.1", 0, 300, () => {}));
    await using quiet = await ChatTestClient.connect(port);
    await quiet.whenClosed();
    expect(quiet.closed).toBe(true);
  });

  test("a line over 64 KiB gets the connection cut; the others go on", async () => {
    const { port } = track(startBroadcast("127.0.0.1", 0, 60_000, () => {}));
    await using hog = await ChatTestClient.connect(port);
    await using other = await ChatTestClient.connect(port);
    hog.send("x".repeat(70 * 1024));
    await hog.whenClosed();
    await using third = await ChatTestClient.connect(port);
    third.send("fine\n");
    expect(await other.line(/^MSG /)).toBe("MSG guest3 fine");
  });
});

describe("run as a student would", () => {
  test("listening on, a hint, two nc-like clients chatting, and Ctrl-C stops it", async () => {
    await using lesson = startLesson(LESSON, ["--port", "0"]);
    const { port } = await lesson.listening();
    await lesson.waitFor(/try {2}nc 127\.0\.0\.1 \d+ {2}in two terminals; Ctrl-C stops the server/);
    await using a = await ChatTestClient.connect(port);
    await using b = await ChatTestClient.connect(port);
    a.send("hi b\n");
    expect(await b.line(/^MSG /)).toBe("MSG guest1 hi b");
    a.close();
    await lesson.waitFor(/guest1 left/);
    const { code, stdout } = await lesson.stop("SIGINT");
    expect(code).toBe(0);
    expect(stdout).toContain("stopped by SIGINT: the port is free again");
  });

  test("a port in use: one sentence, exit 1", async () => {
    const busy = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    const { code, stderr } = await runLesson(LESSON, ["--port", String(busy.port)]);
    expect({ code, stderr: stderr.trim() }).toEqual({ code: 1, stderr: inUse(busy.port) });
  });

  test("bad flags: one sentence, the usage, exit 2", async () => {
    const { code, stderr } = await runLesson(LESSON, ["--idle", "0"]);
    expect(code).toBe(2);
    expect(stderr.split("\n")[0]).toBe('--idle must be a number of at least 0.1 (got "0")');
    const port = await runLesson(LESSON, ["--port", "70000"]);
    expect(port.stderr.split("\n")[0]).toBe(
      '--port must be a whole number from 0 to 65535 (got "70000")',
    );
  });
});
