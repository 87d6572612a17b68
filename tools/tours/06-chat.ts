/**
 * The tour of chapter 06, the chat (`bun . --demo` runs it; alone:
 * `bun run tools/tours/06-chat.ts`). Every lesson plays over loopback with nothing to type:
 * the broadcast, accounts, commands, a message kept for someone away (through a `kill -9` of
 * the server), a file, the four guards each switched off and on, the terminal client, the UDP
 * counter with its sender, and the two bridges: the web client (its page, and a WebSocket as
 * the page opens it) and the IRC door (an IRC client's lines, typed by hand). It prints what
 * each side shows, bounds every wait, and exits 1 if a step did not do what its lesson
 * promises.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LessonProcess, runLesson, startLesson, TcpTestClient } from "../drive.ts";

let failures = 0;
const data = mkdtempSync(join(tmpdir(), "chat-tour-"));

/** Says whether a step did what the lesson promises. */
function check(promise: string, kept: boolean): void {
  console.log(kept ? `  ok: ${promise}` : `  NOT OK: ${promise}`);
  if (!kept) failures++;
}

/** Shows a command, or a client, and what it printed, indented. */
function show(who: string, output: string): void {
  console.log(`\n${who}`);
  for (const line of output.trimEnd().split("\n")) console.log(`  | ${line}`);
}

/** Starts a server lesson on a free port; resolves with it and its port. */
async function serve(file: string, args: string[] = []) {
  const server = startLesson(file, ["--port", "0", ...args]);
  const { port } = await server.listening(file.includes("udp") ? "udp" : "tcp");
  await server.waitFor(/Ctrl-C stops the server/);
  show(`$ bun run ${file} --port 0 ${args.join(" ")}   (in the background)`, server.stdout);
  return { server, port };
}

/** A client like `nc`: what it sends, and each line it gets. */
async function nc(port: number) {
  const tcp = await TcpTestClient.connect(port);
  const lines = (): string[] => tcp.text.split("\n").slice(0, -1);
  return {
    tcp,
    lines,
    send: (text: string) => tcp.send(text),
    /** The first line matching `pattern`, once it has come (or "" after 10 s). */
    line: async (pattern: RegExp): Promise<string> => {
      const found = (): string | undefined => lines().find((line) => pattern.test(line));
      await tcp.until(() => found() !== undefined, 10_000).catch(() => {});
      return found() ?? "";
    },
    close: () => tcp.socket.terminate(),
  };
}

async function stop(server: LessonProcess): Promise<void> {
  const { code } = await server.stop("SIGINT");
  check("the server stops on Ctrl-C with exit 0", code === 0);
}

async function broadcast(): Promise<void> {
  console.log("\n=== 01: the broadcast");
  const { server, port } = await serve("06-chat/01-broadcast.ts");
  const one = await nc(port);
  const two = await nc(port);
  one.send("hello, is anyone there?\n");
  const got = await two.line(/^MSG/);
  show("(the second nc)", two.lines().join("\n"));
  check(
    "a line from one client reaches the other, framed",
    /^MSG guest\d+ hello, is anyone there\?$/.test(got),
  );
  one.close();
  two.close();
  await stop(server);
}

async function guards(): Promise<void> {
  console.log("\n=== 06 to 09: the guards, each switched off, then on");
  const run = async (file: string, args: string[] = []): Promise<string> => {
    const result = await runLesson(file, args, { timeoutMs: 60_000 });
    show(`$ bun run ${file} ${args.join(" ")}`.trimEnd(), result.stdout + result.stderr);
    return result.stdout;
  };
  const hostile = await run("06-chat/06-hostile-lines.ts");
  check(
    "escape sequences arrive visible with clean()",
    hostile.includes('"MSG evil ^[[2J^[[41mpainted red"'),
  );
  check("a line over 64 KiB gets ERR too-long, then BYE", hostile.includes("ERR too-long"));
  const slow = await run("06-chat/07-slow-reader.ts", ["--megabytes", "12"]);
  check(
    "with no bound, megabytes wait for a member that reads nothing",
    / no bound: +[\d,]+ KiB wait/.test(slow),
  );
  check(
    "with the bound, it is cut off, and the others told why",
    slow.includes("LEAVE stuck too slow"),
  );
  const flood = await run("06-chat/08-flood.ts", ["--lines", "5000"]);
  check(
    "with no rate, a paste reaches everyone at once",
    flood.includes("the others have 5,000 of them"),
  );
  check(
    "with the bucket, a second later only a few dozen",
    / a second: +1 s later the others have \d{2,3} of them/.test(flood),
  );
  const silent = await run("06-chat/09-keepalive.ts", ["--idle", "0.3"]);
  check(
    "the keepalive keeps the one who reads, and closes the ghost after a PING",
    silent.includes("the reader: still here") && silent.includes("told PING, then BYE"),
  );
}

