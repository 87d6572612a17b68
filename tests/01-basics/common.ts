/**
 * What the chapter's test files share (not a test file itself): the usage line a lesson's
 * header promises, the shape of a usage error, a listener of our own that `await using`
 * stops, and the names /etc/hosts answers for without asking DNS.
 */
import { expect } from "bun:test";
import type { TCPSocketListener } from "bun";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseHeader } from "../../tools/catalog.ts";
import { ROOT, runLesson } from "../helpers.ts";

/** `--help` exits 0, and its first line is `usage: ` and the header's @run, to the letter. */
export async function expectHelpMatchesRun(file: string): Promise<string> {
  const { run } = parseHeader(readFileSync(join(ROOT, file), "utf8"), file);
  const { code, stdout, stderr } = await runLesson(file, ["--help"]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  expect(stdout.split("\n")[0]).toBe(`usage: ${run}`);
  return stdout;
}

/** A bad argument: one sentence (`first`), then the usage, exit 2, nothing on stdout. */
export async function expectUsageError(file: string, args: string[], first: string): Promise<void> {
  const { code, stdout, stderr } = await runLesson(file, args);
  expect({ args, code, stdout, first: stderr.split("\n")[0] }).toEqual({
    args,
    code: 2,
    stdout: "",
    first,
  });
  expect(stderr).toContain(`usage: bun run ${file}`);
  expect(stderr).not.toMatch(/^\s+at /m);
}

/** A TCP listener of ours on loopback, port 0; `await using` stops it. */
export function listen(hostname = "127.0.0.1"): TCPSocketListener<undefined> & AsyncDisposable {
  const listener = Bun.listen({ hostname, port: 0, socket: { data() {} } });
  return Object.assign(listener, { [Symbol.asyncDispose]: async () => listener.stop(true) });
}

/** Every address of /etc/hosts with its names in file order: what the system answers offline. */
export function hostsFile(): Map<string, string[]> {
  const hosts = new Map<string, string[]>();
  const text = existsSync("/etc/hosts") ? readFileSync("/etc/hosts", "utf8") : "";
  for (const line of text.split("\n")) {
    const [address, ...names] = line.replace(/#.*/, "").trim().split(/\s+/);
    if (address && names.length > 0) hosts.set(address, [...(hosts.get(address) ?? []), ...names]);
  }
  return hosts;
}
