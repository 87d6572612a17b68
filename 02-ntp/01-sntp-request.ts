/**
 * @title SNTP request by hand
 * @summary Build the 48-byte NTP request byte by byte, send it over UDP, and decode every field of the reply.
 * @run bun run 02-ntp/01-sntp-request.ts [--host HOST] [--port PORT] [--timeout 2] [--json]
 * @python basics-05.py
 *
 * With no --host it starts this chapter's server (lesson 05) and asks it; with
 * `--host pool.ntp.org` it asks the real thing. You see each field of the reply in words and
 * the four times of one exchange. The idea: a binary protocol is numbers at fixed places,
 * big-endian; NTP counts seconds from 1900, Unix from 1970, 2208988800 apart.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { command, endpoint, Explained, fail, flag, peerOrStart } from "../lib/cli.ts";
import { timeoutError, whyConnectFailed } from "../lib/cli.ts";
import { nowMs } from "../lib/udp.ts";
import * as ntp from "./ntp-packet.ts";

/** One request, one reply: T1 and T4 by our clock, T2 and T3 by the server's (Unix ms). */
export async function requestTime(host: string, port: number, timeoutMs = 2000) {
  // Bun's UDP sockets send to addresses, not names: look the name up first.
  const address = isIP(host) ? host : (await lookup(host)).address;
  const arrived = Promise.withResolvers<{ bytes: Uint8Array; t4: number }>();
  const socket = await Bun.udpSocket({
    hostname: address.includes(":") ? "::" : "0.0.0.0",
    binaryType: "uint8array",
    socket: {
      data(_socket, bytes, fromPort, fromAddress) {
        // T4 first: time spent before this line would count as time on the wire.
        const t4 = nowMs();
        if (fromAddress === address && fromPort === port) arrived.resolve({ bytes, t4 });
      },
      // "Port unreachable" and the like: we wait for the timeout (lesson 02 does better).
      error() {},
    },
  });
  const timer = setTimeout(arrived.reject, timeoutMs, timeoutError(timeoutMs));
  try {
    // T1 last, just before the request leaves.
    const t1 = nowMs();
    socket.send(buildRequest(t1), port, address);
    const { bytes, t4 } = await arrived.promise;
    if (bytes.length < ntp.NTP_PACKET_SIZE)
      throw new Explained(
        `${endpoint(address, port)} answered with ${bytes.length} bytes, too few for NTP (48): is it an NTP server?`,
      );
    const reply = ntp.decodePacket(bytes);
    const t2 = ntp.toUnixMs(reply.receiveTimestamp);
    const t3 = ntp.toUnixMs(reply.transmitTimestamp);
    return { address, t1, t2, t3, t4, reply };
  } finally {
    clearTimeout(timer);
    socket.close();
  }
}

/** The request: 48 bytes, all zero but the first byte and the transmit timestamp (T1). */
export function buildRequest(t1: number): Uint8Array {
  const request = new Uint8Array(ntp.NTP_PACKET_SIZE);
  const view = new DataView(request.buffer);
  // Leap indicator 0 (2 bits), version 4 (3 bits), mode 3: a client (3 bits).
  view.setUint8(0, (0 << 6) | (4 << 3) | ntp.MODE_CLIENT);
  // T1 as NTP time: whole seconds since 1900 (Unix seconds + 2208988800), then the rest of
  // the second in units of 2^-32 s. setUint32 keeps the low 32 bits, so in 2036 the seconds
  // wrap to 0: the start of NTP era 1, which readers tell apart by the top bit.
  const unixSeconds = Math.floor(t1 / 1000);
  view.setUint32(40, unixSeconds + ntp.NTP_TO_UNIX_SECONDS);
  view.setUint32(44, Math.floor((t1 / 1000 - unixSeconds) * 2 ** 32));
  return request;
}

const about = "Sends one NTP request, built byte by byte, and shows every field of the reply.";
const cli = command("02-ntp/01-sntp-request.ts", about, {
  host: flag.host(undefined, "NTP server, like pool.ntp.org (none: ask lesson 05, started here)"),
  port: flag.port(undefined, "UDP port: 123, or alone a port of 127.0.0.1", { min: 1 }),
  timeout: flag.decimal(2, "seconds to wait for the reply", { min: 0.001, max: 60 }),
  json: flag.bool("print one JSON document instead of text"),
});

if (import.meta.main) {
  const args = cli.parse();
  const serverFile = import.meta.resolve("./05-sntp-server.ts");
  const { host, port, local } = await peerOrStart(args, { serverFile, defaultPort: 123 });
  const failed = async (error: unknown) => fail(await whyConnectFailed(error, host, port, "udp"));
  const result = await requestTime(host, port, args.timeout * 1000).catch(failed);
  await local?.stop();
  const fields = ntp.describePacket(result.reply);
  const [t1, t2, t3, t4] = [result.t1, result.t2, result.t3, result.t4].map(ntp.utc);
  if (args.json) {
    const reply = Object.fromEntries(fields.map(({ field, value }) => [field, value]));
    const report = { host, address: result.address, port, reply, t1, t2, t3, t4 };
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(`asked ${endpoint(result.address, port)} (udp)\n`);
    for (const { field, value, meaning } of fields)
      console.log(`  ${field.padEnd(19)} ${String(value).padEnd(31)} ${meaning}`);
    console.log(`\n  T1 we sent      ${t1}  by our clock`);
    console.log(`  T2 it received  ${t2}  by its clock`);
    console.log(`  T3 it answered  ${t3}  by its clock`);
    console.log(`  T4 we received  ${t4}  by our clock`);
  }
}
