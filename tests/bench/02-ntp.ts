/**
 * Chapter 02: how many SNTP requests a second our server answers on loopback, beside
 * chronyd (Debian package chrony) serving its local clock under the same load, each in its
 * own process; and how far our clock-offset client finds chronyd's clock, which is this
 * machine's own (so the ideal is 0). The load: one client socket keeping 32 requests in
 * flight for 2 seconds.
 *
 * One socket is one source (one address and port) to the server's reply guard, which by
 * default answers a source at most 1000 times a second after a burst of 2000: exactly what
 * it is for, and it would hold this load to about 1000 answers a second. chronyd here has
 * no `ratelimit` either, so our server runs with `--rate` raised out of the way: every
 * check of the guard still runs on every datagram, none refuses.
 */
import type { BenchRow } from "../bench.ts";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRequest } from "../../02-ntp/01-sntp-request.ts";
import { measureOffset } from "../../02-ntp/04-best-of-several.ts";
import { freePort, hasCommand, ROOT, udpRequest } from "../helpers.ts";

const CHAPTER = "02-ntp";
const DURATION_MS = 2_000;
const IN_FLIGHT = 32;
/** Replies a second to one source: far above what one socket can ask for. */
const NO_RATE_LIMIT = 1_000_000_000;

/** Replies per second from `port` while `IN_FLIGHT` requests are kept outstanding. */
async function answersPerSecond(port: number): Promise<{ perSecond: number; lost: number }> {
  let answered = 0;
  let sent = 0;
  const request = buildRequest(Date.now());
  let refill = (): void => {};
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data() {
        answered++;
        refill();
      },
      error() {},
    },
  });
  const started = performance.now();
  const send = (): void => {
    sent++;
    socket.send(request, port, "127.0.0.1");
  };
  refill = () => {
    if (performance.now() - started < DURATION_MS) send();
  };
  for (let index = 0; index < IN_FLIGHT; index++) send();
  // Lost datagrams would shrink the window for good: top it up every 50 ms.
  const topUp = setInterval(() => {
    for (let missing = sent - answered; missing < IN_FLIGHT; missing++) refill();
  }, 50);
  // The measurement is "how many in a fixed time", then 200 ms for the last answers.
  await new Promise((resolve) => setTimeout(resolve, DURATION_MS + 200));
  clearInterval(topUp);
  socket.close();
  return { perSecond: answered / (DURATION_MS / 1000), lost: sent - answered };
}

const rate = ({ perSecond, lost }: { perSecond: number; lost: number }): string =>
  `${Math.round(perSecond).toLocaleString("en")} answers/s (${lost} unanswered)`;

export async function bench(): Promise<BenchRow[]> {
  // Our server as a student runs it, in its own process (its log line per datagram goes to
  // /dev/null), so the load generator does not share its event loop.
  const oursPort = await freePort();
  const lesson = Bun.spawn(
    [
      ...["bun", "run", join(ROOT, "02-ntp/05-sntp-server.ts")],
      ...["--port", String(oursPort), "--rate", String(NO_RATE_LIMIT)],
    ],
    {
      stdio: ["ignore", "ignore", "ignore"],
    },
  );
  let oursRate: Awaited<ReturnType<typeof answersPerSecond>>;
  try {
    await udpRequest(oursPort, buildRequest(Date.now()), { attempts: 60, waitMs: 250 });
    oursRate = await answersPerSecond(oursPort);
  } finally {
    lesson.kill("SIGINT"); // also when it never answered: no server is left running
    await lesson.exited;
  }
  if (!hasCommand("chronyd")) {
    const none = "chronyd not installed (Debian package chrony)";
    return [
      { chapter: CHAPTER, name: "SNTP server", result: rate(oursRate), yardstick: none, goal: "" },
    ];
  }
  const dir = mkdtempSync(join(tmpdir(), "sockets-lab-bench-chrony-"));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const conf = [
    `port ${port}`,
    "bindaddress 127.0.0.1",
    "local stratum 8",
    "allow 127.0.0.1",
    "cmdport 0",
    `pidfile ${dir}/chronyd.pid`,
  ];
  writeFileSync(join(dir, "chrony.conf"), `${conf.join("\n")}\n`);
  const chronyd = Bun.spawn(["chronyd", "-d", "-x", "-f", join(dir, "chrony.conf")], {
    stdio: ["ignore", "ignore", "ignore"],
  });
  try {
    await udpRequest(port, buildRequest(Date.now()), { attempts: 60, waitMs: 250 });
    const chronyRate = await answersPerSecond(port);
    const { best } = await measureOffset("127.0.0.1", port, 8, 2000);
    const ratio = oursRate.perSecond / chronyRate.perSecond;
    return [
      {
        chapter: CHAPTER,
        name: `SNTP server, ${IN_FLIGHT} requests in flight, ${DURATION_MS / 1000} s`,
        result: rate(oursRate),
        yardstick: `chronyd: ${rate(chronyRate)}`,
        goal: `report only: ${ratio.toFixed(2)}x chronyd`,
      },
      {
        chapter: CHAPTER,
        name: "clock offset vs chronyd on loopback (best of 8)",
        result: `${best.offsetMs.toFixed(3)} ms offset, ${best.delayMs.toFixed(3)} ms round trip`,
        yardstick: "0 ms: chronyd serves this machine's clock",
        goal: `|offset| < 1 ms: ${Math.abs(best.offsetMs) < 1 ? "met" : "not met"}`,
      },
    ];
  } finally {
    chronyd.kill();
    await chronyd.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}
