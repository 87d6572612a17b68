// 07-transfer/channel.ts: the client's side of the protocol, against small scripted servers
// over loopback: replies, refusals, a listing, raw bytes then a line, a server that closes
// mid-file or goes quiet, an upload that the server stops early.
import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Channel, openLocal, TransferError } from "../../07-transfer/channel.ts";
import { LineReader } from "../../lib/stream.ts";
import { closedPort, tracker } from "../helpers.ts";
import { randomBytes, sha256 } from "../fixtures/transfer-scene.ts";

const track = tracker();

/** A server that hands each line to `script`, with the socket to answer on. */
function scripted(script: (socket: Socket<LineReader>, line: string) => void): number {
  const listener = Bun.listen<LineReader>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = new LineReader();
      },
      data(socket, chunk) {
        for (const line of socket.data.push(chunk)) script(socket, line);
      },
    },
  });
  track(listener);
  return listener.port;
}

const failure = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TransferError);
    return (error as Error).message;
  }
  return "(no failure)";
};

describe("Channel", () => {
  test("a refused connection is one sentence", async () => {
    const port = closedPort();
    expect(await failure(Channel.open("127.0.0.1", port))).toBe(
      `127.0.0.1:${port} (tcp) refused the connection: nothing listens there; start the server, or check --host and --port`,
    );
  });

  test("ask returns the reply's line; an ERR reply is thrown as the server's sentence", async () => {
    const port = scripted((socket, line) => {
      socket.write(line === "bad" ? "ERR no such file: bad\n" : `OK ${line}\n`);
    });
    const channel = await Channel.open("127.0.0.1", port);
    expect(await channel.ask("hello")).toBe("OK hello");
    expect(await failure(channel.ask("bad"))).toBe("the server says: no such file: bad");
    expect(await channel.ask("again")).toBe("OK again");
    channel.close();
  });

  test("list reads the count line and as many file lines; a broken listing says so", async () => {
    const port = scripted((socket, line) => {
      if (line === "LIST")
        socket.write("OK 2 files\na.txt 3 2025-01-01T00:00:00Z\nb.bin 9 2025-01-02T00:00:00Z\n");
    });
    const channel = await Channel.open("127.0.0.1", port);
    expect(await channel.list()).toEqual([
      { name: "a.txt", size: 3, modified: "2025-01-01T00:00:00Z" },
      { name: "b.bin", size: 9, modified: "2025-01-02T00:00:00Z" },
    ]);
    channel.close();
    const broken = scripted((socket) => socket.write("OK 1 file\nnot a file line at all\n"));
    const other = await Channel.open("127.0.0.1", broken);
    expect(await failure(other.list())).toBe(
      'the server listed "not a file line at all", which is no file line',
    );
    other.close();
  });

  test("receive takes exactly the announced bytes, and what follows them in the same packet is a line", async () => {
    const body = randomBytes(100_000);
    const port = scripted((socket) =>
      socket.write(Buffer.concat([body, Buffer.from("OK after\n")])),
    );
    const channel = await Channel.open("127.0.0.1", port);
    channel.send("go\n");
    const got: Buffer[] = [];
    await channel.receive(body.length, (chunk) => void got.push(Buffer.from(chunk)));
    expect(Buffer.concat(got)).toEqual(body);
    expect(await channel.line()).toBe("OK after");
    channel.close();
  });

  test("receiveFile writes them at a position, hashed; a server that closes mid-file is one sentence", async () => {
    const dir = mkdtempSync(join(tmpdir(), "channel-"));
    const body = randomBytes(3 << 20);
    const port = scripted((socket, line) => {
      if (line === "whole") socket.write(body);
      else socket.end(body.subarray(0, 1000));
    });
    const path = join(dir, "f.bin");
    writeFileSync(path, "AB");
    const fd = openSync(path, "r+");
    const channel = await Channel.open("127.0.0.1", port);
    channel.send("whole\n");
    const hasher = new Bun.CryptoHasher("sha256").update("AB");
    const writer = await channel.receiveFile(body.length, fd, {
      label: "f.bin",
      position: 2,
      hasher,
    });
    closeSync(fd);
    expect(writer.written).toBe(body.length);
    expect(readFileSync(path)).toEqual(Buffer.concat([Buffer.from("AB"), body]));
    expect(hasher.digest("hex")).toBe(sha256(readFileSync(path)));
    channel.send("half\n");
    const sink = openSync("/dev/null", "w");
    expect(await failure(channel.receiveFile(body.length, sink, { label: "x" }))).toBe(
      `127.0.0.1:${port} closed the connection, ${body.length - 1000} bytes before the end of the file`,
    );
    closeSync(sink);
    rmSync(dir, { recursive: true });
  });

  test("a server that goes quiet is given up on, in one sentence", async () => {
    const port = scripted(() => {});
    const channel = await Channel.open("127.0.0.1", port, 0.3);
    expect(await failure(channel.ask("anyone?"))).toBe(
      `127.0.0.1:${port} sent nothing for 0.3 s: giving up`,
    );
  });

  test("put: READY, the bytes, the verdict; an early ERR stops the sending and is the failure", async () => {
    const dir = mkdtempSync(join(tmpdir(), "channel-"));
    const path = join(dir, "up.bin");
    const body = randomBytes(32 << 20);
    writeFileSync(path, body);
    let received = 0;
    const listener = track(
      Bun.listen<{ lines: LineReader; left: number; early: boolean }>({
        hostname: "127.0.0.1",
        port: 0,
        socket: {
          open(socket) {
            socket.data = { lines: new LineReader(), left: 0, early: false };
          },
          data(socket, chunk) {
            const state = socket.data;
            if (state.left > 0) {
              state.left -= chunk.length;
              received += chunk.length;
              if (state.early && received > 1 << 20) {
                // As a full disk would: say so, and read no more for now.
                socket.write("ERR the disk is full: up.bin was not stored\n");
                socket.pause();
                return;
              }
              if (state.left <= 0) socket.write("OK stored up.bin\n");
              return;
            }
            for (const line of state.lines.push(chunk)) {
              state.left = Number(line.split(" ")[2]);
              state.early = line.startsWith("PUT full");
              socket.write("READY\n");
            }
          },
        },
      }),
    );
    const fd = openSync(path, "r");
    const channel = await Channel.open("127.0.0.1", listener.port);
    expect(await channel.put(fd, body.length, "up.bin", sha256(body), false)).toBe(
      "OK stored up.bin",
    );
    expect(received).toBe(body.length);
    channel.close();
    received = 0;
    const other = await Channel.open("127.0.0.1", listener.port);
    expect(await failure(other.put(fd, body.length, "full", sha256(body), false))).toBe(
      "the server says: the disk is full: up.bin was not stored",
    );
    expect(received).toBeLessThan(body.length);
    other.close();
    closeSync(fd);
    rmSync(dir, { recursive: true });
  });

  test("openLocal: a file that cannot be opened is one sentence", () => {
    expect(() => openLocal("/nonexistent-folder/x", "w")).toThrow(
      "cannot open /nonexistent-folder/x: ENOENT",
    );
  });
});
