// Lesson 12, the UDP counter: each datagram `ID TEXT` is printed with its sender and a running
// count and acknowledged with its id (never more bytes than it got); a resent datagram (its
// acknowledgement was lost) is acknowledged again but counted once; after --count messages
// the server stops by itself. What is not `ID TEXT` gets no answer.
import { describe, expect, test } from "bun:test";
import { startCounter } from "../../06-chat/12-udp-counter.ts";
import { logCollector, runLesson, startLesson, udpRequest } from "../helpers.ts";
import { UdpProxy } from "../fixtures/udp-proxy.ts";

async function counter(count = 100) {
  const logs = logCollector();
  const server = await startCounter("127.0.0.1", 0, count, logs.log);
  return {
    ...server,
    logs,
    port: server.udp.port,
    [Symbol.asyncDispose]: async () => server.stop(),
  };
}

/** Sends raw datagrams from one socket; resolves with every reply to the last, a valid one. */
async function sendThenValid(port: number, datagrams: string[], valid: string): Promise<string[]> {
  const replies: string[] = [];
  let got: () => void = () => {};
  const answered = new Promise<void>((resolve) => {
    got = resolve;
  });
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(_socket, data) {
        replies.push(Buffer.from(data).toString());
        if (replies.includes(valid.split(" ")[0] ?? "")) got();
      },
      error() {},
    },
  });
  for (const datagram of [...datagrams, valid]) socket.send(datagram, port, "127.0.0.1");
  await answered;
  socket.close();
  return replies;
}

describe("startCounter (in-process)", () => {
  test("prints each message with its sender and count, and answers with its id", async () => {
    await using server = await counter();
    expect((await udpRequest(server.port, "a1 hello")).toString()).toBe("a1");
    expect((await udpRequest(server.port, "a2 wörld")).toString()).toBe("a2");
    expect(server.logs.lines).toEqual([
      expect.stringMatching(/^#1 from 127\.0\.0\.1:\d+: "hello"$/),
      expect.stringMatching(/^#2 from 127\.0\.0\.1:\d+: "wörld"$/),
    ]);
  });

  test("the same id again (its answer was lost): answered again, counted once", async () => {
    await using server = await counter();
    await using proxy = await UdpProxy.start({ port: server.port }, { drop: { "to-client": [1] } });
    expect((await udpRequest(proxy.port, "dup-1 once", { waitMs: 200 })).toString()).toBe("dup-1");
    await server.logs.waitFor(/again/);
    expect(server.logs.lines).toEqual([
      expect.stringMatching(/^#1 from 127\.0\.0\.1:\d+: "once"$/),
      expect.stringMatching(/^dup-1 again from 127\.0\.0\.1:\d+: counted once$/),
    ]);
  });

  test("what is not `ID TEXT` gets no answer; no answer is ever bigger than its datagram", async () => {
    await using server = await counter();
    const replies = await sendThenValid(
      server.port,
      ["", "####", "no-space", "bad! id x"],
      "ok-1 x",
    );
    expect(replies).toEqual(["ok-1"]);
    const tiny = await sendThenValid(server.port, [], "7 ");
    expect(tiny).toEqual(["7"]);
  });

  test("stops after --count messages: `finished` resolves, and later ones are not counted", async () => {
    await using server = await counter(2);
    await udpRequest(server.port, "m1 one");
    await udpRequest(server.port, "m2 two");
    await server.finished;
    const late = await sendThenValid(server.port, ["m3 three"], "m1 one");
    expect(late).toEqual(["m1"]);
    server.stop();
    expect(server.logs.lines.at(-1)).toBe(
      "counted 2 message(s); 1 datagram(s) were not `ID TEXT` or came late",
    );
  });
});

describe("run as a student would", () => {
  test("listening on (udp), and it stops by itself after --count 2, exit 0", async () => {
    await using lesson = startLesson("06-chat/12-udp-counter.ts", ["--port", "0", "--count", "2"]);
    const { port } = await lesson.listening("udp");
    await lesson.waitFor(/try {2}bun run 06-chat\/13-udp-sender\.ts --port \d+; Ctrl-C stops/);
    await udpRequest(port, "x1 first");
    await udpRequest(port, "x2 second");
    const { code, stdout } = await lesson.finished();
    expect(code).toBe(0);
    expect(stdout).toContain("#2 from 127.0.0.1:");
    expect(stdout).toContain("counted 2 message(s)");
  });

  test("--count 0 is a mistake: one sentence, exit 2", async () => {
    const { code, stderr } = await runLesson("06-chat/12-udp-counter.ts", ["--count", "0"]);
    expect(code).toBe(2);
    expect(stderr.split("\n")[0]).toBe('--count must be a whole number of at least 1 (got "0")');
  });
});
