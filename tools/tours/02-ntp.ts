/**
 * The tour of chapter 02 (`bun . --demo` runs it): the SNTP server on a free loopback port,
 * then each client asking it, as a student would type them, then the server's own log up
 * to Ctrl-C. Everything stays on 127.0.0.1, nothing needs typing, and every wait is
 * bounded. Exit 0 when every step did what its lesson promises, 1 otherwise.
 */
import { runLesson, startLesson } from "../drive.ts";

const SERVER = "02-ntp/05-sntp-server.ts";

/** Each client, with what its output must show for the step to count as done. */
const CLIENTS: [string, string[], RegExp][] = [
  ["02-ntp/01-sntp-request.ts", [], /T4 we received +\d{4}-/],
  ["02-ntp/02-careful-client.ts", [], /accepted the answer to try \d: it quoted our random bytes/],
  ["02-ntp/03-clock-offset.ts", [], /offset \(\(T2-T1\)\+\(T3-T4\)\)\/2 = [+-]\d+\.\d{3} ms/],
  ["02-ntp/04-best-of-several.ts", ["--samples", "3"], /kept sample [1-3], the shortest/],
];

const say = (line: string): void => console.log(line);
let failed = 0;

await using server = startLesson(SERVER, ["--port", "0"]);
const { port } = await server.listening("udp");
say(`$ bun run ${SERVER} --port 0      (in the background)`);
say(server.stdout.trimEnd());

for (const [file, extra, promise] of CLIENTS) {
  const args = ["--host", "127.0.0.1", "--port", String(port), ...extra];
  say(`\n$ bun run ${file} ${args.join(" ")}`);
  const { code, stdout, stderr } = await runLesson(file, args, { timeoutMs: 20_000 });
  say((stdout + stderr).trimEnd());
  if (code !== 0 || !promise.test(stdout)) {
    failed++;
    say(`(this step did not show ${promise}; run it alone to see why)`);
  }
}

const { code, stdout } = await server.stop("SIGINT");
say(`\nThe server's log, from its start to Ctrl-C:\n${stdout.trimEnd()}`);
const answered = stdout.match(/^answered 127/gm)?.length ?? 0;
if (code !== 0 || answered < CLIENTS.length) failed++;
if (failed > 0) {
  console.error(`${failed} step(s) of the 02-ntp tour failed; run them alone to see why.`);
  process.exit(1);
}
