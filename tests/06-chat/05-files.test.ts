// Lesson 09, files: `/file NICK NAME SIZE SHA256`, then base64 `/data` lines between chat
// lines. Verified as it comes (a changed byte: ERR checksum, nothing stored), bounded in size,
// stored, and delivered like a private message (FILE, DATA..., END, then /ack).
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFiles } from "../../06-chat/05-files.ts";
import { Mailbox } from "../../06-chat/mailbox.ts";
import { CHUNK_BYTES, clientLine, parseServerLine } from "../../06-chat/protocol.ts";
import { ChatTestClient } from "../fixtures/chat-client.ts";
import { SLOW_TEST_MS, startLesson, tracker } from "../helpers.ts";

const track = tracker();
const sha256 = (bytes: Uint8Array): string =>
  new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

function server(maxFileBytes = 1 << 20) {
  const mailbox = new Mailbox(":memory:");
  const { room, tcp } = startFiles("127.0.0.1", 0, mailbox, {
    cheapHashes: true,
    maxFileBytes,
    log: () => {},
  });
  track(room);
  return { mailbox, port: tcp.port };
}

async function as(port: number, nick: string): Promise<ChatTestClient> {
  const client = await ChatTestClient.connect(port);
  await client.login(nick, "pw");
  return client;
}

/** Announces `bytes` as `name` for `to`, waits for the go-ahead, sends the chunks. */
async function upload(
  client: ChatTestClient,
  to: string,
  name: string,
  bytes: Uint8Array,
  announced = sha256(bytes),
) {
  const from = client.mark;
  client.send(clientLine.file(to, name, bytes.length, announced));
  const answer = await client.line(/^(OK|ERR) /, from);
  if (answer.startsWith("ERR")) return answer;
  for (let at = 0; at < bytes.length; at += CHUNK_BYTES)
    client.send(clientLine.data(bytes.subarray(at, at + CHUNK_BYTES)));
  return client.line(new RegExp(`^(OK file ${name}: (sent|stored)|ERR)`), from + 1);
}

/** The file a client received with id `id`, put back together from its DATA lines. */
function received(client: ChatTestClient, id: number): Buffer {
  const chunks = client.lines
    .map((line) => parseServerLine(line))
    .flatMap((event) => (event.kind === "data" && event.id === id ? [event.bytes] : []));
  return Buffer.concat(chunks);
}

