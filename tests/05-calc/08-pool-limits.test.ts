/**
 * Lesson 05/08, the pool's limits: a bounded queue (`ERR busy` at once), a time limit
 * (`ERR timeout`, the worker replaced, the pool going on), at most 16 heavy lines per client
 * on the pool, each reply still in its request's place; the counts it prints when stopped,
 * the README's heavy example within the default limit, and its bad flags.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { defaultWorkers, startPoolServer, WorkerPool } from "../../05-calc/08-pool-limits.ts";
import { MAX_IN_FLIGHT } from "../../05-calc/heavy-lines.ts";
import {
  inUse,
  ROOT,
  runLesson,
  SLOW_TEST_MS,
  startLesson,
  TcpTestClient,
  tracker,
} from "../helpers.ts";
import { lesson, replyLines, SLOW } from "./support.ts";

const track = tracker();
const quiet = (): void => {};
const FILE = lesson("08-pool-limits");

/** A pool a test made, terminated after the test. */
function trackPool(pool: WorkerPool): WorkerPool {
  track({ stop: () => pool.close() });
  return pool;
}

test("--help names the limits and their defaults", async () => {
  const help = await runLesson(FILE, ["--help"]);
  expect(help.stdout).toContain(`threads (default ${defaultWorkers()}: cores but one)`);
  expect(help.stdout).toContain("heavy requests that may wait; more get ERR busy (default 64)");
  expect(help.stdout).toContain("longest computation, then ERR timeout (default 5000)");
});

test("close() with requests in flight and queued answers them all and leaves nothing running", async () => {
  // In a process of its own: it must exit by itself, with no worker or timer left behind.
  const script = `
    import { WorkerPool } from ${JSON.stringify(join(ROOT, FILE))};
    const pool = new WorkerPool(1, 4, 300);
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

test("WorkerPool: heavy lines computed on workers, and counted", async () => {
  const pool = trackPool(new WorkerPool(2, 8, 10_000));
  const replies = await Promise.all(
    ["isprime 97", "factor 360", "isprime 1000000007", "isprime x"].map((line) => pool.run(line)),
  );
  expect(replies).toEqual([
    "OK true",
    "OK 2 2 2 3 3 5",
    "OK true",
    'ERR bad-number: "x" is not a number',
  ]);
  expect(pool.stats).toEqual({ done: 4, busy: 0, timedOut: 0 });
});

test("WorkerPool: a full queue answers ERR busy at once", async () => {
  const pool = trackPool(new WorkerPool(1, 1, 400));
  // Once answered, the worker has loaded and is free.
  expect(await pool.run("isprime 97")).toBe("OK true");
  // In one tick: the first goes to the worker, the second waits, the third finds no room.
  const first = pool.run(SLOW);
  const second = pool.run(SLOW);
  const third = pool.run("isprime 97");
  expect(await third).toBe("ERR busy: 1 heavy requests wait already; try again later");
  expect(await first).toBe("ERR timeout: still computing after 400 ms; stopped");
  expect(await second).toBe("ERR timeout: still computing after 400 ms; stopped");
  expect(pool.stats).toEqual({ done: 1, busy: 1, timedOut: 2 });
});

test("WorkerPool: a worker over the time limit is replaced, and the pool goes on", async () => {
  const pool = trackPool(new WorkerPool(1, 4, 400));
  expect(await pool.run(SLOW)).toBe("ERR timeout: still computing after 400 ms; stopped");
  expect(await pool.run("isprime 97")).toBe("OK true");
  expect(pool.stats).toEqual({ done: 1, busy: 0, timedOut: 1 });
});

test("over TCP: timeouts and ERR busy, each reply in its request's place", async () => {
  const server = track(
    startPoolServer({ port: 0, log: quiet, workers: 1, queue: 1, timeLimitMs: 400 }),
  );
  await using client = await TcpTestClient.connect(server.tcp.port);
  // Once answered, the worker has loaded and is free.
  client.send("isprime 97\n");
  expect(await replyLines(client, 1)).toEqual(["OK true"]);
  client.send(`${SLOW}\n${SLOW}\n1 + 1\nfactor 12\n`);
  expect((await replyLines(client, 5)).slice(1)).toEqual([
    "ERR timeout: still computing after 400 ms; stopped",
    "ERR timeout: still computing after 400 ms; stopped",
    "OK 2",
    "ERR busy: 1 heavy requests wait already; try again later",
  ]);
  expect(server.pool.stats.timedOut).toBe(2);
});

test(`one client has at most ${MAX_IN_FLIGHT} heavy requests on the pool: 40 pipelined do not fill a queue of 20`, async () => {
  const server = track(startPoolServer({ port: 0, log: quiet, workers: 1, queue: 20 }));
  await using client = await TcpTestClient.connect(server.tcp.port);
  client.send("isprime 97\n".repeat(40));
  const replies = await replyLines(client, 40);
  expect(replies).toEqual(Array(40).fill("OK true"));
  expect(server.pool.stats).toEqual({ done: 40, busy: 0, timedOut: 0 });
});

test(
  "spawned with its defaults: the README's heavy example (isprime 9007199254740881) is computed, not timed out",
  async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    const { port } = await server.listening("tcp");
    await using client = await TcpTestClient.connect(port);
    client.send(`${SLOW}\n`);
    expect(await replyLines(client, 1, 20_000)).toEqual(["OK true"]);
  },
  SLOW_TEST_MS,
);

test("spawned: a heavy request over --time-limit-ms is ERR timeout; SIGINT prints the pool's counts", async () => {
  const args = ["--port", "0", "--workers", "1", "--time-limit-ms", "400"];
  await using server = startLesson(FILE, args);
  const { port } = await server.listening("tcp");
  await using client = await TcpTestClient.connect(port);
  client.send(`${SLOW}\nfactor 91\n`);
  expect(await replyLines(client, 2)).toEqual([
    "ERR timeout: still computing after 400 ms; stopped",
    "OK 7 13",
  ]);
  const { code, stdout } = await server.stop("SIGINT");
  expect(code).toBe(0);
  expect(stdout).toContain("pool: 1 computed, 0 busy, 1 timed out\n");
  expect(stdout).toEndWith("stopped by SIGINT: the port is free again\n");
});

test.each([
  [["--workers", "0"], '--workers must be a whole number from 1 to 256 (got "0")'],
  [["--queue=-1"], '--queue must be a whole number from 0 to 100000 (got "-1")'],
  [["--queue", "-1"], '--queue must be a whole number from 0 to 100000 (got "-1")'],
  [
    ["--time-limit-ms", "0.5"],
    '--time-limit-ms must be a whole number from 1 to 600000 (got "0.5")',
  ],
])("spawned: bad arguments %p, exit 2", async (args, reason) => {
  const result = await runLesson(FILE, args);
  expect(result.code).toBe(2);
  expect(result.stderr).toStartWith(`${reason}\n\nusage:`);
});

test("spawned: port in use, exit 1 (and its workers do not keep it alive)", async () => {
  const holder = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  const result = await runLesson(FILE, ["--port", String(holder.port)]);
  expect(result).toEqual({ code: 1, stdout: "", stderr: `${inUse(holder.port)}\n` });
});
