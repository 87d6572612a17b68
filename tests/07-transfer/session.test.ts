// 07-transfer/session.ts: one client of a file server. Driven with small handlers over real
// loopback sockets: order, refusals, long lines, idle clients, half-closes, the raw bytes of
// an upload, a full disk, a file sent to a client that leaves.
import { describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Refused } from "../../07-transfer/protocol.ts";
import { type Handler, type Session, sessions } from "../../07-transfer/session.ts";
import { logCollector, TcpTestClient, tracker } from "../helpers.ts";
import { eventually, randomBytes, say, sha256 } from "../fixtures/transfer-scene.ts";

const track = tracker();

function start(handler: Handler, idleSeconds = 10) {
  const logs = logCollector();
  const listener = track(
    Bun.listen<Session>({
      hostname: "127.0.0.1",
      port: 0,
      allowHalfOpen: true,
      socket: sessions(handler, { idleSeconds, log: logs.log }),
    }),
  );
  return { port: listener.port, logs };
}

describe("commands", () => {
  test("one at a time, in order: a slow command holds the lines after it", async () => {
    let finishSlow: () => void = () => {};
    let started = false;
    const { port } = start((session, line) => {
      if (line === "SLOW") {
        started = true;
        return new Promise<void>((resolve) => {
          finishSlow = () => {
            session.send("slow done\n");
            resolve();
          };
        });
      }
      session.send(`${line.toLowerCase()}\n`);
    });
    await using client = await TcpTestClient.connect(port);
    client.send("SLOW\nFAST\n");
    await eventually(() => started);
    expect(client.text).toBe("");
    finishSlow();
    await client.waitForText(/slow done\nfast\n/);
  });

  test("a Refused is `ERR sentence` and the connection goes on; a bug is logged and answered too", async () => {
    const { port, logs } = start((session, line) => {
      if (line === "no") throw new Refused("not today");
      if (line === "bug") throw new Error("oops");
      session.send("yes\n");
    });
    await using client = await TcpTestClient.connect(port);
    await say(client, "no", /^ERR not today\n$/);
    await say(client, "bug", /ERR the server failed: oops\n/);
    await logs.waitFor(/failed: oops/);
    await say(client, "ok", /^yes\n$/);
  });

  test("a line longer than 4096 bytes: ERR, and the server closes", async () => {
    const { port } = start((session) => session.send("line\n"));
    await using client = await TcpTestClient.connect(port);
    client.send(`${"x".repeat(5000)}\n`);
    await client.waitForText(/^ERR a line longer than 4096 bytes: closing\n$/);
    await client.whenClosed;
  });

  test("a client quiet for the idle limit is told so and closed", async () => {
    const { port } = start((session) => session.send("line\n"), 0.3);
    await using client = await TcpTestClient.connect(port);
    client.send("half a li");
    await client.waitForText(/^ERR nothing for 0.3 s: closing\n$/, 5_000);
    await client.whenClosed;
  });

  test("after the client's FIN, the lines it sent are answered (the last one without a newline too), then FIN", async () => {
    const { port } = start((session, line) => session.send(`got ${line}\n`));
    await using client = await TcpTestClient.connect(port);
    client.send("first\nsecond");
    client.shutdown();
    await client.whenClosed;
    expect(client.text).toBe("got first\ngot second\n");
  });
});

describe("the raw bytes of an upload", () => {
  test("receiveFile writes exactly `size` bytes and returns their digest; the line after them is a command", async () => {
    const dir = mkdtempSync(join(tmpdir(), "session-"));
    const path = join(dir, "up.bin");
    const bytes = randomBytes(3 << 20);
    const { port } = start(async (session, line) => {
      if (line !== "UP") {
        session.send(`line ${line}\n`);
        return;
      }
      session.send("READY\n");
      const fd = openSync(path, "w");
      const digest = await session.receiveFile(fd, bytes.length, () => {});
      closeSync(fd);
      session.send(`digest ${digest}\n`);
    });
    await using client = await TcpTestClient.connect(port);
    await say(client, "UP", /READY\n/);
    client.send(Buffer.concat([bytes, Buffer.from("AFTER\n")]));
    await client.waitForText(/digest \w+\nline AFTER\n/);
    expect(client.text).toContain(`digest ${sha256(bytes)}`);
    expect(readFileSync(path)).toEqual(bytes);
    rmSync(dir, { recursive: true });
  });

  test("a write that fails (/dev/full) is told at once; the rest is dropped and the connection goes on", async () => {
    const { port } = start(async (session, line) => {
      if (line !== "UP") {
        session.send(`line ${line}\n`);
        return;
      }
      session.send("READY\n");
      const fd = openSync("/dev/full", "w");
      const digest = await session.receiveFile(fd, 4 << 20, (error) => {
        session.send(`ERR ${error.code}\n`);
      });
      closeSync(fd);
      session.send(`digest ${digest}\n`);
    });
    await using client = await TcpTestClient.connect(port);
    await say(client, "UP", /READY\n/);
    client.send(new Uint8Array(2 << 20));
    await client.waitForText(/ERR ENOSPC\n/);
    client.send(new Uint8Array(2 << 20));
    client.send("next\n");
    await client.waitForText(/digest undefined\nline next\n/);
  });

  test("bytes sent before READY: the client did not wait, and is cut off", async () => {
    const { port } = start(async (session) => {
      session.send("READY\n");
      await session.receiveBody(10, () => {});
    });
    await using client = await TcpTestClient.connect(port);
    client.send("UP\n0123456789");
    await client.waitForText(/ERR send a file's bytes only after READY: closing\n/);
    await client.whenClosed;
  });
});

describe("sendFile", () => {
  test("sends the slice asked for; a client that leaves mid-file ends it, and its cleanups run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "session-"));
    const path = join(dir, "big.bin");
    const bytes = randomBytes(32 << 20);
    writeFileSync(path, bytes);
    const results: string[] = [];
    const { port } = start(async (session, line) => {
      results.push("started");
      const fd = openSync(path, "r");
      session.onClose(() => results.push("cleanup ran"));
      const [from, to] = line.split(" ").map(Number);
      await session.sendFile(fd, from ?? 0, to ?? 0).then(
        () => results.push("sent"),
        (error: Error) => results.push(error.message),
      );
      closeSync(fd);
    });
    await using whole = await TcpTestClient.connect(port);
    whole.send("5 1005\n");
    await whole.until((received) => received.length >= 1000);
    expect(whole.received).toEqual(bytes.subarray(5, 1005));
    const leaving = await TcpTestClient.connect(port);
    leaving.socket.pause();
    leaving.send(`0 ${bytes.length}\n`);
    await eventually(() => results.length === 3);
    leaving.socket.terminate();
    await eventually(() => results.includes("the client left"));
    expect(results).toEqual(["started", "sent", "started", "cleanup ran", "the client left"]);
    rmSync(dir, { recursive: true });
  });
});
