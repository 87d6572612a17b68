// lib/stream.ts: the line reader, the outbox and the idle timer every server of the book
// uses. Fed bytes in pieces of every size, written to sockets that take less than they are
// given, and tried against real loopback peers that never read or that reset.
import { describe, expect, test } from "bun:test";
import { IdleTimer, LineReader, Outbox, type Writable } from "../../lib/stream.ts";
import { attack } from "../hostile/servers.ts";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Every line `text` gives when fed to a reader in pieces of `size` bytes. */
function feed(text: string | Uint8Array, size: number, reader = new LineReader(64)): string[] {
  const all = typeof text === "string" ? bytes(text) : text;
  const lines: string[] = [];
  for (let at = 0; at < all.length; at += size) {
    for (const line of reader.push(all.subarray(at, at + size))) lines.push(line);
  }
  return lines;
}

describe("LineReader", () => {
  test("cuts lines at \\n however the bytes are split, and drops a \\r before it", () => {
    const text = "first\r\nsecond\n\nthird line\n";
    for (let size = 1; size <= text.length; size++)
      expect(feed(text, size)).toEqual(["first", "second", "", "third line"]);
  });

  test("never cuts a UTF-8 character: a line split inside one comes out whole", () => {
    const text = "héllo wörld ☃\n日本語\n";
    for (let size = 1; size <= 8; size++)
      expect(feed(text, size)).toEqual(["héllo wörld ☃", "日本語"]);
  });

  test("invalid UTF-8 becomes U+FFFD, never an exception", () => {
    const lines = feed(new Uint8Array([0x61, 0xff, 0xfe, 0x62, 10]), 1);
    expect(lines).toEqual(["a\ufffd\ufffdb"]);
  });

  test("a line longer than maxBytes sets tooLong, yields nothing more, and keeps nothing", () => {
    const reader = new LineReader(10);
    expect(feed("short\n0123456789A\nafter\n", 3, reader)).toEqual(["short"]);
    expect(reader.tooLong).toBe(true);
    expect(reader.buffered).toBe(0);
    expect([...reader.push(bytes("more\n"))]).toEqual([]);
  });

  test("a line of exactly maxBytes is fine; one byte more is too long", () => {
    expect(feed(`${"x".repeat(10)}\n`, 4, new LineReader(10))).toEqual(["x".repeat(10)]);
    const reader = new LineReader(10);
    feed(`${"x".repeat(11)}\n`, 4, reader);
    expect(reader.tooLong).toBe(true);
  });

  test("bytes without any newline: tooLong as soon as they pass maxBytes (a slowloris cannot fill memory)", () => {
    const reader = new LineReader(1024);
    for (let i = 0; i < 100; i++) [...reader.push(new Uint8Array(100).fill(0x61))];
    expect(reader.tooLong).toBe(true);
    expect(reader.buffered).toBe(0);
  });

  test("rest() gives the last line when the stream ends without \\n, once", () => {
    const reader = new LineReader(64);
    expect(feed("one\ntwo\r", 2, reader)).toEqual(["one"]);
    expect(reader.rest()).toBe("two");
    expect(reader.rest()).toBeUndefined();
    expect(new LineReader().rest()).toBeUndefined();
  });

  test("leaving the loop early keeps the lines not taken for the next walk", () => {
    const reader = new LineReader(64);
    const first: string[] = [];
    for (const line of reader.push(bytes("a\nb\nc\nd"))) {
      first.push(line);
      if (line === "b") break;
    }
    expect(first).toEqual(["a", "b"]);
    expect([...reader]).toEqual(["c"]);
    expect([...reader.push(bytes("\n"))]).toEqual(["d"]);
  });

  test("take() hands over one whole line at a time, and undefined until the next is whole", () => {
    const reader = new LineReader(8);
    reader.push(bytes("a\r\nbé\nc"));
    expect([reader.take(), reader.take(), reader.take()]).toEqual(["a", "bé", undefined]);
    reader.push(bytes("\n"));
    expect(reader.take()).toBe("c");
    reader.push(bytes("123456789\n"));
    expect(reader.take()).toBeUndefined();
    expect(reader.tooLong).toBe(true);
  });

  test("with (bytes) => bytes it hands over the lines' bytes, unchanged", () => {
    const reader = new LineReader(64, (line) => line);
    const lines = [...reader.push(new Uint8Array([0, 0xff, 10, 0x41, 13, 10]))];
    expect(lines.map((line) => [...line])).toEqual([[0, 0xff], [0x41]]);
  });

  test("a million short lines in 64 KiB chunks take well under a second", () => {
    const chunk = bytes("12 + 30\n".repeat(8192));
    const reader = new LineReader(1024);
    let count = 0;
    for (let i = 0; i < 122; i++) for (const _ of reader.push(chunk)) count++;
    expect(count).toBe(122 * 8192);
  });
});

