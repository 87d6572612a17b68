// Lesson 07-transfer/07-client: list, get and put; an interrupted get keeps NAME.part and
// resumes it, or starts over when the server's file changed; a put altered on the way is
// refused. The client killed in the middle of a GET, for real, and run again.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFileServer } from "../../07-transfer/06-file-server.ts";
import { getFile, putFile } from "../../07-transfer/07-client.ts";
import { Channel } from "../../07-transfer/channel.ts";
import { runLesson, SLOW_TEST_MS, startLesson, tracker } from "../helpers.ts";
import { flippingProxy, stallingServer } from "../fixtures/transfer-proxy.ts";
import {
  eventually,
  makeScene,
  randomBytes,
  type Scene,
  sha256,
} from "../fixtures/transfer-scene.ts";

const LESSON = "07-transfer/07-client.ts";
const track = tracker();
let scene: Scene;
let out: string;
beforeEach(() => {
  scene = makeScene();
  out = join(scene.dir, "downloads");
  mkdirSync(out);
});
afterEach(() => scene.remove());

const random = () => scene.files["random.bin"] ?? Buffer.alloc(0);
const serve = () => track(startFileServer({ port: 0, root: scene.root })).tcp.port;
const size = (path: string) => statSync(path, { throwIfNoEntry: false })?.size ?? -1;

/** Runs the client as a student would, against `port`. */
const client = (port: number, ...args: string[]) =>
  runLesson(LESSON, [...args, "--port", String(port), "--out", out]);

describe("resume", () => {
  test(
    "a client killed mid-GET keeps NAME.part; run again, it asks for the rest and the checksum matches",
    async () => {
      const stall = track(stallingServer("random.bin", random(), 3 << 20));
      const args = ["get", "random.bin", "--port", String(stall.port), "--out", out];
      await using first = startLesson(LESSON, args);
      const part = join(out, "random.bin.part");
      await eventually(() => size(part) >= 2 << 20);
      first.proc.kill("SIGKILL");
      await first.proc.exited;
      expect(readFileSync(`${part}.sha256`, "utf8")).toBe(sha256(random()));
      const kept = size(part);
      const { code, stdout, stderr } = await client(serve(), "get", "random.bin");
      expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
      expect(stdout).toMatch(
        /^saved .+random\.bin: [\d.]+ MiB in [\d.]+ ms \(.+\/s, resumed at [\d.]+ MiB\); /,
      );
      expect(stdout).toContain(`SHA-256 verified: ${sha256(random())}`);
      expect(readFileSync(join(out, "random.bin"))).toEqual(random());
      expect(readdirSync(out)).toEqual(["random.bin"]);
      expect(kept).toBeLessThan(random().length);
    },
    SLOW_TEST_MS,
  );

  test(
    "the server's file changed between the two halves: the client cancels, starts over, and gets the new file",
    async () => {
      const stall = track(stallingServer("random.bin", random(), 3 << 20));
      await using first = startLesson(LESSON, [
        "get",
        "random.bin",
        "--port",
        String(stall.port),
        "--out",
        out,
      ]);
      await eventually(() => size(join(out, "random.bin.part")) >= 2 << 20);
      first.proc.kill("SIGKILL");
      await first.proc.exited;
      const changed = randomBytes(random().length);
      writeFileSync(join(scene.root, "random.bin"), changed);
      const { code, stdout } = await client(serve(), "get", "random.bin", "--json");
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({
        restarted: true,
        resumedFrom: 0,
        sha256: sha256(changed),
        verified: true,
      });
      expect(readFileSync(join(out, "random.bin"))).toEqual(changed);
    },
    SLOW_TEST_MS,
  );

  test("in-process: a .part resumed from its end; a damaged .part fails the check, is deleted, and the next get starts clean", async () => {
    const port = serve();
    const path = join(out, "random.bin");
    writeFileSync(`${path}.part`, random().subarray(0, 1_000_000));
    writeFileSync(`${path}.part.sha256`, sha256(random()));
    const channel = await Channel.open("127.0.0.1", port);
    const got = await getFile(channel, "random.bin", path);
    expect(got).toMatchObject({ resumedFrom: 1_000_000, restarted: false, verified: true });
    expect(readFileSync(path)).toEqual(random());
    const damaged = Buffer.from(random().subarray(0, 1_000_000));
    damaged[10] = (damaged[10] ?? 0) ^ 1;
    writeFileSync(`${path}.part`, damaged);
    writeFileSync(`${path}.part.sha256`, sha256(random()));
    await expect(getFile(channel, "random.bin", path)).rejects.toThrow(
      "random.bin arrived damaged (SHA-256 ",
    );
    expect(existsSync(`${path}.part`)).toBe(false);
    expect(existsSync(`${path}.part.sha256`)).toBe(false);
    expect((await getFile(channel, "random.bin", path)).resumedFrom).toBe(0);
    channel.close();
  });

  test("a .part with no promised digest is not trusted: it is fetched from byte 0", async () => {
    const channel = await Channel.open("127.0.0.1", serve());
    const path = join(out, "hello.txt");
    writeFileSync(`${path}.part`, "garbage that is longer than the real file, much longer\n");
    const got = await getFile(channel, "hello.txt", path);
    expect(got.resumedFrom).toBe(0);
    expect(readFileSync(path)).toEqual(scene.files["hello.txt"] ?? Buffer.alloc(0));
    channel.close();
  });
});

