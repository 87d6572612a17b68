// Lesson 05, the waiting room: one client is served while the next few wait in a bounded
// room, told their place, read only a line's worth ahead; an empty line ends a turn. Waiting
// clients that leave free their place; a full room says busy.
import { describe, expect, test } from "bun:test";
import { type Rules, serveWithRoom } from "../../04-server/05-waiting-room.ts";
import { attack } from "../hostile/servers.ts";
import { logCollector, runLesson, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { serverConventions } from "./conventions.ts";

const track = tracker();
const FILE = "04-server/05-waiting-room.ts";

serverConventions(FILE);

/** Lesson 05 in-process on a free port, stopped after the test, with its log collected. */
function withRoom(rules: Rules = {}) {
  const logged = logCollector();
  const server = track(serveWithRoom("127.0.0.1", 0, rules, logged.log));
  return { port: server.tcp.port, logged };
}

describe("05-waiting-room in-process", () => {
  test("the second client waits, unread, until the first sends an empty line", async () => {
    const { port, logged } = withRoom();
    await using first = await TcpTestClient.connect(port);
    await first.waitForText(/your turn/);
    await using second = await TcpTestClient.connect(port);
    await second.waitForText(/you are in the queue, 1 ahead of you\n/);
    await logged.waitFor(/127\.0\.0\.1:\d+ waits: 1 ahead of it/);
    // Sent while waiting: it must not be read yet.
    second.send("from the second\n");
    first.send("a1\na2\n");
    await first.waitForText(/a1\na2\n$/);
    expect(second.text).not.toContain("from the second");
    first.send("\n");
    await first.whenClosed;
    // Its turn starts only now, and only now is its early line read and echoed.
    await second.waitForText(/from the second\n$/);
    expect(second.text.indexOf("your turn")).toBeGreaterThan(second.text.indexOf("in the queue"));
    expect(second.text.indexOf("from the second")).toBeGreaterThan(
      second.text.indexOf("your turn"),
    );
    second.send("\n");
    await second.whenClosed;
    await logged.waitFor(/done \(empty line\)/);
  });

  test("a waiting client that resets frees its place: a reset reaches the server though it is not served", async () => {
    const { port, logged } = withRoom({ queue: 1 });
    await using first = await TcpTestClient.connect(port);
    await first.waitForText(/your turn/);
    const quitter = await TcpTestClient.connect(port);
    await quitter.waitForText(/in the queue/);
    quitter.socket.terminate();
    await logged.waitFor(/left the room before its turn/);
    await using next = await TcpTestClient.connect(port);
    await next.waitForText(/you are in the queue, 1 ahead of you/);
  });

  test("the room is bounded: past --queue a newcomer hears busy and is closed", async () => {
    const { port } = withRoom({ queue: 2 });
    await using first = await TcpTestClient.connect(port);
    await first.waitForText(/your turn/);
    await using second = await TcpTestClient.connect(port);
    await second.waitForText(/1 ahead of you/);
    await using third = await TcpTestClient.connect(port);
    await third.waitForText(/2 ahead of you/);
    await using fourth = await TcpTestClient.connect(port);
    await fourth.whenClosed;
    expect(fourth.text).toBe("busy: 2 clients wait already; try later\n");
  });

  test("a turn costs one write to the room, not one per waiting client", async () => {
    const { port } = withRoom();
    await using first = await TcpTestClient.connect(port);
    await first.waitForText(/your turn/);
    const waiting: TcpTestClient[] = [];
    for (let i = 1; i <= 5; i++) {
      const client = await TcpTestClient.connect(port);
      await client.waitForText(new RegExp(`${i} ahead of you\\n$`));
      waiting.push(client);
    }
    try {
      first.send("\n");
      await waiting[0]?.waitForText(/your turn/);
      await waiting[1]?.waitForText(/you are next\n$/);
      // The three behind heard nothing more than their place when they came.
      for (const client of waiting.slice(2))
        expect(client.text).toMatch(/^you are in the queue, \d ahead of you\n$/);
    } finally {
      for (const client of waiting) client.socket.terminate();
    }
  });

  test("a waiting client that hangs up politely is dropped from the room at once; its place goes to the next", async () => {
    const { port, logged } = withRoom();
    await using first = await TcpTestClient.connect(port);
    await first.waitForText(/your turn/);
    await using quitter = await TcpTestClient.connect(port);
    await quitter.waitForText(/in the queue/);
    quitter.end();
    await logged.waitFor(/left the room before its turn/);
    await using third = await TcpTestClient.connect(port);
    await third.waitForText(/you are in the queue, 1 ahead of you\n/);
    first.send("\n");
    await third.waitForText(/your turn/);
    third.send("\n");
    await third.whenClosed;
    // The one that left was never served: the two served are the first and the third.
    expect(logged.lines.filter((line) => line.includes("is being served")).length).toBe(2);
  });

  test("a waiting client is kept a line's worth of what it sends; past that it is not read until its turn", async () => {
    const { port } = withRoom({ maxLine: 1000 });
    await using first = await TcpTestClient.connect(port);
    await first.waitForText(/your turn/);
    await using eager = await TcpTestClient.connect(port);
    await eager.waitForText(/in the queue/);
    // 20 lines of 500 bytes: 10 KB, far more than a line's worth, sent while waiting.
    const lines = Array.from(
      { length: 20 },
      (_, i) => `${String(i).padStart(2, "0")}${"e".repeat(498)}\n`,
    );
    eager.send(lines.join(""));
    first.send("\n");
    await eager.waitForText(/your turn/);
    await eager.until((received) => received.toString().endsWith(lines.at(-1) ?? "?"));
    expect(eager.text).toEndWith(lines.join(""));
    eager.send("\n");
    await eager.whenClosed;
  });

  test("a too-long line or a disconnect mid-line ends that turn; the next in the room is served", async () => {
    const { port } = withRoom({ maxLine: 100 });
    await using hog = await TcpTestClient.connect(port);
    await hog.waitForText(/your turn/);
    await using leaver = await TcpTestClient.connect(port);
    await leaver.waitForText(/in the queue/);
    await using polite = await TcpTestClient.connect(port);
    await polite.waitForText(/2 ahead/);
    hog.send("y".repeat(5000));
    await hog.whenClosed;
    expect(hog.text).toEndWith("error: line longer than 100 bytes; closing\n");
    await leaver.waitForText(/your turn/);
    leaver.send("half a li");
    leaver.end();
    await polite.waitForText(/your turn/);
    polite.send("still served\n\n");
    await polite.whenClosed;
    expect(polite.text).toEndWith("still served\n");
  });

  test("a client being served that sends no whole line for the idle time loses its turn to the next, dripping or not", async () => {
    const { port, logged } = withRoom({ idle: 0.3 });
    await using dripper = await TcpTestClient.connect(port);
    await dripper.waitForText(/your turn/);
    await using next = await TcpTestClient.connect(port);
    const drip = setInterval(() => dripper.send("x"), 50);
    try {
      await dripper.whenClosed;
    } finally {
      clearInterval(drip);
    }
    expect(dripper.text).toEndWith("idle for 0.3 s: your turn is over\n");
    await next.waitForText(/your turn/);
    expect(logged.lines).toContainEqual(expect.stringMatching(/done \(idle\)$/));
  });
});

describe("05-waiting-room as a student runs it", () => {
  test("prints who waits and serves both in turn; Ctrl-C stops it", async () => {
    await using lesson = startLesson(FILE, ["--port", "0"]);
    const { port } = await lesson.listening("tcp");
    await using first = await TcpTestClient.connect(port);
    await first.waitForText(/your turn/);
    await using second = await TcpTestClient.connect(port);
    await lesson.waitFor(/127\.0\.0\.1:\d+ waits: 1 ahead of it/);
    first.send("one\n\n");
    await second.waitForText(/your turn/);
    second.send("two\n\n");
    await second.whenClosed;
    expect(first.text).toContain("one\n");
    expect(second.text).toEndWith("two\n");
    const result = await lesson.stop("SIGINT");
    expect(result.code).toBe(0);
  });

  test("300 resets: nothing on stderr, and the next client is served", async () => {
    await using lesson = startLesson(FILE, ["--port", "0"]);
    const { port } = await lesson.listening("tcp");
    expect((await attack(["resets", "127.0.0.1", port, 300])).reset).toBe(300);
    await using client = await TcpTestClient.connect(port);
    await client.waitForText(/your turn/);
    client.send("still here\n\n");
    await client.whenClosed;
    expect(client.text).toEndWith("still here\n");
    const result = await lesson.stop("SIGINT");
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
  });

  test("--queue 0 is a usage error", async () => {
    const queue = await runLesson(FILE, ["--queue", "0"]);
    expect(queue.code).toBe(2);
    expect(queue.stderr).toStartWith('--queue must be a whole number of at least 1 (got "0")');
  });
});
