/**
 * Lesson 05/02, the one-at-a-time TCP client: each request waits for its reply, read until
 * its newline however it is cut; a sentence when the server hangs up, stays silent, or is
 * not there; and the script as a student runs it, offline, from an argument or with a prompt.
 */
import { expect, test } from "bun:test";
import { startTcpServer } from "../../05-calc/01-tcp-server.ts";
import { openCalculator } from "../../05-calc/02-tcp-client.ts";
import { closedPort, runLesson, tracker } from "../helpers.ts";
import { lesson, rejection } from "./support.ts";

const track = tracker();
const FILE = lesson("02-tcp-client");
const OFFLINE =
  /^no --host or --port: started 05-calc\/01-tcp-server\.ts on 127\.0\.0\.1:\d+ for this run\n$/;

test("openCalculator(): one request, its reply; then the next, on the same connection", async () => {
  const server = track(startTcpServer({ port: 0, log() {} }));
  const calculator = await openCalculator("127.0.0.1", server.tcp.port);
  try {
    expect(await calculator.ask("12 + 30")).toBe("OK 42");
    expect(await calculator.ask("7 / 0")).toBe("ERR division-by-zero: cannot divide by zero");
    expect(await calculator.ask("2 ^ 64")).toBe("OK 18446744073709551616");
  } finally {
    calculator.close();
  }
});

test("a reply cut into one-byte writes is read to its newline, then returned whole", async () => {
  let sent = Promise.resolve();
  const slow = track(
    Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(socket) {
          // One byte a write, each in a turn of its own: many `data` events at the client.
          for (const byte of Buffer.from("OK 1267650600228229401496703205376\n")) {
            sent = sent.then(() => new Promise((resolve) => setImmediate(resolve)));
            sent = sent.then(() => void socket.write(Uint8Array.of(byte)));
          }
        },
      },
    }),
  );
  const calculator = await openCalculator("127.0.0.1", slow.port);
  try {
    expect(await calculator.ask("2 ^ 100")).toBe("OK 1267650600228229401496703205376");
  } finally {
    calculator.close();
  }
});

test("a server that hangs up, or never answers, is a sentence, not a wait for ever", async () => {
  const rude = track(
    Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (socket) => void socket.end() } }),
  );
  const first = await openCalculator("127.0.0.1", rude.port);
  expect(await rejection(first.ask("1 + 1"))).toBe("the server closed the connection");
  expect(await rejection(first.ask("1 + 1"))).toBe("the server closed the connection");
  const mute = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  const second = await openCalculator("127.0.0.1", mute.port, 200);
  try {
    expect(await rejection(second.ask("1 + 1"))).toBe(
      "no reply within 0.2 s; is it a calculator server?",
    );
  } finally {
    second.close();
  }
});

test("spawned with no arguments: starts lesson 01's server (says so on stderr), prompts, answers each line typed", async () => {
  const result = await runLesson(FILE, [], { input: "12 + 30\n\n7 / 0\n" });
  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(OFFLINE);
  expect(result.stdout).toBe("> OK 42\n> ERR division-by-zero: cannot divide by zero\n> \n");
});

test("spawned with a calculation: its reply; -5 + 3 unquoted is a calculation too", async () => {
  const one = await runLesson(FILE, ["2", "^", "10"]);
  expect({ code: one.code, stdout: one.stdout }).toEqual({ code: 0, stdout: "OK 1024\n" });
  expect(one.stderr).toMatch(OFFLINE);
  const negative = await runLesson(FILE, ["-5", "+", "3"]);
  expect(negative.stdout).toBe("OK -2\n");
});

test("spawned against a running server: no server of its own, no message about one", async () => {
  const server = track(startTcpServer({ port: 0, log() {} }));
  const result = await runLesson(FILE, ["--port", String(server.tcp.port), "6 * 7"]);
  expect(result).toEqual({ code: 0, stdout: "OK 42\n", stderr: "" });
});

test("spawned: refused is one sentence, exit 1; a server that hangs up is one too", async () => {
  const port = closedPort();
  expect(await runLesson(FILE, ["--port", String(port), "1 + 1"])).toEqual({
    code: 1,
    stdout: "",
    stderr: `127.0.0.1:${port} (tcp) refused the connection: nothing listens there; start the server, or check --host and --port\n`,
  });
  const rude = track(
    Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (socket) => void socket.end() } }),
  );
  expect(await runLesson(FILE, ["--port", String(rude.port), "1 + 1"])).toEqual({
    code: 1,
    stdout: "",
    stderr: `127.0.0.1:${rude.port}: the server closed the connection\n`,
  });
});

test.each([
  [["--port", "0", "1 + 1"], '--port must be a whole number from 1 to 65535 (got "0")'],
  [["--port", "-3", "1 + 1"], '--port must be a whole number from 1 to 65535 (got "-3")'],
  [["--json"], "unknown flag --json: see the list below"],
])("spawned: bad arguments %p are exit 2 with the reason and the usage", async (args, why) => {
  const result = await runLesson(FILE, args);
  expect(result.code).toBe(2);
  expect(result.stderr).toStartWith(`${why}\n\nusage: bun run 05-calc/02-tcp-client.ts`);
});
