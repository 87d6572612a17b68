/**
 * What a transfer shows while it runs, on stderr (stdout stays clean for --json). On a
 * terminal, one line redrawn in place at most ten times a second:
 *
 *   big.bin [##########..........]  50%  512.0 MiB of 1.0 GiB  850.2 MiB/s  0:01 left  0:00 gone
 *
 * Anywhere else (a pipe, a log file) a plain line every few seconds instead, since a
 * redrawn line would be hundreds of lines there. Taught in 03-client.
 *
 * The rate is smoothed (an exponential moving average of each interval's rate), so the time
 * left does not jump about with every burst and stall of the network.
 */
import { formatBytes } from "./protocol.ts";

/** Where progress goes: process.stderr, or a test's collector. */
export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** How often a terminal line is redrawn, and a plain line printed. */
const TERMINAL_MS = 100;
const PLAIN_MS = 2_000;
/** Weight of the newest interval in the smoothed rate. */
const SMOOTHING = 0.3;
const BAR_WIDTH = 20;

export class Progress {
  private readonly started: number;
  private shownAt: number;
  private shownBytes: number;
  private rate = 0;
  private drawn = false;

  /**
   * `total` bytes are expected, of which `start` were already there (a resumed download):
   * the rate counts only what this run moves.
   */
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly start = 0,
    private readonly out: ProgressOutput = process.stderr,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
    this.shownAt = this.started;
    this.shownBytes = start;
  }

  /** `done` bytes of `total` so far. Cheap when nothing is due: call it on every chunk. */
  update(done: number): void {
    const now = this.now();
    const since = now - this.shownAt;
    if (since < (this.out.isTTY ? TERMINAL_MS : PLAIN_MS)) return;
    const recent = ((done - this.shownBytes) / since) * 1000;
    this.rate = this.rate === 0 ? recent : SMOOTHING * recent + (1 - SMOOTHING) * this.rate;
    this.shownAt = now;
    this.shownBytes = done;
    this.show(done, now);
  }

  /** The transfer ended: a terminal's line is finished with a newline. */
  finish(done: number): void {
    if (!this.out.isTTY) return;
    const seconds = (this.now() - this.started) / 1000;
    this.rate = seconds > 0 ? (done - this.start) / seconds : 0;
    this.show(done, this.now());
    this.out.write("\n");
  }

  private show(done: number, now: number): void {
    const left = this.rate > 0 ? (this.total - done) / this.rate : Number.POSITIVE_INFINITY;
    const text = describe(done, this.total, this.rate, left, (now - this.started) / 1000);
    if (!this.out.isTTY) {
      this.out.write(`${this.label}: ${text}\n`);
      return;
    }
    // \r goes back to the line's start; \x1b[K clears what a longer line left behind.
    this.out.write(`\r${this.label} ${bar(done, this.total)} ${text}\x1b[K`);
    this.drawn = true;
  }

  /** Whether a terminal line was drawn (and so needs `finish`). */
  get visible(): boolean {
    return this.drawn;
  }
}

/** `[#####.....]` for `done` of `total`. */
export function bar(done: number, total: number, width = BAR_WIDTH): string {
  const full = total > 0 ? Math.min(width, Math.floor((done / total) * width)) : width;
  return `[${"#".repeat(full)}${".".repeat(width - full)}]`;
}

/** `50%  512.0 MiB of 1.0 GiB  850.2 MiB/s  0:01 left  0:00 gone` */
export function describe(
  done: number,
  total: number,
  bytesPerSecond: number,
  secondsLeft: number,
  secondsGone: number,
): string {
  const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
  const rate = `${formatBytes(bytesPerSecond)}/s`;
  const left = Number.isFinite(secondsLeft) ? clock(secondsLeft) : "-:--";
  const sizes = `${formatBytes(done)} of ${formatBytes(total)}`;
  const times = `${left} left  ${clock(secondsGone)} gone`;
  return `${String(percent).padStart(3)}%  ${sizes}  ${rate}  ${times}`;
}

/** 75 -> `1:15`, 3725 -> `1:02:05`. */
export function clock(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}
