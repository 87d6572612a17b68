/**
 * The tour of 03-http-client (`bun . --demo` runs it): every lesson over loopback, with
 * nothing to type. Clients run as a student would, with no arguments or a practice path, so
 * each starts the practice server itself; servers are started here, asked once, and stopped
 * with Ctrl-C. The broken responses are meant to fail: their one sentence is part of the show.
 * Exit 0 when every step did what its lesson promises, 1 otherwise.
 */
import { runLesson, startLesson, TcpTestClient } from "../drive.ts";

const CHAPTER = "03-http-client";
let failed = 0;

/** Shows what a step printed, indented, and counts it as failed unless `ok`. */
function show(title: string, text: string, ok: boolean): void {
  console.log(`\n$ ${title}`);
  for (const line of text.trimEnd().split("\n")) console.log(`  ${line}`);
  if (!ok) {
    console.log("  (this is not what the lesson promises)");
    failed++;
  }
}

/** Runs a client lesson to its end: `code` is the exit it should have, `expect` a line it shows. */
async function client(file: string, args: string[], code: number, expect: RegExp): Promise<void> {
  const run = await runLesson(`${CHAPTER}/${file}`, args, { timeoutMs: 20_000 });
  const printed = `${run.stdout}${run.stderr ? `(stderr) ${run.stderr}` : ""}`;
  show(
    `bun run ${CHAPTER}/${file} ${args.join(" ")}`.trimEnd(),
    printed,
    run.code === code && expect.test(printed),
  );
}

/** Starts a server lesson, sends it one request, shows both sides, and stops it with Ctrl-C. */
async function server(file: string, request: string, expect: RegExp): Promise<number> {
  await using lesson = startLesson(`${CHAPTER}/${file}`, ["--port", "0"]);
  const { port } = await lesson.listening();
  await lesson.waitFor(/Ctrl-C stops the server\n/);
  await using asker = await TcpTestClient.connect(port);
  asker.send(`GET ${request} HTTP/1.1\r\nHost: practice\r\nConnection: close\r\n\r\n`);
  await Promise.race([asker.whenClosed, Bun.sleep(5_000)]);
  const stopped = await lesson.stop("SIGINT");
  show(`bun run ${CHAPTER}/${file} --port 0`, stopped.stdout, stopped.code === 0);
  const answer = asker.text.replaceAll("\r", "");
  show(
    `(a client asks for ${request})`,
    answer.length > 600 ? `${answer.slice(0, 600)}...` : answer,
    expect.test(asker.text),
  );
  return port;
}

await client("01-resolve.ts", [], 0, /localhost has \d address/);
await client("02-connect.ts", [], 0, /our end: /);
await client("03-send-request.ts", [], 0, /the server's first line: HTTP\/1\.1 200 OK/);
await client(
  "04-send-all.ts",
  [],
  0,
  /after \d+ wait\(s\) for drain\nthe server's first line: HTTP\/1\.1 200 OK/,
);
await client("05-read-raw.ts", ["--path", "/redirect"], 0, /HTTP\/1\.1 301 /);
await client(
  "06-read-limits.ts",
  ["--path", "/chunked", "--max-bytes", "100"],
  1,
  /passed 100 bytes/,
);
await server("07-correct-responses.ts", "/chunked", /transfer-encoding: chunked/i);
await server("08-raw-responses.ts", "/trailers", /X-Checksum: 12 bytes/);
await server("09-large-body.ts", "/large?bytes=200", /Content-Length: 200\r\n\r\nline 0000000000/);
await server("10-practice-server.ts", "/", /\/broken\/stall\n/);
await client("11-tls.ts", [], 0, /verified: yes/);
await client("12-http-client.ts", ["/chunked"], 0, /framed by chunked/);
await client("12-http-client.ts", ["/trailers", "--tls"], 0, /trailer X-Checksum: 12 bytes/);
await client("12-http-client.ts", ["/early-hints"], 0, /\(skipped: 103 Early Hints\)/);
await client("12-http-client.ts", ["/close", "--tls"], 0, /framed by close/);
await client("13-http-get.ts", ["/redirect", "--json"], 0, /"status": 301/);
await client("13-http-get.ts", ["/broken/chunk-size"], 1, /bad chunk size line "zz"/);
await client(
  "13-http-get.ts",
  ["/broken/stall", "--idle-timeout", "0.5"],
  1,
  /sent nothing for 0\.5 s/,
);
await client(
  "13-http-get.ts",
  ["/large", "--max-bytes", "100000"],
  1,
  /announces a body of 5242880/,
);

if (failed > 0) {
  console.error(`${failed} step(s) of the ${CHAPTER} tour went wrong; run them alone to see why.`);
  process.exit(1);
}
console.log(
  "\nEvery step did what its lesson promises: the errors above are the broken responses, refused.",
);
