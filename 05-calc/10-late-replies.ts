/**
 * @title Guard: a late reply
 * @summary Lesson 09's ping that goes on past a slow reply: over TCP a reply after the timeout is late, not lost, and still counted.
 * @run bun run 05-calc/10-late-replies.ts [REQUEST] [--host HOST] [--port PORT] [--count 5] [--timeout-ms 1000] [--json]
 * @python new
 *
 * Lesson 09 gives up at the first reply slower than --timeout-ms: ping
 * `isprime 9007199254740881` (about 1.3 s of work) and it ends at #1, a reply on its way.
 * But TCP loses nothing and keeps order, so the Nth reply is the Nth request's even when it
 * comes late: this ping counts it late, and goes on meanwhile. Lost is a reply that never
 * came at all (one more timeout after the last request). It pings lesson 06's by default.
 */
import { command, endpoint, fail, flag, peerOrStart, whyConnectFailed } from "../lib/cli.ts";
import { connectLines } from "../lib/lines.ts";
import { parseReply, show, TCP_PORT } from "./protocol.ts";

/** `slow`: no reply within the timeout yet; it comes later as `late`, or never (`lost`). */
export type Sample = { seq: number; reply: string | null; ms: number; status: Status };
export type Status = "ok" | "slow" | "late" | "lost";

export async function* ping(
  request: string,
  { host = "127.0.0.1", port = TCP_PORT, count = 5, timeoutMs = 1_000 } = {},
): AsyncGenerator<Sample> {
  const server = await connectLines(host, port);
  // Asked and not answered yet, oldest first: TCP keeps order, so the next reply is its.
  const asked: { seq: number; sentAt: number; slow: boolean }[] = [];
  /** The next reply, matched to the oldest request; undefined if none came by `deadline`. */
  async function nextReply(deadline: number): Promise<Sample | undefined> {
    const line = await server.next(deadline - performance.now()).catch(timedOut);
    const oldest = asked[0];
    if (line === null) return undefined;
    if (line === undefined) throw new Error("the server closed the connection");
    if (!oldest || !parseReply(line))
      throw new Error(`the server sent something that is not a reply: ${show(line)}`);
    asked.shift();
    const ms = performance.now() - oldest.sentAt;
    return { seq: oldest.seq, reply: line, ms, status: oldest.slow ? "late" : "ok" };
  }
  try {
    for (let seq = 1; seq <= count; seq++) {
      // A line waiting now, with nothing asked, answers nothing: no calculator sent it.
      if (asked.length === 0) await nextReply(performance.now());
      const entry = { seq, sentAt: performance.now(), slow: false };
      asked.push(entry);
      server.send(`${request}\n`);
      // Until this request's reply, take what arrives: late replies to earlier ones too.
      for (;;) {
        const sample = await nextReply(entry.sentAt + timeoutMs);
        if (sample === undefined) entry.slow = true;
        yield sample ?? { seq, reply: null, ms: timeoutMs, status: "slow" };
        if (sample === undefined || sample.seq === seq) break;
      }
    }
    // The replies still on their way get one more timeout; the ones that do not come are lost.
    const deadline = performance.now() + timeoutMs;
    while (asked.length > 0) {
      const sample = await nextReply(deadline);
      if (sample === undefined) break;
      yield sample;
    }
    for (const entry of asked) yield { seq: entry.seq, reply: null, ms: timeoutMs, status: "lost" };
  } finally {
    server.close();
  }
}

/** A wait that ran out is null: no reply yet. Any other error goes on. */
function timedOut(error: NodeJS.ErrnoException): null {
  if (error.code === "ETIMEDOUT") return null;
  throw error;
}

const cli = command(
  "05-calc/10-late-replies.ts",
  "Times REQUEST over TCP, going on past slow replies (default 12 + 30).",
  {
    host: flag.host(undefined, "the server (no --host/--port: start lesson 06's server)"),
    port: flag.port(undefined, `the server's port (${TCP_PORT} with --host)`, { min: 1 }),
    count: flag.whole(5, "how many requests to send", { min: 1, max: 10_000 }),
    "timeout-ms": flag.whole(1_000, "a reply is late after this long, then lost", {
      min: 1,
      max: 6e5,
    }),
    json: flag.bool("print the samples and the counts as one JSON document"),
  },
  { shown: "[REQUEST]", help: 'what to ask, e.g. "isprime 97" (default "12 + 30")' },
);

if (import.meta.main) {
  const { words, json, count, "timeout-ms": timeoutMs, ...given } = cli.parse();
  const serverFile = new URL("./06-concurrent-server.ts", import.meta.url).href;
  const { host, port, local } = await peerOrStart(given, { serverFile, defaultPort: TCP_PORT });
  const server = `${endpoint(host, port)} (tcp)`;
  const request = words.join(" ") || "12 + 30";
  const samples: Sample[] = [];
  try {
    for await (const sample of ping(request, { host, port, count, timeoutMs })) {
      samples.push({ ...sample, ms: Math.round(sample.ms * 1000) / 1000 });
      if (!json) console.log(describe(sample));
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code) fail(await whyConnectFailed(error, host, port));
    fail(`${server}: ${(error as Error).message}`);
  }
  const tally = (status: Status): number => samples.filter((s) => s.status === status).length;
  const [late, lost] = [tally("late"), tally("lost")];
  const counts = `${server}: ${count} sent, ${late} late, ${lost} lost${spread(samples)}`;
  const report = { server, request, sent: count, late, lost, samples };
  console.log(json ? JSON.stringify(report, null, 2) : counts);
  await local?.stop();
  process.exit(lost > 0 ? 1 : 0);
}

function describe({ seq, reply, ms, status }: Sample): string {
  if (status === "slow") return `#${seq} no reply within ${ms} ms; going on`;
  if (status === "lost") return `#${seq} lost: no reply at all`;
  return `#${seq} ${reply} ${status === "late" ? "late, after" : "in"} ${ms.toFixed(2)} ms`;
}

/** `; min/avg/max 0.05/0.07/0.12 ms` over the replies that came, or nothing. */
function spread(samples: Sample[]): string {
  const times = samples.filter((sample) => sample.reply !== null).map((sample) => sample.ms);
  if (times.length === 0) return "";
  const average = times.reduce((sum, ms) => sum + ms, 0) / times.length;
  const shown = [Math.min(...times), average, Math.max(...times)].map((ms) => ms.toFixed(2));
  return `; min/avg/max ${shown.join("/")} ms`;
}
