/**
 * Chapter 06's benchmark: the complete chat server (lesson 10, in its own process, with
 * --cheap-hashes) beside ngircd (Debian package ngircd, started here in the foreground on a
 * free port with a config file in a temp folder), given the same load by one load generator
 * that speaks each server's protocol. Reported, never asserted:
 *
 * - fan-out: 1000 clients in one room (one IRC channel), taking turns to send 400 messages of
 *   100 bytes a second in all, each delivered to the 999 others: deliveries a second, and
 *   their latency from the sender's write to each reader's `data` event;
 * - 10,000 idle logged-in clients: the server's RSS, beside a bare Bun.listen holding as many
 *   connections and ngircd holding as many registered clients (in no channel);
 * - the offline store: 10,000 private messages from 1,000 senders to someone away (stored,
 *   each on disk before its OK), then the time to deliver all 10,000 at that one's login;
 * - the bridges: the same fan-out with 100 clients through the web bridge (lesson 14, 100
 *   WebSocket clients) and through the IRC door (lesson 15, 100 IRC clients), each in its
 *   own process, beside 100 clients talking TCP to the chat server directly in the same run.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { LessonProcess, startLesson } from "../../tools/drive.ts";
import type { BenchRow } from "../bench.ts";
import { freePort, hasCommand } from "../helpers.ts";

const CHAPTER = "06-chat";
const NGIRCD = "/usr/sbin/ngircd";

/** A running server: where, its process id, and how to stop it. */
interface Target {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** One client of the load generator: it logs in, sends lines, and reads them whole. */
interface Client {
  socket: Socket<undefined>;
  /** Set for a client of the web bridge: a WebSocket, a chat line a message. */
  ws?: WebSocket;
  /** Called with every complete line received. */
  onLine: (line: string) => void;
  rest: string;
  /** Bytes the kernel did not take yet, sent on `drain`. */
  pending: Buffer[];
}

/** Writes everything, keeping what the kernel does not take for `drain`. */
function send(client: Client, text: string): void {
  if (client.ws) {
    // A WebSocket message is one line, without its "\n"; the browser side queues it.
    client.ws.send(text.slice(0, -1));
    return;
  }
  const bytes = Buffer.from(text);
  if (client.pending.length > 0) {
    client.pending.push(bytes);
    return;
  }
  const written = client.socket.write(bytes);
  if (written >= 0 && written < bytes.length) client.pending.push(bytes.subarray(written));
}

function flush(client: Client): void {
  while (client.pending.length > 0) {
    const head = client.pending[0] as Buffer;
    const written = client.socket.write(head);
    if (written < 0) return;
    if (written < head.length) {
      client.pending[0] = head.subarray(written);
      return;
    }
    client.pending.shift();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Connects one client; lines arrive at `client.onLine`. */
async function open(port: number): Promise<Client> {
  const client: Client = {
    socket: undefined as unknown as Socket<undefined>,
    onLine: () => {},
    rest: "",
    pending: [],
  };
  client.socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_socket, chunk) {
        const text = client.rest + chunk.toString("latin1");
        const lines = text.split("\n");
        client.rest = lines.pop() ?? "";
        for (const line of lines) client.onLine(line);
      },
      drain() {
        flush(client);
      },
      error() {},
    },
  });
  return client;
}

/** Connects one WebSocket client of the web bridge; its messages arrive at `client.onLine`. */
async function openWeb(port: number): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
  const client: Client = {
    socket: undefined as unknown as Socket<undefined>,
    ws,
    onLine: () => {},
    rest: "",
    pending: [],
  };
  ws.onmessage = (event) => client.onLine(String(event.data));
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  return client;
}

/** Drops a client's connection, TCP or WebSocket. */
function hangUp(client: Client): void {
  if (client.ws) client.ws.close();
  else client.socket.terminate();
}

/** Resolves with the first line `match` takes, or rejects after `ms`. */
function expectLine(
  client: Client,
  match: (line: string) => boolean,
  ms = 30_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no answer from the server")), ms);
    client.onLine = (line) => {
      if (!match(line)) return;
      clearTimeout(timer);
      client.onLine = () => {};
      resolve(line);
    };
  });
}

