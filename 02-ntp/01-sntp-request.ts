/**
 * @title SNTP request by hand
 * @summary Build the 48-byte NTP request byte by byte, send it over UDP, and decode every field of the reply.
 * @run bun run 02-ntp/01-sntp-request.ts [--host pool.ntp.org --port 123] [--timeout 2] [--json]
 * @python basics-05.py
 *
 * With no --host it starts this chapter's server in this process and asks it; with
 * `--host pool.ntp.org --port 123` it asks the real thing. You see each field of the reply
 * in words and the four times of one exchange. The idea: a binary protocol is numbers at
 * fixed places, big-endian; NTP counts seconds from 1900, Unix from 1970, 2208988800 apart.
 */
import * as cli from "./client-cli.ts";
import * as ntp from "./ntp-packet.ts";

/** The request: 48 bytes, all zero but the first byte and the transmit timestamp (T1). */
export function buildRequest(t1: number): Uint8Array {
  const request = new Uint8Array(ntp.NTP_PACKET_SIZE);
  const view = new DataView(request.buffer);
  view.setUint8(0, (0 << 6) | (4 << 3) | ntp.MODE_CLIENT); // leap 0, version 4, mode 3 (client)
  // T1 as NTP time: whole seconds since 1900 (Unix seconds + 2208988800), then the rest of
  // the second in units of 2^-32 s. setUint32 keeps the low 32 bits, so in 2036 the seconds
  // wrap to 0: the start of NTP era 1, which readers tell apart by the top bit (ntp-packet.ts).
  const unixSeconds = Math.floor(t1 / 1000);
  view.setUint32(40, unixSeconds + ntp.NTP_TO_UNIX_SECONDS);
  view.setUint32(44, Math.floor((t1 / 1000 - unixSeconds) * 2 ** 32));
  return request;
}

/** One request, one reply: T1 and T4 by our clock, T2 and T3 by the server's (Unix ms). */
export async function requestTime(address: string, port: number, timeoutMs = 2000) {
  const where = cli.endpoint(address, port);
  let onReply = (_bytes: Uint8Array, _t4: number): void => {};
  const socket = await Bun.udpSocket({
    hostname: address.includes(":") ? "::" : "0.0.0.0",
    binaryType: "uint8array",
    socket: {
      data(_socket, bytes, fromPort, fromAddress) {
        const t4 = ntp.nowMs(); // first: time spent before this would count as wire time
        if (fromAddress === address && fromPort === port) onReply(bytes, t4);
      },
      error() {}, // "port unreachable" and the like: we time out (02-careful-client does better)
    },
  });
  try {
    const t1 = ntp.nowMs(); // last thing before the request leaves
    try {
      socket.send(buildRequest(t1), port, address);
    } catch (error) {
      throw cli.cannotSend(where, error); // no route (offline), a broadcast address...
    }
    const silence = new cli.NtpError(
      `No answer from ${where} in ${timeoutMs / 1000} s: check the host and port.`,
    );
    const [bytes, t4] = await new Promise<[Uint8Array, number]>((resolve, reject) => {
      const timer = setTimeout(() => reject(silence), timeoutMs);
      onReply = (reply, t4) => (clearTimeout(timer), resolve([reply, t4]));
    });
    if (bytes.length < ntp.NTP_PACKET_SIZE)
      throw new cli.NtpError(
        `${where} answered with ${bytes.length} bytes, too few for NTP (48): is it an NTP server?`,
      );
    const reply = ntp.decodePacket(bytes);
    return {
      t1,
      t2: ntp.toUnixMs(reply.receiveTimestamp),
      t3: ntp.toUnixMs(reply.transmitTimestamp),
      t4,
      reply,
    };
  } finally {
    socket.close();
  }
}

const usage = `usage: bun run 02-ntp/01-sntp-request.ts [--host HOST] [--port 123] [--timeout 2] [--json]

Sends one NTP request over UDP and shows every field of the reply. With no --host or
--port it asks this chapter's server, started in this process. ${cli.REAL_THING}
  --timeout  seconds to wait for the reply (default 2)
  --json     print one JSON document instead of text`;

if (import.meta.main) {
  const flags = cli.clientFlags(usage);
  try {
    const server = await cli.chooseServer(flags.host, flags.port);
    const { t1, t2, t3, t4, reply } = await requestTime(
      server.address,
      server.port,
      flags.timeoutMs,
    );
    server.local?.close();
    const fields = ntp.describePacket(reply);
    const times = { t1: cli.utc(t1), t2: cli.utc(t2), t3: cli.utc(t3), t4: cli.utc(t4) };
    if (flags.json) {
      const decoded = Object.fromEntries(fields.map(({ field, value }) => [field, value]));
      const { host, address, port } = server;
      console.log(JSON.stringify({ host, address, port, reply: decoded, ...times }, null, 2));
    } else {
      console.log(
        `asked ${server.about}${cli.endpoint(server.address, server.port)} (udp)\n${cli.REAL_THING}\n`,
      );
      for (const { field, value, meaning } of fields)
        console.log(`  ${field.padEnd(19)} ${String(value).padEnd(31)} ${meaning}`);
      console.log(
        `\n  T1 we sent      ${times.t1}  by our clock\n  T2 it received  ${times.t2}  by its clock`,
      );
      console.log(
        `  T3 it answered  ${times.t3}  by its clock\n  T4 we received  ${times.t4}  by our clock`,
      );
    }
  } catch (error) {
    if (!(error instanceof cli.NtpError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
