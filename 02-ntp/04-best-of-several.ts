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
import { command, endpoint, fail, flag, peerOrStart, whyConnectFailed } from "../lib/cli.ts";
import { nowMs } from "../lib/udp.ts";
import * as ntp from "./ntp-packet.ts";

/** `count` exchanges, one after the other, and the one with the shortest round trip. */
export async function measureOffset(host: string, port: number, count = 4, timeoutMs = 2000) {
  // Public servers limit how often one client may ask, and may send a kiss-o'-death (RATE):
  // wait between samples, unless the server is this machine.
  const pauseMs = /^(127\.|::1$|localhost$)/.test(host) ? 0 : 2000;
  const samples: Sample[] = [];
  for (let index = 0; index < count; index++) {
    if (index > 0) await Bun.sleep(pauseMs);
    // Lesson 02's careful exchange (ntp-packet.ts), then lesson 03's formulas:
    // θ = ((T2 - T1) + (T3 - T4)) / 2 and δ = (T4 - T1) - (T3 - T2).
    const times = await ntp.exchange(host, port, timeoutMs);
    const offsetMs = ntp.roundMs((times.t2 - times.t1 + (times.t3 - times.t4)) / 2);
    const delayMs = ntp.roundMs(times.t4 - times.t1 - (times.t3 - times.t2));
    samples.push({ ...times, offsetMs, delayMs });
  }
  const best = samples.reduce((kept, sample) => (sample.delayMs < kept.delayMs ? sample : kept));
  return { samples, best, bestIndex: samples.indexOf(best) };
}

type Sample = Awaited<ReturnType<typeof ntp.exchange>> & { offsetMs: number; delayMs: number };

/** `offset +0.012 ms, round trip 0.104 ms`: the offset with its sign. */
const sampleText = ({ offsetMs, delayMs }: Sample): string =>
  `offset ${ntp.signedMs(offsetMs)}, round trip ${delayMs.toFixed(3)} ms`;

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
  const serverFile = import.meta.resolve("./05-sntp-server.ts");
  const { host, port, local } = await peerOrStart(args, { serverFile, defaultPort: 123 });
  // Against a public server this takes a while (2 s between samples): say what is going on.
  if (!args.json) console.log(`asking ${endpoint(host, port)} (udp) for ${args.samples} samples\n`);
  const failed = async (error: unknown) => fail(await whyConnectFailed(error, host, port, "udp"));
  const measuring = measureOffset(host, port, args.samples, args.timeout * 1000);
  const { samples, best, bestIndex } = await measuring.catch(failed);
  await local?.stop();
  // Our clock now, plus the offset: what the server's clock reads now.
  const ours = nowMs();
  const systemTime = ntp.utc(ours);
  const correctedTime = ntp.utc(ours + best.offsetMs);
  if (args.json) {
    const measured = samples.map(({ offsetMs, delayMs }) => ({ offsetMs, delayMs }));
    const [t1, t2, t3, t4] = [best.t1, best.t2, best.t3, best.t4].map(ntp.utc);
    const kept = { sample: bestIndex + 1, ...measured[bestIndex], t1, t2, t3, t4 };
    const report = { host, address: best.address, port, samples: measured, best: kept };
    console.log(JSON.stringify({ ...report, systemTime, correctedTime }, null, 2));
  } else {
    for (const [index, sample] of samples.entries())
      console.log(`  sample ${index + 1}: ${sampleText(sample)}`);
    console.log(`\nkept sample ${bestIndex + 1}, the shortest round trip: ${sampleText(best)}`);
    console.log(`\nour clock       ${systemTime}\ncorrected time  ${correctedTime}`);
  }
}