/** The chat's own lines over TCP or through the web bridge; IRC to ngircd or to the door. */
type Protocol = "chat" | "web" | "irc" | "door";

/** Connects and logs in `count` clients (joined to #bench on IRC), `batch` at a time. */
async function crowd(
  protocol: Protocol,
  port: number,
  count: number,
  { join = true } = {},
): Promise<Client[]> {
  // Our server's logins wait in a queue of 100 at most; ngircd listens with a backlog of
  // 10, and connects past it wait for the kernel's SYN retry (a second): so, small groups.
  const batch = protocol === "irc" ? 8 : 50;
  const clients: Client[] = [];
  for (let first = 0; first < count; first += batch) {
    const group = await Promise.all(
      Array.from({ length: Math.min(batch, count - first) }, async (_, offset) => {
        const n = first + offset;
        const client = protocol === "web" ? await openWeb(port) : await open(port);
        if (protocol === "chat" || protocol === "web") {
          const ok = expectLine(client, (line) => /^(OK|ERR) /.test(line));
          send(client, `/login b${n} pw\n`);
          const answer = await ok;
          if (!answer.startsWith("OK")) throw new Error(`b${n}: ${answer}`);
        } else {
          // Registered (001), and in the channel (366, the end of its names) if asked. The
          // door has one channel, #chat, and the chat's accounts: it needs a PASS.
          const ready = expectLine(client, (line) => line.includes(join ? " 366 " : " 001 "));
          const pass = protocol === "door" ? "PASS pw\r\n" : "";
          const joining = join ? `JOIN ${channel(protocol)}\r\n` : "";
          send(client, `${pass}NICK b${n}\r\nUSER b${n} 0 * :bench\r\n${joining}`);
          await ready;
        }
        return client;
      }),
    );
    clients.push(...group);
  }
  return clients;
}

const channel = (protocol: Protocol): string => (protocol === "door" ? "#chat" : "#bench");

/** The `p`th percentile of sorted `values`. */
const percentile = (sorted: Float64Array, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

interface FanOut {
  deliveredPerSecond: number;
  /** How long after the last message was sent the last delivery came. */
  drainMs: number;
  p50: number;
  p99: number;
  /** Deliveries expected but not seen by the end. */
  missing: number;
}

/**
 * `clients` members; each in turn sends a message of `bytes` bytes, `rate` messages a second
 * in all, for `seconds` (after a second of warm-up); every other member should get each.
 */
export async function fanOut(
  protocol: Protocol,
  port: number,
  { clients = 1000, rate = 200, seconds = 5, bytes = 100 } = {},
): Promise<FanOut> {
  const members = await crowd(protocol, port, clients);
  // A second of warm-up, then exactly rate x seconds measured messages, sent on schedule
  // (late ticks catch up), so that both servers are offered the very same messages.
  const warmUp = rate;
  const total = warmUp + rate * seconds;
  const expected = rate * seconds * (clients - 1);
  const latencies = new Float64Array(expected);
  let delivered = 0;
  let firstSent = Number.POSITIVE_INFINITY;
  let lastDelivered = 0;
  for (const member of members) {
    member.onLine = (line) => {
      const at = line.indexOf(" n=");
      if (at === -1) return;
      const now = performance.now();
      const fields = line.slice(at + 3).split(" ", 2);
      if (Number(fields[0]) < warmUp) return;
      latencies[delivered++] = now - Number(fields[1]?.slice(2));
      lastDelivered = now;
    };
  }
  const pad = "x".repeat(Math.max(0, bytes - 32));
  const line = (n: number, now: number): string => {
    const text = ` n=${n} t=${now.toFixed(3)} ${pad}`;
    if (protocol === "chat" || protocol === "web") return `${text}\n`;
    return `PRIVMSG ${channel(protocol)} :${text}\r\n`;
  };
  const started = performance.now();
  for (let next = 0; next < total;) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    for (; next < due; next++) {
      const now = performance.now();
      if (next === warmUp) firstSent = now;
      const member = members[next % clients];
      if (member) send(member, line(next, now));
    }
    await sleep(10);
  }
  // Give the last messages time to arrive.
  for (let waited = 0; waited < 10_000 && delivered < expected; waited += 50) await sleep(50);
  for (const member of members) hangUp(member);
  const sorted = latencies.subarray(0, delivered).sort();
  return {
    // Per second of sending: the offered rate x 999 when every message arrives. A server that
    // falls behind shows it in the latency, and one that loses messages in `missing`.
    deliveredPerSecond: delivered / seconds,
    drainMs: lastDelivered - firstSent - seconds * 1000,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    missing: expected - delivered,
  };
}

