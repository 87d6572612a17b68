// Lesson 03, echo once: TCP is a stream, so a line is whatever ends in "\n", however the
// bytes arrive. The first whole line of any client is echoed, then the server exits; clients
// that leave, reset, stay quiet or send a line too long do not count.
import { describe, expect, test } from "bun:test";
import { echoOnce } from "../../04-server/03-echo-once.ts";
import { LineReader } from "../../lib/stream.ts";
import { attack } from "../hostile/servers.ts";
import { logCollector, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { connectError, serverConventions } from "./conventions.ts";

const track = tracker();
const FILE = "04-server/03-echo-once.ts";

serverConventions(FILE);

describe("03-echo-once: line framing with a LineReader", () => {
  test("a line split over several reads comes out whole; two lines in one read come out as two", () => {
    const lines = new LineReader(100);
    expect([...lines.push(Buffer.from("hel"))]).toEqual([]);
    expect(lines.buffered).toBe(3);
    expect([...lines.push(Buffer.from("lo\r\nsec"))]).toEqual(["hello"]);
    expect([...lines.push(Buffer.from("ond\nthird\n\n"))]).toEqual(["second", "third", ""]);
    expect(lines.buffered).toBe(0);
  });

  test("a line at the limit passes; one byte more is too long, with or without its newline", () => {
    expect([...new LineReader(5).push(Buffer.from("12345\n"))]).toEqual(["12345"]);
    const over = new LineReader(5);
    expect([...over.push(Buffer.from("123456\n"))]).toEqual([]);
    expect(over.tooLong).toBe(true);
    const endless = new LineReader(5);
    expect([...endless.push(Buffer.from("123"))]).toEqual([]);
    expect([...endless.push(Buffer.from("456"))]).toEqual([]);
    expect(endless.tooLong).toBe(true);
  });
});

describe("03-echo-once in-process", () => {
  test("a line sent in two pieces is echoed once it is complete", async () => {
    const logged = logCollector();
    const server = track(echoOnce("127.0.0.1", 0, {}, logged.log));
    await using tcp = await TcpTestClient.connect(server.tcp.port);
    tcp.send("hel");
    // The first piece was a read of its own.
    await logged.waitFor(/read 3 bytes, no end of line yet/);
    tcp.send("lo\n");
    await tcp.whenClosed;
    expect(tcp.text).toBe("hello\n");
    expect(await server.echoed).toMatchObject({ line: "hello", bytes: 5, reads: 2 });
    expect(await connectError(server.tcp.port)).toBe("ECONNREFUSED");
  });

  test("two lines in one packet: only the first is echoed", async () => {
    const server = track(echoOnce("127.0.0.1", 0));
    await using tcp = await TcpTestClient.connect(server.tcp.port);
    tcp.send("first\nsecond\n");
    await tcp.whenClosed;
    expect(tcp.text).toBe("first\n");
    expect(await server.echoed).toMatchObject({ line: "first", reads: 1 });
  });

  test("a line over the limit gets an error and a close, and does not count: the next client is served", async () => {
    const server = track(echoOnce("127.0.0.1", 0, { maxLine: 1000 }));
    await using hog = await TcpTestClient.connect(server.tcp.port);
    // And no newline.
    hog.send("x".repeat(200_000));
    await hog.whenClosed;
    expect(hog.text).toBe("error: line longer than 1000 bytes; closing\n");
    await using next = await TcpTestClient.connect(server.tcp.port);
    next.send("fine\n");
    await next.whenClosed;
    expect(next.text).toBe("fine\n");
    expect((await server.echoed).line).toBe("fine");
  });

  test("a client that leaves mid-line is logged with the bytes it left, and the server keeps waiting", async () => {
    const logged = logCollector();
    const server = track(echoOnce("127.0.0.1", 0, {}, logged.log));
    const leaver = await TcpTestClient.connect(server.tcp.port);
    leaver.send("partial");
    await logged.waitFor(/no end of line yet/);
    leaver.end();
    await logged.waitFor(/left mid-line \(7 bytes\): still waiting/);
    await using next = await TcpTestClient.connect(server.tcp.port);
    next.send("whole\n");
    await next.whenClosed;
    expect(next.text).toBe("whole\n");
  });

  test("when one client's line is echoed, the others still waiting are closed", async () => {
    const server = track(echoOnce("127.0.0.1", 0));
    await using waiting = await TcpTestClient.connect(server.tcp.port);
    waiting.send("not yet a line");
    await using winner = await TcpTestClient.connect(server.tcp.port);
    winner.send("mine\n");
    await winner.whenClosed;
    await waiting.whenClosed;
    expect(waiting.text).toBe("");
    expect(winner.text).toBe("mine\n");
  });

  test("a client that sends no whole line for the idle time is closed, dripping bytes or not", async () => {
    const logged = logCollector();
    const server = track(echoOnce("127.0.0.1", 0, { idle: 0.3 }, logged.log));
    await using quiet = await TcpTestClient.connect(server.tcp.port);
    await using dripper = await TcpTestClient.connect(server.tcp.port);
    const drip = setInterval(() => dripper.send("x"), 50);
    try {
      await quiet.whenClosed;
      await dripper.whenClosed;
    } finally {
      clearInterval(drip);
    }
    expect(quiet.text).toBe("idle for 0.3 s: closing\n");
    expect(dripper.text).toBe("idle for 0.3 s: closing\n");
    expect(logged.lines.filter((line) => line.includes("was quiet")).length).toBe(2);
  });
});

describe("03-echo-once as a student runs it", () => {
  test("a split line is echoed, and it exits 0; over IPv6 too", async () => {
    for (const host of ["127.0.0.1", "::1"]) {
      await using lesson = startLesson(FILE, ["--host", host, "--port", "0"]);
      const { port } = await lesson.listening("tcp");
      await using tcp = await TcpTestClient.connect(port, host);
      tcp.send("ping");
      await lesson.waitFor(/read 4 bytes, no end of line yet/);
      tcp.send(" pong\n");
      await tcp.whenClosed;
      expect(tcp.text).toBe("ping pong\n");
      const result = await lesson.finished();
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('echoed "ping pong" (9 bytes)');
    }
  });

  test("--max-line 10: a longer line gets the error reply, and the next client is served", async () => {
    await using lesson = startLesson(FILE, ["--port", "0", "--max-line", "10"]);
    const { port } = await lesson.listening("tcp");
    await using tcp = await TcpTestClient.connect(port);
    tcp.send("this line is too long\n");
    await tcp.whenClosed;
    expect(tcp.text).toBe("error: line longer than 10 bytes; closing\n");
    await using next = await TcpTestClient.connect(port);
    next.send("short\n");
    await next.whenClosed;
    expect((await lesson.finished()).code).toBe(0);
  });

  test("300 resets first (the old lesson died of them with a TypeError): the next client is served, exit 0", async () => {
    await using lesson = startLesson(FILE, ["--port", "0"]);
    const { port } = await lesson.listening("tcp");
    expect((await attack(["resets", "127.0.0.1", port, 300])).reset).toBe(300);
    await using tcp = await TcpTestClient.connect(port);
    tcp.send("after the storm\n");
    await tcp.whenClosed;
    expect(tcp.text).toBe("after the storm\n");
    const result = await lesson.finished();
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
  });

  test("--idle 1: a silent client is closed after a second (the old lesson waited for ever)", async () => {
    await using lesson = startLesson(FILE, ["--port", "0", "--idle", "1"]);
    const { port } = await lesson.listening("tcp");
    await using quiet = await TcpTestClient.connect(port);
    await quiet.whenClosed;
    expect(quiet.text).toBe("idle for 1 s: closing\n");
    expect(lesson.proc.exitCode).toBeNull();
  });
});
