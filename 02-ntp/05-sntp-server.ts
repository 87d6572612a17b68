/**
 * @title SNTP server
 * @summary Answer NTP client requests over UDP from this machine's clock, and nothing else.
 * @run bun run 02-ntp/05-sntp-server.ts [--host 127.0.0.1] [--port 12300] [--stratum 1] [--refid ID] [--rate 1000]
 * @python new
 * @serves udp "\u0023" padded to 48 -> 48 bytes
 * @limits memory 100 MiB
 *
 * One line per datagram: who asked, and whether it was answered or why not. Any NTP client
 * can ask it: the lessons before this one, chrony, ntpdig. The idea: a UDP server has
 * no connections, only datagrams. It answers each on its own, copies the client's transmit
 * timestamp so the client can pair reply and request, and never sends more than it got.
 */
import { command, endpoint, flag, serve, usageError } from "../lib/cli.ts";
import { ReplyGuard } from "../lib/udp.ts";
import * as ntp from "./ntp-packet.ts";

/** NTP's own port is 123, but ports below 1024 need root: the lab uses 12300. */
export const DEFAULT_PORT = 12300;

/** Binds the UDP socket and answers from then on; `log` gets one line per datagram. */
export async function startNtpServer(options: Options = {}) {
  const { host = "127.0.0.1", port = DEFAULT_PORT, rate = 1000, log = () => {} } = options;
  const me = ntp.serverIdentity(options.stratum ?? 1, options.refid);
  const counts = { answered: 0, ignored: 0, refused: 0 };
  const socket = await Bun.udpSocket({
    hostname: host,
    port,
    binaryType: "uint8array",
    socket: {
      data(socket, request, clientPort, address) {
        // T2 first: the moment the request reached us.
        const t2 = ntp.clockMs();
        const from = endpoint(address, clientPort);
        const reply = answer(request, t2, me);
        if (typeof reply === "string") {
          counts.ignored++;
          log(`ignored ${from}: ${reply}`);
          return;
        }
        // T3 last, as close as we can to the moment the reply leaves.
        reply.transmitTimestamp = ntp.toNtpTimestamp(ntp.clockMs());
        const bytes = ntp.encodePacket(reply);
        if (!guard.allows(address, clientPort, request, bytes)) {
          counts.refused++;
          log(`refused ${from}: the reply guard holds this reply back`);
          return;
        }
        socket.send(bytes, clientPort, address);
        counts.answered++;
        log(`answered ${from} (NTPv${reply.version}, ${request.length} bytes in, 48 out)`);
      },
      // A client that left before our reply comes back as ICMP "port unreachable", and a
      // send with no route back throws: Bun hands both here. Without it, they end the server.
      error() {},
    },
  });
  // Anyone can write any source address on a datagram. The guard (lib/udp.ts) never answers
  // our own address, the services that answer anything (ports 7, 13, 17, 19, 37) or port 0,
  // and at most `rate` times a second one source: a forged flood cannot aim us at a victim.
  const guard = new ReplyGuard(socket, { perSecond: rate, burst: 2 * rate });
  return {
    udp: { port: socket.port },
    counts,
    stop(): void {
      socket.close();
      log(`answered ${counts.answered}, ignored ${counts.ignored}, refused ${counts.refused}`);
    },
  };
}

/** The reply to one datagram that arrived at `t2` (Unix ms), or why it gets none. */
export function answer(request: Uint8Array, t2: number, me: ntp.Identity): ntp.NtpPacket | string {
  if (request.length < ntp.NTP_PACKET_SIZE) return `${request.length} bytes, too short for NTP`;
  const asked = ntp.decodePacket(request);
  if (asked.mode !== ntp.MODE_CLIENT)
    return `mode ${asked.mode} (${ntp.MODE_NAMES[asked.mode]}), not a client request`;
  if (asked.version < 1 || asked.version > 4) return `NTP version ${asked.version}, not 1-4`;
  // Only 48 bytes go back, never more than came in, whatever extensions the request had.
  return {
    ...me,
    leap: 0,
    // Answer in the client's own version (RFC 5905), and keep its poll interval.
    version: asked.version,
    mode: ntp.MODE_SERVER,
    poll: asked.poll,
    rootDelay: 0,
    rootDispersion: 2 ** me.precision,
    // The client's T1 (or its random bytes), copied unchanged: how it knows this reply.
    originTimestamp: asked.transmitTimestamp,
    receiveTimestamp: ntp.toNtpTimestamp(t2),
    // T3 is set by the caller, at the last moment.
    transmitTimestamp: { seconds: 0, fraction: 0 },
  };
}

/** The flags of the command line (see their help), each optional here, and the log. */
type Options = Partial<ReturnType<typeof cli.parse>> & { log?: (line: string) => void };

const about = "Answers NTP and SNTP client requests over UDP with this machine's clock.";
const cli = command("02-ntp/05-sntp-server.ts", about, {
  host: flag.listen("127.0.0.1"),
  port: flag.port(DEFAULT_PORT, "UDP port; NTP's own 123 needs root, 0 takes any free port"),
  stratum: flag.whole(1, "1: it reads a clock; 2-15: it follows a server", { min: 1, max: 15 }),
  refid: flag.text(undefined, "the clock at stratum 1 (LOCL), the server followed above", "ID"),
  rate: flag.whole(1000, "most replies a second to one client address and port", { min: 1 }),
});

if (import.meta.main) {
  const { host, port, stratum, refid, rate } = cli.parse();
  // A reference ID that does not fit the stratum is a mistake in the flags: exit 2.
  const problem = ntp.referenceIdProblem(stratum, refid);
  if (problem) usageError(`--refid: ${problem}`, cli.usage);
  const start = () => startNtpServer({ host, port, stratum, refid, rate, log: console.log });
  await serve(host, port, start, "try  bun run 02-ntp/03-clock-offset.ts --host HOST --port PORT");
}
