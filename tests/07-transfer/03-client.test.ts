// Lesson 07-transfer/03-client: list, or get one file: READY, exactly the announced bytes,
// hashed on the way, a progress bar on a terminal, the SHA-256 checked. In-process against
// lesson 02 and against servers that lie or hang up, and as a student runs it.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startGetServer } from "../../07-transfer/02-get-server.ts";
import { getFile } from "../../07-transfer/03-client.ts";
import { Channel } from "../../07-transfer/channel.ts";
import { LineReader } from "../../lib/stream.ts";
import { closedPort, lessonPath, ROOT, runLesson, tracker } from "../helpers.ts";
import { makeScene, type Scene, sha256 } from "../fixtures/transfer-scene.ts";

const LESSON = "07-transfer/03-client.ts";
const track = tracker();
let scene: Scene;
let out: string;
beforeEach(() => {
  scene = makeScene();
  out = join(scene.dir, "downloads");
  mkdirSync(out);
});
afterEach(() => scene.remove());

/** A server that announces `digest` for `body`, then sends `sent` of its bytes and closes. */
function liar(body: Buffer, digest: string, sent = body.length): number {
  const listener = Bun.listen<LineReader>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = new LineReader();
      },
      data(socket, chunk) {
        for (const line of socket.data.push(chunk)) {
          if (line.startsWith("GET"))
            socket.write(`SENDING_FILE x.bin ${body.length} ${digest} 0\n`);
          if (line === "READY" && sent < body.length) socket.end(body.subarray(0, sent));
          else if (line === "READY") socket.write(body);
        }
      },
    },
  });
  return track(listener).port;
}

describe("in-process", () => {
  test("get: the file is saved whole, and its SHA-256 is the one announced", async () => {
    const server = track(startGetServer({ port: 0, root: scene.root }));
    const channel = await Channel.open("127.0.0.1", server.tcp.port);
    const got = await getFile(channel, "random.bin", out);
    const random = scene.files["random.bin"] ?? Buffer.alloc(0);
    expect(got).toMatchObject({ name: "random.bin", bytes: random.length, sha256: sha256(random) });
    expect(got.verified).toBe(true);
    expect(readFileSync(join(out, "random.bin"))).toEqual(random);
    expect(await channel.list()).toHaveLength(4);
    channel.close();
  });

  test("bytes that do not hash to the announced digest: the file is deleted, and the client says so", async () => {
    const body = Buffer.from("these bytes were changed on the way\n");
    const channel = await Channel.open("127.0.0.1", liar(body, sha256("the original bytes\n")));
    await expect(getFile(channel, "x.bin", out)).rejects.toThrow(
      `x.bin did not arrive whole (its SHA-256 is ${sha256(body)}, the server announced ${sha256("the original bytes\n")}): deleted it`,
    );
    expect(readdirSync(out)).toEqual([]);
  });

  test("a server that hangs up mid-file: the partial file is deleted, with the reason", async () => {
    const body = Buffer.alloc(100_000, 7);
    const port = liar(body, sha256(body), 40_000);
    const channel = await Channel.open("127.0.0.1", port);
    await expect(getFile(channel, "x.bin", out)).rejects.toThrow(
      `x.bin did not arrive whole (127.0.0.1:${port} closed the connection, 60000 bytes before the end of the file): deleted it`,
    );
    expect(readdirSync(out)).toEqual([]);
  });
});

describe("as a student runs it", () => {
  test("with no --port it starts lesson 02's server, says so, and lists its files", async () => {
    const { code, stdout, stderr } = await runLesson(LESSON, []);
    expect(code).toBe(0);
    expect(stderr).toMatch(/^no --port: started lesson 02's server on 127\.0\.0\.1:\d+\n$/);
    expect(stdout).toMatch(/^\d+ file\(s\):\n {2}hello\.txt +\d+ B {2}\d{4}-/);
  });

  test("get NAME --out DIR: saved, with the size, the time, the rate and the verified digest", async () => {
    const server = track(startGetServer({ port: 0, root: scene.root }));
    const port = String(server.tcp.port);
    const { code, stdout, stderr } = await runLesson(LESSON, [
      "get",
      "sub/inner.txt",
      "--port",
      port,
      "--out",
      out,
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const inner = scene.files["sub/inner.txt"] ?? "";
    expect(stdout).toMatch(
      new RegExp(
        `^saved ${out}/inner\\.txt: 16 B in [\\d.]+ ms \\(.+/s\\); SHA-256 verified: ${sha256(inner)}\\n$`,
      ),
    );
    const json = await runLesson(LESSON, [
      "get",
      "hello.txt",
      "--port",
      port,
      "--out",
      out,
      "--json",
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: "hello.txt", verified: true, bytes: 29 });
  });

  test("a file the server does not have, a refused port, and bad words: one sentence each", async () => {
    const server = track(startGetServer({ port: 0, root: scene.root }));
    const missing = await runLesson(LESSON, [
      "get",
      "nope.txt",
      "--port",
      String(server.tcp.port),
      "--out",
      out,
    ]);
    expect(missing).toEqual({
      code: 1,
      stdout: "",
      stderr: "the server says: no such file: nope.txt\n",
    });
    const port = closedPort();
    const refused = await runLesson(LESSON, ["list", "--port", String(port)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`127.0.0.1:${port} (tcp) refused the connection`);
    const words = await runLesson(LESSON, ["fetch", "x"]);
    expect(words.code).toBe(2);
    expect(words.stderr.split("\n")[0]).toBe('say "list", or "get NAME" (got "fetch x")');
    expect(existsSync(join(out, "nope.txt"))).toBe(false);
  });

  test("on a terminal the progress is a bar redrawn in place; in a pipe there is no \\r", async () => {
    const server = track(startGetServer({ port: 0, root: scene.root }));
    let screen = "";
    const proc = Bun.spawn(
      [
        "bun",
        "run",
        lessonPath(LESSON),
        "get",
        "random.bin",
        "--port",
        String(server.tcp.port),
        "--out",
        out,
      ],
      {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: "1" },
        terminal: {
          cols: 120,
          rows: 24,
          data(_terminal, data) {
            screen += Buffer.from(data).toString("utf8");
          },
        },
      },
    );
    expect(await proc.exited).toBe(0);
    proc.terminal?.close();
    expect(screen).toMatch(
      /\rrandom\.bin \[#{20}\] 100% {2}4\.0 MiB of 4\.0 MiB {2}.+\/s {2}0:00 left {2}0:00 gone/,
    );
    const piped = await runLesson(LESSON, [
      "get",
      "random.bin",
      "--port",
      String(server.tcp.port),
      "--out",
      out,
    ]);
    expect(piped.stderr).not.toContain("\r");
  });
});
