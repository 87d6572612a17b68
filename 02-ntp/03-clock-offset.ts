/**
 * @title Clock offset
 * @summary Work out how far your clock is from a server's, and the round trip, from the four timestamps of several exchanges.
 * @run bun run 02-ntp/03-clock-offset.ts [--host pool.ntp.org --port 123] [--samples 4] [--timeout 2] [--json]
 * @python basics-05.py basics-04.py
 *
 * You see each sample's offset and round trip, the one kept, and the corrected time. The
 * idea: the server's clock minus ours is ((T2 - T1) + (T3 - T4)) / 2, and the time on the
 * wire is (T4 - T1) - (T3 - T2); the offset is exact only if the way there took as long as
 * the way back, so the sample with the shortest round trip, with the least room for an
 * uneven path, is the one to trust.
 */
import { querySntp, type Exchange } from "./02-careful-client.ts";
import * as cli from "./client-cli.ts";
import { nowMs } from "./ntp-packet.ts";

/** RFC 5905 section 8: offset θ (server minus us) and round-trip delay δ, in ms. */
export function offsetAndDelay({ t1, t2, t3, t4 }: Pick<Exchange, "t1" | "t2" | "t3" | "t4">) {
  return { offsetMs: (t2 - t1 + (t3 - t4)) / 2, delayMs: t4 - t1 - (t3 - t2) };
}

export type Sample = Exchange & ReturnType<typeof offsetAndDelay>;

/** `samples` exchanges, one after the other, and the one with the shortest round trip. */
export async function measureOffset(address: string, port: number, samples = 4, timeoutMs = 2000) {
  // Public servers limit how often one client may ask (and may kiss it with RATE), so wait
  // between samples unless the server is this machine.
  const pauseMs = /^(127\.|::1$)/.test(address) ? 0 : 2000;
  const taken: Sample[] = [];
  for (let index = 0; index < samples; index++) {
    if (index > 0) await Bun.sleep(pauseMs);
    const exchange = await querySntp(address, port, timeoutMs);
    taken.push({ ...exchange, ...offsetAndDelay(exchange) });
  }
  const best = taken.reduce((kept, sample) => (sample.delayMs < kept.delayMs ? sample : kept));
  return { samples: taken, best, bestIndex: taken.indexOf(best) };
}

const usage = `usage: bun run 02-ntp/03-clock-offset.ts [--host HOST] [--port 123] [--samples 4] [--timeout 2] [--json]

Measures this machine's clock against an NTP server's: offset and round trip of each
sample, the best one, and the corrected time. With no --host or --port it asks this
chapter's server, started in this process.
  --samples  how many exchanges, 1 to 20 (default 4); 2 s apart unless the server is this
             machine, since public servers limit how often one client may ask
  --timeout  seconds to wait for each of 3 tries per sample (default 2)
  --json     print one JSON document instead of text`;

/** Milliseconds to the microsecond; an offset gets its sign, + or - (+0.000, never -0.000). */
function ms(value: number, signed = false): string {
  const shown = value.toFixed(3).replace(/^-(?=0\.0+$)/, ""); // toFixed gives "-0.000"
  return `${signed && !shown.startsWith("-") ? "+" : ""}${shown} ms`;
}

if (import.meta.main) {
  const flags = cli.clientFlags(usage, true);
  try {
    const server = await cli.chooseServer(flags.host, flags.port);
    const where = cli.endpoint(server.address, server.port);
    if (!flags.json) console.log(`asking ${server.about}${where} (udp)\n${cli.REAL_THING}\n`);
    const result = await measureOffset(server.address, server.port, flags.samples, flags.timeoutMs);
    server.local?.close();
    const { best, bestIndex } = result;
    // Read our clock now and add the offset: that is what the server's clock reads now.
    const ours = nowMs();
    const corrected = { systemTime: cli.utc(ours), correctedTime: cli.utc(ours + best.offsetMs) };
    if (flags.json) {
      const { host, address, port } = server;
      const samples = result.samples.map(({ offsetMs, delayMs }) => ({ offsetMs, delayMs }));
      const [t1, t2, t3, t4] = [best.t1, best.t2, best.t3, best.t4].map(cli.utc);
      const kept = { sample: bestIndex + 1, offsetMs: best.offsetMs, delayMs: best.delayMs };
      const times = { t1, t2, t3, t4 };
      console.log(
        JSON.stringify(
          { host, address, port, samples, best: { ...kept, ...times }, ...corrected },
          null,
          2,
        ),
      );
    } else {
      result.samples.forEach(({ offsetMs, delayMs }, index) =>
        console.log(
          `  sample ${index + 1}: offset ${ms(offsetMs, true)}, round trip ${ms(delayMs)}`,
        ),
      );
      console.log(`\nkept sample ${bestIndex + 1}, the shortest round trip:`);
      console.log(`  T1 ${cli.utc(best.t1)}  T4 ${cli.utc(best.t4)}  (our clock)`);
      console.log(`  T2 ${cli.utc(best.t2)}  T3 ${cli.utc(best.t3)}  (its clock)`);
      console.log(
        `  offset ((T2-T1)+(T3-T4))/2 = ${ms(best.offsetMs, true)}: the server's clock minus ours`,
      );
      console.log(`  delay  (T4-T1)-(T3-T2)     = ${ms(best.delayMs)} on the wire, both ways`);
      console.log(
        `\nour clock       ${corrected.systemTime}\ncorrected time  ${corrected.correctedTime}`,
      );
    }
  } catch (error) {
    if (!(error instanceof cli.NtpError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
