// Lesson 04, one at a time: one client has its turn (its lines echoed until an empty line);
// anyone who comes meanwhile hears "busy" and is closed. Clients that leave, reset, stay
// quiet, send a line too long or never read their echoes end their own turn only.
import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { serveInTurn, type Rules } from "../../04-server/04-one-at-a-time.ts";
import { attack } from "../hostile/servers.ts";
import { logCollector, runLesson, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { connectError, serverConventions } from "./conventions.ts";

const track = tracker();
const FILE = "04-server/04-one-at-a-time.ts";
const TURN = "your turn: each line comes back; an empty line ends your turn\n";

serverConventions(FILE);

/** Lesson 04 in-process on a free port, stopped after the test, with its log collected. */
function inTurn(rules: Rules = {}) {
  const logged = logCollector();
  const server = track(serveInTurn("127.0.0.1", 0, rules, logged.log));
  return { port: server.tcp.port, allServed: server.allServed, logged };
}

describe("04-one-at-a-time in-process", () => {
  test("while one client has its turn, a newcomer hears busy and is closed; after the turn, the next is served", async () => {
    const { port, logged } = inTurn();
    await using first = await TcpTestClient.connect(port);
    await first.waitForText(/your turn/);
    await using second = await TcpTestClient.connect(port);
    await second.whenClosed;
    expect(second.text).toBe("busy: one client at a time; try later\n");
    await logged.waitFor(/127\.0\.0\.1:\d+ turned away: busy/);
    first.send("a1\na2\n");
    await first.waitForText(/a1\na2\n$/);
    first.send("\n");
    await first.whenClosed;
    expect(first.text).toBe(`${TURN}a1\na2\n`);
    await using third = await TcpTestClient.connect(port);
    third.send("mine now\n");
    await third.waitForText(/mine now\n$/);
    expect(third.text).toStartWith(TURN);
  });

  test("a newcomer that arrives as the turn ends is looked at again, and served rather than refused", async () => {
    const { port } = inTurn();
    await using first = await TcpTestClient.connect(port);
    await first.waitForText(/your turn/);
    // The turn ends and the next client comes at once: its first look may still see a turn.
    first.send("\n");
    await using next = await TcpTestClient.connect(port);
    next.send("in time\n");
    await next.waitForText(/in time\n$/);
    expect(next.text).toBe(`${TURN}in time\n`);
  });

  test("with --max-clients N: newcomers beyond N hear sorry; after the Nth turn it stops listening", async () => {
    const { port, allServed, logged } = inTurn({ maxClients: 2 });
    await using first = await TcpTestClient.connect(port);
    await first.waitForText(/your turn/);
    first.send("\n");
    await first.whenClosed;
    await using second = await TcpTestClient.connect(port);
    await second.waitForText(/your turn/);
    await using third = await TcpTestClient.connect(port);
    await third.whenClosed;
    expect(third.text).toBe("sorry: this server serves 2 clients and then exits\n");
    await logged.waitFor(/turned away: sorry/);
    second.send("two\n\n");
    expect(await allServed).toBe(2);
    await second.whenClosed;
    expect(second.text).toBe(`${TURN}two\n`);
    expect(await connectError(port)).toBe("ECONNREFUSED");
  });

  test("a too-long line or a disconnect mid-line ends that turn; the next is served", async () => {
    const { port, allServed } = inTurn({ maxClients: 3, maxLine: 100 });
    await using hog = await TcpTestClient.connect(port);
    await hog.waitForText(/your turn/);
    hog.send("y".repeat(5000));
    await hog.whenClosed;
    expect(hog.text).toEndWith("error: line longer than 100 bytes; closing\n");
    await using leaver = await TcpTestClient.connect(port);
    await leaver.waitForText(/your turn/);
    leaver.send("half a li");
    leaver.end();
    await leaver.whenClosed;
    await using polite = await TcpTestClient.connect(port);
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
      await logged.waitFor(/does not read its echoes: not reading it now/);
      // It reads at last: the server reads it again, and every echo arrives.
      hog.resume();
      await echoedAll.promise;
      expect(received).toBe(TURN.length + lines.length);
      // The end of its turn.
      hog.write("\n");
      await logged.waitFor(/done \(empty line\), 16384 line\(s\) echoed/);
      await using next = await TcpTestClient.connect(port);
      await next.waitForText(/your turn/);
      next.send("\n");
      expect(await allServed).toBe(2);
    } finally {
      hog.terminate();
    }
  });

  test("a client being served that sends no whole line for the idle time loses its turn, dripping or not", async () => {
    const { port, logged } = inTurn({ idle: 0.3 });
    await using dripper = await TcpTestClient.connect(port);
    await dripper.waitForText(/your turn/);
    const drip = setInterval(() => dripper.send("x"), 50);
    try {
      await dripper.whenClosed;
    } finally {
      clearInterval(drip);
    }
    expect(dripper.text).toEndWith("idle for 0.3 s: your turn is over\n");
    expect(logged.lines).toContainEqual(
      expect.stringMatching(/done \(idle\), 0 line\(s\) echoed$/),
    );
    await using next = await TcpTestClient.connect(port);
    await next.waitForText(/your turn/);
  });
});

describe("04-one-at-a-time as a student runs it", () => {
  test("serves --max-clients turns one after another, says who is served and exits 0", async () => {
    await using lesson = startLesson(FILE, ["--port", "0", "--max-clients", "2"]);
    const { port } = await lesson.listening("tcp");
    for (const word of ["one", "two"]) {
      await using client = await TcpTestClient.connect(port);
      client.send(`${word}\n\n`);
      await client.whenClosed;
      expect(client.text).toBe(`${TURN}${word}\n`);
    }
    const result = await lesson.finished();
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/127\.0\.0\.1:\d+ is being served/);
    expect(result.stdout).toContain("served all 2 clients: exiting");
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

  test("--max-clients 0 is a usage error", async () => {
    const clients = await runLesson(FILE, ["--max-clients", "0"]);
    expect(clients.code).toBe(2);
    expect(clients.stderr).toStartWith(
      '--max-clients must be a whole number from 1 to 1000000 (got "0")',
    );
  });
});
