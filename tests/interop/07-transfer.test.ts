// 07-transfer with real third-party peers: the file server talked to by hand, as the chapter
// README shows, with ncat and socat; its announced digests checked against coreutils'
// sha256sum. A missing tool is a skip that names its Debian package.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFileServer } from "../../07-transfer/06-file-server.ts";
import { hasCommand, tracker } from "../helpers.ts";
import { makeScene, randomBytes, type Scene, sha256 } from "../fixtures/transfer-scene.ts";

const track = tracker();
let scene: Scene;
let port: number;
beforeEach(() => {
  scene = makeScene(1 << 20);
  port = track(startFileServer({ port: 0, root: scene.root })).tcp.port;
});
afterEach(() => scene.remove());

/** Runs `argv` with `input` on stdin; returns its stdout as bytes, and its stderr. */
async function run(
  argv: string[],
  input = "",
): Promise<{ code: number; out: Buffer; err: string }> {
  const child = Bun.spawn(argv, {
    stdin: new TextEncoder().encode(input),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).arrayBuffer(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, out: Buffer.from(out), err };
}

describe("ncat (Debian package ncat), as the README types it", () => {
  test.skipIf(!hasCommand("ncat"))(
    "LIST, then GET a small file, READY, QUIT: all in one go",
    async () => {
      const { code, out } = await run(
        ["ncat", "127.0.0.1", String(port)],
        "LIST\nGET hello.txt\nREADY\nQUIT\n",
      );
      expect(code).toBe(0);
      const hello = scene.files["hello.txt"] ?? Buffer.alloc(0);
      const text = out.toString();
      expect(text).toStartWith("OK 4 files\nempty.txt 0 ");
      expect(text).toEndWith(
        `SENDING_FILE hello.txt ${hello.length} ${sha256(hello)} 0\n${hello.toString()}BYE\n`,
      );
    },
  );
});

describe("socat (Debian package socat)", () => {
  test.skipIf(!hasCommand("socat"))(
    "GET of a binary file: the bytes after the SENDING_FILE line are the file",
    async () => {
      const { code, out } = await run(
        ["socat", "-", `TCP:127.0.0.1:${port}`],
        "GET random.bin\nREADY\nQUIT\n",
      );
      expect(code).toBe(0);
      const head = out.subarray(0, out.indexOf(10) + 1).toString();
      const random = scene.files["random.bin"] ?? Buffer.alloc(0);
      expect(head).toBe(`SENDING_FILE random.bin ${random.length} ${sha256(random)} 0\n`);
      const body = out.subarray(head.length, head.length + random.length);
      expect(body).toEqual(random);
      expect(out.subarray(head.length + random.length).toString()).toBe("BYE\n");
    },
  );

  test.skipIf(!hasCommand("socat") || !hasCommand("sha256sum"))(
    "PUT by hand: a shell script that waits for READY before it sends (socat EXEC), its digest from sha256sum",
    async () => {
      const file = join(scene.dir, "by-hand.bin");
      writeFileSync(file, randomBytes(300_000));
      const script = join(scene.dir, "put.sh");
      writeFileSync(
        script,
        [
          `sum=$(sha256sum < "${file}" | cut -c1-64)`,
          `printf 'PUT by-hand.bin %s %s\\n' "$(wc -c < "${file}")" "$sum"`,
          "read ready",
          `[ "$ready" = READY ] && cat "${file}"`,
          "read verdict",
          'echo "$verdict" >&2',
        ].join("\n"),
      );
      const { code, err } = await run(["socat", `EXEC:sh ${script}`, `TCP:127.0.0.1:${port}`]);
      expect(code).toBe(0);
      expect(err).toBe("OK stored by-hand.bin: 300000 bytes, SHA-256 verified\n");
      expect(readFileSync(join(scene.root, "by-hand.bin"))).toEqual(readFileSync(file));
    },
  );
});

describe("sha256sum (coreutils)", () => {
  test.skipIf(!hasCommand("sha256sum") || !hasCommand("socat"))(
    "agrees with every digest the server announces",
    async () => {
      const { code, out } = await run([
        "sha256sum",
        join(scene.root, "random.bin"),
        join(scene.root, "hello.txt"),
      ]);
      expect(code).toBe(0);
      const sums = out
        .toString()
        .split("\n")
        .map((line) => line.slice(0, 64));
      const { out: reply } = await run(
        ["socat", "-", `TCP:127.0.0.1:${port}`],
        "GET random.bin\nCANCEL\nGET hello.txt\nCANCEL\nQUIT\n",
      );
      const announced = [...reply.toString().matchAll(/SENDING_FILE \S+ \d+ (\w{64}) 0/g)].map(
        (m) => m[1],
      );
      expect(announced).toEqual(sums.slice(0, 2));
    },
  );
});