describe("in-process", () => {
  test("to someone online: verified, sent as FILE, DATA lines and END, byte for byte", async () => {
    const { port, mailbox } = server();
    await using alice = await as(port, "alice");
    await using bob = await as(port, "bob");
    const bytes = crypto.getRandomValues(new Uint8Array(200_000));
    expect(await upload(alice, "bob", "noise.bin", bytes)).toBe("OK file noise.bin: sent to bob");
    const file = parseServerLine(await bob.line(/^FILE /));
    expect(file).toMatchObject({
      kind: "file",
      from: "alice",
      name: "noise.bin",
      size: 200_000,
      sha256: sha256(bytes),
    });
    const id = file.kind === "file" ? file.id : 0;
    await bob.line(new RegExp(`^END ${id}$`));
    expect(received(bob, id).equals(Buffer.from(bytes))).toBe(true);
    bob.send(`/ack ${id}\n`);
    await bob.sync();
    expect(mailbox.waiting("bob").items).toBe(0);
  });

  test("to someone away: stored, and delivered at their next login", async () => {
    const { port } = server();
    (await as(port, "bob")).close();
    await using alice = await as(port, "alice");
    const bytes = new TextEncoder().encode("a small note\n");
    expect(await upload(alice, "bob", "note.txt", bytes)).toBe("OK file note.txt: stored for bob");
    await using bob = await as(port, "bob");
    const end = await bob.line(/^END /);
    expect(received(bob, Number(end.split(" ")[1])).toString()).toBe("a small note\n");
  });

  test("bytes that changed on the way: ERR checksum, and nothing is stored or sent", async () => {
    const { port, mailbox } = server();
    await using alice = await as(port, "alice");
    await using bob = await as(port, "bob");
    const bytes = crypto.getRandomValues(new Uint8Array(50_000));
    const changed = Uint8Array.from(bytes);
    changed[12_345] = (changed[12_345] ?? 0) ^ 1;
    expect(await upload(alice, "bob", "a.bin", changed, sha256(bytes))).toBe(
      "ERR checksum: a.bin arrived with another SHA-256; dropped",
    );
    await bob.sync();
    expect(bob.count(/^FILE /)).toBe(0);
    expect(mailbox.db.query("SELECT count(*) AS n FROM chunks").get()).toEqual({ n: 0 });
  });

  test("too big, too many bytes, nobody to send to, no /file first, two at once: one ERR each", async () => {
    const { port } = server(1000);
    await using alice = await as(port, "alice");
    (await as(port, "bob")).close();
    expect(await upload(alice, "bob", "big", new Uint8Array(1001))).toBe(
      "ERR file: a file has at most 1000 bytes",
    );
    expect(await upload(alice, "zed", "x", new Uint8Array(1))).toBe(
      "ERR file: nobody is called zed",
    );
    let from = alice.mark;
    alice.send(clientLine.data(Buffer.from("stray")));
    expect(await alice.line(/^ERR/, from)).toBe("ERR data: no file is on its way: /file first");
    from = alice.mark;
    alice.send(clientLine.file("bob", "two", 4, sha256(Buffer.from("abcd"))));
    alice.send(clientLine.file("bob", "three", 4, sha256(Buffer.from("abcd"))));
    expect(await alice.line(/^ERR/, from)).toBe(
      "ERR file: one file at a time: the last one is not finished",
    );
    alice.send(clientLine.data(Buffer.from("abcde")));
    expect(await alice.line(/^ERR file: two/, from)).toBe("ERR file: two: too many bytes; dropped");
  });

  test("an empty file is a file", async () => {
    const { port } = server();
    await using alice = await as(port, "alice");
    await using bob = await as(port, "bob");
    const from = alice.mark;
    alice.send(clientLine.file("bob", "empty", 0, sha256(new Uint8Array())));
    expect(await alice.line(/^OK file empty: sent/, from)).toBe("OK file empty: sent to bob");
    await bob.line(/^END /);
  });

  test(
    "chat lines pass between the chunks, both ways",
    async () => {
      const { port } = server(8 << 20);
      (await as(port, "bob")).close();
      await using alice = await as(port, "alice");
      await using carol = await as(port, "carol");
      const bytes = crypto.getRandomValues(new Uint8Array(8 << 20));
      const from = alice.mark;
      alice.send(clientLine.file("bob", "big.bin", bytes.length, sha256(bytes)));
      await alice.line(/^OK file big.bin: send/, from);
      // Uploading: a line sent halfway reaches the others before the rest of the file is sent.
      const half = Math.floor(bytes.length / CHUNK_BYTES / 2) * CHUNK_BYTES;
      for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
        if (at === half) {
          alice.send("halfway there\n");
          expect(await carol.line(/^MSG alice/)).toBe("MSG alice halfway there");
        }
        alice.send(clientLine.data(bytes.subarray(at, at + CHUNK_BYTES)));
      }
      await alice.line(/^OK file big.bin: stored/, from);
      // Downloading: bob stops reading after the FILE line; a line said meanwhile reaches him
      // before the file's END, not after all of it.
      await using bob = await ChatTestClient.connect(port);
      bob.send("/login bob pw\n");
      await bob.line(/^FILE /);
      bob.tcp.socket.pause();
      carol.send("meanwhile\n");
      await carol.sync();
      bob.tcp.socket.resume();
      await bob.line(/^END /, 0, 20_000);
      const lines = bob.lines;
      expect(lines.indexOf("MSG carol meanwhile")).toBeLessThan(
        lines.findIndex((line) => line.startsWith("END")),
      );
      expect(
        received(bob, Number(lines.find((line) => line.startsWith("END"))?.split(" ")[1])).equals(
          Buffer.from(bytes),
        ),
      ).toBe(true);
    },
    SLOW_TEST_MS,
  );
});

test("run as a student would: --max-file is the limit", async () => {
  const data = mkdtempSync(join(tmpdir(), "chat-files-"));
  const args = ["--port", "0", "--cheap-hashes", "--max-file", "10", "--data", data];
  await using lesson = startLesson("06-chat/05-files.ts", args);
  const { port } = await lesson.listening();
  await using alice = await as(port, "alice");
  expect(await upload(alice, "alice", "self", new Uint8Array(11))).toBe(
    "ERR file: a file has at most 10 bytes",
  );
  expect((await lesson.stop()).code).toBe(0);
  rmSync(data, { recursive: true, force: true });
});
