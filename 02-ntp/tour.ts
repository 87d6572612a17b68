/**
 * The chapter's tour (`bun . --demo` runs it): the SNTP server on a free loopback port,
 * then each client asking it, as a student would type them, then the server's own log.
 * Everything stays on 127.0.0.1; nothing needs typing.
 */
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const say = (line: string): void => console.log(line);

const server = Bun.spawn(["bun", "run", "02-ntp/04-sntp-server.ts", "--port", "0"], {
  cwd: root,
  stdout: "pipe",
  stderr: "inherit",
});
let serverLog = "";
const decoder = new TextDecoder();
const reader = server.stdout.getReader();
// Read until the server says where it listens; keep reading its log in the background.
while (!/listening on [\d.]+:\d+ \(udp\)/.test(serverLog)) {
  const { done, value } = await reader.read();
  if (done) {
    console.error("The SNTP server did not start; run it alone to see why.");
    process.exit(1);
  }
  serverLog += decoder.decode(value, { stream: true });
}
const port = serverLog.match(/listening on [\d.]+:(\d+)/)?.[1] ?? "";
const drained = (async () => {
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    serverLog += decoder.decode(value, { stream: true });
  }
})();

say(`$ bun run 02-ntp/04-sntp-server.ts --port 0      (in the background)`);
say(serverLog.trimEnd());
const target = ["--host", "127.0.0.1", "--port", port];
const steps: [string, string[]][] = [
  ["02-ntp/01-sntp-request.ts", target],
  ["02-ntp/02-careful-client.ts", target],
  ["02-ntp/03-clock-offset.ts", [...target, "--samples", "3"]],
];
let failed = false;
for (const [file, args] of steps) {
  say(`\n$ bun run ${file} ${args.join(" ")}`);
  const child = Bun.spawn(["bun", "run", file, ...args], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
  });
  if ((await child.exited) !== 0) failed = true;
}

server.kill("SIGINT");
await server.exited;
await drained;
say(`\nThe server's log, from its start to Ctrl-C:\n${serverLog.trimEnd()}`);
if (failed) {
  console.error("A step of the 02-ntp tour failed; run it alone to see why.");
  process.exit(1);
}