async function accountsAndCommands(): Promise<void> {
  console.log("\n=== 02 and 03: accounts, then commands");
  let { server, port } = await serve("06-chat/02-accounts.ts", ["--cheap-hashes"]);
  const alice = await nc(port);
  alice.send("/login alice secret\n");
  await alice.line(/^OK/);
  const mallory = await nc(port);
  mallory.send("/login alice guess\n/login bad!nick x\n");
  await mallory.line(/^ERR nick/);
  show("(mallory's nc)", mallory.lines().join("\n"));
  check(
    "a nick in use, and a bad nick, get one line each",
    mallory.lines().filter((line) => line.startsWith("ERR")).length === 2,
  );
  alice.close();
  mallory.close();
  await stop(server);

  ({ server, port } = await serve("06-chat/03-commands.ts", ["--cheap-hashes"]));
  const a = await nc(port);
  const b = await nc(port);
  a.send("/login alice pw\n");
  await a.line(/^OK/);
  b.send("/login bob pw\n/list\n/msg alice psst\n/lsit\n/quit lunch\n");
  await a.line(/^LEAVE/);
  show("(bob's nc)", b.lines().join("\n"));
  show("(alice's nc)", a.lines().join("\n"));
  check(
    "/list, /msg, an unknown command, /quit with its reason",
    a.lines().includes("LEAVE bob lunch") &&
      b.lines().some((line) => line.startsWith("ERR unknown")),
  );
  a.close();
  b.close();
  await stop(server);
}

async function offlineAndFiles(): Promise<void> {
  console.log("\n=== 04 and 05: kept until acknowledged, through a kill -9; a file");
  const args = ["--data", data, "--cheap-hashes"];
  let { server, port } = await serve("06-chat/04-offline.ts", args);
  const bob = await nc(port);
  bob.send("/login bob pw\n/quit\n");
  await bob.line(/^BYE/);
  const alice = await nc(port);
  alice.send("/login alice pw\n/msg bob are you there?\n");
  const stored = await alice.line(/^OK stored/);
  show("(alice's nc)", alice.lines().join("\n"));
  check("a message for someone away is stored", stored === "OK stored for bob");
  server.proc.kill("SIGKILL");
  await server.finished();
  console.log("\n$ kill -9 (the server), then start it again on the same data");
  ({ server, port } = await serve("06-chat/04-offline.ts", args));
  const back = await nc(port);
  back.send("/login bob pw\n");
  const priv = await back.line(/^PRIV/);
  back.send(`/ack ${priv.split(" ")[1]}\n/list\n`);
  await back.line(/^LIST/);
  show("(bob's nc, after the restart)", back.lines().join("\n"));
  check("it survived, and is delivered", priv.endsWith("alice are you there?"));
  for (const client of [bob, alice, back]) client.close();
  await stop(server);
  ({ server, port } = await serve("06-chat/05-files.ts", args));
  const receiver = await nc(port);
  receiver.send("/login bob pw\n");
  await receiver.line(/^OK/);
  const bytes = new TextEncoder().encode("a small file\n");
  const sha = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
  const sender = await nc(port);
  sender.send(`/login alice pw\n/file bob note.txt ${bytes.length} ${sha}\n`);
  await sender.line(/^OK file note.txt: send/);
  sender.send(`/data ${Buffer.from(bytes).toString("base64")}\n`);
  await receiver.line(/^END/);
  show(
    "(bob's nc, a file arrives)",
    receiver
      .lines()
      .filter((line) => /^(FILE|DATA|END)/.test(line))
      .join("\n"),
  );
  check(
    "the file arrives whole, with its SHA-256",
    receiver.lines().some((line) => line.endsWith(sha)),
  );
  for (const client of [receiver, sender]) client.close();
  await stop(server);
}

async function client(): Promise<void> {
  console.log("\n=== 10 and 11: the whole server, and the terminal client (its input piped)");
  const { server, port } = await serve("06-chat/10-chat-server.ts", [
    "--data",
    data,
    "--cheap-hashes",
  ]);
  const alice = await nc(port);
  alice.send("/login alice pw\n");
  await alice.line(/^OK/);
  const args = ["--port", String(port), "--nick", "carol", "--files", join(data, "files")];
  const result = await runLesson("06-chat/11-chat-client.ts", args, {
    input: "hello from the client\n/list\n",
    env: { CHAT_PASSWORD: "pw" },
    timeoutMs: 20_000,
  });
  show(
    `$ printf 'hello from the client\\n/list\\n' | CHAT_PASSWORD=pw bun run 06-chat/11-chat-client.ts ${args.join(" ")}`,
    result.stdout,
  );
  const heard = await alice.line(/^MSG carol/);
  check(
    "the client logs in, talks, lists, and leaves at the end of its input",
    result.code === 0 && heard === "MSG carol hello from the client",
  );
  alice.close();
  await stop(server);
}

