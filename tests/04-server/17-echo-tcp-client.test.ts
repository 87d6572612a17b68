// Lesson 17, the echo client over TCP: it sends while it reads, half-closes, reads to the
// close, and proves the echo identical (count and SHA-256).
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { echoOverTcp } from "../../04-server/16-echo-tcp-server.ts";
import { checkEcho } from "../../04-server/17-echo-tcp-client.ts";
import { closedPort, runLesson, SLOW_TEST_MS, startLesson, tracker } from "../helpers.ts";

const track = tracker();
const FILE = "04-server/17-echo-tcp-client.ts";

const refused = (where: string): string =>
  `${where} refused the connection: nothing listens there; start the server, or check --host and --port`;

/** 16 MiB of random bytes. */
function bigPayload(): Uint8Array {
  const bytes = new Uint8Array(16 * 1024 * 1024);
  for (let at = 0; at < bytes.length; at += 65_536)
    crypto.getRandomValues(bytes.subarray(at, at + 65_536));
  return bytes;
}

describe("17-echo-tcp-client in-process", () => {
  test("16 MiB, the same count and SHA-256", async () => {
    const server = track(echoOverTcp("127.0.0.1", 0));
    const payload = bigPayload();
    const tcp = await checkEcho("127.0.0.1", server.tcp.port, [payload]);
    expect(tcp).toMatchObject({
      sentBytes: payload.length,
      receivedBytes: payload.length,
      identical: true,
    });
    expect(tcp.receivedSha256).toBe(new Bun.CryptoHasher("sha256").update(payload).digest("hex"));
  });

  test("an unfaithful echo is caught: one byte changed", async () => {
    const listener = track(
      Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        allowHalfOpen: true,
        socket: {
          data(socket, chunk) {
            socket.write(chunk.map((byte, i) => (i === 0 ? byte ^ 1 : byte)));
          },
          end(socket) {
            socket.end();
          },
          error() {},
        },
      }),
    );
    const result = await checkEcho("127.0.0.1", listener.port, [Buffer.from("abc")]);
    expect(result).toMatchObject({ sentBytes: 3, receivedBytes: 3, identical: false });
    expect(result.sentSha256).not.toBe(result.receivedSha256);
  });

  test("a server that closes without echoing: a clear result, not a hang", async () => {
    const listener = track(
      Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        socket: {
          open(socket) {
            socket.end();
          },
          data() {},
          error() {},
        },
      }),
    );
    const result = await checkEcho("127.0.0.1", listener.port, [Buffer.from("x")]);
    expect(result).toMatchObject({ sentBytes: 1, receivedBytes: 0, identical: false });
  });
});

describe("17-echo-tcp-client as a student runs it", () => {
  test("typed lines, with a hint first (the old client looked hung), come back; then the check", async () => {
    const typed = await runLesson(FILE, [], { input: "one\ntwo ✓\nthree\n" });
    expect(typed.code).toBe(0);
    expect(typed.stderr).toMatch(
      /^no --host or --port: started 04-server\/16-echo-tcp-server\.ts on 127\.0\.0\.1:\d+/,
    );
    expect(typed.stdout).toStartWith(
      "type lines: each comes back as you send it; Ctrl-D ends and checks it\n",
    );
    expect(typed.stdout).toContain("one\ntwo ✓\nthree\n");
    expect(typed.stdout).toMatch(/18 bytes sent to 127\.0\.0\.1:\d+ \(tcp\), 18 back in \d+ ms/);
    expect(typed.stdout).toContain("the echo is identical");
  });

  test(
    "--message with --json; --file of 16 MiB to a spawned server",
    async () => {
      const messageRun = await runLesson(FILE, ["--message", "a message", "--json"]);
      expect(messageRun.code).toBe(0);
      expect(JSON.parse(messageRun.stdout)).toMatchObject({ sentBytes: 9, identical: true });
      const dir = mkdtempSync(join(tmpdir(), "echo-file-"));
      try {
        const file = join(dir, "random.bin");
        writeFileSync(file, bigPayload());
        await using server = startLesson("04-server/16-echo-tcp-server.ts", ["--port", "0"]);
        const { port } = await server.listening("tcp");
        const fileRun = await runLesson(FILE, [
          "--file",
          file,
          "--host",
          "127.0.0.1",
          "--port",
          String(port),
        ]);
        expect(fileRun.code).toBe(0);
        expect(fileRun.stdout).toMatch(
          /16777216 bytes sent to 127\.0\.0\.1:\d+ \(tcp\), 16777216 back/,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    SLOW_TEST_MS,
  );

  test("failures: refused, a missing file (exit 1); --file with --message, --protocol (exit 2)", async () => {
    const closed = closedPort();
    const refusedRun = await runLesson(FILE, ["--port", String(closed), "--message", "x"]);
    expect(refusedRun.code).toBe(1);
    expect(refusedRun.stderr.trim()).toBe(refused(`127.0.0.1:${closed} (tcp)`));
    const missing = await runLesson(FILE, ["--file", "/nonexistent/file.bin"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe("cannot read /nonexistent/file.bin: there is no such file");
    const both = await runLesson(FILE, ["--file", "x", "--message", "y"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toStartWith("--file goes alone: give --message or --file, not both\n");
    const udp = await runLesson(FILE, ["--protocol", "udp"]);
    expect(udp.code).toBe(2);
    expect(udp.stderr).toStartWith("unknown flag --protocol: see the list below");
  });

  test(
    "against a peer that reads but never echoes or closes: one sentence, exit 1, and the process ends",
    async () => {
      // allowHalfOpen: our FIN does not make it close, so only the client's own limit ends this.
      const sink = track(
        Bun.listen({
          hostname: "127.0.0.1",
          port: 0,
          allowHalfOpen: true,
          socket: { data() {}, end() {}, error() {} },
        }),
      );
      const run = await runLesson(FILE, [
        "--port",
        String(sink.port),
        "--message",
        "anyone there?",
      ]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`127.0.0.1:${sink.port} went silent for 10000 ms\n`);
    },
    SLOW_TEST_MS,
  );

  test.each([
    [["--port", "0"], '--port must be a whole number from 1 to 65535 (got "0")'],
    [["--host", ""], '--host must be a host name or an IP address (got "")'],
  ])("%p: exit 2, the reason, then the usage", async (args, reason) => {
    const { code, stdout, stderr } = await runLesson(FILE, args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toStartWith(`${reason}\n\nusage: bun run ${FILE}`);
  });
});
