/**
 * Chapter 05 against third-party peers: the README's sessions typed with ncat (as `nc`) and
 * socat into our TCP and UDP calculator servers, and our TCP client and load generator
 * against another implementation of the protocol, the lab's design re-created in Python (a
 * thread per client, the bench's yardstick). A missing binary skips, naming its Debian package.
 */
import { describe, expect, test } from "bun:test";
import { calculate } from "../../05-calc/03-pipelined-client.ts";
import { runLoad } from "../../05-calc/12-load.ts";
import { PYTHON_THREAD_PER_CLIENT, spawnServer } from "../bench/05-calc.ts";
import { hasCommand, startLesson } from "../helpers.ts";

/**
 * Runs a third-party tool, types `input`, and returns what it printed: when it exits by
 * itself, or as soon as `done(output)` holds (then it is stopped). Killed after `timeoutMs`.
 */
async function runTool(
  argv: string[],
  input: string,
  { endInput = true, done = (_output: string): boolean => false, timeoutMs = 15_000 } = {},
): Promise<{ code: number; stdout: string }> {
  await using child = Bun.spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
  child.stdin.write(input);
  await child.stdin.flush();
  if (endInput) await child.stdin.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  let [stdout, stopped] = ["", false];
  try {
    for await (const chunk of child.stdout) {
      stdout += Buffer.from(chunk).toString();
      if (done(stdout)) {
        stopped = true;
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    if (stopped) child.kill(); // else it is exiting by itself: its code is the one to report
  }
  return { code: await child.exited, stdout };
}

const README_SESSION = "12 + 30\n7 / 0\nisprime 97\n";
const README_REPLIES = "OK 42\nERR division-by-zero: cannot divide by zero\nOK true\n";

describe("ncat and socat, as the chapter README uses them", () => {
  test.skipIf(!hasCommand("ncat"))(
    "ncat: the README's session with lesson 01, then ncat's FIN ends it (needs Debian package ncat)",
    async () => {
      await using server = startLesson("05-calc/01-tcp-server.ts", ["--port", "0"]);
      const { port } = await server.listening("tcp");
      // ncat half-closes when its input ends and prints the replies until the server closes.
      const { code, stdout } = await runTool(["ncat", "127.0.0.1", String(port)], README_SESSION);
      expect({ code, stdout }).toEqual({ code: 0, stdout: README_REPLIES });
    },
  );

  test.skipIf(!hasCommand("ncat"))(
    "ncat -C: lines ending in CRLF, as telnet sends them, get the same replies (needs Debian package ncat)",
    async () => {
      await using server = startLesson("05-calc/06-concurrent-server.ts", ["--port", "0"]);
      const { port } = await server.listening("tcp");
      const { stdout } = await runTool(["ncat", "-C", "127.0.0.1", String(port)], README_SESSION);
      expect(stdout).toBe(README_REPLIES);
    },
  );

  test.skipIf(!hasCommand("ncat"))(
    "ncat -u: a datagram typed with its id, the reply with that id and a newline (needs Debian package ncat)",
    async () => {
      await using server = startLesson("05-calc/04-udp-server.ts", ["--port", "0"]);
      const { port } = await server.listening("udp");
      // ncat -u does not exit at the end of its input: stop it once the reply is in. The
      // reply ends its line, so the next one ncat prints would start on a line of its own.
      const { stdout } = await runTool(["ncat", "-u", "127.0.0.1", String(port)], "7 12 + 30\n", {
        endInput: false,
        done: (output) => output.endsWith("\n"),
      });
      expect(stdout).toBe("7 OK 42\n");
    },
  );

  test.skipIf(!hasCommand("socat"))(
    "socat: the README's padded datagram gets its 26-byte reply (needs Debian package socat)",
    async () => {
      await using server = startLesson("05-calc/04-udp-server.ts", ["--port", "0"]);
      const { port } = await server.listening("udp");
      const padded = `8 2 ^ 64${" ".repeat(40)}\n`;
      const { stdout } = await runTool(["socat", "-t", "1", "-", `UDP:127.0.0.1:${port}`], padded, {
        done: (output) => output.length >= 26,
      });
      expect(stdout).toBe("8 OK 18446744073709551616\n");
    },
  );
});

describe("our clients against another implementation: the lab's design in Python", () => {
  test.skipIf(!hasCommand("python3"))(
    "lesson 03's client and lesson 12's load against a thread-per-client Python server (needs Debian package python3)",
    async () => {
      const python = await spawnServer(["python3", "-u", "-c", PYTHON_THREAD_PER_CLIENT]);
      try {
        const results = await calculate(["12 + 30", "7 / 0", "6 * 7"], { port: python.port });
        expect(results).toEqual([
          { request: "12 + 30", ok: true, value: "42" },
          {
            request: "7 / 0",
            ok: false,
            code: "division-by-zero",
            message: "cannot divide by zero",
          },
          { request: "6 * 7", ok: true, value: "42" },
        ]);
        // The bench's load (cheap requests only): every reply checked against ours.
        const load = { connections: 20, pipeline: 4, requests: 2000, heavyRatio: 0 };
        const report = await runLoad({ ...load, host: "127.0.0.1", port: python.port });
        expect(report).toMatchObject({ sent: 2000, answered: 2000, errors: 0, lost: 0 });
      } finally {
        await python.stop();
      }
    },
  );
});