async function udp(): Promise<void> {
  console.log("\n=== 12 and 13: the UDP counter and its sender");
  const { server, port } = await serve("06-chat/12-udp-counter.ts", ["--count", "3"]);
  const sender = await runLesson("06-chat/13-udp-sender.ts", ["--port", String(port)], {
    input: "one\ntwo\nthree\n",
    timeoutMs: 30_000,
  });
  show(
    `$ printf 'one\\ntwo\\nthree\\n' | bun run 06-chat/13-udp-sender.ts --port ${port}`,
    sender.stdout + sender.stderr,
  );
  const acknowledged = sender.stdout.split("\n").filter((line) => line.endsWith(" counted"));
  check("each line is acknowledged", acknowledged.length === 3);
  const finished = await server.finished(10_000);
  show("(the counter)", finished.stdout);
  check(
    "three messages counted once each, and the counter stopped by itself",
    finished.code === 0 && finished.stdout.includes("counted 3 message(s)"),
  );
}

/** The chat server a bridge started for itself: the port it printed. */
async function ownChat(bridge: LessonProcess): Promise<number> {
  const match = await bridge.waitFor(/no --chat-port: started \S+ on port (\d+)/);
  return Number(match[1]);
}

async function web(): Promise<void> {
  console.log("\n=== 14: the web client (its page, and a WebSocket as the page opens it)");
  const { server, port } = await serve("06-chat/14-web-client.ts");
  const page = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
  const title = (await page?.text())?.match(/<title>(.*)<\/title>/)?.[1];
  console.log(`\n$ curl http://127.0.0.1:${port}/   (a browser does this)`);
  console.log(`  | ${page?.status} ${page?.headers.get("content-type")}, <title>${title}</title>`);
  check("the page is served", page?.status === 200 && title === "Chat");
  const seen: string[] = [];
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
  const saw = (pattern: RegExp): Promise<boolean> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      const look = (): void => {
        if (!seen.some((text) => pattern.test(text))) return;
        clearTimeout(timer);
        resolve(true);
      };
      ws.onmessage = (event) => {
        seen.push(String(event.data));
        look();
      };
      look();
    });
  await saw(/^HELLO/);
  ws.send("/login alice secret");
  await saw(/^OK alice/);
  const bob = await nc(await ownChat(server));
  bob.send("/login bob pw\nhello, browser\n");
  const heard = await saw(/^MSG bob hello, browser$/);
  ws.send("hello, nc");
  const back = await bob.line(/^MSG alice/);
  show("(the WebSocket, a message each)", seen.join("\n"));
  show("(bob's nc, on the chat server the bridge started)", bob.lines().join("\n"));
  check("a chat line a message, both ways", heard && back === "MSG alice hello, nc");
  ws.close();
  bob.close();
  await stop(server);
}

async function irc(): Promise<void> {
  console.log("\n=== 15: the IRC door (an IRC client's lines, typed by hand)");
  const { server, port } = await serve("06-chat/15-irc-door.ts");
  const alice = await nc(port);
  alice.send("PASS secret\r\nNICK alice\r\nUSER alice 0 * :Alice\r\nJOIN #chat\r\n");
  const names = await alice.line(/ 366 /);
  const bob = await nc(await ownChat(server));
  bob.send("/login bob pw\nhello, IRC\n");
  const heard = await alice.line(/PRIVMSG #chat/);
  alice.send("PRIVMSG #chat :hello, chat\r\nPRIVMSG bob :just for you\r\n");
  const back = await bob.line(/^PRIV /);
  show("(alice's IRC lines)", alice.lines().join("\n").replaceAll("\r", ""));
  show("(bob's nc, on the chat server the door started)", bob.lines().join("\n"));
  check(
    "registered (001 to 004), in #chat (353, 366)",
    names !== "" && alice.lines().some((line) => line.includes(" 004 alice ")),
  );
  check(
    "the channel and a private message, both ways",
    heard === ":bob!bob@chat PRIVMSG #chat :hello, IRC\r" &&
      /^PRIV \d+ alice just for you$/.test(back),
  );
  alice.close();
  bob.close();
  await stop(server);
}

try {
  await broadcast();
  await accountsAndCommands();
  await offlineAndFiles();
  await guards();
  await client();
  await udp();
  await web();
  await irc();
} finally {
  rmSync(data, { recursive: true, force: true });
}
console.log(
  failures === 0 ? "\nEvery step did what its lesson promises." : `\n${failures} step(s) did not.`,
);
process.exit(failures === 0 ? 0 : 1);
