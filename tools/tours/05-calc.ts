/**
 * The tour of chapter 05, the calculator (`bun . --demo` runs it; alone:
 * `bun run tools/tours/05-calc.ts`). Every lesson plays over loopback with nothing to type:
 * the TCP server with its client, the UDP server with its client, the concurrent server's
 * stall, the worker pool that removes it and the limits that bound it, both pings, the load
 * generator, and the comparison.
 * It prints what each side shows, bounds every wait, and exits 1 if a step did not do what
 * its lesson promises.
 */
import {
  type Finished,
  type LessonProcess,
  runLesson,
  startLesson,
  TcpTestClient,
  udpRequest,
} from "../drive.ts";

let failures = 0;

/** Says whether a step did what the lesson promises. */
function check(promise: string, kept: boolean): void {
  console.log(kept ? `  ok: ${promise}` : `  NOT OK: ${promise}`);
  if (!kept) failures++;
}

/** Shows a command and what it printed, indented. */
function show(command: string, output: string): void {
  console.log(`\n$ ${command}`);
  for (const line of output.trimEnd().split("\n")) console.log(`  | ${line}`);
}

/** Runs a lesson to its end, as a student would type it, and shows what it printed. */
async function run(file: string, args: string[], input?: string): Promise<Finished> {
  const quoted = args.map((arg) => (/[\s*^]/.test(arg) ? `"${arg}"` : arg));
  const typed = input === undefined ? "" : `printf '${input.replaceAll("\n", "\\n")}' | `;
  const result = await runLesson(file, args, { input, timeoutMs: 60_000 });
  show(`${typed}bun run ${file} ${quoted.join(" ")}`.trimEnd(), result.stderr + result.stdout);
  return result;
}

/** Starts a server lesson on a free port and shows its first lines. */
async function serve(file: string, args: string[] = []): Promise<LessonProcess> {
  const server = startLesson(file, ["--port", "0", ...args]);
  await server.waitFor(/Ctrl-C stops the server/, { timeoutMs: 15_000 });
  show(`bun run ${file} --port 0 ${args.join(" ")}   (in the background)`, server.stdout);
  return server;
}

/** Stops a server with Ctrl-C and shows the rest of what it printed. */
async function stop(server: LessonProcess, shownBefore: string): Promise<string> {
  const { code, stdout } = await server.stop("SIGINT");
  show("(Ctrl-C to the server)", stdout.slice(shownBefore.length));
  check("the server stops on Ctrl-C with exit 0", code === 0);
  return stdout;
}

async function tcpCalculator(): Promise<void> {
  console.log("\n=== 01 to 03: the TCP calculator, a client that waits, one that does not");
  const server = await serve("05-calc/01-tcp-server.ts");
  const before = server.stdout;
  const { port } = await server.listening("tcp");
  const target = ["--host", "127.0.0.1", "--port", String(port)];
  const one = await run("05-calc/02-tcp-client.ts", [...target, "2 ^ 100"]);
  check("2 ^ 100 is exact", one.stdout === "OK 1267650600228229401496703205376\n");
  const asked = await run("05-calc/02-tcp-client.ts", target, "12 + 30\n7 / 0\n");
  check("a prompt, and each typed line's reply", asked.stdout.startsWith("> OK 42\n> ERR"));
  const typed = "12 + 30\n7 / 2\n1 / 0\n12 x 3\nisprime 9007199254740881\n";
  const many = await run("05-calc/03-pipelined-client.ts", target, typed);
  check("every line gets its reply, errors too", many.stdout.split("\n").length === 7);
  check("lesson 01 refuses heavy work", many.stdout.includes("-> too-heavy: isprime"));
  await stop(server, before);
}

async function udpCalculator(): Promise<void> {
  console.log("\n=== 04 and 05: the UDP calculator and its client");
  const server = await serve("05-calc/04-udp-server.ts");
  const before = server.stdout;
  const { port } = await server.listening("udp");
  const result = await run("05-calc/05-udp-client.ts", ["--port", String(port), "2 ^ 64"]);
  check("2 ^ 64 over UDP", result.stdout.includes("2 ^ 64 = 18446744073709551616"));
  const reply = (await udpRequest(port, "7 12 + 30\n")).toString();
  show(`echo "7 12 + 30" | nc -u 127.0.0.1 ${port}`, reply);
  check("the reply repeats the id and ends the line", reply === "7 OK 42\n");
  await stop(server, before);
}

