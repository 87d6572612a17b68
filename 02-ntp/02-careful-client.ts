/**
 * @title Careful SNTP client
 * @summary Resend on silence, and trust only a reply that quotes the random bytes we sent.
 * @run bun run 02-ntp/02-careful-client.ts [--host HOST] [--port PORT] [--timeout 2] [--json]
 * @python basics-05.py
 *
 * You see which try was answered and the bytes its reply quoted back, or one sentence on what
 * was wrong with a broken or hostile server's answer. The idea: UDP promises nothing, so a
 * client resends on silence, and takes only a reply quoting the 8 random bytes it sent.
 */
import { command, endpoint, fail, flag, peerOrStart, whyConnectFailed } from "../lib/cli.ts";
import { ask, nowMs } from "../lib/udp.ts";
import * as ntp from "./ntp-packet.ts";

/** Asks host:port the time, trying `attempts` times, waiting `timeoutMs` for each. */
export async function querySntp(host: string, port: number, timeoutMs = 2000, attempts = 3) {
  let nonce = new Uint8Array(8);
  let t1 = 0;
  let ignored = 0;
  // A new request for each try, with 8 random bytes where lesson 01 put T1: they tell
  // nobody our clock, and nobody who did not see the request can quote them back.
  const request = (): Uint8Array => {
    nonce = crypto.getRandomValues(new Uint8Array(8));
    const bytes = ntp.clientRequest(nonce);
    t1 = nowMs();
    return bytes;
  };
  // The server copies them into its origin timestamp, bytes 24-31. Anything else is a late
  // answer to an earlier try, or a forgery: ignore it and keep waiting.
  const quotesUs = (reply: Buffer): boolean => {
    const ours = reply.subarray(24, 32).equals(nonce);
    if (!ours) ignored++;
    return ours;
  };
  // ask() (lib/udp.ts) sends, waits `timeoutMs`, and sends again, from a socket connected
  // to the server: the kernel drops datagrams from anyone else.
  const options = { attempts, timeoutMs, accept: quotesUs };
  const answer = await ask(host, port, request, options).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ETIMEDOUT") throw error;
    throw ntp.noAnswer(endpoint(host, port), ignored, attempts, timeoutMs);
  });
  const { reply: bytes, attempt: tries, address, receivedAt: t4 } = answer;
  // Even a reply that quotes us may be no use: a kiss-o'-death, say (ntp-packet.ts).
  const reply = ntp.usableReply(bytes, endpoint(address, port));
  const t2 = ntp.toUnixMs(reply.receiveTimestamp);
  const t3 = ntp.toUnixMs(reply.transmitTimestamp);
  return { t1, t2, t3, t4, reply, ignored, tries, address };
}

const about = "Asks an NTP server the time, resending on silence; says why a reply is refused.";
const cli = command("02-ntp/02-careful-client.ts", about, {
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
  const result = await querySntp(host, port, args.timeout * 1000).catch(failed);
  await local?.stop();
  const { reply, tries, ignored, address } = result;
  const origin = ntp.hexTimestamp(reply.originTimestamp);
  const referenceId = ntp.referenceIdText(reply.stratum, reply.referenceId);
  const [t1, t2, t3, t4] = [result.t1, result.t2, result.t3, result.t4].map(ntp.utc);
  if (args.json) {
    const report = { host, address, port, accepted: true, tries, ignored, origin };
    const times = { stratum: reply.stratum, referenceId, t1, t2, t3, t4 };
    console.log(JSON.stringify({ ...report, ...times }, null, 2));
  } else {
    console.log(`asked ${endpoint(address, port)} (udp)\n`);
    console.log(`accepted the answer to try ${tries}: it quoted our random bytes ${origin}`);
    if (ignored > 0) console.log(`ignored ${ignored} datagram(s) that did not quote them`);
    console.log(`stratum ${reply.stratum}, reference ${referenceId}, its time ${t3}`);
  }
}
