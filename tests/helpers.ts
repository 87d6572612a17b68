/**
 * What every chapter's tests share. Running lessons and talking to them lives in
 * tools/drive.ts (the tours use it too) and is re-exported here; the rest is for tests only:
 * time limits, free and closed ports, a private network namespace, probes for optional
 * interop peers, and small fixtures many test files used to copy.
 */
import { afterEach, expect } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseHeader, ROOT } from "../tools/catalog.ts";
import { runLesson } from "../tools/drive.ts";

export { ROOT };
export * from "../tools/drive.ts";

/**
 * Per-test limit for a test that waits on purpose (a silent peer, a client's own timeout).
 * Pass it as the third argument of `test`: bun applies tests/setup.ts's default only to the
 * first test file of a run (checked on Bun 1.4.5), and ignores `[test] timeout` in bunfig.
 */
export const SLOW_TEST_MS = 30_000;

/** True when `command` is on the PATH: interop tests skip, naming the package, when not. */
export const hasCommand = (command: string): boolean => Bun.which(command) !== null;

/**
 * argv prefix that runs a command in a fresh network namespace whose loopback is up
 * and whose only listeners are the ones the command starts: `unshare -n` as root.
 * Whole-range scans run there, never on the machine's shared loopback.
 */
export const PRIVATE_NETWORK: string[] = [
  "unshare",
  "-n",
  "sh",
  "-c",
  'ip link set lo up && exec "$@"',
  "sh",
];

/** Whether this machine lets us make a private network namespace (root, unshare, ip). */
export async function canUsePrivateNetwork(): Promise<boolean> {
  if (!hasCommand("unshare") || !hasCommand("ip")) return false;
  const probe = Bun.spawn([...PRIVATE_NETWORK, "true"], { stdout: "ignore", stderr: "ignore" });
  return (await probe.exited) === 0;
}

/**
 * A port that was free a moment ago, for third-party daemons that cannot be told
 * "port 0". Our own lessons always get `--port 0` instead.
 */
export async function freePort(hostname = "127.0.0.1"): Promise<number> {
  const listener = Bun.listen({ hostname, port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

/** A port nobody listens on (it was ours a moment ago): a connect there is refused. */
export function closedPort(hostname = "127.0.0.1"): number {
  const listener = Bun.listen({ hostname, port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

/**
 * Returns `track(thing)`, which remembers a server or socket a test opened in-process and
 * stops it after that test, whatever happened. Call it once at the top of a test file.
 */
export function tracker(): <T extends { stop(closeActiveConnections?: boolean): unknown }>(
  thing: T,
) => T {
  const opened: { stop(closeActiveConnections?: boolean): unknown }[] = [];
  afterEach(async () => {
    for (const thing of opened.splice(0)) await thing.stop(true);
  });
  return (thing) => {
    opened.push(thing);
    return thing;
  };
}

/**
 * A `log` to hand a lesson's server in-process: keeps its lines, and waits for one that
 * may come later.
 */
export function logCollector(): {
  lines: string[];
  log: (line: string) => void;
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<string>;
} {
  const lines: string[] = [];
  let waiting: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  return {
    lines,
    log: (line) => {
      lines.push(line);
      waiting = waiting.filter((entry) => {
        if (!entry.pattern.test(line)) return true;
        entry.resolve(line);
        return false;
      });
    },
    waitFor: (pattern, timeoutMs = 10_000) => {
      const seen = lines.find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no log line matched ${pattern} in ${timeoutMs} ms; got ${JSON.stringify(lines.slice(-5))}`,
              ),
            ),
          timeoutMs,
        );
        waiting.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
  };
}

/** The sentence lib/cli.ts prints when a server's port is taken (spelled out: tests check words). */
export const inUse = (port: number, host = "127.0.0.1"): string =>
  `port ${port} on ${host} is already in use: stop the program that holds it, or choose another --port (0 takes any free one)`;

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