async function theStall(): Promise<void> {
  console.log("\n=== 06: one event loop for every client, and what stops it");
  const server = await serve("05-calc/06-concurrent-server.ts", ["--stall-ms", "100"]);
  const before = server.stdout;
  const { port } = await server.listening("tcp");
  await using heavy = await TcpTestClient.connect(port);
  heavy.send("isprime 9007199254740881\n");
  await server.waitFor(/client #1 .* connected/);
  await using cheap = await TcpTestClient.connect(port);
  const started = performance.now();
  cheap.send("1 + 1\n");
  await cheap.waitForText(/OK 2\n/, 15_000);
  const waited = performance.now() - started;
  console.log(`  (a client asked 1 + 1 meanwhile: its reply took ${waited.toFixed(0)} ms)`);
  await server.waitFor(/held the event loop/, { timeoutMs: 15_000 });
  check("the cheap request waited for the heavy one", waited > 200);
  await stop(server, before);
}

async function thePool(): Promise<void> {
  console.log("\n=== 07: heavy work on worker threads");
  const server = await serve("05-calc/07-worker-pool.ts");
  const before = server.stdout;
  const { port } = await server.listening("tcp");
  await using heavy = await TcpTestClient.connect(port);
  await using cheap = await TcpTestClient.connect(port);
  heavy.send("isprime 9007199254740881\n");
  cheap.send("1 + 1\n");
  await cheap.waitForText(/OK 2\n/, 15_000);
  const early = heavy.text === "";
  await heavy.waitForText(/\n/, 15_000);
  show(
    `nc 127.0.0.1 ${port}   (two clients)`,
    `1 + 1 -> ${cheap.text}isprime ... -> ${heavy.text}`,
  );
  check("the cheap reply came while a worker computed", early);
  check("the heavy request was computed", heavy.text === "OK true\n");
  await stop(server, before);
}

async function theLimits(): Promise<void> {
  console.log("\n=== 08: the pool's limits");
  const limits = ["--workers", "1", "--queue", "1", "--time-limit-ms", "400"];
  const server = await serve("05-calc/08-pool-limits.ts", limits);
  const before = server.stdout;
  const { port } = await server.listening("tcp");
  await using client = await TcpTestClient.connect(port);
  client.send("isprime 97\n");
  await client.waitForText(/OK true\n/, 15_000);
  client.send("isprime 9007199254740881\n".repeat(3));
  await client.waitForText(/(.*\n){4}/, 15_000);
  show(`nc 127.0.0.1 ${port}   (isprime 97, then three slow ones at once)`, client.text);
  check("past the queue: ERR busy at once", client.text.includes("ERR busy: 1 heavy requests"));
  check("past the time limit: ERR timeout", client.text.includes("ERR timeout: still computing"));
  const stdout = await stop(server, before);
  check("it counts what it refused", /pool: 1 computed, 1 busy, 2 timed out/.test(stdout));
}

async function measuring(): Promise<void> {
  console.log("\n=== 09 to 13: measuring");
  const tcp = await run("05-calc/09-ping.ts", ["--count", "3"]);
  check("ping over TCP: 3 sent, each timed", / 3 sent; min\/avg\/max /.test(tcp.stdout));
  const late = await run("05-calc/10-late-replies.ts", ["--count", "3"]);
  check("ping that waits for late replies: none late", / 3 sent, 0 late, 0 lost/.test(late.stdout));
  const udp = await run("05-calc/11-udp-ping.ts", ["--count", "3"]);
  check("ping over UDP: 3 sent", / 3 sent, \d lost/.test(udp.stdout));
  const load = await run("05-calc/12-load.ts", ["--requests", "200", "--connections", "10"]);
  check("the load: every request answered", /200 of 200 answered/.test(load.stdout));
  const args = ["--requests", "300", "--connections", "10"];
  const versus = await run("05-calc/13-loop-vs-pool.ts", args);
  check("both servers measured", /cheap requests' p99: .* with the pool/.test(versus.stdout));
}

for (const part of [tcpCalculator, udpCalculator, theStall, thePool, theLimits, measuring]) {
  try {
    await part();
  } catch (error) {
    console.log(`  NOT OK: ${(error as Error).message}`);
    failures++;
  }
}
console.log(
  failures === 0
    ? "\nEvery step of the 05-calc tour did what its lesson promises."
    : `\n${failures} step(s) of the 05-calc tour failed; run the lesson alone to see why.`,
);
process.exit(failures === 0 ? 0 : 1);
