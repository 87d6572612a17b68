/**
 * The tour of chapter 04, the servers (`bun . --demo` runs it; alone:
 * `bun run tools/tours/04-server.ts`). Every lesson plays over loopback with nothing to type:
 * each server runs in the background as a student would start it (`--port 0`), its clients
 * are the chapter's client lessons or a small TCP client, and the three guard lessons run
 * their own demonstrations. It prints what each side shows, bounds every wait, and exits 1 if
 * a step did not do what its lesson promises.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
async function run(file: string, args: string[] = [], input?: string): Promise<Finished> {
  const typed = input === undefined ? "" : `printf '${input.replaceAll("\n", "\\n")}' | `;
  const result = await runLesson(file, args, { input, timeoutMs: 60_000 });
  show(`${typed}bun run ${file} ${args.join(" ")}`.trimEnd(), result.stdout + result.stderr);
  return result;
}

/** Starts a server lesson on a free port and shows its first lines. */
async function serve(file: string, args: string[] = []): Promise<LessonProcess> {
  const server = startLesson(file, ["--port", "0", ...args]);
  await server.waitFor(/Ctrl-C stops the server/, { timeoutMs: 15_000 });
  show(`bun run ${file} --port 0 ${args.join(" ")}   (in the background)`, server.stdout);
  return server;
}

/** Waits for a server to end: by itself, or on Ctrl-C; shows the rest of what it printed. */
async function ended(server: LessonProcess, shown: string, signal?: "SIGINT"): Promise<void> {
  const { code, stdout, stderr } = signal ? await server.stop(signal) : await server.finished();
  show(
    signal ? "(Ctrl-C to the server)" : "(the server ends by itself)",
    stdout.slice(shown.length) + stderr,
  );
  check(
    `the server exits 0${signal ? " on Ctrl-C" : ""}, with nothing on stderr`,
    code === 0 && stderr === "",
  );
}

async function bindAndAccept(): Promise<void> {
  console.log("\n=== 01 and 02: bind a port, accept one client");
  const bind = await serve("04-server/01-bind.ts");
  await bind.waitFor(/holding the port/);
  check("port 0: the kernel chose a free one", bind.stdout.includes("the kernel chose a free one"));
  check("a second bind of it fails with one sentence", bind.stdout.includes("is already in use"));
  await ended(bind, bind.stdout, "SIGINT");
  const accept = await serve("04-server/02-accept.ts");
  const shown = accept.stdout;
  const { port } = await accept.listening("tcp");
  await using client = await TcpTestClient.connect(port);
  await client.whenClosed;
  show(`nc 127.0.0.1 ${port}`, client.text);
  check(
    "the client hears its own address and port",
    /^hello 127\.0\.0\.1:\d+: you reached/.test(client.text),
  );
  await ended(accept, shown);
}

async function echoOnceAndInTurn(): Promise<void> {
  console.log("\n=== 03 to 05: a line however it arrives; one client at a time; a waiting room");
  const once = await serve("04-server/03-echo-once.ts");
  let shown = once.stdout;
  const { port } = await once.listening("tcp");
  await using client = await TcpTestClient.connect(port);
  // Two writes: the server may read them apart or together; the line is the same.
  client.send("hel");
  await once.waitFor(/no end of line yet/);
  client.send("lo\n");
  await client.whenClosed;
  show(`(printf hel; sleep 1; echo lo) | nc 127.0.0.1 ${port}`, client.text);
  check("the line comes back whole", client.text === "hello\n");
  await ended(once, shown);
  const turns = await serve("04-server/04-one-at-a-time.ts", ["--max-clients", "2"]);
  shown = turns.stdout;
  const turnPort = (await turns.listening("tcp")).port;
  await using first = await TcpTestClient.connect(turnPort);
  await first.waitForText(/your turn/);
  await using late = await TcpTestClient.connect(turnPort);
  await late.whenClosed;
  first.send("I am first\n\n");
  await first.whenClosed;
  await using next = await TcpTestClient.connect(turnPort);
  next.send("my turn now\n\n");
  await next.whenClosed;
  show("first client", first.text);
  show("a client that came during its turn", late.text);
  show("the next client", next.text);
  check("the newcomer heard busy", late.text.startsWith("busy"));
  check("the next one after the turn was served", next.text.endsWith("my turn now\n"));
  await ended(turns, shown);
  const room = await serve("04-server/05-waiting-room.ts");
  shown = room.stdout;
  const roomPort = (await room.listening("tcp")).port;
  await using served = await TcpTestClient.connect(roomPort);
  await served.waitForText(/your turn/);
  await using waiting = await TcpTestClient.connect(roomPort);
  await waiting.waitForText(/in the queue/);
  waiting.send("sent while waiting\n\n");
  served.send("I am first\n\n");
  await served.whenClosed;
  await waiting.whenClosed;
  show("first client", served.text);
  show("second client", waiting.text);
  check(
    "the second waited, then got its early line back",
    waiting.text.endsWith("sent while waiting\n"),
  );
  await ended(room, shown, "SIGINT");
}

