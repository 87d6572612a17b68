/**
 * The tour of chapter 07, the file server (`bun . --demo` runs it; alone:
 * `bun run tools/tours/07-transfer.ts`). Every lesson plays over loopback with nothing to
 * type, in a scratch folder that is deleted at the end: sample files, the first server talked
 * to as with nc (and the secret it lets out), the client with its check, the escape guard,
 * uploads good and altered, GET from an offset, and a download resumed, then started over
 * when the file changed. It prints what each side shows, bounds every wait, and exits 1 if a
 * step did not do what its lesson promises.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Finished,
  type LessonProcess,
  runLesson,
  startLesson,
  TcpTestClient,
} from "../drive.ts";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(
    "usage: bun run tools/tours/07-transfer.ts\n\nA tour of the 07-transfer lessons over loopback.",
  );
  process.exit(0);
}

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
async function run(file: string, args: string[]): Promise<Finished> {
  const result = await runLesson(`07-transfer/${file}`, args, { timeoutMs: 30_000 });
  show(`bun run 07-transfer/${file} ${args.join(" ")}`, result.stdout + result.stderr);
  return result;
}

/** Starts a server lesson on a free port, serving `root`; returns it and its port. */
async function serve(file: string, root: string): Promise<[LessonProcess, number]> {
  const server = startLesson(`07-transfer/${file}`, ["--port", "0", "--root", root]);
  const { port } = await server.listening();
  await server.waitFor(/Ctrl-C stops the server/, { timeoutMs: 15_000 });
  show(`bun run 07-transfer/${file} --port 0 --root ${root}   (in the background)`, server.stdout);
  return [server, port];
}

/** Stops a server with Ctrl-C, shows what it printed since, and checks it left cleanly. */
async function stop(server: LessonProcess): Promise<void> {
  const before = server.stdout.length;
  const { code, stdout } = await server.stop("SIGINT");
  show("(Ctrl-C to the server)", stdout.slice(before));
  check("the server stops on Ctrl-C with exit 0", code === 0);
}

/** Types `text` as nc would, and shows what came back once it ends with `until`. */
async function talk(port: number, text: string, until: RegExp): Promise<string> {
  await using client = await TcpTestClient.connect(port);
  client.send(text);
  await client.waitForText(until, 15_000);
  show(`printf '${text.replaceAll("\n", "\\n")}' | nc 127.0.0.1 ${port}`, client.text);
  return client.text;
}

const scratch = mkdtempSync(join(tmpdir(), "tour-07-"));
const root = join(scratch, "shared");
const downloads = join(scratch, "downloads");
mkdirSync(downloads);
writeFileSync(join(scratch, "secret.txt"), "the password is swordfish\n");
const sha = (bytes: Uint8Array | string) =>
  new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

try {
  console.log("\n=== 01: sample files to practise on");
  const samples = await run("01-samples.ts", ["--dir", root, "--sizes", "1KiB,4MiB"]);
  check("four files, sizes shown like format_bytes", samples.stdout.includes("4.0 MiB"));
  writeFileSync(join(root, "hello.txt"), "Hello from the tour!\n");

  console.log("\n=== 02: LIST and GET, typed as with nc");
  const [first, port2] = await serve("02-get-server.ts", root);
  const listing = await talk(port2, "LIST\n", /OK 5 files\n(.*\n){5}/);
  check("LIST names the five files", listing.startsWith("OK 5 files\n"));
  const got = await talk(port2, "GET hello.txt\nREADY\n", /Hello from the tour!\n/);
  check("SENDING_FILE, then READY, then the bytes", got.startsWith("SENDING_FILE hello.txt 21 "));
  const leak = await talk(port2, "GET ../secret.txt\nREADY\n", /swordfish\n/);
  check("its naive join lets the secret out (lesson 04 closes that)", leak.includes("swordfish"));

  console.log("\n=== 03: the client: a progress bar, and the SHA-256 checked");
  const target = ["--port", String(port2), "--out", downloads];
  const fetched = await run("03-client.ts", ["get", "random-4MiB.bin", ...target]);
  check("the file arrived, verified", fetched.stdout.includes("SHA-256 verified"));
  await stop(first);

  console.log("\n=== 04: the escape guard");
  const escape = await run("04-escape.ts", []);
  check("every hostile name refused", escape.stdout.includes("openInRoot refused 10"));

  console.log("\n=== 05: uploads, verified before they get their name");
  const [drop, port5] = await serve("05-put.ts", root);
  writeFileSync(join(scratch, "notes.txt"), "my notes\n");
  const put = await run("07-client.ts", [
    "put",
    join(scratch, "notes.txt"),
    "--port",
    String(port5),
  ]);
  check("stored, its SHA-256 verified by the server", put.stdout.includes("SHA-256 verified"));
  await using liar = await TcpTestClient.connect(port5);
  liar.send(`PUT bad.txt 9 ${sha("my notes\n")}\n`);
  await liar.waitForText(/READY\n/);
  liar.send("my NOTES\n");
  await liar.waitForText(/nothing was stored\n/, 15_000);
  show("(a client that sends other bytes than it announced)", liar.text);
  check("altered bytes are refused, nothing stored", liar.text.includes("ERR the bytes received"));
  await stop(drop);

  console.log("\n=== 06 and 07: the whole server, and a download resumed");
  const [whole, port6] = await serve("06-file-server.ts", root);
  const tail = await talk(port6, "GET hello.txt 6\nREADY\n", /the tour!\n/);
  check("GET from an offset sends the rest", tail.endsWith(" 6\nfrom the tour!\n"));
  const big = readFileSync(join(root, "random-4MiB.bin"));
  const part = join(downloads, "random-4MiB.bin");
  rmSync(part, { force: true });
  // As if a get had been killed half way: the first half, and the digest it was promised.
  writeFileSync(`${part}.part`, big.subarray(0, 2 << 20));
  writeFileSync(`${part}.part.sha256`, sha(big));
  const client = ["get", "random-4MiB.bin", "--port", String(port6), "--out", downloads];
  const resumed = await run("07-client.ts", client);
  check("it asks for the rest only", resumed.stdout.includes("resumed at 2.0 MiB"));
  writeFileSync(`${part}.part`, big.subarray(0, 2 << 20));
  writeFileSync(`${part}.part.sha256`, sha(big));
  writeFileSync(join(root, "random-4MiB.bin"), big.reverse());
  const restarted = await run("07-client.ts", [...client, "--replace"]);
  check("a changed file is fetched again from 0", restarted.stdout.includes("started over"));
  await stop(whole);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

console.log(
  failures === 0 ? "\nEvery step did what its lesson promises." : `\n${failures} step(s) failed.`,
);
process.exit(failures === 0 ? 0 : 1);
