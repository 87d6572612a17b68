// Lesson 19, the echo client over UDP: one datagram per message, resent on silence, and each
// echo compared with its datagram.
import { describe, expect, test } from "bun:test";
import { echoOverUdp } from "../../04-server/18-echo-udp-server.ts";
import { checkEcho } from "../../04-server/19-echo-udp-client.ts";
import { closedPort, runLesson, startLesson, tracker } from "../helpers.ts";

const track = tracker();
const FILE = "04-server/19-echo-udp-client.ts";

/** A UDP server on loopback that answers with `reply(datagram, count)`, or not at all. */
async function fakeUdpServer(reply: (data: Buffer, seen: number) => Buffer | undefined) {
  let seen = 0;
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(s, data, port) {
        const answer = reply(data, ++seen);
        if (answer) s.send(answer, port, "127.0.0.1");
      },
      error() {},
    },
  });
  track({ stop: () => socket.close() });
  return { port: socket.port, seen: () => seen };
}

describe("19-echo-udp-client in-process", () => {
  test("each message is one datagram, and its echo comes back the same, with lesson 18's server", async () => {
    const server = track(await echoOverUdp("127.0.0.1", 0));
    const messages = [Buffer.from("héllo"), Buffer.from("second"), Buffer.alloc(1400, 7)];
    const result = await checkEcho("127.0.0.1", server.udp.port, messages);
    expect(result).toMatchObject({ datagrams: 3, sentBytes: 1412, receivedBytes: 1412 });
    expect(result.identical).toBe(true);
  });

  test("a lost datagram is sent again", async () => {
    const fake = await fakeUdpServer((data, seen) => (seen > 1 ? data : undefined));
    const result = await checkEcho("127.0.0.1", fake.port, [Buffer.from("again")]);
    expect(result.identical).toBe(true);
    expect(fake.seen()).toBe(2);
  });

  test("an unfaithful echo is caught: one byte changed", async () => {
    const fake = await fakeUdpServer((data) => Buffer.from(data.map((b, i) => (i ? b : b ^ 1))));
    const result = await checkEcho("127.0.0.1", fake.port, [Buffer.from("abc")]);
    expect(result).toMatchObject({ sentBytes: 3, receivedBytes: 3, identical: false });
  });
});

describe("19-echo-udp-client as a student runs it", () => {
  test("typed lines, after a hint, go one datagram each and come back; then the check", async () => {
    const typed = await runLesson(FILE, [], { input: "one\ntwo ✓\n\nthree\n" });
    expect(typed.code).toBe(0);
    expect(typed.stderr).toMatch(/^no --host or --port: started 04-server\/18-echo-udp-server\.ts/);
    expect(typed.stdout).toStartWith(
      "type lines: each goes as one datagram and comes back; Ctrl-D ends\none\ntwo ✓\nthree\n",
    );
    expect(typed.stdout).toMatch(
      /3 datagram\(s\), 15 bytes sent to 127\.0\.0\.1:\d+ \(udp\), 15 back/,
    );
    expect(typed.stdout).toContain("every echo is identical to its datagram");
  });

  test("--message with --json against a spawned server: one JSON document", async () => {
    await using server = startLesson("04-server/18-echo-udp-server.ts", ["--port", "0"]);
    const { port } = await server.listening("udp");
    const args = ["--host", "127.0.0.1", "--port", String(port), "--message", "datagram", "--json"];
    const run = await runLesson(FILE, args);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ datagrams: 1, sentBytes: 8, identical: true });
  });

  test("failures: nothing listens, a message too big for a datagram (exit 1); --file (exit 2)", async () => {
    const closed = closedPort();
    const refusedRun = await runLesson(FILE, ["--port", String(closed), "--message", "x"]);
    expect(refusedRun.code).toBe(1);
    expect(refusedRun.stderr.trim()).toBe(
      `127.0.0.1:${closed} (udp): port unreachable, nothing listens on that UDP port; start the server, or check --host and --port`,
    );
    const tooBig = await runLesson(FILE, ["--message", "x".repeat(70_000)]);
    expect(tooBig.code).toBe(1);
    expect(tooBig.stderr.trim()).toMatch(
      /^127\.0\.0\.1:\d+ \(udp\): a datagram carries at most 65507 bytes; send less$/m,
    );
    const file = await runLesson(FILE, ["--file", "x"]);
    expect(file.code).toBe(2);
    expect(file.stderr).toStartWith("unknown flag --file: see the list below");
  });

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
