// Lesson 07-transfer/06-file-server: the whole server. Every way out of its folder over the
// wire (refused, the connection still usable, the secret never sent, nothing written outside),
// GET from an offset, each version hashed once, twenty clients at once, a client that stops
// reading, a file replaced while it is being sent, and the server run as a student runs it.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFileServer } from "../../07-transfer/06-file-server.ts";
import { SLOW_TEST_MS, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { canMountPrivately, diskFullPut } from "../fixtures/transfer-disk-full.ts";
import {
  escapes,
  fingerprintOutside,
  makeScene,
  type Scene,
  SECRET,
  say,
  sha256,
} from "../fixtures/transfer-scene.ts";

const LESSON = "07-transfer/06-file-server.ts";
const track = tracker();
let scene: Scene;
beforeEach(() => {
  scene = makeScene();
});
afterEach(() => scene.remove());

const serve = () => track(startFileServer({ port: 0, root: scene.root }));

/** GET name [offset], READY, and the bytes; returns the SENDING_FILE line and the body. */
async function get(client: TcpTestClient, command: string) {
  const head = (await say(client, command, /^SENDING_FILE .*\n/)).trim();
  const [, , size = "0", , offset = "0"] = head.split(" ");
  client.received = Buffer.alloc(0);
  client.send("READY\n");
  const body = await client.until((got) => got.length >= Number(size) - Number(offset));
  return { head, body: Buffer.from(body) };
}

describe("no way out of the folder", () => {
  test("every escape is refused with its reason, the connection stays usable, the secret is never sent", async () => {
    const before = fingerprintOutside(scene.dir, scene.root);
    await using client = await TcpTestClient.connect(serve().tcp.port);
    let everything = "";
    for (const [name, reason] of escapes(scene)) {
      const answer = await say(client, `GET ${name}`, /^ERR .*\n/);
      expect({ name, answer }).toEqual({ name, answer: expect.stringContaining(reason) });
      everything += client.text;
      everything += await say(client, "LIST", /^OK 4 files\n(.*\n){4}/);
    }
    expect(everything).not.toContain("TOP SECRET");
    expect(fingerprintOutside(scene.dir, scene.root)).toEqual(before);
    expect(readFileSync(join(scene.dir, "secret.txt"), "utf8")).toBe(SECRET);
  });

  test("a link that stays inside the folder is followed", async () => {
    await using client = await TcpTestClient.connect(serve().tcp.port);
    const { body } = await get(client, "GET inner-link");
    expect(body).toEqual(scene.files["hello.txt"] ?? Buffer.alloc(0));
  });
});

describe("GET", () => {
  test("from an offset: the whole file's size and digest announced, the rest sent", async () => {
    await using client = await TcpTestClient.connect(serve().tcp.port);
    const random = scene.files["random.bin"] ?? Buffer.alloc(0);
    const { head, body } = await get(client, "GET random.bin 1000000");
    expect(head).toBe(`SENDING_FILE random.bin ${random.length} ${sha256(random)} 1000000`);
    expect(body).toEqual(random.subarray(1_000_000));
    await say(
      client,
      `GET random.bin ${random.length + 1}`,
      /^ERR offset \d+ is past the end of random\.bin \(\d+ bytes\)\n$/,
    );
    const end = await get(client, `GET random.bin ${random.length}`);
    expect(end.body.length).toBe(0);
  });

  test("each version of a file is hashed once; a PUT's new version is known at once; a change in place is hashed again", async () => {
    const server = serve();
    await using client = await TcpTestClient.connect(server.tcp.port);
    await get(client, "GET random.bin");
    await get(client, "GET random.bin 5");
    expect(server.digests.hashed).toBe(1);
    const bytes = Buffer.from("replaced by a PUT\n");
    await say(client, `PUT random.bin ${bytes.length} ${sha256(bytes)} replace`, /^READY\n$/);
    client.received = Buffer.alloc(0);
    client.send(bytes);
    await client.waitForText(/^OK stored/);
    expect((await get(client, "GET random.bin")).head).toContain(sha256(bytes));
    expect(server.digests.hashed).toBe(1);
    writeFileSync(join(scene.root, "random.bin"), "changed in place\n");
    expect((await get(client, "GET random.bin")).head).toContain(sha256("changed in place\n"));
    expect(server.digests.hashed).toBe(2);
  });

  test("twenty clients fetching at once all get the whole file", async () => {
    const port = serve().tcp.port;
    const random = scene.files["random.bin"] ?? Buffer.alloc(0);
    const clients = await Promise.all(
      Array.from({ length: 20 }, () => TcpTestClient.connect(port)),
    );
    const bodies = await Promise.all(clients.map((client) => get(client, "GET random.bin")));
    for (const { body } of bodies) expect(sha256(body)).toBe(sha256(random));
    for (const client of clients) await client[Symbol.asyncDispose]();
  });

  test("a file replaced while it is sent: the client gets the version announced to it, whole", async () => {
    const port = serve().tcp.port;
    const random = scene.files["random.bin"] ?? Buffer.alloc(0);
    await using reader = await TcpTestClient.connect(port);
    const head = await say(reader, "GET random.bin", /^SENDING_FILE .*\n/);
    reader.socket.pause();
    reader.received = Buffer.alloc(0);
    reader.send("READY\n");
    await using writer = await TcpTestClient.connect(port);
    const bytes = Buffer.from("a new version\n");
    await say(writer, `PUT random.bin ${bytes.length} ${sha256(bytes)} replace`, /^READY\n$/);
    writer.received = Buffer.alloc(0);
    writer.send(bytes);
    await writer.waitForText(/^OK stored/);
    reader.socket.resume();
    const body = await reader.until((got) => got.length >= random.length);
    expect(head).toContain(sha256(random));
    expect(sha256(body)).toBe(sha256(random));
  });

  test("a client that stops reading stalls only itself", async () => {
    const port = serve().tcp.port;
    await using stalled = await TcpTestClient.connect(port);
    await say(stalled, "GET random.bin", /^SENDING_FILE /);
    stalled.socket.pause();
    stalled.send("READY\n");
    await using other = await TcpTestClient.connect(port);
    const { body } = await get(other, "GET random.bin");
    expect(body.length).toBe(scene.files["random.bin"]?.length ?? -1);
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

  test("nc's way with an offset: all answered; SIGTERM stops it, exit 0", async () => {
    await using server = startLesson(LESSON, ["--port", "0", "--root", scene.root]);
    const { port } = await server.listening();
    await server.waitFor(
      /try {2}bun run 07-transfer\/07-client\.ts --port \d+; Ctrl-C stops the server/,
    );
    await using client = await TcpTestClient.connect(port);
    client.send("GET hello.txt 6\nREADY\nQUIT\n");
    client.shutdown();
    await client.whenClosed;
    const hello = scene.files["hello.txt"] ?? Buffer.alloc(0);
    expect(client.text).toBe(
      `SENDING_FILE hello.txt ${hello.length} ${sha256(hello)} 6\n${hello.subarray(6)}BYE\n`,
    );
    const { code, stdout } = await server.stop("SIGTERM");
    expect(code).toBe(0);
    expect(stdout).toContain(`sent hello.txt from byte 6 (${hello.length - 6} bytes)`);
  });

  test("with no --root it serves shared_files/ beside the lesson, from any working directory", async () => {
    await using server = startLesson(LESSON, ["--port", "0"], { cwd: "/" });
    const { port } = await server.listening();
    await using client = await TcpTestClient.connect(port);
    await say(client, "LIST", /hello\.txt \d+ /);
  });
});