async function manyAndGuards(): Promise<void> {
  console.log("\n=== 06 to 08: many clients at once, and the guards every server needs");
  const many = await serve("04-server/06-many-at-once.ts", ["--idle", "1"]);
  const shown = many.stdout;
  const { port } = await many.listening("tcp");
  await using one = await TcpTestClient.connect(port);
  await using two = await TcpTestClient.connect(port);
  one.send("hello from one\n");
  two.send("hello from two\n");
  await one.waitForText(/from one\n/);
  await two.waitForText(/from two\n/);
  // Then both stay quiet for the idle second.
  await one.whenClosed;
  await two.whenClosed;
  show("two clients at once, then silent", `${one.text}${two.text}`);
  check("each got its own lines, then the idle goodbye", /idle for 1 s: closing\n$/.test(one.text));
  await ended(many, shown, "SIGINT");
  const idle = await run("04-server/07-idle-client.ts", ["--clients", "10"]);
  check("the naive server closed none of the drippers", idle.stdout.includes("closed 0 of 10"));
  check(
    "the IdleTimer closed them all",
    idle.stdout.includes("touched by whole lines: closed 10 of 10"),
  );
  const slow = await run("04-server/08-slow-reader.ts", ["--send", "32"]);
  check(
    "the naive server kept what the client sent",
    /naive: the client sent 32\.0 MiB/.test(slow.stdout),
  );
  check(
    "the Outbox held about 1 MiB",
    /Outbox: .*; the server holds [01]\.\d MiB/.test(slow.stdout),
  );
}

async function welcomeAndLoops(): Promise<void> {
  console.log("\n=== 09 to 11: the welcome server and client; UDP loops and their guard");
  const welcome = await serve("04-server/09-welcome-server.ts");
  const shown = welcome.stdout;
  const { port } = await welcome.listening("tcp");
  const client = await run("04-server/10-welcome-client.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
  ]);
  check(
    "the whole greeting, read until the close",
    /complete when the server closed\):\n {2}Hello/.test(client.stdout),
  );
  await ended(welcome, shown, "SIGINT");
  const guard = await run("04-server/11-udp-guard.ts");
  check(
    "a naive echo answers itself for ever",
    /naive: [\d,]+ datagrams .* still going/.test(guard.stdout),
  );
  check("the ReplyGuard refuses its own address", guard.stdout.includes("1 refused: own address"));
}

