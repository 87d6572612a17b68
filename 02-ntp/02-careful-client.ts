/**
 * @title Careful SNTP client
 * @summary Resend on silence, and accept only a reply that echoes our random bytes and that a server may send; reject the rest with a reason.
 * @run bun run 02-ntp/02-careful-client.ts [--host pool.ntp.org --port 123] [--timeout 2] [--json]
 * @python basics-05.py
 *
 * You see which try was answered and the bytes the reply had to quote back; against a
 * broken or hostile server, one sentence saying what was wrong with its answer. The idea:
 * UDP promises nothing, so a client resends on silence and trusts nothing it receives:
 * a reply counts only if its origin timestamp echoes the 8 random bytes we sent.
 */
import { buildRequest } from "./01-sntp-request.ts";
import * as cli from "./client-cli.ts";
import * as ntp from "./ntp-packet.ts";

/** Why a reply that quoted our request back still cannot be used, or null. */
export function problemWith(reply: ntp.NtpPacket, where: string): string | null {
  const { mode, stratum } = reply;
  const code = ntp.referenceIdText(0, reply.referenceId);
  if (mode !== ntp.MODE_SERVER)
    return `${where} answered in mode ${mode} (${ntp.MODE_NAMES[mode]}), not 4 (server): is it an NTP server?`;
  if (stratum === 0)
    return `${where} sent a kiss-o'-death (stratum 0, code ${code}): ${ntp.KISS_CODES[code] ?? "it will not serve you now"}.`;
  if (ntp.isZeroTimestamp(reply.transmitTimestamp))
    return `${where} sent a zero transmit timestamp, so it does not know the time: ask another server.`;
  if (reply.leap === 3 || stratum > 15)
    return `${where} says its own clock is not synchronized: ask another server.`;
  return null;
}

/**
 * Sends up to `attempts` requests, each waiting `timeoutMs`, until a usable reply comes:
 * T1 and T4 by our clock, T2 and T3 by the server's (Unix ms), with the reply itself.
 */
export async function querySntp(address: string, port: number, timeoutMs = 2000, attempts = 3) {
  const where = cli.endpoint(address, port);
  type Event = { bytes: Uint8Array; t4: number } | Error | null;
  let deliver = (_event: Event): void => {};
  // Connected: the kernel drops datagrams from anyone else, and turns an ICMP
  // "port unreachable" into an ECONNREFUSED error, so we need not wait for a timeout.
  // Promise.try: when connect finds no route, Bun.udpSocket throws rather than rejects.
  const socket = await Promise.try(() =>
    Bun.udpSocket({
      hostname: address.includes(":") ? "::" : "0.0.0.0",
      binaryType: "uint8array",
      connect: { hostname: address, port },
      socket: {
        data: (_socket, bytes) => deliver({ bytes, t4: ntp.nowMs() }),
        // Bun 1.4.5 calls this with (error) alone, not (socket, error) as typed: oven-sh/bun#35215.
        error: (...args: unknown[]) => deliver(args.find((arg) => arg instanceof Error) ?? null),
      },
    }),
  ).catch((error: unknown) => {
    throw cli.cannotSend(where, error); // no route (offline), a broadcast address...
  });
  const next = (deadline: number): Promise<Event> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, deadline - ntp.nowMs(), null);
      deliver = (event) => (clearTimeout(timer), resolve(event));
    });
  let ignored = 0;
  try {
    for (let tries = 1; tries <= attempts; tries++) {
      // Random bytes where lesson 01 put T1: they tell nobody our clock, and a stranger who
      // did not see this request cannot quote them back. We keep T1 to ourselves.
      const request = buildRequest(0);
      const nonce = crypto.getRandomValues(request.subarray(40, 48));
      const t1 = ntp.nowMs();
      socket.send(request);
      for (let event = await next(t1 + timeoutMs); event; event = await next(t1 + timeoutMs)) {
        if (event instanceof Error) {
          const refused = (event as NodeJS.ErrnoException).code === "ECONNREFUSED";
          throw new cli.NtpError(
            refused
              ? `Nothing listens on UDP ${where} (its host said "port unreachable"): check the port.`
              : `Cannot talk to ${where}: ${event.message}.`,
          );
        }
        const { bytes, t4 } = event;
        if (bytes.length < ntp.NTP_PACKET_SIZE || bytes.length % 4 !== 0)
          throw new cli.NtpError(
            `${where} answered with ${bytes.length} bytes, not an NTP packet (48 or more, in 4-byte words): is it an NTP server?`,
          );
        // Not our bytes: a late answer to an earlier try, or a forgery. Ignore, keep waiting.
        if (bytes.subarray(24, 32).some((byte, index) => byte !== nonce[index])) {
          ignored++;
          continue;
        }
        const reply = ntp.decodePacket(bytes);
        const problem = problemWith(reply, where);
        if (problem) throw new cli.NtpError(problem);
        const t2 = ntp.toUnixMs(reply.receiveTimestamp);
        const t3 = ntp.toUnixMs(reply.transmitTimestamp);
        return { t1, t2, t3, t4, reply, tries, ignored };
      }
    }
  } finally {
    socket.close();
  }
  throw new cli.NtpError(
    ignored > 0
      ? `${where} answered, but never with the origin timestamp we sent (a late or spoofed reply), so we ignored it: try again, perhaps with a longer --timeout.`
      : `No answer from ${where} after ${attempts} tries of ${timeoutMs / 1000} s each: check the host and port, and that UDP gets through.`,
  );
}
export type Exchange = Awaited<ReturnType<typeof querySntp>>;

const usage = `usage: bun run 02-ntp/02-careful-client.ts [--host HOST] [--port 123] [--timeout 2] [--json]

Asks an NTP server the time, resending on silence, and says why a reply was refused.
With no --host or --port it asks this chapter's server, started in this process.
  --timeout  seconds to wait for each of 3 tries (default 2)
  --json     print one JSON document instead of text`;

if (import.meta.main) {
  const flags = cli.clientFlags(usage);
  try {
    const server = await cli.chooseServer(flags.host, flags.port);
    const exchange = await querySntp(server.address, server.port, flags.timeoutMs);
    server.local?.close();
    const { reply, tries, ignored } = exchange;
    const origin = ntp.hexTimestamp(reply.originTimestamp);
    const { stratum, referenceId } = reply;
    const reference = ntp.referenceIdText(stratum, referenceId);
    if (flags.json) {
      const { host, address, port } = server;
      const [t1, t2, t3, t4] = [exchange.t1, exchange.t2, exchange.t3, exchange.t4].map(cli.utc);
      const about = { accepted: true, tries, ignored, origin, stratum, referenceId: reference };
      console.log(JSON.stringify({ host, address, port, ...about, t1, t2, t3, t4 }, null, 2));
    } else {
      console.log(`asked ${server.about}${cli.endpoint(server.address, server.port)} (udp)`);
      console.log(`${cli.REAL_THING}\n`);
      console.log(`accepted the answer to try ${tries}: it quoted our random bytes ${origin}`);
      if (ignored > 0) console.log(`ignored ${ignored} datagram(s) that did not quote them`);
      console.log(`stratum ${stratum}, reference ${reference}, its time ${cli.utc(exchange.t3)}`);
    }
  } catch (error) {
    if (!(error instanceof cli.NtpError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
