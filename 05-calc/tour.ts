/**
 * The chapter's tour (`bun . --demo` runs it): the TCP calculator with its client, fed from
 * arguments and from standard input; the UDP calculator with its client; then the measurement
 * that shows why heavy work belongs off the event loop. Everything stays on 127.0.0.1.
 */
import { join } from "node:path";
import { spawnServer } from "./09-loop-vs-pool.ts";

const root = join(import.meta.dir, "..");
let failed = false;

/** Runs a lesson as a student would, showing the command, with `input` typed on its stdin. */
async function step(file: string, args: string[], input?: string): Promise<void> {
  const typed = input ? `printf '${input.replaceAll("\n", "\\n")}' | ` : "";
  console.log(
    `\n$ ${typed}bun run ${file} ${args.map((arg) => (/\s|\*/.test(arg) ? `"${arg}"` : arg)).join(" ")}`,
  );
  const child = Bun.spawn(["bun", "run", file, ...args], {
    cwd: root,
    stdin: input === undefined ? "ignore" : new TextEncoder().encode(input),
    stdout: "inherit",
    stderr: "inherit",
  });
  if ((await child.exited) !== 0) failed = true;
}

const lesson = (file: string): string[] => ["bun", "run", join(root, file), "--port", "0"];

console.log("$ bun run 05-calc/01-tcp-server.ts --port 0      (in the background)");
const tcp = await spawnServer(lesson("05-calc/01-tcp-server.ts"));
const tcpTarget = ["--host", "127.0.0.1", "--port", String(tcp.port)];
await step("05-calc/02-tcp-client.ts", [...tcpTarget, "2 ^ 100"]);
await step(
  "05-calc/02-tcp-client.ts",
  tcpTarget,
  "12 + 30\n7 / 2\n1 / 0\n12 x 3\nfactor 600851475143\n",
);
await tcp.stop();
console.log(`\nThe server's log:\n${tcp.output().trimEnd()}`);

console.log("\n$ bun run 05-calc/03-udp-server.ts --port 0      (in the background)");
const udp = await spawnServer(lesson("05-calc/03-udp-server.ts"));
await step("05-calc/04-udp-client.ts", [
  "--host",
  "127.0.0.1",
  "--port",
  String(udp.port),
  "2 ^ 64",
]);
await udp.stop();

await step("05-calc/09-loop-vs-pool.ts", ["--requests", "300", "--connections", "10"]);
if (failed) {
  console.log("A step of the 05-calc tour failed; run it alone to see why.");
  process.exit(1);
}
