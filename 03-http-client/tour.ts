/**
 * The chapter's tour (`bun . --demo` runs it): each lesson as a student would type it, with
 * no arguments or a practice path, so every one starts the practice server in its own
 * process on a free port of 127.0.0.1. The broken responses at the end are meant to fail:
 * their one-sentence error is part of the show (printed here on standard output).
 */
import { join } from "node:path";

const root = join(import.meta.dir, "..");

/** [file, arguments, the exit code we expect] */
const steps: [string, string[], number][] = [
  ["01-resolve.ts", [], 0],
  ["02-connect.ts", [], 0],
  ["03-send-request.ts", [], 0],
  ["04-read-raw.ts", ["--path", "/redirect"], 0],
  ["05-tls.ts", [], 0],
  ["06-http-client.ts", ["/chunked"], 0],
  ["06-http-client.ts", ["/trailers", "--tls"], 0],
  ["06-http-client.ts", ["/early-hints"], 0],
  ["07-http-get.ts", ["/redirect", "--json"], 0],
  ["07-http-get.ts", ["/broken/chunk-size"], 1],
  ["07-http-get.ts", ["/broken/stall", "--idle-timeout", "0.5"], 1],
  ["07-http-get.ts", ["/large", "--max-bytes", "100000"], 1],
];

let failed = 0;
for (const [file, args, expected] of steps) {
  console.log(`\n$ bun run 03-http-client/${file} ${args.join(" ")}`.trimEnd());
  const child = Bun.spawn(["bun", "run", `03-http-client/${file}`, ...args], {
    cwd: root,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  process.stdout.write(out);
  if (err) console.log(`(stderr) ${err.trimEnd()}`);
  if (code !== expected) {
    console.log(`(exit ${code}, expected ${expected})`);
    failed++;
  }
}

if (failed > 0) {
  console.error(
    `${failed} step(s) of the 03-http-client tour went wrong; run them alone to see why.`,
  );
  process.exit(1);
}
console.log(
  "\nEvery step behaved as expected: the errors above are the broken responses, refused.",
);
