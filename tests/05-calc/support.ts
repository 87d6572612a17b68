/**
 * What chapter 05's rubrics share: a seeded generator for "random" inputs that are the same
 * every run, waits for reply lines, UDP exchanges resent on silence, a closed UDP port, a
 * network namespace where an address never answers, and a hostile client that floods a
 * server without reading (tests/hostile/attack.py) while its memory is watched.
 */
import { expect } from "bun:test";
import { answer } from "../../05-calc/protocol.ts";
import { TcpTestClient } from "../helpers.ts";

/** mulberry32: a small seeded generator, so every "random" test input is the same each run. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A well-formed reply line. */
export const REPLY = /^(OK [!-~]+( [!-~]+)*|ERR [a-z-]+: [ -~]+)$/;

/** The error codes `answer()` may give (the servers add busy, timeout, too-heavy). */
export const CODES = [
  "bad-request",
  "bad-number",
  "unknown-op",
  "division-by-zero",
  "too-large",
  "not-real",
  "bad-operand",
  "line-too-long",
];

/** A prime just under 2^53: about a second of trial division, the chapter's slowest request. */
export const SLOW = "isprime 9007199254740881";

/** Lines received by a TcpTestClient so far (complete lines only). */
export const receivedLines = (client: TcpTestClient): string[] =>
  client.text.split("\n").slice(0, -1);

/** Waits until the client has `count` complete lines, and returns them all. */
export async function replyLines(
  client: TcpTestClient,
  count: number,
  timeoutMs?: number,
): Promise<string[]> {
  await client.until((buffer) => buffer.toString().split("\n").length > count, timeoutMs);
  return receivedLines(client);
}

/**
 * The message a promise rejects with, or null if it resolves. Use it instead of
 * `await expect(promise).rejects`: in Bun 1.4.5 that waits for the promise in a way the test's
 * time limit cannot interrupt, so a promise that never settles hangs the whole run.
 */
export const rejection = (promise: Promise<unknown>): Promise<string | null> =>
  promise.then(
    () => null,
    (error: Error) => error.message,
  );

/**
 * Sends `datagrams` from one socket, resending them all on silence (loopback UDP is treated
 * as lossy), until `done(replies)` holds; returns every reply, in arrival order.
 */
export async function exchange(
  port: number,
  datagrams: (string | Uint8Array)[],
  done: (replies: string[]) => boolean,
): Promise<string[]> {
  const replies: string[] = [];
  let wake = (): void => {};
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(_socket, data) {
        replies.push(data.toString());
        if (done(replies)) wake();
      },
      error() {},
    },
  });
  try {
    for (let attempt = 0; attempt < 5 && !done(replies); attempt++) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
        for (const datagram of datagrams) socket.send(datagram, port, "127.0.0.1");
      });
    }
    return replies;
  } finally {
    socket.close();
  }
}

/** A UDP port that was ours a moment ago: a datagram there gets "port unreachable". */
export async function closedUdpPort(): Promise<number> {
  const socket = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data() {}, error() {} } });
  const { port } = socket;
  socket.close();
  return port;
}

/**
 * argv prefix: a private network namespace where 192.0.2.0/24 (TEST-NET-1) is routed into
 * loopback and dropped there, so a connect to 192.0.2.1 gets no answer at all, never a
 * refusal, like a host that is down.
 */
export const BLACKHOLE = [
  "unshare",
  "-n",
  "sh",
  "-c",
  'ip link set lo up && ip route add 192.0.2.0/24 dev lo && exec "$@"',
  "sh",
];

/** How often the memory of a server under attack is read. */
const SAMPLE_EVERY_MS = 50;

/** A process's resident memory now, in MiB. */
async function rssMiB(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
}

/**
 * tests/hostile/attack.py `ATTACK ARGS`: a client that misbehaves on purpose (a flood that
 * never reads, resets). Returns its JSON report and the server's peak RSS meanwhile.
 */
export async function hostile(
  pid: number,
  args: (string | number)[],
): Promise<{ report: Record<string, unknown>; peakMiB: number }> {
  const attack = new URL("../hostile/attack.py", import.meta.url).pathname;
  const child = Bun.spawn(["python3", attack, ...args.map(String)], { stdout: "pipe" });
  let peakMiB = await rssMiB(pid);
  let running = true;
  const sampling = (async () => {
    while (running) {
      peakMiB = Math.max(peakMiB, await rssMiB(pid).catch(() => 0));
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
    }
  })();
  const output = await new Response(child.stdout).text();
  await child.exited;
  running = false;
  await sampling;
  const last = output.trim().split("\n").at(-1) ?? "{}";
  return { report: JSON.parse(last) as Record<string, unknown>, peakMiB };
}

/** The path of a chapter 05 lesson, for `runLesson` and `startLesson`. */
export const lesson = (name: string): string => `05-calc/${name}.ts`;

/**
 * 20,000 requests of 9 bytes ask for 20 MB of replies: more than the kernel's buffers hold, so
 * the server must stop answering while they wait (its Outbox is full) and go on at `drain`.
 * A second client's exchange is the sign that the server has handled the first one's bytes.
 */
export async function sendAllThenRead(port: number, finish: boolean): Promise<void> {
  const requests = 20_000;
  const reply = `${answer("2 ^ 3321")}\n`;
  await using client = await TcpTestClient.connect(port);
  await using other = await TcpTestClient.connect(port);
  client.socket.pause();
  client.send("2 ^ 3321\n".repeat(requests));
  if (finish) client.shutdown();
  other.send("1 + 1\n");
  expect(await replyLines(other, 1)).toEqual(["OK 2"]);
  client.socket.resume();
  const received = await client.until((bytes) => bytes.length >= requests * reply.length, 30_000);
  if (finish) await client.whenClosed;
  expect(received.length).toBe(requests * reply.length);
  expect(received.toString() === reply.repeat(requests)).toBe(true);
}
