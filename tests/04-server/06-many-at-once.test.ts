// Lesson 06, many at once: every client is served at the same time, each with its own line
// reader, Outbox and IdleTimer in `socket.data`. A whole line is the only sign of life; a
// last line without "\n" still counts at the end of the input.
import { describe, expect, test } from "bun:test";
import { serveMany } from "../../04-server/06-many-at-once.ts";
import { attack } from "../hostile/servers.ts";
import { logCollector, runLesson, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { serverConventions } from "./conventions.ts";

const track = tracker();
const FILE = "04-server/06-many-at-once.ts";

serverConventions(FILE);

describe("06-many-at-once in-process", () => {
  test("three clients at once, each with its own number, reader and counter", async () => {
    const server = track(serveMany("127.0.0.1", 0));
    const clients = await Promise.all([1, 2, 3].map(() => TcpTestClient.connect(server.tcp.port)));
    try {
      for (const client of clients) await client.waitForText(/hello client #\d+/);
      const numbers = clients.map((client) => Number(client.text.match(/#(\d+)/)?.[1]));
      expect(new Set(numbers).size).toBe(3);
      // Interleaved, split and joined: each client's lines still come back whole, to it alone.
      clients.forEach((client, i) => client.send(`c${i}-a`));
      clients.forEach((client, i) => client.send(`\nc${i}-b\nc${i}-`));
      clients.forEach((client, i) => client.send(`c\n`));
      for (const [i, client] of clients.entries()) {
        await client.waitForText(new RegExp(`c${i}-a\\nc${i}-b\\nc${i}-c\\n$`));
        // End of input: the server still owes us a goodbye.
        client.shutdown();
        await client.whenClosed;
        expect(client.text).toEndWith(`c${i}-c\nyou sent 3 line(s), bye\n`);
      }
    } finally {
      for (const client of clients) await client[Symbol.asyncDispose]();
    }
  });

  test("a last line without a newline, then the end of input: it is still echoed (the old lesson dropped it)", async () => {
    const server = track(serveMany("127.0.0.1", 0));
    await using client = await TcpTestClient.connect(server.tcp.port);
    client.send("whole\nand the last, unterminated");
    client.shutdown();
    await client.whenClosed;
    expect(client.text).toEndWith("whole\nand the last, unterminated\nyou sent 2 line(s), bye\n");
  });

  test("a too-long line gets an error and a close; the others are still served", async () => {
    const server = track(serveMany("127.0.0.1", 0, { maxLine: 1000 }));
    await using bad = await TcpTestClient.connect(server.tcp.port);
    await using good = await TcpTestClient.connect(server.tcp.port);
    bad.send("z".repeat(50_000));
    await bad.whenClosed;
    expect(bad.text).toEndWith("error: line longer than 1000 bytes; closing\n");
    good.send("fine\n");
    await good.waitForText(/fine\n$/);
  });

  test("a client that never reads is no longer read; the others are served, and it gets every echo once it reads", async () => {
    const logged = logCollector();
    const server = track(serveMany("127.0.0.1", 0, {}, logged.log));
    await using hog = await TcpTestClient.connect(server.tcp.port);
    await hog.waitForText(/hello client/);
    const hello = hog.received.length;
    // It reads nothing from now on, and offers 16 MiB of lines.
    hog.socket.pause();
    const sent = 16 * 1024 * 1024;
    hog.send(`${"h".repeat(1023)}\n`.repeat(sent / 1024));
    await logged.waitFor(/client #1 is not reading: stopped reading it/);
    await using other = await TcpTestClient.connect(server.tcp.port);
    other.send("still here?\n");
    await other.waitForText(/still here\?\n$/);
    // It reads at last: everything it sent comes back.
    hog.socket.resume();
    await hog.until((received) => received.length >= hello + sent, 30_000);
    expect(hog.received.length).toBe(hello + sent);
  }, 30_000);

  test("a silent client is closed after the idle time, with a reason", async () => {
    const server = track(serveMany("127.0.0.1", 0, { idle: 0.3 }));
    await using quiet = await TcpTestClient.connect(server.tcp.port);
    await quiet.whenClosed;
    expect(quiet.text).toEndWith("idle for 0.3 s: closing\n");
  });

  test("a client that drips bytes but never ends a line is idle too (the old timer was reset by any byte)", async () => {
    const logged = logCollector();
    const server = track(serveMany("127.0.0.1", 0, { idle: 0.3 }, logged.log));
    await using dripper = await TcpTestClient.connect(server.tcp.port);
    await using talker = await TcpTestClient.connect(server.tcp.port);
    const drip = setInterval(() => {
      dripper.send("x");
      talker.send("a line\n");
    }, 50);
    try {
      await dripper.whenClosed;
    } finally {
      clearInterval(drip);
    }
    expect(dripper.text).toEndWith("idle for 0.3 s: closing\n");
    // The one that sends whole lines is still served.
    expect(talker.closed).toBe(false);
    expect(logged.lines).toContain("client #1: idle, so closed after 0 line(s)");
  });
});

describe("06-many-at-once as a student runs it", () => {
  test("a long line and an idle client are dropped, the others served; SIGINT exits 0", async () => {
    await using lesson = startLesson(FILE, ["--port", "0", "--max-line", "100", "--idle", "1"]);
    const { port } = await lesson.listening("tcp");
    await using bad = await TcpTestClient.connect(port);
    bad.send(`${"q".repeat(500)}\n`);
    await bad.whenClosed;
    expect(bad.text).toEndWith("error: line longer than 100 bytes; closing\n");
    await using good = await TcpTestClient.connect(port);
    good.send("ok\n");
    await good.waitForText(/ok\n$/);
    await lesson.waitFor(/sent a line over 100 bytes/);
    // Then silent for 1 s.
    await good.whenClosed;
    expect(good.text).toEndWith("idle for 1 s: closing\n");
    await using last = await TcpTestClient.connect(port);
    await last.waitForText(/hello client #3/);
    const result = await lesson.stop("SIGINT");
    expect(result.code).toBe(0);
    // Closed by the server's stop.
    await last.whenClosed;
  });

  test("an --idle too long for a timer is a usage error, not clients closed at once", async () => {
    const result = await runLesson(FILE, ["--idle", "3000000"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith(
      '--idle must be a whole number from 1 to 1000000 (got "3000000")\n\nusage:',
    );
  });

  test("300 resets (the old lesson died of them with a TypeError): still serving, nothing on stderr", async () => {
    await using lesson = startLesson(FILE, ["--port", "0"]);
    const { port } = await lesson.listening("tcp");
    expect((await attack(["resets", "127.0.0.1", port, 300])).reset).toBe(300);
    await using client = await TcpTestClient.connect(port);
    client.send("after the storm\n");
    await client.waitForText(/after the storm\n$/);
    const result = await lesson.stop("SIGTERM");
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
    expect(result.stdout).toContain("stopped by SIGTERM");
  });
});
