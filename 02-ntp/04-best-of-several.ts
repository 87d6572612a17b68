/**
 * @title Best of several samples
 * @summary Take several samples of the offset and keep the one with the shortest round trip, the one an uneven path can spoil least.
 * @run bun run 02-ntp/04-best-of-several.ts [--host HOST] [--port PORT] [--samples 4] [--timeout 2] [--json]
 * @python basics-05.py
 *
 * You see each sample's offset and round trip, the one kept, and the corrected time. The
 * idea: one offset is wrong by up to half its round trip, whenever the way there and the
 * way back took different times. So ask several times and trust the sample with the
 * shortest round trip: it had the least room for an uneven path. ntpd and chrony do the same.
 */
import { command, endpoint, fail, flag, startServer, whyConnectFailed } from "../lib/cli.ts";
import { ask, nowMs } from "../lib/udp.ts";
import * as ntp from "./ntp-packet.ts";

/** `count` exchanges, one after the other, and the one with the shortest round trip. */
export async function measureOffset(host: string, port: number, count = 4, timeoutMs = 2000) {
  // Public servers limit how often one client may ask, and may send a kiss-o'-death (RATE):
  // wait between samples, unless the server is this machine.
  const pauseMs = /^(127\.|::1$|localhost$)/.test(host) ? 0 : 2000;
  const samples: Sample[] = [];
  for (let index = 0; index < count; index++) {
    if (index > 0) await Bun.sleep(pauseMs);
    const times = await exchange(host, port, timeoutMs);
    // Lesson 03's formulas: θ = ((T2 - T1) + (T3 - T4)) / 2 and δ = (T4 - T1) - (T3 - T2).
    const offsetMs = (times.t2 - times.t1 + (times.t3 - times.t4)) / 2;
    const delayMs = times.t4 - times.t1 - (times.t3 - times.t2);
    samples.push({ ...times, offsetMs: roundMs(offsetMs), delayMs: roundMs(delayMs) });
  }
  const best = samples.reduce((kept, sample) => (sample.delayMs < kept.delayMs ? sample : kept));
  return { samples, best, bestIndex: samples.indexOf(best) };
}

/** Lesson 02's careful exchange: T1 and T4 by our clock, T2 and T3 by the server's. */
async function exchange(host: string, port: number, timeoutMs: number) {
  let nonce = new Uint8Array(8);
  let t1 = 0;
  const request = (): Uint8Array => {
    nonce = crypto.getRandomValues(new Uint8Array(8));
    const bytes = ntp.clientRequest(nonce);
    t1 = nowMs();
    return bytes;
  };
  const accept = (reply: Buffer): boolean => reply.subarray(24, 32).equals(nonce);
  const answer = await ask(host, port, request, { timeoutMs, accept });
  const reply = ntp.usableReply(answer.reply, endpoint(answer.address, port));
  const t2 = ntp.toUnixMs(reply.receiveTimestamp);
  const t3 = ntp.toUnixMs(reply.transmitTimestamp);
  return { address: answer.address, t1, t2, t3, t4: answer.receivedAt };
}

type Sample = Awaited<ReturnType<typeof exchange>> & { offsetMs: number; delayMs: number };

/** Milliseconds to the microsecond, all a clock on a network can tell: no 0.9407370000000004. */
const roundMs = (ms: number): number => Math.round(ms * 1000) / 1000;

/** `offset +0.012 ms, round trip 0.104 ms`: the offset with its sign. */
function sampleText({ offsetMs, delayMs }: Sample): string {
  const sign = offsetMs < 0 ? "" : "+";
  return `offset ${sign}${offsetMs.toFixed(3)} ms, round trip ${delayMs.toFixed(3)} ms`;
}

const about = "This clock against a server's, several times; the shortest round trip wins.";
const cli = command("02-ntp/04-best-of-several.ts", about, {
  host: flag.host(undefined, "NTP server, like pool.ntp.org (none: ask lesson 05, started here)"),
  port: flag.port(undefined, "UDP port: 123, or alone a port of 127.0.0.1", { min: 1 }),
  samples: flag.whole(4, "exchanges, 2 s apart unless with this machine", { min: 1, max: 20 }),
  timeout: flag.decimal(2, "seconds to wait for each of 3 tries", { min: 0.001, max: 60 }),
  json: flag.bool("print one JSON document instead of text"),
});

if (import.meta.main) {
  const args = cli.parse();
  // No --host and no --port: lesson 05 runs in its own process, so this works offline.
  const server = import.meta.resolve("./05-sntp-server.ts");
  const local = args.host || args.port ? undefined : await startServer(server);
  const host = local?.host ?? args.host ?? "127.0.0.1";
  const port = local?.port ?? args.port ?? 123;
  // Against a public server this takes a while (2 s between samples): say what is going on.
  if (!args.json) {
    if (local) console.log(`no --host: asking lesson 05, started here (try --host pool.ntp.org)`);
    console.log(`asking ${endpoint(host, port)} (udp) for ${args.samples} samples\n`);
  }
  const measuring = measureOffset(host, port, args.samples, args.timeout * 1000);
  const result = await measuring.catch(async (error: unknown) => {
    if (error instanceof ntp.NtpError) fail(error.message);
    fail(await whyConnectFailed(error, host, port, "udp"));
  });
  await local?.stop();
  const { samples, best, bestIndex } = result;
  // Our clock now, plus the offset: what the server's clock reads now.
  const ours = nowMs();
  const systemTime = ntp.utc(ours);
  const correctedTime = ntp.utc(ours + best.offsetMs);
  if (args.json) {
    const [t1, t2, t3, t4] = [best.t1, best.t2, best.t3, best.t4].map(ntp.utc);
    const kept = { sample: bestIndex + 1, offsetMs: best.offsetMs, delayMs: best.delayMs };
    const measured = samples.map(({ offsetMs, delayMs }) => ({ offsetMs, delayMs }));
    const report = { host, address: best.address, port, samples: measured };
    const times = { best: { ...kept, t1, t2, t3, t4 }, systemTime, correctedTime };
    console.log(JSON.stringify({ ...report, ...times }, null, 2));
  } else {
    for (const [index, sample] of samples.entries())
      console.log(`  sample ${index + 1}: ${sampleText(sample)}`);
    console.log(`\nkept sample ${bestIndex + 1}, the shortest round trip: ${sampleText(best)}`);
    console.log(`\nour clock       ${systemTime}\ncorrected time  ${correctedTime}`);
  }
}
