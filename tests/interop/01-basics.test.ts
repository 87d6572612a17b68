/**
 * Chapter 01 against a third-party peer: the README's `nc` recipe, run as written. A listener
 * from ncat (Debian package ncat; `nc` is ncat here, or netcat-openbsd) on a port from
 * freePort(), checked by lesson 10 twice and then by lesson 11. With `-k` it survives every
 * connection; without, it serves one and exits, and the port then shows free: why the README
 * says `nc -lk`. A missing binary skips, naming its package.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, hasCommand, ROOT, runLesson } from "../helpers.ts";

const NC = hasCommand("nc");
const REACH = "01-basics/10-reachability.ts";
const FREE = "01-basics/11-port-free.ts";

/** Starts `nc -l[k] 127.0.0.1 PORT` (with -v, to hear when it listens); kill it when done. */
async function ncListener(keep: boolean) {
  const port = await freePort();
  const child = Bun.spawn(["nc", keep ? "-lkv" : "-lv", "127.0.0.1", `${port}`], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const reader = child.stderr.getReader();
  let said = "";
  try {
    while (!/Listening on/.test(said)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`nc exited before listening: ${said}`);
      said += Buffer.from(value).toString();
    }
  } catch (error) {
    child.kill();
    throw error;
  }
  // Keep reading what it says after (a full pipe would block it).
  void (async () => {
    while (!(await reader.read()).done);
  })();
  return {
    port,
    child,
    async [Symbol.asyncDispose]() {
      child.kill();
      await child.exited;
    },
  };
}

describe("01-basics with nc (the README's recipe)", () => {
  test("the README's listener recipes keep listening: nc -lk, never a bare nc -l", () => {
    const readme = readFileSync(join(ROOT, "01-basics/README.md"), "utf8");
    const recipes = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((block) => block[1] ?? "");
    const listeners = recipes.flatMap((block) =>
      block.split("\n").filter((line) => /^nc\s+-l/.test(line)),
    );
    expect(listeners.length).toBeGreaterThan(0);
    for (const line of listeners) expect(line).toMatch(/^nc -lk /);
  });

  test.skipIf(!NC)(
    "nc -lk answers lesson 10 twice, and lesson 11 then finds its port in use (needs Debian package ncat)",
    async () => {
      await using nc = await ncListener(true);
      for (const run of [1, 2]) {
        const check = await runLesson(REACH, ["--check", `127.0.0.1:${nc.port}`]);
        expect({ run, code: check.code }).toEqual({ run, code: 0 });
        expect(check.stdout).toStartWith(`127.0.0.1:${nc.port} answers: connected in `);
      }
      const free = await runLesson(FREE, ["--port", `${nc.port}`]);
      expect(free.code).toBe(1);
      expect(free.stderr).toStartWith(`port ${nc.port} on 0.0.0.0 is already in use`);
    },
  );

  test.skipIf(!NC)(
    "a bare nc -l serves the first check and exits: the port then shows free (needs Debian package ncat)",
    async () => {
      await using nc = await ncListener(false);
      const check = await runLesson(REACH, ["--check", `127.0.0.1:${nc.port}`]);
      expect(check.code).toBe(0);
      await nc.child.exited;
      const free = await runLesson(FREE, ["--port", `${nc.port}`]);
      expect(free.code).toBe(0);
      expect(free.stdout).toContain(`port ${nc.port} is free`);
    },
  );
});
