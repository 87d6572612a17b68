// Lesson 04, one at a time: one client is served while the others wait in a bounded room,
// unread; an empty line ends a turn. Clients that leave, reset, stay quiet, send a line too
// long or never read their echoes end their own turn only.
import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { serveInTurn, type TurnOptions } from "../../04-server/04-one-at-a-time.ts";
import { attack } from "../hostile/servers.ts";
import { logCollector, runLesson, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { connectError, serverConventions } from "./conventions.ts";

const track = tracker();
const FILE = "04-server/04-one-at-a-time.ts";
const TURN = "your turn: each line comes back; an empty line ends your turn\n";

serverConventions(FILE);

/** Lesson 04 in-process on a free port, stopped after the test, with its log collected. */
function inTurn(options: TurnOptions = {}) {
  const logged = logCollector();
  const server = track(serveInTurn("127.0.0.1", 0, { ...options, log: logged.log }));
  return { port: server.tcp.port, allServed: server.allServed, logged };
}

describe("04-one-at-a-time in-process", () => {
  test("the second client waits, unread, until the first sends an empty line", async () => {
    const { port, allServed, logged } = inTurn({ maxClients: 2 });
    await using first = await TcpTestClient.connect(port);
    await first.waitForText(/your turn/);
    await using second = await TcpTestClient.connect(port);
    await second.waitForText(/you are in the queue, 1 ahead of you\n/);
    await logged.waitFor(/client #2 \(127\.0\.0\.1:\d+\) waits: 1 ahead of it/);
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
    expect(await allServed).toBe(2);
    await second.whenClosed;
    // It stopped listening after N.
    expect(await connectError(port)).toBe("ECONNREFUSED");
  });

  test("with --max-clients, clients beyond N are turned away; a waiting client that resets frees its place", async () => {
    const { port, logged } = inTurn({ maxClients: 2 });
    await using first = await TcpTestClient.connect(port);
    await first.waitForText(/your turn/);
    const quitter = await TcpTestClient.connect(port);
    await quitter.waitForText(/in the queue/);
    await using third = await TcpTestClient.connect(port);
    await third.whenClosed;
    expect(third.text).toBe("sorry: this server serves 2 clients and then exits\n");
    // A reset reaches the server even though it is not reading that client.
    quitter.socket.terminate();
    await logged.waitFor(/client #2 left the queue before its turn/);
    await using fourth = await TcpTestClient.connect(port);
    await fourth.waitForText(/you are in the queue, 1 ahead of you/);
  });

  test("the room is bounded: past --queue a newcomer hears busy and is closed", async () => {
    const { port } = inTurn({ queue: 2 });
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
    const { port } = inTurn();
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
    const { port, allServed, logged } = inTurn({ maxClients: 2 });
    await using first = await TcpTestClient.connect(port);
    await first.waitForText(/your turn/);
    await using quitter = await TcpTestClient.connect(port);
    await quitter.waitForText(/in the queue/);
    quitter.end();
    await logged.waitFor(/client #2 left the queue before its turn/);
    await using third = await TcpTestClient.connect(port);
    await third.waitForText(/you are in the queue, 1 ahead of you\n/);
    first.send("\n");
    await third.waitForText(/your turn/);
    third.send("\n");
    // The one that left was never served: the two served are the first and the third.
    expect(await allServed).toBe(2);
  });

  test("a waiting client is kept a line's worth of what it sends; past that it is not read until its turn", async () => {
    const { port, allServed } = inTurn({ maxClients: 2, maxLineBytes: 1000 });
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
    expect(await allServed).toBe(2);
  });

  test("a too-long line or a disconnect mid-line ends that turn; the next is served", async () => {
    const { port, allServed } = inTurn({ maxClients: 3, maxLineBytes: 100 });
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
    expect(await allServed).toBe(3);
  });

  test("a client being served that never reads its echoes is paused, loses nothing, and the next is served", async () => {
    const { port, allServed, logged } = inTurn({ maxClients: 2 });
    // 16 MiB to echo.
    const lines = Buffer.from(`${"h".repeat(1023)}\n`.repeat(16 * 1024));
    const echoedAll = Promise.withResolvers<void>();
    let offset = 0;
    let received = 0;
    const push = (socket: Socket<undefined>): void => {
      while (offset < lines.length) {
        const written = socket.write(lines.subarray(offset));
        if (written <= 0) return;
        offset += written;
      }
    };
    const hog = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(_socket, chunk) {
          received += chunk.length;
          if (received >= TURN.length + lines.length) echoedAll.resolve();
        },
        drain: push,
        error() {},
      },
    });
    try {
      // It reads nothing: its echoes pile up in the server, until the server stops reading it.
      hog.pause();
      push(hog);
      await logged.waitFor(/client #1 does not read its echoes: not reading it until it does/);
      await using next = await TcpTestClient.connect(port);
      await next.waitForText(/you are in the queue, 1 ahead of you\n/);
      // It reads at last: the server reads it again, and every echo arrives.
      hog.resume();
      await echoedAll.promise;
      expect(received).toBe(TURN.length + lines.length);
      // The end of its turn.
      hog.write("\n");
      await next.waitForText(/your turn/);
      expect(logged.lines).toContain("client #1 done (empty line), 16384 line(s) echoed");
      next.send("\n");
      expect(await allServed).toBe(2);
    } finally {
      hog.terminate();
    }
  });

  test("a client being served that sends no whole line for the idle time loses its turn, dripping or not", async () => {
    const { port, logged } = inTurn({ idleMs: 300 });
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
    expect(logged.lines).toContain("client #1 done (idle), 0 line(s) echoed");
  });
});

describe("04-one-at-a-time as a student runs it", () => {
  test("prints who waits, serves both in turn, exits 0 after --max-clients", async () => {
    await using lesson = startLesson(FILE, ["--port", "0", "--max-clients", "2"]);
    const { port } = await lesson.listening("tcp");
    await using first = await TcpTestClient.connect(port);
    await first.waitForText(/your turn/);
    await using second = await TcpTestClient.connect(port);
    await lesson.waitFor(/client #2 \(127\.0\.0\.1:\d+\) waits: 1 ahead of it/);
    first.send("one\n\n");
    await second.waitForText(/your turn/);
    second.send("two\n\n");
    const result = await lesson.finished();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("served all 2 clients: exiting");
    expect(first.text).toContain("one\n");
    await second.waitForText(/two\n$/);
  });

  test("with no --max-clients it serves until Ctrl-C", async () => {
    await using lesson = startLesson(FILE, ["--port", "0"]);
    const { port } = await lesson.listening("tcp");
    for (const word of ["one", "two", "three"]) {
      await using client = await TcpTestClient.connect(port);
      client.send(`${word}\n\n`);
      await client.whenClosed;
      expect(client.text).toBe(`${TURN}${word}\n`);
    }
    const result = await lesson.stop("SIGINT");
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("served all");
  });

  test("300 resets (the old lesson printed a TypeError stack for most): nothing on stderr, and the next client is served", async () => {
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

  test("--max-clients 0 and --queue 0 are usage errors", async () => {
    const clients = await runLesson(FILE, ["--max-clients", "0"]);
    expect(clients.code).toBe(2);
    expect(clients.stderr).toStartWith(
      '--max-clients must be a whole number from 1 to 1000000 (got "0")',
    );
    const queue = await runLesson(FILE, ["--queue", "0"]);
    expect(queue.code).toBe(2);
    expect(queue.stderr).toStartWith('--queue must be a whole number of at least 1 (got "0")');
  });
});
