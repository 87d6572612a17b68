// Lesson 07-transfer/05-put: uploads that never appear half-received, corrupt, over another
// file, or outside the folder; and a full disk (a 1 MiB tmpfs in a private mount namespace)
// that leaves no partial file and a server that goes on.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startPutServer } from "../../07-transfer/05-put.ts";
import { SLOW_TEST_MS, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { canMountPrivately, diskFullPut } from "../fixtures/transfer-disk-full.ts";
import {
  eventually,
  fingerprintOutside,
  makeScene,
  randomBytes,
  type Scene,
  SECRET,
  say,
  sha256,
} from "../fixtures/transfer-scene.ts";

const LESSON = "07-transfer/05-put.ts";
const track = tracker();
let scene: Scene;
beforeEach(() => {
  scene = makeScene(64 * 1024);
});
afterEach(() => scene.remove());

const serve = () => track(startPutServer({ port: 0, root: scene.root })).tcp.port;
const hidden = (folder: string) => readdirSync(folder).filter((name) => name.startsWith("."));

describe("in-process", () => {
  test("PUT: READY, the bytes, OK; the file appears only then, whole, and no temporary file is left", async () => {
    await using client = await TcpTestClient.connect(serve());
    const bytes = randomBytes(3 << 20);
    await say(client, `PUT sub/new.bin ${bytes.length} ${sha256(bytes)}`, /^READY\n$/);
    client.send(bytes.subarray(0, 1 << 20));
    // Half sent: not under its name, not in a LIST (the temporary file is hidden).
    await eventually(() => hidden(join(scene.root, "sub")).length === 1);
    expect(existsSync(join(scene.root, "sub/new.bin"))).toBe(false);
    client.received = Buffer.alloc(0);
    client.send(bytes.subarray(1 << 20));
    await client.waitForText(/^OK stored sub\/new\.bin: 3145728 bytes, SHA-256 verified\n$/);
    expect(readFileSync(join(scene.root, "sub/new.bin"))).toEqual(bytes);
    expect(hidden(join(scene.root, "sub"))).toEqual([]);
    await say(client, "LIST", /sub\/new\.bin 3145728 /);
  });

  test("bytes altered in transit: ERR, nothing stored, no temporary file, and the connection goes on", async () => {
    await using client = await TcpTestClient.connect(serve());
    const bytes = randomBytes(100_000);
    const altered = Buffer.from(bytes);
    altered[50_000] = (altered[50_000] ?? 0) ^ 1;
    await say(client, `PUT copy.bin ${bytes.length} ${sha256(bytes)}`, /^READY\n$/);
    client.received = Buffer.alloc(0);
    client.send(altered);
    await client.waitForText(
      new RegExp(
        `^ERR the bytes received do not match the SHA-256 given \\(they hash to ${sha256(altered)}\\): nothing was stored\\n$`,
      ),
    );
    expect(existsSync(join(scene.root, "copy.bin"))).toBe(false);
    expect(hidden(scene.root)).toEqual([]);
    await say(client, "LIST", /^OK 4 files\n/);
  });

  test("an existing name is refused before any byte is sent; `replace` replaces it", async () => {
    await using client = await TcpTestClient.connect(serve());
    const bytes = Buffer.from("new hello\n");
    await say(
      client,
      `PUT hello.txt ${bytes.length} ${sha256(bytes)}`,
      /^ERR hello\.txt exists: add the word replace to overwrite it\n$/,
    );
    await say(client, `PUT hello.txt ${bytes.length} ${sha256(bytes)} replace`, /^READY\n$/);
    client.received = Buffer.alloc(0);
    client.send(bytes);
    await client.waitForText(/^OK stored hello\.txt/);
    expect(readFileSync(join(scene.root, "hello.txt"))).toEqual(bytes);
  });

  test("no PUT writes outside the folder: .., absolute, a linked folder, a link, NUL, backslash, too long", async () => {
    const before = fingerprintOutside(scene.dir, scene.root);
    await using client = await TcpTestClient.connect(serve());
    const sha = sha256("evil\n");
    const cases: [string, RegExp][] = [
      ["../evil.txt", /^ERR "\.\." would leave the shared folder\n$/],
      [`${scene.dir}/evil.txt`, /^ERR an absolute path/],
      ["linked-folder/evil.txt", /^ERR linked-folder\/evil\.txt leads outside the shared folder/],
      ["link-out", /^ERR link-out exists and is not a regular file\n$/],
      ["evil\u0000.txt", /^ERR a name may not contain control characters/],
      ["..\\evil.txt", /^ERR a name may not contain a backslash/],
      ["x".repeat(300), /^ERR "x{20}\.\.\." is longer than 255 bytes\n$/],
    ];
    for (const [name, answer] of cases) await say(client, `PUT ${name} 5 ${sha} replace`, answer);
    await say(client, "LIST", /^OK 4 files\n/);
    expect(fingerprintOutside(scene.dir, scene.root)).toEqual(before);
    expect(readFileSync(join(scene.dir, "secret.txt"), "utf8")).toBe(SECRET);
  });

  test("a client that leaves mid-upload leaves nothing behind", async () => {
    const port = serve();
    const client = await TcpTestClient.connect(port);
    await say(client, `PUT gone.bin 1000000 ${sha256("x")}`, /^READY\n$/);
    client.send(new Uint8Array(300_000));
    await eventually(() => hidden(scene.root).length === 1);
    client.socket.terminate();
    await eventually(() => hidden(scene.root).length === 0);
    expect(existsSync(join(scene.root, "gone.bin"))).toBe(false);
  });

  test("bytes sent before READY are cut off: they might have been a file read as commands", async () => {
    await using client = await TcpTestClient.connect(serve());
    client.send(`PUT quick.txt 5 ${sha256("evil\n")}\nevil\n`);
    await client.waitForText(/ERR send a file's bytes only after READY: closing\n/);
    await client.whenClosed;
    await eventually(() => hidden(scene.root).length === 0);
    expect(existsSync(join(scene.root, "quick.txt"))).toBe(false);
  });

  test("GET is the next lesson's", async () => {
    await using client = await TcpTestClient.connect(serve());
    await say(client, "GET hello.txt", /^ERR this server only takes files: GET is lesson 06's\n$/);
  });
});

const privateMounts = canMountPrivately();
if (!privateMounts) console.error("disk-full PUT skipped: needs root, unshare, nsenter and mount");

describe("as a student runs it", () => {
  test.skipIf(!privateMounts)(
    "a full disk (a 1 MiB tmpfs): ERR at once, no partial file, and the server goes on storing what fits",
    () => diskFullPut(LESSON, scene.dir),
    SLOW_TEST_MS,
  );

  test("prints its folder and how to put a file there", async () => {
    await using server = startLesson(LESSON, ["--port", "0", "--root", scene.root]);
    const { port } = await server.listening();
    await server.waitFor(
      new RegExp(
        `storing in ${scene.root}: try {2}bun run 07-transfer/07-client\\.ts put FILE --port ${port}`,
      ),
    );
    expect((await server.stop("SIGINT")).code).toBe(0);
  });
});
