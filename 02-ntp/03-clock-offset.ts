/**
 * @title Clock offset
 * @summary Work out how far your clock is from a server's, and the round trip, from the four timestamps of one exchange.
 * @run bun run 02-ntp/03-clock-offset.ts [--host HOST] [--port PORT] [--timeout 2] [--json]
 * @python basics-05.py basics-04.py
 *
 * You see the four times, the offset and the round trip worked out from them, and the
 * corrected time. The idea: the server's clock minus ours is ((T2 - T1) + (T3 - T4)) / 2,
 * and the time on the wire is (T4 - T1) - (T3 - T2). The offset is exact only if the way
 * there took as long as the way back: it is wrong by at most half the round trip.
 */
import { command, endpoint, fail, flag, peerOrStart, whyConnectFailed } from "../lib/cli.ts";
import { nowMs } from "../lib/udp.ts";
import * as ntp from "./ntp-packet.ts";

/** RFC 5905 section 8: offset θ (server minus us) and round-trip delay δ, in ms. */
export function offsetAndDelay({ t1, t2, t3, t4 }: Times): { offsetMs: number; delayMs: number } {
  return { offsetMs: (t2 - t1 + (t3 - t4)) / 2, delayMs: t4 - t1 - (t3 - t2) };
}

type Times = { t1: number; t2: number; t3: number; t4: number };

const about = "How far this machine's clock is from a server's, from one exchange.";
const cli = command("02-ntp/03-clock-offset.ts", about, {
  host: flag.host(undefined, "NTP server, like pool.ntp.org (none: ask lesson 05, started here)"),
  port: flag.port(undefined, "UDP port: 123, or alone a port of 127.0.0.1", { min: 1 }),
  timeout: flag.decimal(2, "seconds to wait for each of 3 tries", { min: 0.001, max: 60 }),
  json: flag.bool("print one JSON document instead of text"),
});

if (import.meta.main) {
  const args = cli.parse();
  const serverFile = import.meta.resolve("./05-sntp-server.ts");
  const { host, port, local } = await peerOrStart(args, { serverFile, defaultPort: 123 });
  const failed = async (error: unknown) => fail(await whyConnectFailed(error, host, port, "udp"));
  // Lesson 02's careful exchange (ntp-packet.ts): T1 and T4 by our clock, T2 and T3 by its.
  const times = await ntp.exchange(host, port, args.timeout * 1000).catch(failed);
  await local?.stop();
  const { offsetMs, delayMs } = offsetAndDelay(times);
  const [t1, t2, t3, t4] = [times.t1, times.t2, times.t3, times.t4].map(ntp.utc);
  // Our clock now, plus the offset: what the server's clock reads now.
  const ours = nowMs();
  const systemTime = ntp.utc(ours);
  const correctedTime = ntp.utc(ours + offsetMs);
  if (args.json) {
    const measured = { offsetMs: ntp.roundMs(offsetMs), delayMs: ntp.roundMs(delayMs) };
    const report = { host, address: times.address, port, ...measured, t1, t2, t3, t4 };
    console.log(JSON.stringify({ ...report, systemTime, correctedTime }, null, 2));
  } else {
    console.log(`asked ${endpoint(times.address, port)} (udp)\n`);
    console.log(`  T1 ${t1}  T4 ${t4}  (our clock)`);
    console.log(`  T2 ${t2}  T3 ${t3}  (its clock)`);
    const offset = ntp.signedMs(offsetMs);
    const delay = ntp.roundMs(delayMs).toFixed(3);
    console.log(`  offset ((T2-T1)+(T3-T4))/2 = ${offset}: the server's clock minus ours`);
    console.log(`  delay  (T4-T1)-(T3-T2)     = ${delay} ms on the wire, both ways`);
    console.log(`\nour clock       ${systemTime}\ncorrected time  ${correctedTime}`);
  }
}