/** Resident memory of a process, in MiB. */
async function rssMiB(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
}

/** Lesson 10 in its own process, on a fresh data folder. */
export async function ourServer(): Promise<Target & { data: string }> {
  const data = mkdtempSync(join(tmpdir(), "chat-bench-"));
  const lesson = startLesson("06-chat/10-chat-server.ts", [
    "--port",
    "0",
    "--data",
    data,
    "--cheap-hashes",
    "--idle",
    "600",
  ]);
  const { port } = await lesson.listening();
  return { port, pid: lesson.proc.pid, data, stop: () => stopLesson(lesson, data) };
}

/** Lesson 14 or 15 in its own process, the bridge to the chat server on `chatPort`. */
async function bridge(file: string, chatPort: number): Promise<Target> {
  const lesson = startLesson(file, ["--port", "0", "--chat-port", String(chatPort)]);
  const { port } = await lesson.listening();
  return { port, pid: lesson.proc.pid, stop: () => stopLesson(lesson) };
}

/**
 * The fan-out through a bridge (`file`, a lesson) to a fresh chat server, or straight to
 * the chat server when `file` is undefined.
 */
async function through(
  file: string | undefined,
  protocol: Protocol,
  load: { clients: number; rate: number; seconds: number; bytes: number },
): Promise<FanOut> {
  const server = await ourServer();
  try {
    if (file === undefined) return await fanOut(protocol, server.port, load);
    const door = await bridge(file, server.port);
    try {
      return await fanOut(protocol, door.port, load);
    } finally {
      await door.stop();
    }
  } finally {
    await server.stop();
  }
}

async function stopLesson(lesson: LessonProcess, data?: string): Promise<void> {
  await lesson.stop("SIGTERM").catch(() => undefined);
  if (data) rmSync(data, { recursive: true, force: true });
}