/** A socket that takes at most `room` bytes per write, and records what happened. */
class FakeSocket implements Writable {
  written: Uint8Array[] = [];
  room = Number.POSITIVE_INFINITY;
  paused = false;
  halfClosed = false;
  terminated = false;
  readyState: Writable["readyState"] = 1;
  write(data: string | Uint8Array): number {
    if (this.readyState !== 1) return -1;
    const all = typeof data === "string" ? bytes(data) : data;
    const taken = Math.min(all.length, this.room);
    this.written.push(all.slice(0, taken));
    this.room -= taken;
    return taken;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  shutdown(): void {
    this.halfClosed = true;
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = -1;
  }
  get text(): string {
    return Buffer.concat(this.written).toString();
  }
}

describe("Outbox", () => {
  test("what write() did not take is sent on flush(), in order", async () => {
    const socket = new FakeSocket();
    socket.room = 3;
    const outbox = new Outbox(socket as unknown as Writable);
    outbox.send("hello ");
    outbox.send(bytes("world"));
    await Promise.resolve();
    expect(socket.text).toBe("hel");
    expect(outbox.queuedBytes).toBe(8);
    socket.room = 4;
    outbox.flush();
    expect(socket.text).toBe("hello w");
    socket.room = 100;
    outbox.flush();
    expect(socket.text).toBe("hello world");
    expect(outbox.queuedBytes).toBe(0);
  });

  test("end() with a reply still being computed: FIN and the grace period wait for it", async () => {
    const socket = new FakeSocket();
    const outbox = new Outbox(socket, { graceMs: 30 });
    const later = outbox.reserve();
    outbox.end();
    await Bun.sleep(60);
    expect({ halfClosed: socket.halfClosed, terminated: socket.terminated }).toEqual({
      halfClosed: false,
      terminated: false,
    });
    later("the answer\n");
    await Promise.resolve();
    expect(socket.text).toBe("the answer\n");
    expect(socket.halfClosed).toBe(true);
  });

  test("end() with graceMs Infinity half-closes and never cuts the peer off", async () => {
    const socket = new FakeSocket();
    const outbox = new Outbox(socket, { graceMs: Number.POSITIVE_INFINITY });
    outbox.send("bye\n");
    outbox.end();
    expect(socket.halfClosed).toBe(true);
    await Bun.sleep(5);
    expect(socket.terminated).toBe(false);
  });

  test("multi-byte text cut by a short write: the rest is sent whole, counted in bytes", async () => {
    const socket = new FakeSocket();
    socket.room = 5;
    const outbox = new Outbox(socket as unknown as Writable);
    const later = outbox.reserve();
    later("héllo ");
    outbox.send("wörld");
    await Promise.resolve();
    expect(outbox.queuedBytes).toBe(13 - 5);
    const waiting = outbox.reserve();
    outbox.send("!");
    socket.room = 100;
    outbox.flush();
    expect(socket.text).toBe("héllo wörld");
    // "!" waits behind the reply still being computed.
    expect(outbox.queuedBytes).toBe(1);
    waiting("?");
    await Promise.resolve();
    expect(socket.text).toBe("héllo wörld?!");
    expect(outbox.queuedBytes).toBe(0);
  });

  test("replies sent in one turn leave in one write", async () => {
    const socket = new FakeSocket();
    const outbox = new Outbox(socket);
    for (let i = 0; i < 100; i++) outbox.send(`OK ${i}\n`);
    await Promise.resolve();
    expect(socket.written.length).toBe(1);
    expect(socket.text.split("\n").length).toBe(101);
  });

  test("above the high-water mark it pauses reading, and resumes under half of it", async () => {
    const socket = new FakeSocket();
    socket.room = 0;
    const outbox = new Outbox(socket, { highWater: 100 });
    outbox.send("x".repeat(150));
    expect(outbox.full).toBe(true);
    await Promise.resolve();
    expect(socket.paused).toBe(true);
    socket.room = 80;
    outbox.flush();
    expect(socket.paused).toBe(true);
    socket.room = 100;
    outbox.flush();
    expect(socket.paused).toBe(false);
    expect(outbox.full).toBe(false);
  });

  test("reserve(): a reply computed later keeps its place; the ones after it wait", async () => {
    const socket = new FakeSocket();
    const outbox = new Outbox(socket);
    outbox.send("1\n");
    const second = outbox.reserve();
    outbox.send("3\n");
    await Promise.resolve();
    expect(socket.text).toBe("1\n");
    second("2\n");
    await Promise.resolve();
    expect(socket.text).toBe("1\n2\n3\n");
  });

  test("hold() keeps reading paused whatever the queue; release() lets it go", () => {
    const socket = new FakeSocket();
    const outbox = new Outbox(socket);
    outbox.hold();
    expect(socket.paused).toBe(true);
    outbox.release();
    expect(socket.paused).toBe(false);
  });

  test("end() half-closes once everything is written, not before", async () => {
    const socket = new FakeSocket();
    socket.room = 2;
    const outbox = new Outbox(socket, { graceMs: 60_000 });
    outbox.send("bye\n");
    outbox.end();
    expect(socket.halfClosed).toBe(false);
    outbox.send("ignored after end\n");
    socket.room = 100;
    outbox.flush();
    expect(socket.text).toBe("bye\n");
    expect(socket.halfClosed).toBe(true);
  });

  test("a write that fails (-1) means the client is gone: it gives up, says why, drops the queue", async () => {
    const socket = new FakeSocket();
    const reasons: string[] = [];
    const outbox = new Outbox(socket, { onGiveUp: (why) => reasons.push(why) });
    socket.readyState = 0;
    outbox.send("hello\n");
    await Promise.resolve();
    expect(reasons).toEqual(["the connection is gone"]);
    expect(socket.terminated).toBe(true);
    expect(outbox.queuedBytes).toBe(0);
  });

  test("a paused socket whose writes fail while Bun still calls it open is noticed within about a second (Bun's missing close after a reset)", async () => {
    const socket = new FakeSocket();
    socket.room = 0;
    const gaveUp = Promise.withResolvers<string>();
    const outbox = new Outbox(socket, { onGiveUp: gaveUp.resolve });
    outbox.send("x".repeat(10));
    await Promise.resolve();
    // What Bun does after a reset of a paused socket: readyState stays 1, write says -1.
    socket.write = () => -1;
    const started = performance.now();
    expect(await gaveUp.promise).toBe("the connection is gone");
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(socket.terminated).toBe(true);
  }, 10_000);

  test("a client that takes nothing for stallMs is cut off", async () => {
    const socket = new FakeSocket();
    socket.room = 0;
    const gaveUp = Promise.withResolvers<string>();
    const outbox = new Outbox(socket, { stallMs: 500, onGiveUp: gaveUp.resolve });
    outbox.send("x".repeat(10));
    expect(await gaveUp.promise).toMatch(/read nothing for \d+ s/);
    expect(socket.terminated).toBe(true);
  }, 10_000);
});

describe("Outbox on real sockets", () => {
  /** An echo server on the Outbox; counts its open connections. */
  function echoServer(highWater = 64 * 1024) {
    let open = 0;
    const closed: (() => void)[] = [];
    const listener = Bun.listen<{ outbox: Outbox }>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(socket) {
          open++;
          socket.data = { outbox: new Outbox(socket, { highWater }) };
        },
        data(socket, chunk) {
          socket.data.outbox.send(chunk);
        },
        drain(socket) {
          socket.data.outbox.flush();
        },
        close() {
          open--;
          if (open === 0) for (const done of closed.splice(0)) done();
        },
        error() {},
      },
    });
    return {
      listener,
      get open(): number {
        return open;
      },
      /** Resolves when every connection has closed, or after `ms` (then `open` tells). */
      allClosed(ms: number): Promise<void> {
        if (open === 0) return Promise.resolve();
        return new Promise((resolve) => {
          const timer = setTimeout(resolve, ms);
          closed.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      },
      [Symbol.dispose]: () => listener.stop(true),
    };
  }

  test("16 MiB echoed through a 64 KiB high-water mark come back exactly", async () => {
    using server = echoServer();
    const sent = new Uint8Array(16 << 20);
    for (let i = 0; i < sent.length; i++) sent[i] = (i * 7) & 255;
    const received: Uint8Array[] = [];
    let total = 0;
    const done = Promise.withResolvers<void>();
    let offset = 0;
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port: server.listener.port,
      socket: {
        open(client) {
          pump(client);
        },
        drain(client) {
          pump(client);
        },
        data(_client, chunk) {
          received.push(chunk);
          total += chunk.length;
          if (total === sent.length) done.resolve();
        },
        error() {},
      },
    });
    function pump(client: typeof socket): void {
      while (offset < sent.length) {
        const written = client.write(sent.subarray(offset, offset + 256 * 1024));
        if (written <= 0) return;
        offset += written;
      }
    }
    await done.promise;
    socket.terminate();
    expect(Buffer.concat(received).equals(Buffer.from(sent))).toBe(true);
  }, 30_000);

  test("clients that flood without reading and then reset are all closed (Bun reports no close for a paused socket that was reset; the watchdog notices)", async () => {
    using server = echoServer(1024);
    const { port } = server.listener;
    // 30 clients send at once until the server has stopped reading every one of them
    // (blocked for 0.3 s), then all reset.
    const script = `
import socket, struct, select, time
socks = []
for i in range(30):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", ${port}))
    s.setblocking(False)
    socks.append(s)
last = {s: time.monotonic() for s in socks}
active = set(socks)
while active:
    _, writable, _ = select.select([], list(active), [], 0.05)
    for s in writable:
        try:
            s.send(b"x" * 65536)
            last[s] = time.monotonic()
        except BlockingIOError:
            pass
    for s in list(active):
        if time.monotonic() - last[s] > 0.3:
            active.discard(s)
for s in socks:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
`;
    const child = Bun.spawn(["python3", "-c", script]);
    expect(await child.exited).toBe(0);
    await server.allClosed(5_000);
    expect(server.open).toBe(0);
  }, 15_000);

  test("300 resets right after connect: every connection closes, none throws", async () => {
    using server = echoServer();
    const result = await attack(["resets", "127.0.0.1", server.listener.port, 300]);
    expect(result.reset).toBe(300);
    await server.allClosed(3_000);
    expect(server.open).toBe(0);
  });
});

describe("IdleTimer", () => {
  test("fires once after ms without a touch", async () => {
    const fired = Promise.withResolvers<number>();
    const started = performance.now();
    new IdleTimer(200, () => fired.resolve(performance.now() - started));
    const after = await fired.promise;
    expect(after).toBeGreaterThanOrEqual(195);
  });

  test("touches push it back; stop() silences it", async () => {
    let fired = 0;
    const timer = new IdleTimer(150, () => fired++);
    const started = performance.now();
    while (performance.now() - started < 400) {
      timer.touch();
      await Bun.sleep(30);
    }
    expect(fired).toBe(0);
    timer.stop();
    await Bun.sleep(250);
    expect(fired).toBe(0);
  });
});
