/**
 * Lesson 05/07, the worker pool: heavy lines computed on Worker threads while the loop keeps
 * answering cheap ones, every reply in its request's place; the pool closes with nothing left
 * running; memory bounded when cheap replies pile up behind a heavy one; and the server as a
 * student runs it: the README's heavy example, an idle client, its bad flags, a port in use.
 */
import { expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { defaultWorkers, startPoolServer, WorkerPool } from "../../05-calc/07-worker-pool.ts";
import {
  hasCommand,
  inUse,
  ROOT,
  runLesson,
  SLOW_TEST_MS,
  startLesson,
  TcpTestClient,
  tracker,
} from "../helpers.ts";
import { hostile, lesson, receivedLines, replyLines, SLOW } from "./support.ts";

const track = tracker();
const FILE = lesson("07-worker-pool");

/** A pool a test made, terminated after the test. */
function trackPool(pool: WorkerPool): WorkerPool {
  track({ stop: () => pool.close() });
  return pool;
}

test("the pool is sized to the machine, leaving a core to the event loop; --help says so", async () => {
  const cores = availableParallelism();
  expect(defaultWorkers()).toBe(cores > 1 ? cores - 1 : 1);
  const help = await runLesson(FILE, ["--help"]);
  expect(help.stdout).toContain(`threads (default ${defaultWorkers()}: cores but one)`);
});

test("close() with a line computing and one queued answers both and leaves nothing running", async () => {
  // In a process of its own: it must exit by itself, with no worker left behind.
  const script = `
    import { WorkerPool } from ${JSON.stringify(join(ROOT, FILE))};
    const pool = new WorkerPool(1);
    await pool.run("isprime 97");
    const [computing, queued] = [pool.run(${JSON.stringify(SLOW)}), pool.run("isprime 97")];
    pool.close();
    console.log(await computing);
    console.log(await queued);`;
  await using child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  clearTimeout(timer);
  const stopping = "ERR busy: the server is stopping";
  expect({ code, stdout }).toEqual({ code: 0, stdout: `${stopping}\n${stopping}\n` });
});

test("WorkerPool: heavy lines computed on workers, more lines than workers queued", async () => {
  const pool = trackPool(new WorkerPool(2));
  const replies = await Promise.all(
    ["isprime 97", "factor 360", "isprime 1000000007", "isprime x"].map((line) => pool.run(line)),
  );
  expect(replies).toEqual([
    "OK true",
    "OK 2 2 2 3 3 5",
    "OK true",
    'ERR bad-number: "x" is not a number',
  ]);
});

test("the server answers a cheap request while a worker computes a heavy one", async () => {
  const server = track(startPoolServer({ port: 0, workers: 1 }));
  await using heavy = await TcpTestClient.connect(server.tcp.port);
  await using cheap = await TcpTestClient.connect(server.tcp.port);
  heavy.send(`${SLOW}\n`);
  cheap.send("1 + 1\n");
  expect(await replyLines(cheap, 1)).toEqual(["OK 2"]);
  // Still computing, on another thread.
  expect(heavy.text).toBe("");
  expect(await replyLines(heavy, 1)).toEqual(["OK true"]);
});

test("replies computed later still go out in request order: a cheap one waits behind a heavy one", async () => {
  const server = track(startPoolServer({ port: 0, workers: 1 }));
  await using client = await TcpTestClient.connect(server.tcp.port);
  await using other = await TcpTestClient.connect(server.tcp.port);
  client.send(`${SLOW}\n1 + 1\nfactor 91\n2 + 2\n`);
  // Another client's exchange: by then this one's lines were read, and "1 + 1" answered.
  other.send("3 + 3\n");
  expect(await replyLines(other, 1)).toEqual(["OK 6"]);
  expect(client.text).toBe("");
  expect(await replyLines(client, 4)).toEqual(["OK true", "OK 2", "OK 7 13", "OK 4"]);
});

test("over-long line behind a pending reply: that reply, then ERR line-too-long, then the close", async () => {
  const server = track(startPoolServer({ port: 0, workers: 1 }));
  await using client = await TcpTestClient.connect(server.tcp.port);
  client.send(`isprime 99999999999973\n1 + 1\n${"x".repeat(2000)}\n`);
  await client.whenClosed;
  expect(receivedLines(client)).toEqual([
    "OK true",
    "OK 2",
    "ERR line-too-long: a request is at most 1024 bytes; closing the connection",
  ]);
});

test("a last heavy request without its newline is answered after the FIN, then the close", async () => {
  const server = track(startPoolServer({ port: 0, workers: 1 }));
  await using client = await TcpTestClient.connect(server.tcp.port);
  client.send("1 + 1\nfactor 360");
  client.shutdown();
  await client.whenClosed;
  expect(client.text).toBe("OK 2\nOK 2 2 2 3 3 5\n");
});

test.skipIf(!hasCommand("python3"))(
  "a heavy request, then cheap ones pipelined behind it and never read: RSS stays under 150 MiB (needs python3)",
  async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    const { port } = await server.listening("tcp");
    // Each block: one heavy request, then a thousand cheap ones whose replies wait behind it.
    const block = `${SLOW}\n${"2 ^ 3321\n".repeat(1000)}`;
    const hex = Buffer.from(block).toString("hex");
    const { peakMiB } = await hostile(server.proc.pid, ["flood", "127.0.0.1", port, hex, 3]);
    expect(peakMiB).toBeLessThan(150);
    const { report } = await hostile(server.proc.pid, ["resets", "127.0.0.1", port, 100]);
    expect(report.reset).toBe(100);
    await using client = await TcpTestClient.connect(port);
    client.send("12 + 30\n");
    expect(await replyLines(client, 1)).toEqual(["OK 42"]);
    expect(server.proc.exitCode).toBeNull();
  },
  SLOW_TEST_MS,
);

test(
  "spawned with its defaults: the README's heavy example (isprime 9007199254740881) is computed on a worker",
  async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    const { port } = await server.listening("tcp");
    await using client = await TcpTestClient.connect(port);
    client.send(`${SLOW}\n`);
    expect(await replyLines(client, 1, 20_000)).toEqual(["OK true"]);
  },
  SLOW_TEST_MS,
);

test("spawned: an idle client is closed after --idle", async () => {
  await using server = startLesson(FILE, ["--port", "0", "--idle", "0.3"]);
  const { port } = await server.listening("tcp");
  await using client = await TcpTestClient.connect(port);
  client.send("1 + 1\n");
  await client.whenClosed;
  expect(client.text).toBe("OK 2\n");
});

test("spawned: bad --workers is exit 2 with the reason and the usage", async () => {
  const result = await runLesson(FILE, ["--workers", "0"]);
  expect(result.code).toBe(2);
  expect(result.stderr).toStartWith(
    '--workers must be a whole number from 1 to 256 (got "0")\n\nusage: bun run 05-calc/07-worker-pool.ts',
  );
});

test("spawned: port in use, exit 1 (and its workers do not keep it alive)", async () => {
  const holder = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  const result = await runLesson(FILE, ["--port", String(holder.port)]);
  expect(result).toEqual({ code: 1, stdout: "", stderr: `${inUse(holder.port)}\n` });
});
