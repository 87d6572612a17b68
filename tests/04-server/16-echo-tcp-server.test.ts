// Lesson 16, the echo server over TCP (RFC 862): every byte back, in order, with the chapter's
// guards: an Outbox for clients that do not read (and vanish while paused), an IdleTimer for
// clients that only drip.
import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { readdirSync } from "node:fs";
import { echoOverTcp } from "../../04-server/16-echo-tcp-server.ts";
import { attack } from "../hostile/servers.ts";
import { logCollector, SLOW_TEST_MS, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { serverConventions } from "./conventions.ts";

const track = tracker();
const FILE = "04-server/16-echo-tcp-server.ts";
const MiB = 1024 * 1024;

serverConventions(FILE);

/**
 * Sends `payload` over TCP (write, and on `drain` the rest), half-closes, and resolves with
 * everything received until the server closes: chunks are kept in a list, not re-copied.
 */
function echoThrough(port: number, payload: Uint8Array, host = "127.0.0.1"): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let offset = 0;
  return new Promise((resolve, reject) => {
    const pump = (socket: Socket<undefined>): void => {
      while (offset < payload.length) {
        const written = socket.write(payload.subarray(offset));
        if (written <= 0) return;
        offset += written;
      }
      socket.shutdown();
    };
    Bun.connect({
      hostname: host,
      port,
      socket: {
        open: pump,
        drain: pump,
        data(_socket, chunk) {
          chunks.push(chunk);
        },
        close: () => resolve(Buffer.concat(chunks)),
        connectError: (_socket, error) => reject(error),
        error: (_socket, error) => reject(error),
      },
    }).catch(reject);
  });
}

/** A client that sends and never reads: it offers up to 256 MiB, writing until the kernel takes less. */
async function startHog(port: number) {
  const chunk = new Uint8Array(65_536).fill(7);
  const counts = { offered: 0, taken: 0 };
  const push = (socket: Socket<undefined>): void => {
    while (counts.offered < 256 * MiB) {
      counts.offered += chunk.length;
      const written = socket.write(chunk);
      counts.taken += Math.max(written, 0);
      if (written < chunk.length) return;
    }
  };
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: { open: (hog) => void hog.pause(), data() {}, drain: push, error() {} },
  });
  // It never reads its echo.
  socket.pause();
  track({ stop: () => socket.terminate() });
  push(socket);
  const line = new RegExp(`127\\.0\\.0\\.1:${socket.localPort} reads slower than it sends`);
  return { counts, slowLine: line };
}

/** 16 MiB of random bytes: every byte value, no pattern a broken echo could fake. */
function bigPayload(): Uint8Array {
  const bytes = new Uint8Array(16 * MiB);
  for (let at = 0; at < bytes.length; at += 65_536)
    crypto.getRandomValues(bytes.subarray(at, at + 65_536));
  return bytes;
}

