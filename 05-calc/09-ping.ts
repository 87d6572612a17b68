/**
 * @title Round-trip time
 * @summary Like ping, for the TCP calculator: one request at a time, and how long each reply took.
 * @run bun run 05-calc/09-ping.ts [REQUEST] [--host HOST] [--port PORT] [--count 5] [--timeout-ms 1000] [--json]
 * @python new
 *
 * A closed loop: send a request, wait for its reply, send the next. The wait is the latency
 * a user feels: the network both ways, the server's queue, its work. A reply that does not
 * come within --timeout-ms ends the run in one sentence (lesson 10 goes on instead). With no
 * --host/--port it pings lesson 06's server; try `isprime 9007199254740881` there.
 */
import { command, endpoint, fail, flag, peerOrStart, whyConnectFailed } from "../lib/cli.ts";
import { connectLines } from "../lib/lines.ts";
import { parseReply, show, TCP_PORT } from "./protocol.ts";

export type Sample = { seq: number; reply: string; ms: number };

export async function* ping(
  request: string,
  { host = "127.0.0.1", port = TCP_PORT, count = 5, timeoutMs = 1_000 } = {},
): AsyncGenerator<Sample> {
  const server = await connectLines(host, port);
  try {
    for (let seq = 1; seq <= count; seq++) {
      const sentAt = performance.now();
      server.send(`${request}\n`);
      const reply = await server.next(timeoutMs).catch((error: NodeJS.ErrnoException) => {
        throw error.code === "ETIMEDOUT" ? new Error(`no reply within ${timeoutMs} ms`) : error;
      });
      if (reply === undefined) throw new Error("the server closed the connection");
      if (!parseReply(reply))
        throw new Error(`the server sent something that is not a reply: ${show(reply)}`);
      yield { seq, reply, ms: performance.now() - sentAt };
    }
  } finally {
    server.close();
  }
}

const cli = command(
  "05-calc/09-ping.ts",
  "Times REQUEST, one at a time, over TCP to the calculator (default 12 + 30).",
  {
    host: flag.host(undefined, "the server (no --host/--port: start lesson 06's server)"),
    port: flag.port(undefined, `the server's port (${TCP_PORT} with --host)`, { min: 1 }),
    count: flag.whole(5, "how many requests to send", { min: 1, max: 10_000 }),
    "timeout-ms": flag.whole(1_000, "give up on a reply after this long", { min: 1, max: 6e5 }),
    json: flag.bool("print the samples as one JSON document"),
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
      if (!json) console.log(`#${sample.seq} ${sample.reply} in ${sample.ms.toFixed(2)} ms`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code) fail(await whyConnectFailed(error, host, port));
    fail(`${server}: ${(error as Error).message}`);
  }
  const times = samples.map((sample) => sample.ms);
  const average = times.reduce((sum, ms) => sum + ms, 0) / times.length;
  const spread = [Math.min(...times), average, Math.max(...times)].map((ms) => ms.toFixed(2));
  const summary = `${server}: ${count} sent; min/avg/max ${spread.join("/")} ms`;
  console.log(json ? JSON.stringify({ server, request, sent: count, samples }, null, 2) : summary);
  await local?.stop();
  process.exit(0);
}