async function standardServices(): Promise<void> {
  console.log("\n=== 12 to 19: daytime (RFC 867) and echo (RFC 862), over TCP, then over UDP");
  const daytime = await serve("04-server/12-daytime-tcp-server.ts");
  let shown = daytime.stdout;
  const tcp = String((await daytime.listening("tcp")).port);
  const overTcp = await run("04-server/13-daytime-tcp-client.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    tcp,
  ]);
  check("TCP: the time, then the close", / \(tcp\) says: .* GMT\n/.test(overTcp.stdout));
  await ended(daytime, shown, "SIGINT");
  const daytimeUdp = await serve("04-server/14-daytime-udp-server.ts");
  shown = daytimeUdp.stdout;
  const udp = (await daytimeUdp.listening("udp")).port;
  const udpArgs = ["--host", "127.0.0.1", "--port", String(udp)];
  const overUdp = await run("04-server/15-daytime-udp-client.ts", udpArgs);
  check("UDP: the time, to a padded request", / \(udp\) says: .* GMT\n/.test(overUdp.stdout));
  const bare = await udpRequest(udp, "\n", { attempts: 1, waitMs: 300 }).catch(() => undefined);
  show(
    `echo | nc -u 127.0.0.1 ${udp}`,
    bare ? bare.toString() : "(no answer: 1 byte in may not get 31 out)",
  );
  check("an unpadded datagram gets no answer", bare === undefined);
  await ended(daytimeUdp, shown, "SIGINT");
  const echo = await serve("04-server/16-echo-tcp-server.ts");
  shown = echo.stdout;
  const echoTcp = String((await echo.listening("tcp")).port);
  const target = ["--host", "127.0.0.1", "--port", echoTcp];
  const client = "04-server/17-echo-tcp-client.ts";
  const message = await run(client, [...target, "--message", "hello, echo"]);
  check("a message comes back identical", message.stdout.includes("the echo is identical"));
  const typed = await run(client, target, "typed line one\ntyped line two\n");
  check("typed lines come back, after a hint", typed.stdout.includes("type lines:"));
  const dir = mkdtempSync(join(tmpdir(), "tour-04-"));
  try {
    const file = join(dir, "random.bin");
    writeFileSync(file, crypto.getRandomValues(new Uint8Array(65_536)));
    const sent = await run(client, [...target, "--file", file]);
    check("a binary file comes back identical", sent.stdout.includes("65536 back"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await ended(echo, shown, "SIGINT");
  const echoUdp = await serve("04-server/18-echo-udp-server.ts");
  shown = echoUdp.stdout;
  const echoUdpPort = String((await echoUdp.listening("udp")).port);
  const udpTarget = ["--host", "127.0.0.1", "--port", echoUdpPort];
  const datagram = await run("04-server/19-echo-udp-client.ts", [
    ...udpTarget,
    "--message",
    "one datagram",
  ]);
  check("a datagram comes back identical", datagram.stdout.includes("every echo is identical"));
  await ended(echoUdp, shown, "SIGINT");
}

async function dualAndLoad(): Promise<void> {
  console.log("\n=== 20 to 22: TCP and UDP in one process; measuring a server");
  const dual = await serve("04-server/20-dual-server.ts");
  const shown = dual.stdout;
  const tcp = String((await dual.listening("tcp")).port);
  const udp = String((await dual.listening("udp")).port);
  const target = ["--host", "127.0.0.1", "--port", tcp, "--udp-port", udp];
  const overTcp = await run("04-server/21-dual-client.ts", target, "tcp\nhello over TCP\nexit\n");
  check("TCP: a reply per line, then goodbye", overTcp.stdout.includes("server (TCP): goodbye"));
  const overUdp = await run("04-server/21-dual-client.ts", target, "udp\nhello over UDP\nexit\n");
  check(
    "UDP: a reply per padded datagram",
    overUdp.stdout.includes("server (UDP) received: hello over UDP"),
  );
  check("the server goes on after each exit", dual.proc.exitCode === null);
  await ended(dual, shown, "SIGINT");
  const load = await run("04-server/22-load.ts", ["--connections", "10", "--seconds", "1"]);
  check(
    "the load generator measured req/s and p50/p99",
    /req\/s\n {2}latency p50/.test(load.stdout),
  );
}

for (const part of [
  bindAndAccept,
  echoOnceAndInTurn,
  manyAndGuards,
  welcomeAndLoops,
  standardServices,
  dualAndLoad,
]) {
  try {
    await part();
  } catch (error) {
    console.log(`  NOT OK: ${(error as Error).message}`);
    failures++;
  }
}
console.log(
  failures === 0
    ? "\nEvery step of the 04-server tour did what its lesson promises."
    : `\n${failures} step(s) of the 04-server tour failed; run the lesson alone to see why.`,
);
process.exit(failures === 0 ? 0 : 1);
