/**
 * 05-calc/heavy-lines.ts, the TCP side of lessons 07 and 08, with a `compute` the test
 * controls: replies in request order whenever they are computed, a client not read while
 * its heavy work is out, at most MAX_IN_FLIGHT of one client's lines computing at once,
 * the lines of a client that left never started, and the FIN and over-long line behind
 * pending work.
 */
import { expect, test } from "bun:test";
import { MAX_IN_FLIGHT, serveHeavyLines } from "../../05-calc/heavy-lines.ts";
import { SLOW_TEST_MS, TcpTestClient, tracker } from "../helpers.ts";
import { receivedLines, replyLines } from "./support.ts";

const track = tracker();

/** The heavy lines handed to `compute`, each with the function that answers it. */
function fakePool() {
  const calls: { line: string; answer: (reply: string) => void }[] = [];
  let changed = (): void => {};
  const compute = (line: string): Promise<string> =>
    new Promise((answer) => {
      calls.push({ line, answer });
      changed();
    });
  /** Resolves once `count` lines have been handed over. */
  const handed = (count: number): Promise<void> =>
    new Promise((resolve) => {
      changed = () => {
        if (calls.length >= count) resolve();
      };
      changed();
    });
  return { calls, compute, handed };
}

function start(compute: (line: string) => Promise<string>) {
  return track(serveHeavyLines({ host: "127.0.0.1", port: 0, idle: 60, compute }));
}

test("cheap lines are answered at once, heavy ones by compute, all in request order", async () => {
  const pool = fakePool();
  const server = start(pool.compute);
  await using client = await TcpTestClient.connect(server.tcp.port);
  client.send("isprime 7\n1 + 1\nfactor 6\n2 + 2\n");
  await pool.handed(2);
  expect(pool.calls.map((call) => call.line)).toEqual(["isprime 7", "factor 6"]);
  // The second heavy line is answered first: its reply still waits for the first one's.
  pool.calls[1]?.answer("OK 2 3");
  pool.calls[0]?.answer("OK true");
  expect(await replyLines(client, 4)).toEqual(["OK true", "OK 2", "OK 2 3", "OK 4"]);
});

test("a client is not read while its heavy work is out; then it is", async () => {
  const pool = fakePool();
  const server = start(pool.compute);
  await using client = await TcpTestClient.connect(server.tcp.port);
  await using other = await TcpTestClient.connect(server.tcp.port);
  client.send("isprime 7\n");
  await pool.handed(1);
  client.send("isprime 11\n");
  // Another client's exchange: the server went on meanwhile, and left the first one unread.
  other.send("3 + 3\n");
  expect(await replyLines(other, 1)).toEqual(["OK 6"]);
  expect(pool.calls.length).toBe(1);
  pool.calls[0]?.answer("OK true");
  await pool.handed(2);
  pool.calls[1]?.answer("OK true");
  expect(await replyLines(client, 2)).toEqual(["OK true", "OK true"]);
});

test(`at most ${MAX_IN_FLIGHT} heavy lines of one client compute at once; the others wait their turn`, async () => {
  const pool = fakePool();
  const server = start(pool.compute);
  await using client = await TcpTestClient.connect(server.tcp.port);
  client.send("isprime 97\n".repeat(40));
  await pool.handed(MAX_IN_FLIGHT);
  await using other = await TcpTestClient.connect(server.tcp.port);
  other.send("1 + 1\n");
  await replyLines(other, 1);
  expect(pool.calls.length).toBe(MAX_IN_FLIGHT);
  pool.calls[0]?.answer("OK true");
  await pool.handed(MAX_IN_FLIGHT + 1);
  for (let answered = 1; answered < 40; answered++) {
    await pool.handed(Math.min(40, answered + MAX_IN_FLIGHT));
    pool.calls[answered]?.answer("OK true");
  }
  expect(await replyLines(client, 40)).toEqual(Array(40).fill("OK true"));
});

test("a client that leaves: its heavy lines not started yet are never started", async () => {
  const pool = fakePool();
  const server = start(pool.compute);
  {
    await using client = await TcpTestClient.connect(server.tcp.port);
    client.send("isprime 97\n".repeat(40));
    await pool.handed(MAX_IN_FLIGHT);
  }
  // Gone: its close reaches the server before another client's reply does.
  await using other = await TcpTestClient.connect(server.tcp.port);
  other.send("1 + 1\n");
  await replyLines(other, 1);
  for (const call of pool.calls.slice(0)) call.answer("OK true");
  other.send("2 + 2\n");
  await replyLines(other, 2);
  expect(pool.calls.length).toBe(MAX_IN_FLIGHT);
});

test("a heavy line, then the client's FIN: the reply when it is computed, then the close", async () => {
  const pool = fakePool();
  const server = start(pool.compute);
  await using client = await TcpTestClient.connect(server.tcp.port);
  client.send("1 + 1\nfactor 360\n");
  client.shutdown();
  await pool.handed(1);
  pool.calls[0]?.answer("OK 2 2 2 3 3 5");
  await client.whenClosed;
  expect(client.text).toBe("OK 2\nOK 2 2 2 3 3 5\n");
});

/** How long lib's Outbox gives a client after `end()` before it cuts it off. */
const OUTBOX_GRACE_MS = 5_000;

test(
  "a last heavy line ended by the FIN, its reply computed after the Outbox's 5 s grace: still sent",
  async () => {
    const pool = fakePool();
    const server = start(pool.compute);
    await using client = await TcpTestClient.connect(server.tcp.port);
    client.send("factor 360");
    client.shutdown();
    await pool.handed(1);
    // On purpose: a computation longer than the grace that serveLines' end() would start.
    await new Promise((resolve) => setTimeout(resolve, OUTBOX_GRACE_MS + 500));
    pool.calls[0]?.answer("OK 2 2 2 3 3 5");
    await client.whenClosed;
    expect(client.text).toBe("OK 2 2 2 3 3 5\n");
  },
  SLOW_TEST_MS,
);

test("an over-long line behind pending work: the replies before it, the error, the close", async () => {
  const pool = fakePool();
  const server = start(pool.compute);
  await using client = await TcpTestClient.connect(server.tcp.port);
  client.send(`isprime 7\n1 + 1\n${"x".repeat(2000)}\n`);
  await pool.handed(1);
  pool.calls[0]?.answer("OK true");
  await client.whenClosed;
  expect(receivedLines(client)).toEqual([
    "OK true",
    "OK 2",
    "ERR line-too-long: a request is at most 1024 bytes; closing the connection",
  ]);
});
