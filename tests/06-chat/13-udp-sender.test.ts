// Lesson 13, the UDP sender: each line goes out as `ID TEXT` until the counter acknowledges
// it. A lost datagram or a lost acknowledgement costs a resend, and the server still counts
// the message once; with no acknowledgement at all the sender says it does not know.
import { describe, expect, test } from "bun:test";
import { startCounter } from "../../06-chat/12-udp-counter.ts";
import { sendCounted } from "../../06-chat/13-udp-sender.ts";
import { closedPort, logCollector, runLesson } from "../helpers.ts";
import { whyConnectFailed } from "../../lib/cli.ts";
import { UdpProxy } from "../fixtures/udp-proxy.ts";

const options = { attempts: 5, timeoutMs: 200, lose: 0 };

async function counter() {
  const logs = logCollector();
  const server = await startCounter("127.0.0.1", 0, 100, logs.log);
  return { logs, port: server.udp.port, [Symbol.asyncDispose]: async () => server.stop() };
}

describe("sendCounted (in-process)", () => {
  test("acknowledged at the first attempt on a quiet network", async () => {
    await using server = await counter();
    expect(await sendCounted("127.0.0.1", server.port, "r-1", "hello", options)).toBe(1);
    expect(server.logs.lines).toEqual([expect.stringMatching(/^#1 from .*: "hello"$/)]);
  });

  test("the datagram is lost on the way: sent again, counted once", async () => {
    await using server = await counter();
    await using proxy = await UdpProxy.start({ port: server.port }, { drop: { "to-server": [1] } });
    expect(await sendCounted("127.0.0.1", proxy.port, "r-2", "lost once", options)).toBe(2);
    expect(server.logs.lines).toHaveLength(1);
  });

  test("the acknowledgement is lost on the way back: sent again, and the server counts it once", async () => {
    await using server = await counter();
    await using proxy = await UdpProxy.start({ port: server.port }, { drop: { "to-client": [1] } });
    expect(await sendCounted("127.0.0.1", proxy.port, "r-3", "ack lost", options)).toBe(2);
    expect(server.logs.lines).toEqual([
      expect.stringMatching(/^#1 from .*: "ack lost"$/),
      expect.stringMatching(/^r-3 again from .*: counted once$/),
    ]);
  });

  test("every acknowledgement ignored (--lose 100): ETIMEDOUT after the attempts", async () => {
    await using server = await counter();
    const error = await sendCounted("127.0.0.1", server.port, "r-4", "x", {
      ...options,
      attempts: 2,
      lose: 1,
    }).catch((caught: unknown) => caught);
    expect((error as NodeJS.ErrnoException).code).toBe("ETIMEDOUT");
    expect(server.logs.lines).toHaveLength(2);
  });
});

describe("run as a student would", () => {
  test("each line typed is sent and reported counted; the end of input ends it", async () => {
    await using server = await counter();
    const { code, stdout } = await runLesson(
      "06-chat/13-udp-sender.ts",
      ["--port", String(server.port)],
      {
        input: "one\n\ntwo\n",
      },
    );
    expect(code).toBe(0);
    expect(stdout.split("\n").filter((line) => line.includes("counted"))).toEqual([
      expect.stringMatching(/^[0-9a-f]{8}-1 counted$/),
      expect.stringMatching(/^[0-9a-f]{8}-2 counted$/),
    ]);
    expect(server.logs.lines).toHaveLength(2);
  });

  test("--lose 100: it says it does not know, and goes on", async () => {
    await using server = await counter();
    const args = [
      "--port",
      String(server.port),
      "--lose",
      "100",
      "--attempts",
      "2",
      "--timeout",
      "0.1",
    ];
    const { code, stdout } = await runLesson("06-chat/13-udp-sender.ts", args, {
      input: "lost?\n",
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/-1: no acknowledgement after 2 attempts: lost, or the server is gone/);
  });

  test("no --host or --port: it starts the counter in its own process and says so", async () => {
    const { code, stdout, stderr } = await runLesson("06-chat/13-udp-sender.ts", [], {
      input: "hi\n",
    });
    expect(code).toBe(0);
    expect(stderr).toMatch(
      /^no --host or --port: started 06-chat\/12-udp-counter\.ts on 127\.0\.0\.1:\d+ for this run$/m,
    );
    expect(stdout).toMatch(/-1 counted/);
  });

  test("nobody listening: one sentence, exit 1", async () => {
    const port = closedPort();
    const { code, stderr } = await runLesson("06-chat/13-udp-sender.ts", ["--port", String(port)], {
      input: "x\n",
    });
    expect(code).toBe(1);
    const refused = Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
    expect(stderr.trim()).toBe(await whyConnectFailed(refused, "127.0.0.1", port, "udp"));
  });
});
