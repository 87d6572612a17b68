/**
 * @title Round-trip time
 * @summary Like ping, for the TCP calculator: one request at a time, each reply's latency; a late reply is late, not lost.
 * @run bun run 05-calc/08-ping.ts [REQUEST] [--host HOST] [--port PORT] [--count 5] [--timeout-ms 1000] [--json]
 * @python new
 *
 * A closed loop: send a request, wait for its reply, send the next. The wait is the
 * latency a user feels: the network both ways, the server's queue, its work. TCP loses
 * nothing and keeps order, so the Nth reply is the Nth request's even when it comes
 * after --timeout-ms: that one is late, and the loop goes on meanwhile. Lost is a reply
 * that never came at all. With no --host/--port it pings lesson 06's server in this
 * process: try `isprime 9007199254740881`.
 */
import { command, connect, endpoint, fail, flag, whyConnectFailed } from "../lib/cli.ts";
import { LineReader, Outbox } from "../lib/stream.ts";
import { startConcurrentServer } from "./06-concurrent-server.ts";
import { parseReply, show, TCP_PORT } from "./protocol.ts";

/** `slow`: no reply within the timeout yet; it comes later as `late`, or never (`lost`). */
export type Sample = { seq: number; reply: string | null; ms: number; status: Status };
export type Status = "ok" | "slow" | "late" | "lost";

export async function* ping(
  request: string,
  { host = "127.0.0.1", port = TCP_PORT, count = 5, timeoutMs = 1_000 } = {},
): AsyncGenerator<Sample> {
  // Asked and not answered yet, oldest first: TCP keeps order, so the next reply is its.
  const asked: { seq: number; sentAt: number; slow: boolean }[] = [];
  const arrived: Sample[] = [];
  const replies = new LineReader(8192);
  let trouble: Error | undefined;
  let wake = (): void => {};
  const socket = await connect(host, port, {
    data(_socket, chunk) {
      for (const line of replies.push(chunk)) {
        const oldest = asked.shift();
        if (oldest === undefined || parseReply(line) === null) {
          trouble ??= new Error(`the server sent something that is not a reply: ${show(line)}`);
          break;
        }
        const ms = performance.now() - oldest.sentAt;
        arrived.push({ seq: oldest.seq, reply: line, ms, status: oldest.slow ? "late" : "ok" });
      }
      wake();
    },
    drain: () => outbox.flush(),
    close() {
      trouble ??= new Error("the server closed the connection");
      wake();
    },
  });
  const outbox = new Outbox(socket);
  /** The next reply to arrive, or undefined if none by `deadline`. */
  const next = async (deadline: number): Promise<Sample | undefined> => {
    if (arrived.length === 0 && trouble === undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - performance.now());
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    if (arrived.length === 0 && trouble) throw trouble;
    return arrived.shift();
  };
  try {
    for (let seq = 1; seq <= count; seq++) {
      const entry = { seq, sentAt: performance.now(), slow: false };
      asked.push(entry);
      outbox.send(`${request}\n`);
      // Until this request's reply, take what arrives: late replies to earlier ones too.
      for (;;) {
        const sample = await next(entry.sentAt + timeoutMs);
        if (sample === undefined) entry.slow = true;
        yield sample ?? { seq, reply: null, ms: timeoutMs, status: "slow" };
        if (sample === undefined || sample.seq === seq) break;
      }
    }
    // The replies still on their way get one more timeout; the ones that do not come are lost.
    const deadline = performance.now() + timeoutMs;
    while (asked.length > 0 || arrived.length > 0) {
      const sample = await next(deadline);
      if (sample === undefined) break;
      yield sample;
    }
    for (const entry of asked) yield { seq: entry.seq, reply: null, ms: timeoutMs, status: "lost" };
  } finally {
    socket.end();
  }
}

const cli = command(
  "05-calc/08-ping.ts",
  "Times REQUEST, one at a time, over TCP to the calculator (default 12 + 30).",
  {
    host: flag.host(undefined, "the server (no --host/--port: start lesson 06's server here)"),
    port: flag.port(undefined, `the server's port (${TCP_PORT} with --host)`, { min: 1 }),
    count: flag.whole(5, "how many requests to send", { min: 1, max: 10_000 }),
    "timeout-ms": flag.whole(1_000, "after this long a reply is late; one more, and it is lost", {
      min: 1,
      max: 600_000,
      placeholder: "MS",
    }),
    json: flag.bool("print the samples and the counts as one JSON document"),
  },
  { shown: "[REQUEST]", help: 'what to ask, e.g. "isprime 97" (default "12 + 30")' },
);

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

if (import.meta.main) {
  const { words, json, count, "timeout-ms": timeoutMs, ...given } = cli.parse();
  const offline = given.host === undefined && given.port === undefined;
  const local = offline ? startConcurrentServer({ port: 0, log() {} }) : undefined;
  const host = given.host ?? "127.0.0.1";
  const port = local?.tcp.port ?? given.port ?? TCP_PORT;
  const server = `${endpoint(host, port)} (tcp)`;
  const request = words.join(" ") || "12 + 30";
  const say = (line: string): void => {
    if (!json) console.log(line);
  };
  if (local) say(`no --host/--port: started lesson 06's server in this process on ${server}`);
  const samples: Sample[] = [];
  try {
    for await (const sample of ping(request, { host, port, count, timeoutMs })) {
      samples.push({ ...sample, ms: round(sample.ms) });
      say(describe(sample));
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code) fail(await whyConnectFailed(error, host, port));
    fail(`${server}: ${(error as Error).message}`);
  }
  const tally = (status: Status): number => samples.filter((s) => s.status === status).length;
  const late = tally("late");
  const lost = tally("lost");
  const times = samples.filter((s) => s.reply !== null).map((s) => s.ms);
  const spread = [Math.min(...times), average(times), Math.max(...times)].map((ms) =>
    ms.toFixed(2),
  );
  const range = times.length > 0 ? `; min/avg/max ${spread.join("/")} ms` : "";
  say(`${server}: ${count} sent, ${late} late, ${lost} lost${range}`);
  if (json)
    console.log(JSON.stringify({ server, request, sent: count, late, lost, samples }, null, 2));
  local?.stop();
  process.exit(lost > 0 ? 1 : 0);
}

function describe({ seq, reply, ms, status }: Sample): string {
  if (status === "slow") return `#${seq} no reply within ${ms} ms; going on`;
  if (status === "lost") return `#${seq} lost: no reply at all`;
  return `#${seq} ${reply} ${status === "late" ? "late, after" : "in"} ${ms.toFixed(2)} ms`;
}

function average(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}