/** ngircd in the foreground (-n) with a config file of its own, on a free port. */
export async function ngircd(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), "ngircd-bench-"));
  const port = await freePort();
  const config = [
    "[Global]",
    "Name = bench.local",
    "Info = sockets-lab bench",
    "Listen = 127.0.0.1",
    `Ports = ${port}`,
    'MotdPhrase = "bench"',
    "[Limits]",
    "MaxConnections = 0",
    "MaxConnectionsIP = 0",
    "MaxJoins = 0",
    "MaxNickLength = 16",
    // No penalty time: it would slow ngircd's registrations down (and our flood guard is
    // never reached by this load either).
    "MaxPenaltyTime = 0",
    "PingTimeout = 600",
    "PongTimeout = 600",
    "[Options]",
    "DNS = no",
    "Ident = no",
    "PAM = no",
  ].join("\n");
  writeFileSync(join(dir, "ngircd.conf"), `${config}\n`);
  const child = Bun.spawn([NGIRCD, "-n", "-f", join(dir, "ngircd.conf")], {
    stdout: "ignore",
    stderr: "ignore",
  });
  // Ready when it accepts a connection.
  for (let tries = 0; ; tries++) {
    const ok = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {}, error() {} } })
      .then((socket) => {
        socket.terminate();
        return true;
      })
      .catch(() => false);
    if (ok) break;
    if (tries > 100) throw new Error("ngircd did not start listening");
    await sleep(50);
  }
  return {
    port,
    pid: child.pid,
    stop: async () => {
      child.kill("SIGTERM");
      await child.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A bare Bun.listen that keeps every connection and does nothing: the floor for RSS. */
export async function bareListener(): Promise<Target> {
  const script = `
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    console.log(server.port);
  `;
  const child = Bun.spawn(["bun", "-e", script], { stdout: "pipe", stderr: "ignore" });
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  return {
    port: Number(
      Buffer.from(value ?? new Uint8Array())
        .toString()
        .trim(),
    ),
    pid: child.pid,
    stop: async () => {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

/** `count` connections (logged in, for chat and IRC) held idle: the server's RSS then. */
export async function idleRss(
  protocol: Protocol | "bare",
  target: Target,
  count: number,
): Promise<string> {
  let clients: Client[] = [];
  try {
    if (protocol === "bare") {
      for (let first = 0; first < count; first += 200)
        clients.push(
          ...(await Promise.all(
            Array.from({ length: Math.min(200, count - first) }, () => open(target.port)),
          )),
        );
    } else {
      // IRC clients register but join no channel: 10,000 in one would cost every one of them
      // the others' JOIN lines (our server announces none past 1,000 members).
      clients = await crowd(protocol, target.port, count, { join: false });
    }
    await sleep(1_000);
    return `${(await rssMiB(target.pid)).toFixed(1)} MiB`;
  } catch (error) {
    return `failed after ${clients.length} clients (${(error as Error).message})`;
  } finally {
    for (const client of clients) client.socket.terminate();
  }
}

/** 10,000 messages to someone away from 1,000 senders, then their delivery at the login. */
export async function offline(
  port: number,
): Promise<{ storedPerSecond: number; deliverMs: number; ackedMs: number }> {
  const away = await open(port);
  const quit = expectLine(away, (line) => line.startsWith("BYE"));
  send(away, "/login away pw\n/quit\n");
  await quit;
  away.socket.terminate();
  const senders = await crowd("chat", port, 1_000);
  // Ten each, in one write: within the flood guard's burst of 40.
  const message = `/msg away ${"m".repeat(90)}\n`.repeat(10);
  let oks = 0;
  let allStored: () => void = () => {};
  const stored = new Promise<void>((resolve) => {
    allStored = resolve;
  });
  for (const sender of senders) {
    sender.onLine = (line) => {
      if (!line.startsWith("OK stored")) return;
      oks++;
      if (oks === 10_000) allStored();
    };
  }
  const started = performance.now();
  for (const sender of senders) send(sender, message);
  await stored;
  const storedPerSecond = 10_000 / ((performance.now() - started) / 1000);
  for (const sender of senders) sender.socket.terminate();

  const reader = await open(port);
  let privs = 0;
  let ids: string[] = [];
  let deliverMs = 0;
  let done: () => void = () => {};
  const delivered = new Promise<void>((resolve) => {
    done = resolve;
  });
  const loginAt = performance.now();
  reader.onLine = (line) => {
    if (!line.startsWith("PRIV ")) return;
    privs++;
    ids.push(line.split(" ", 2)[1] ?? "");
    // Acknowledge in batches, as the terminal client does.
    if (ids.length >= 200 || privs === 10_000) {
      send(reader, `/ack ${ids.join(" ")}\n`);
      ids = [];
    }
    if (privs === 10_000) {
      deliverMs = performance.now() - loginAt;
      send(reader, "/list\n");
      done();
    }
  };
  send(reader, "/login away pw\n");
  await delivered;
  await expectLine(reader, (line) => line.startsWith("LIST"));
  const ackedMs = performance.now() - loginAt;
  reader.socket.terminate();
  return { storedPerSecond, deliverMs, ackedMs };
}

const number = (value: number): string => Math.round(value).toLocaleString("en-US");

export async function bench(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const row = (name: string, result: string, yardstick: string, goal: string): void => {
    rows.push({ chapter: CHAPTER, name, result, yardstick, goal });
  };
  const haveNgircd = hasCommand(NGIRCD) || (await Bun.file(NGIRCD).exists());
  const missing = "ngircd not installed (Debian package ngircd)";
  const load = { clients: 1000, rate: 400, seconds: 5, bytes: 100 };
  const workload = `fan-out: ${load.clients} clients, ${load.rate} msg/s of ${load.bytes} B, each to all`;

  let server = await ourServer();
  const ours = await fanOut("chat", server.port, load).finally(() => server.stop());
  let theirs: FanOut | undefined;
  if (haveNgircd) {
    const irc = await ngircd();
    theirs = await fanOut("irc", irc.port, load).finally(() => irc.stop());
  }
  const figure = (run: FanOut): string =>
    `${number(run.deliveredPerSecond)} deliveries/s (${run.missing > 0 ? `${number(run.missing)} missing` : "none missing"}), p50 ${run.p50.toFixed(1)} ms, p99 ${run.p99.toFixed(1)} ms, drained ${Math.round(run.drainMs)} ms after the last send`;
  const met =
    theirs && ours.deliveredPerSecond >= theirs.deliveredPerSecond && ours.p99 < theirs.p99;
  row(
    `${workload}: 10-chat-server.ts`,
    figure(ours),
    theirs ? `ngircd: ${figure(theirs)}` : missing,
    theirs
      ? `>= ngircd deliveries/s, lower p99: ${ours.deliveredPerSecond >= theirs.deliveredPerSecond ? "yes" : "no"}, ${ours.p99 < theirs.p99 ? "yes" : "no"}: ${met ? "met" : "NOT met"}`
      : "not measured",
  );

  server = await ourServer();
  const ourRss = await idleRss("chat", server, 10_000).finally(() => server.stop());
  const bare = await bareListener();
  const bareRss = await idleRss("bare", bare, 10_000).finally(() => bare.stop());
  let ircRss = missing;
  if (haveNgircd) {
    const irc = await ngircd();
    ircRss = await idleRss("irc", irc, 10_000).finally(() => irc.stop());
  }
  row(
    "10,000 idle logged-in clients: server RSS",
    ourRss,
    `bare Bun.listen: ${bareRss}; ngircd: ${ircRss}`,
    `< 100 MiB: ${Number.parseFloat(ourRss) < 100 ? "met" : "NOT met"}`,
  );

  server = await ourServer();
  const store = await offline(server.port).finally(() => server.stop());
  row(
    "offline store: 10,000 /msg to someone away from 1,000 senders",
    `${number(store.storedPerSecond)} messages/s stored (each on disk before its OK)`,
    "(SQLite WAL, synchronous=NORMAL)",
    "reported",
  );
  row(
    "offline store: 10,000 stored messages delivered at one login",
    `${(store.deliverMs / 1000).toFixed(2)} s to deliver (${number(10_000 / (store.deliverMs / 1000))} messages/s), ${(store.ackedMs / 1000).toFixed(2)} s until all acknowledged`,
    "-",
    "reported",
  );

  // The bridges: 100 clients, 500 messages a second in all (5 each, within the flood guard).
  const few = { clients: 100, rate: 500, seconds: 5, bytes: 100 };
  const fewLoad = `${few.clients} clients, ${few.rate} msg/s of ${few.bytes} B, each to all`;
  const direct = await through(undefined, "chat", few);
  const web = await through("06-chat/14-web-client.ts", "web", few);
  const door = await through("06-chat/15-irc-door.ts", "door", few);
  for (const [name, run] of [
    [`fan-out through 14-web-client.ts: ${fewLoad}, as WebSocket clients`, web],
    [`fan-out through 15-irc-door.ts: ${fewLoad}, as IRC clients`, door],
  ] as const) {
    row(
      name,
      `${number(run.deliveredPerSecond)} messages/s delivered, p99 ${run.p99.toFixed(1)} ms (${figure(run)})`,
      `direct TCP, same run: ${number(direct.deliveredPerSecond)} messages/s, p99 ${direct.p99.toFixed(1)} ms`,
      run.missing === 0 ? "none missing: met" : `${number(run.missing)} missing: NOT met`,
    );
  }
  return rows;
}
