/**
 * @title Round-trip time over UDP
 * @summary Lesson 09's ping over UDP, where a reply may never come: each one's latency, and the lost ones.
 * @run bun run 05-calc/11-udp-ping.ts [REQUEST] [--host HOST] [--port PORT] [--count 5] [--timeout-ms 1000] [--json]
 * @python new
 *
 * Each request is one datagram, asked once (a ping measures loss; it must not hide it): a
 * datagram or its reply may vanish, and after --timeout-ms that sample is lost. A reply that
 * comes later is never taken for the next request's: each request has a random id, and
 * `ask()` opens a socket for each, so a late one has nowhere to land.
 */
import { command, endpoint, fail, flag, peerOrStart, whyConnectFailed } from "../lib/cli.ts";
import { ask, nowMs } from "../lib/udp.ts";
import { padded, parseDatagramReply, UDP_PORT } from "./protocol.ts";

/** A reply and its round trip in ms, or null: lost. */
export type Sample = { seq: number; reply: string | null; ms: number };

export async function* pingUdp(
  request: string,
  { host = "127.0.0.1", port = UDP_PORT, count = 5, timeoutMs = 1_000 } = {},
): AsyncGenerator<Sample> {
  for (let seq = 1; seq <= count; seq++) {
    // Random, so that no other sender can guess it, and unique to this request.
    const id = crypto.randomUUID().slice(0, 8);
    let sentAt = 0;
    // Padded, as a reply is never bigger than its request; sentAt is the real send.
    const datagram = (): string => {
      sentAt = nowMs();
      return padded(`${id} ${request}`);
    };
    const accept = (reply: Buffer): boolean => parseDatagramReply(reply.toString())?.id === id;
    try {
      const answer = await ask(host, port, datagram, { attempts: 1, timeoutMs, accept });
      const reply = `${answer.reply}`.slice(id.length + 1).trimEnd();
      yield { seq, reply, ms: answer.receivedAt - sentAt };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ETIMEDOUT") throw error;
      yield { seq, reply: null, ms: timeoutMs };
    }
  }
}

const cli = command(
  "05-calc/11-udp-ping.ts",
  "Times REQUEST, one datagram at a time, to the UDP calculator (default 12 + 30).",
  {
    host: flag.host(undefined, "the server (no --host/--port: start lesson 04's server)"),
    port: flag.port(undefined, `the server's port (${UDP_PORT} with --host)`, { min: 1 }),
    count: flag.whole(5, "how many requests to send", { min: 1, max: 10_000 }),
    "timeout-ms": flag.whole(1_000, "a reply not in by then is lost", { min: 1, max: 6e5 }),
    json: flag.bool("print the samples and the counts as one JSON document"),
  },
  { shown: "[REQUEST]", help: 'what to ask, e.g. "isprime 97" (default "12 + 30")' },
);

if (import.meta.main) {
  const { words, json, count, "timeout-ms": timeoutMs, ...given } = cli.parse();
  const serverFile = new URL("./04-udp-server.ts", import.meta.url).href;
  const { host, port, local } = await peerOrStart(given, { serverFile, defaultPort: UDP_PORT });
  const server = `${endpoint(host, port)} (udp)`;
  const request = words.join(" ") || "12 + 30";
  const samples: Sample[] = [];
  try {
    for await (const { seq, reply, ms } of pingUdp(request, { host, port, count, timeoutMs })) {
      samples.push({ seq, reply, ms: Math.round(ms * 1000) / 1000 });
      const out =
        reply === null ? `lost: no reply within ${ms} ms` : `${reply} in ${ms.toFixed(2)}`;
      if (!json) console.log(`#${seq} ${out}${reply === null ? "" : " ms"}`);
    }
  } catch (error) {
    fail(await whyConnectFailed(error, host, port, "udp"));
  }
  const times = samples.flatMap((sample) => (sample.reply === null ? [] : [sample.ms]));
  const lost = count - times.length;
  const average = times.reduce((sum, ms) => sum + ms, 0) / times.length;
  const spread = [Math.min(...times), average, Math.max(...times)].map((ms) => ms.toFixed(2));
  const range = times.length > 0 ? `; min/avg/max ${spread.join("/")} ms` : "";
  const report = { server, request, sent: count, lost, samples };
  const text = `${server}: ${count} sent, ${lost} lost${range}`;
  console.log(json ? JSON.stringify(report, null, 2) : text);
  await local?.stop();
  process.exit(0);
}