describe("put", () => {
  test("in-process: hashed, sent after READY, verified by the server", async () => {
    const channel = await Channel.open("127.0.0.1", serve());
    const file = join(scene.dir, "upload.bin");
    const bytes = randomBytes(2 << 20);
    writeFileSync(file, bytes);
    const put = await putFile(channel, file, "sub/upload.bin");
    expect(put).toMatchObject({ bytes: bytes.length, sha256: sha256(bytes), verified: true });
    expect(readFileSync(join(scene.root, "sub/upload.bin"))).toEqual(bytes);
    channel.close();
  });

  test("a put whose bytes are altered in transit is refused by the server, and nothing is stored", async () => {
    const proxy = track(flippingProxy(serve(), 200_000));
    const file = join(scene.dir, "upload.bin");
    writeFileSync(file, randomBytes(1 << 20));
    const { code, stderr } = await client(proxy.port, "put", file, "--as", "altered.bin");
    expect(code).toBe(1);
    expect(stderr).toStartWith(
      "the server says: the bytes received do not match the SHA-256 given (they hash to ",
    );
    expect(stderr).toEndWith("): nothing was stored\n");
    expect(existsSync(join(scene.root, "altered.bin"))).toBe(false);
    expect(readdirSync(scene.root).filter((name) => name.startsWith("."))).toEqual([]);
  });

  test("put FILE: stored, with its name, size and digest; again: refused, unless --replace", async () => {
    const port = serve();
    const file = join(scene.dir, "notes.txt");
    writeFileSync(file, "my notes\n");
    const first = await client(port, "put", file);
    expect(first.stdout).toMatch(
      new RegExp(
        `^stored notes\\.txt on the server: 9 B in [\\d.]+ ms \\(.+/s\\); SHA-256 verified: ${sha256("my notes\n")}\n$`,
      ),
    );
    const again = await client(port, "put", file);
    expect(again).toEqual({
      code: 1,
      stdout: "",
      stderr: "the server says: notes.txt exists: add the word replace to overwrite it\n",
    });
    expect((await client(port, "put", file, "--replace")).code).toBe(0);
  });
});

describe("as a student runs it", () => {
  test("with no --port it starts lesson 06's server, says so, and lists its files", async () => {
    const { code, stdout, stderr } = await runLesson(LESSON, ["--json"]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/^no --port: started lesson 06's server on 127\.0\.0\.1:\d+\n$/);
    const { files } = JSON.parse(stdout) as { files: { name: string }[] };
    expect(files.map((file) => file.name)).toContain("hello.txt");
  });

  test("get: an existing file is kept unless --replace; --out /dev/null and --no-verify measure the wire alone", async () => {
    const port = serve();
    expect((await client(port, "get", "hello.txt")).code).toBe(0);
    const again = await client(port, "get", "hello.txt");
    expect(again).toEqual({
      code: 1,
      stdout: "",
      stderr: `${out}/hello.txt exists: add --replace to overwrite it\n`,
    });
    const raw = await runLesson(LESSON, [
      "get",
      "random.bin",
      "--port",
      String(port),
      "--out",
      "/dev/null",
      "--no-verify",
    ]);
    expect(raw.code).toBe(0);
    expect(raw.stdout).toMatch(
      /^saved \/dev\/null: 4\.0 MiB in [\d.]+ ms \(.+\/s\); not verified\n$/,
    );
    expect(existsSync("/dev/null.part")).toBe(false);
  });

  test("bad words are the usage and exit 2; a missing file to put is one sentence", async () => {
    const words = await runLesson(LESSON, ["get"]);
    expect(words.code).toBe(2);
    expect(words.stderr.split("\n")[0]).toBe('say list, get NAME or put FILE (got "get")');
    const missing = await client(serve(), "put", join(scene.dir, "nothing.bin"));
    expect(missing).toEqual({
      code: 1,
      stdout: "",
      stderr: `cannot open ${scene.dir}/nothing.bin: ENOENT\n`,
    });
  });
});