/** Runs tests/04-server/flood-and-reset.py: paused clients that then reset. */
async function floodAndReset(port: number, rounds: number, connections: number): Promise<number> {
  const child = Bun.spawn(
    [
      "python3",
      `${import.meta.dir}/flood-and-reset.py`,
      "127.0.0.1",
      String(port),
      String(rounds),
      String(connections),
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const out = await new Response(child.stdout).text();
  expect(await child.exited).toBe(0);
  return (JSON.parse(out) as { connections: number }).connections;
}

describe("16-echo-tcp-server in-process", () => {
  test("16 MiB of random binary comes back exactly, and the queue stays small", async () => {
    const server = track(echoOverTcp("127.0.0.1", 0));
    const payload = bigPayload();
    const back = await echoThrough(server.tcp.port, payload);
    expect(back.length).toBe(payload.length);
    expect(Buffer.compare(back, Buffer.from(payload))).toBe(0);
    expect(server.stats.peakQueuedBytes).toBeLessThanOrEqual(2 * MiB);
  });

  test("a client that sends without reading is no longer read: its queue stays bounded, others are served", async () => {
    const logged = logCollector();
    const server = track(echoOverTcp("127.0.0.1", 0, { log: logged.log }));
    const port = server.tcp.port;
    const hog = await startHog(port);
    await logged.waitFor(hog.slowLine);
    // Another client is echoed while the hog is paused.
    expect((await echoThrough(port, Buffer.from("still here\n"))).toString()).toBe("still here\n");
    expect(server.stats.peakQueuedBytes).toBeGreaterThan(0);
    expect(server.stats.peakQueuedBytes).toBeLessThanOrEqual(2 * MiB);
    // Flow control held the rest back, in the hog's own kernel.
    expect(hog.counts.taken).toBeLessThan(64 * MiB);
  });

  test(
    "paused clients that then reset are all let go (the old server leaked them: 62,000 reached the fd limit)",
    async () => {
      let left = 0;
      const allLeft = Promise.withResolvers<void>();
      let made = Number.POSITIVE_INFINITY;
      // Each connection that closes is one log line: count them.
      const log = (line: string) => {
        if (/ left; \d+ bytes echoed$/.test(line)) left++;
        if (left >= made) allLeft.resolve();
      };
      const server = track(echoOverTcp("127.0.0.1", 0, { log }));
      made = await floodAndReset(server.tcp.port, 3, 100);
      log("");
      const late = setTimeout(() => allLeft.reject(new Error(`${left} of ${made} left`)), 10_000);
      await allLeft.promise.finally(() => clearTimeout(late));
      expect(left).toBe(made);
      expect(server.stats.connections).toBe(0);
    },
    SLOW_TEST_MS,
  );

  test("a client that drips a byte at a time is closed after the idle time; one sending lines is not", async () => {
    const server = track(echoOverTcp("127.0.0.1", 0, { idle: 0.3 }));
    await using dripper = await TcpTestClient.connect(server.tcp.port);
    await using talker = await TcpTestClient.connect(server.tcp.port);
    const drip = setInterval(() => {
      dripper.send("x");
      talker.send("a line\n");
    }, 50);
    try {
      await dripper.whenClosed;
    } finally {
      clearInterval(drip);
    }
    // What it sent came back before the close.
    expect(dripper.text).toMatch(/^x+$/);
    expect(talker.closed).toBe(false);
  });

  test("over IPv6 (::1)", async () => {
    const v6 = track(echoOverTcp("::1", 0));
    expect((await echoThrough(v6.tcp.port, Buffer.from("six"), "::1")).toString()).toBe("six");
  });

  test("a port in use fails the start, naming the cause", async () => {
    const first = track(echoOverTcp("127.0.0.1", 0));
    expect(() => echoOverTcp("127.0.0.1", first.tcp.port)).toThrow(
      expect.objectContaining({ code: "EADDRINUSE" }),
    );
  });
});

describe("16-echo-tcp-server as a student runs it", () => {
  test(
    "16 MiB echoed exactly; a client that never reads is paused and the RSS stays bounded",
    async () => {
      await using server = startLesson(FILE, ["--port", "0"]);
      const { port } = await server.listening("tcp");
      const payload = bigPayload();
      expect(Buffer.compare(await echoThrough(port, payload), Buffer.from(payload))).toBe(0);
      const hog = await startHog(port);
      await server.waitFor(hog.slowLine);
      expect((await echoThrough(port, Buffer.from("ping"))).toString()).toBe("ping");
      // Up to 256 MiB offered; the server holds a MiB or two of it, plus the runtime itself.
      expect(hog.counts.taken).toBeLessThan(64 * MiB);
      const status = await Bun.file(`/proc/${server.proc.pid}/status`).text();
      expect(Number(status.match(/VmRSS:\s+(\d+) kB/)?.[1]) * 1024).toBeLessThan(200 * MiB);
      const { code, stdout } = await server.stop("SIGINT");
      expect(code).toBe(0);
      expect(stdout).toMatch(/left; 16777216 bytes echoed/);
    },
    SLOW_TEST_MS,
  );

  test(
    "paused clients that reset: the file descriptors come back to what they were",
    async () => {
      await using server = startLesson(FILE, ["--port", "0"]);
      const { port } = await server.listening("tcp");
      const fds = () => readdirSync(`/proc/${server.proc.pid}/fd`).length;
      const before = fds();
      const made = await floodAndReset(port, 3, 100);
      const lastLeft = new RegExp(`(?:[\\s\\S]*?left; \\d+ bytes echoed\\n){${made}}`);
      await server.waitFor(lastLeft, { timeoutMs: 10_000 });
      expect(fds()).toBe(before);
    },
    SLOW_TEST_MS,
  );

  test("--host ::1: the echo over IPv6", async () => {
    await using server = startLesson(FILE, ["--host", "::1", "--port", "0"]);
    const tcp = await server.listening("tcp");
    expect(tcp.host).toBe("::1");
    expect((await echoThrough(tcp.port, Buffer.from("over six"), "::1")).toString()).toBe(
      "over six",
    );
    await server.waitFor(/try {2}bun run 04-server\/17-echo-tcp-client\.ts --host ::1 --port \d+/);
    expect((await server.stop("SIGTERM")).code).toBe(0);
  });

  test(
    "--idle 1: a client that only drips is closed; 300 resets leave nothing on stderr",
    async () => {
      await using server = startLesson(FILE, ["--port", "0", "--idle", "1"]);
      const { port } = await server.listening("tcp");
      expect((await attack(["resets", "127.0.0.1", port, 300])).reset).toBe(300);
      const dripped = await attack(["drip", "127.0.0.1", port, 5, 3]);
      expect(dripped.closed_by_server).toBe(5);
      const stopped = await server.stop();
      expect({ code: stopped.code, stderr: stopped.stderr }).toEqual({ code: 0, stderr: "" });
    },
    SLOW_TEST_MS,
  );
});
