/**
 * The TCP side of lessons 07 and 08, the calculators whose heavy lines are computed
 * elsewhere (on a worker pool): `serveLines` (lib/lines.ts) answers the cheap lines at once,
 * and hands each heavy one to `compute`, which resolves with its reply later. Three rules
 * keep that honest:
 *
 * - Order: a heavy line's reply gets its place in the queue when the line is read
 *   (`client.reserve()`), so the replies after it wait behind it and leave in request order.
 * - Memory: while a client's heavy work is out, it is not read (`client.hold()`): the replies
 *   waiting behind a heavy one count toward the Outbox's limit, and its FIN waits too.
 * - Fairness: at most MAX_IN_FLIGHT heavy lines of one client are computing at once; its
 *   others wait in its own line, so one client cannot fill a shared queue ahead of everyone.
 * - The end: a client's FIN, or an over-long line, ends it only once its replies are in.
 */
import { type LineClient, type LineServer, serveLines } from "../lib/lines.ts";
import { answer, isHeavy, LINE_TOO_LONG, MAX_LINE_BYTES } from "./protocol.ts";

/** Heavy lines one client may have computing at once. */
export const MAX_IN_FLIGHT = 16;

/** A client's heavy lines: how many compute, and those that wait their turn. */
type Work = {
  running: number;
  waiting: { line: string; place: (reply: string) => void }[];
};

export interface HeavyLineOptions {
  host: string;
  port: number;
  /** Seconds a client may go without a complete line. */
  idle: number;
  /** The reply (without its newline) to a heavy line, computed somewhere else. */
  compute: (line: string) => Promise<string>;
}

export function serveHeavyLines({ host, port, idle, compute }: HeavyLineOptions): LineServer {
  /** Starts a client's waiting lines, up to MAX_IN_FLIGHT; reads it again once all are in. */
  function startWaiting(client: LineClient<Work>): void {
    const work = client.state;
    while (work.running < MAX_IN_FLIGHT && work.waiting.length > 0) {
      const { line, place } = work.waiting.shift() as Work["waiting"][number];
      work.running++;
      void compute(line).then((reply) => {
        place(`${reply}\n`);
        work.running--;
        startWaiting(client);
        if (work.running > 0) return;
        client.release();
      });
    }
  }
  return serveLines<Work>({
    host,
    port,
    maxLineBytes: MAX_LINE_BYTES,
    idleSeconds: idle,
    // At its FIN, serveLines ends the client; the replies still computing keep their places
    // (reserve), and the Outbox sends its FIN only after them.
    open: (): Work => ({ running: 0, waiting: [] }),
    line(client, line) {
      if (!isHeavy(line)) {
        client.send(`${answer(line)}\n`);
        return;
      }
      if (client.state.running + client.state.waiting.length === 0) client.hold();
      client.state.waiting.push({ line, place: client.reserve() });
      startWaiting(client);
    },
    tooLong: (client) => client.end(LINE_TOO_LONG),
    // Its lines not started yet are dropped: nobody will read their replies.
    close(client) {
      client.state.waiting.length = 0;
    },
  });
}
