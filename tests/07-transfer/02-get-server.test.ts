// Lesson 07-transfer/02-get-server: LIST, then GET with the size and SHA-256 announced,
// READY, and the file streamed with backpressure. In-process, and as a student runs it
// (with nc's way of talking: everything at once, then a half-close).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { startGetServer } from "../../07-transfer/02-get-server.ts";
import { inUse, SLOW_TEST_MS, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { makeScene, type Scene, SECRET, say, sha256 } from "../fixtures/transfer-scene.ts";

const LESSON = "07-transfer/02-get-server.ts";
const track = tracker();
let scene: Scene;
beforeEach(() => {
  scene = makeScene();
});
afterEach(() => scene.remove());

const serve = (idleSeconds = 10) =>
  track(startGetServer({ port: 0, root: scene.root, idleSeconds })).tcp.port;

/** `SENDING_FILE name size sha256 offset` and the bytes after READY. */
async function get(client: TcpTestClient, name: string): Promise<{ head: string; body: Buffer }> {
  const head = await say(client, `GET ${name}`, /^SENDING_FILE .*\n/);
  const size = Number(head.split(" ")[2]);
  client.received = Buffer.alloc(0);
  client.send("READY\n");
  const body = await client.until((received) => received.length >= size);
  return { head: head.trim(), body: Buffer.from(body) };
}

describe("in-process", () => {
  test("LIST: one line per file GET would send, with size and time", async () => {
    await using client = await TcpTestClient.connect(serve());
    const listing = await say(client, "LIST", /OK 4 files\n(.*\n){4}/);
    expect(listing).toContain(`hello.txt ${scene.files["hello.txt"]?.length} `);
    expect(listing).toContain("sub/inner.txt 16 ");
    expect(listing).not.toContain("link-out");
    expect(listing).not.toContain("fifo");
  });

  test("GET announces size and SHA-256, waits for READY, sends exactly the file; the connection goes on", async () => {
    await using client = await TcpTestClient.connect(serve());
    await say(client, "GET random.bin", /^SENDING_FILE .*\n/);
    // Nothing more until READY: the lab's handshake.
    const announced = client.text;
    const random = scene.files["random.bin"] ?? Buffer.alloc(0);
    expect(announced).toBe(`SENDING_FILE random.bin ${random.length} ${sha256(random)} 0\n`);
    const { body } = await get(client, "random.bin");
    expect(body).toEqual(random);
    await say(client, "LIST", /OK 4 files/);
    const empty = await get(client, "empty.txt");
    expect(empty.head).toBe(`SENDING_FILE empty.txt 0 ${sha256("")} 0`);
    expect(empty.body.length).toBe(0);
  });

  test("CANCEL drops the offer; READY with none, an offset, PUT, a missing file and nonsense are refused, and it goes on", async () => {
    await using client = await TcpTestClient.connect(serve());
    await say(client, "GET hello.txt", /^SENDING_FILE /);
    await say(client, "CANCEL", /^OK cancelled\n$/);
    await say(client, "READY", /^ERR READY answers SENDING_FILE: send GET name first\n$/);
    await say(client, "GET hello.txt 5", /^ERR this server sends whole files \(see lesson 06\)\n$/);
    await say(client, `PUT a 1 ${"0".repeat(64)}`, /^ERR this server only sends/);
    await say(client, "GET nothing.txt", /^ERR no such file: nothing.txt\n$/);
    await say(client, "HELLO", /^ERR unknown command "HELLO"/);
    await say(client, "QUIT", /^BYE\n$/);
    await client.whenClosed;
  });

  test("the naive join serves the secret beside its folder: the failure lesson 04 shows and fixes", async () => {
    await using client = await TcpTestClient.connect(serve());
    const { body } = await get(client, "../secret.txt");
    expect(body.toString()).toBe(SECRET);
  });

  test("a client that stops reading mid-file stalls only itself: another gets the whole file meanwhile", async () => {
    const port = serve();
    await using stalled = await TcpTestClient.connect(port);
    await say(stalled, "GET random.bin", /^SENDING_FILE /);
    stalled.socket.pause();
    stalled.send("READY\n");
    await using other = await TcpTestClient.connect(port);
    const { body } = await get(other, "random.bin");
    expect(sha256(body)).toBe(sha256(scene.files["random.bin"] ?? ""));
  });

  test(
    "a client that stops reading mid-file for the idle limit is closed",
    async () => {
      await using stalled = await TcpTestClient.connect(serve(0.5));
      await say(stalled, "GET random.bin", /^SENDING_FILE /);
      stalled.socket.pause();
      stalled.send("READY\n");
      await stalled.whenClosed;
    },
    SLOW_TEST_MS,
  );
});

describe("as a student runs it", () => {
  test("with no --root it serves shared_files/ beside the lesson, from any working directory", async () => {
    await using server = startLesson(LESSON, ["--port", "0"], { cwd: "/tmp" });
    const { port } = await server.listening();
    await server.waitFor(
      /serving \S+07-transfer\/shared_files: try {2}nc 127\.0\.0\.1 \d+, then type LIST/,
    );
    await using client = await TcpTestClient.connect(port);
    await say(client, "LIST", /hello\.txt \d+ /);
    const { code } = await server.stop("SIGINT");
    expect(code).toBe(0);
  });

  test("nc's way: every command at once, then a half-close; all are answered, then it closes", async () => {
    await using server = startLesson(LESSON, ["--port", "0", "--root", scene.root]);
    const { port } = await server.listening();
    await using client = await TcpTestClient.connect(port);
    client.send("LIST\nGET hello.txt\nREADY\nQUIT\n");
    client.shutdown();
    await client.whenClosed;
    const hello = scene.files["hello.txt"]?.toString() ?? "";
    expect(client.text).toEndWith(`0\n${hello}BYE\n`);
    await server.waitFor(/sent hello\.txt \(\d+ bytes\)/);
  });

  test("a --root that does not exist, and a port in use, are one sentence and exit 1", async () => {
    await using missing = startLesson(LESSON, ["--port", "0", "--root", `${scene.dir}/nope`]);
    expect(await missing.finished()).toEqual({
      code: 1,
      stdout: "",
      stderr: `--root ${scene.dir}/nope is not a folder: create it, or leave --root out\n`,
    });
    const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    await using busy = startLesson(LESSON, ["--port", String(taken.port), "--root", scene.root]);
    const { code, stderr } = await busy.finished();
    taken.stop(true);
    expect({ code, stderr }).toEqual({ code: 1, stderr: `${inUse(taken.port)}\n` });
  });
});
