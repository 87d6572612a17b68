/**
 * @title SNTP server
 * @summary Answer NTP client requests over UDP from this machine's clock, and ignore anything else.
 * @run bun run 02-ntp/04-sntp-server.ts [--host 127.0.0.1] [--port 12300] [--stratum 1] [--refid LOCL]
 * @python new
 * @serves udp "\u0023" padded to 48 -> 48 bytes
 * @limits memory 100 MiB
 *
 * One line per datagram: who asked, and whether it was answered or why it was ignored.
 * Any NTP client can ask it: `bun run 02-ntp/03-clock-offset.ts --port 12300`, chrony, ntpdig.
 * The idea: a UDP server has no connections, only datagrams. It answers each on its own,
 * echoes the client's transmit timestamp so the client can pair reply and request, and
 * never answers with more bytes than it got (or it would amplify a spoofed flood).
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import * as ntp from "./ntp-packet.ts";

/** NTP's own port is 123, but ports below 1024 need root: the lab uses 12300. */
export const DEFAULT_PORT = 12300;

/** The fields of every reply that describe the server, not the request. */
type Identity = Pick<ntp.NtpPacket, "stratum" | "referenceId" | "precision" | "referenceTimestamp">;

/** The reply to one datagram that arrived at `t2` (Unix ms), or why it gets none. */
export function answer(request: Uint8Array, t2: number, me: Identity): ntp.NtpPacket | string {
  if (request.length < ntp.NTP_PACKET_SIZE) return `${request.length} bytes, too short for NTP`;
  const asked = ntp.decodePacket(request);
  if (asked.mode !== ntp.MODE_CLIENT)
    return `mode ${asked.mode} (${ntp.MODE_NAMES[asked.mode]}), not a client request`;
  if (asked.version < 1 || asked.version > 4) return `NTP version ${asked.version}, not 1-4`;
  // Only 48 bytes go back, never more than came in, whatever extensions the request had.
  return {
    ...me,
    leap: 0,
    version: asked.version, // answer in the client's own version (RFC 5905)
    mode: ntp.MODE_SERVER,
    poll: asked.poll,
    rootDelay: 0,
    rootDispersion: 2 ** me.precision,
    originTimestamp: asked.transmitTimestamp, // the client's T1 (or nonce), echoed unchanged
    receiveTimestamp: ntp.toNtpTimestamp(t2),
    transmitTimestamp: { seconds: 0, fraction: 0 }, // T3: set by the caller, at the last moment
  };
}

type Options = { host?: string; port?: number; stratum?: number; refid?: string };

/** Binds the UDP socket and answers from then on; `log` gets one line per datagram. */
export async function startNtpServer(options: Options & { log?: (line: string) => void } = {}) {
  const { host = "127.0.0.1", port = DEFAULT_PORT, stratum = 1, log = () => {} } = options;
  const refid = options.refid ?? (stratum > 1 ? "127.0.0.1" : "LOCL");
  const me: Identity = {
    stratum,
    referenceId: ntp.encodeReferenceId(stratum, refid),
    precision: ntp.measurePrecision(),
    referenceTimestamp: ntp.toNtpTimestamp(ntp.nowMs()), // "clock last set": we cannot know
  };
  const socket = await Bun.udpSocket({
    hostname: host,
    port,
    binaryType: "uint8array",
    socket: {
      data(socket, request, clientPort, address) {
        const t2 = ntp.nowMs(); // the first thing we do with the datagram
        const from = `${address.includes(":") ? `[${address}]` : address}:${clientPort}`;
        const reply = answer(request, t2, me);
        if (typeof reply === "string") {
          server.ignored++;
          return log(`ignored ${from}: ${reply}`);
        }
        reply.transmitTimestamp = ntp.toNtpTimestamp(ntp.nowMs()); // T3: as late as we can
        socket.send(ntp.encodePacket(reply), clientPort, address);
        server.answered++;
        log(`answered ${from} (NTPv${reply.version}, ${request.length} bytes in, 48 out)`);
      },
      // A client that left before our reply comes back as ICMP "port unreachable":
      // without this handler that error would end the whole server.
      error() {},
    },
  });
  const server = { host, port: socket.port, answered: 0, ignored: 0, close: () => socket.close() };
  return server;
}
export type RunningServer = Awaited<ReturnType<typeof startNtpServer>>;

const usage = `usage: bun run 02-ntp/04-sntp-server.ts [--host 127.0.0.1] [--port ${DEFAULT_PORT}] [--stratum 1] [--refid LOCL]

Answers NTP/SNTP client requests over UDP with this machine's clock.
  --host     address to listen on (default 127.0.0.1; ::1 for IPv6, 0.0.0.0 for all)
  --port     UDP port (default ${DEFAULT_PORT}: NTP's own 123 needs root; 0 = any free port)
  --stratum  1 = "I read a reference clock" (default), 2-15 = "I follow another server"
  --refid    at stratum 1, letters naming the clock (default LOCL: a local, undisciplined
             clock); at 2-15, the IPv4 address of the server followed (default 127.0.0.1)`;

function fail(message: string, code: 1 | 2): never {
  console.error(code === 2 ? `${message}\n\n${usage}` : message);
  process.exit(code);
}

if (import.meta.main) {
  const options = {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: String(DEFAULT_PORT) },
    stratum: { type: "string", default: "1" },
    refid: { type: "string" },
    help: { type: "boolean", short: "h" },
  } as const;
  let values: ReturnType<typeof parseArgs<{ options: typeof options }>>["values"];
  try {
    ({ values } = parseArgs({ options }));
  } catch (error) {
    fail((error as Error).message, 2);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const { host, refid } = values;
  const port = Number(values.port);
  const stratum = Number(values.stratum);
  if (!/^\d+$/.test(values.port) || port > 65535)
    fail(`--port must be a whole number from 0 to 65535, not "${values.port}".`, 2);
  if (!/^\d+$/.test(values.stratum) || stratum < 1 || stratum > 15)
    fail(`--stratum must be a whole number from 1 to 15, not "${values.stratum}".`, 2);
  const why: Record<string, string> = {
    EADDRINUSE: `UDP port ${port} is already in use: stop the other program, or choose another port (--port 0 takes any free one).`,
    EACCES: `Not allowed to use UDP port ${port}: ports below 1024 need root; use --port ${DEFAULT_PORT}.`,
  };
  // Bun reports a name it cannot resolve as a bind error with an unrelated code: ask first.
  if (!isIP(host) && !(await lookup(host).catch(() => null)))
    fail(`Cannot find the address of ${host}: check the name, or give an IP address.`, 1);
  const server = await startNtpServer({ host, port, stratum, refid, log: console.log }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error instanceof RangeError) fail(`--refid: ${error.message}.`, 2);
      const code = error.code ?? error.message;
      fail(why[code] ?? `Cannot listen on ${host} port ${port} (${code}): is the address ours?`, 1);
    },
  );
  // Handlers first: a test (or a person) may press Ctrl-C as soon as the line appears.
  for (const signal of ["SIGINT", "SIGTERM"])
    process.on(signal, () => {
      server.close();
      console.log(`stopped: answered ${server.answered}, ignored ${server.ignored}`);
      process.exit(0);
    });
  console.log(`listening on ${host.includes(":") ? `[${host}]` : host}:${server.port} (udp)`);
}
