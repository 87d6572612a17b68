// 07-transfer/progress.ts: what a transfer shows while it runs. A fake clock and a fake
// stderr: at most ten redraws a second on a terminal, a plain line every two seconds
// elsewhere, sizes in KiB/MiB/GiB, a smoothed rate and time left.
import { describe, expect, test } from "bun:test";
import { bar, clock, describe as line, Progress } from "../../07-transfer/progress.ts";

/** A stderr that keeps what is written, terminal or not, and a clock moved by hand. */
function setup(isTTY: boolean, total: number, start = 0) {
  const written: string[] = [];
  let now = 0;
  const progress = new Progress(
    "big.bin",
    total,
    start,
    { write: (text: string) => written.push(text), isTTY },
    () => now,
  );
  return { written, progress, tick: (ms: number) => void (now += ms) };
}

const MiB = 1 << 20;

describe("the pieces of a progress line", () => {
  test("bar, percent, sizes, rate, time left and gone", () => {
    expect(bar(0, 100)).toBe(`[${".".repeat(20)}]`);
    expect(bar(50, 100)).toBe(`[${"#".repeat(10)}${".".repeat(10)}]`);
    expect(bar(100, 100)).toBe(`[${"#".repeat(20)}]`);
    expect(bar(0, 0)).toBe(`[${"#".repeat(20)}]`);
    expect(line(512 * MiB, 1024 * MiB, 850 * MiB, 0.6, 0.6)).toBe(
      " 50%  512.0 MiB of 1.0 GiB  850.0 MiB/s  0:01 left  0:01 gone",
    );
    expect(line(0, 10, 0, Number.POSITIVE_INFINITY, 0)).toContain("-:-- left");
    expect(clock(75)).toBe("1:15");
    expect(clock(3725)).toBe("1:02:05");
  });
});

describe("Progress", () => {
  test("on a terminal: redrawn in place, at most ten times a second, ended by a newline", () => {
    const { written, progress, tick } = setup(true, 100 * MiB);
    for (let i = 1; i <= 100; i++) {
      tick(10);
      progress.update(i * MiB);
    }
    // 100 updates over one second: about ten draws, never more.
    expect(written.length).toBeGreaterThanOrEqual(9);
    expect(written.length).toBeLessThanOrEqual(10);
    for (const draw of written) {
      expect(draw).toStartWith("\rbig.bin [");
      expect(draw).toEndWith("\x1b[K");
    }
    progress.finish(100 * MiB);
    expect(written.at(-2)).toContain("100%  100.0 MiB of 100.0 MiB  100.0 MiB/s");
    expect(written.at(-1)).toBe("\n");
    expect(progress.visible).toBe(true);
  });

  test("elsewhere: a plain line every two seconds, nothing at the end", () => {
    const { written, progress, tick } = setup(false, 100 * MiB);
    for (let i = 1; i <= 50; i++) {
      tick(100);
      progress.update(i * MiB);
    }
    expect(written).toHaveLength(2);
    expect(written[0]).toBe(
      "big.bin:  20%  20.0 MiB of 100.0 MiB  10.0 MiB/s  0:08 left  0:02 gone\n",
    );
    progress.finish(50 * MiB);
    expect(written).toHaveLength(2);
  });

  test("the rate is smoothed: one stalled interval does not make the time left jump to infinity", () => {
    const { written, progress, tick } = setup(true, 100 * MiB);
    tick(100);
    progress.update(10 * MiB);
    tick(100);
    progress.update(10 * MiB);
    expect(written[0]).toContain("100.0 MiB/s");
    // A stall: the raw rate is 0, the smoothed one 70% of what it was.
    expect(written[1]).toContain("70.0 MiB/s");
    expect(written[1]).toContain("0:01 left");
  });

  test("a resumed transfer counts its rate from what this run moved", () => {
    const { written, progress, tick } = setup(true, 100 * MiB, 90 * MiB);
    tick(1000);
    progress.update(95 * MiB);
    expect(written[0]).toContain(" 95%  95.0 MiB of 100.0 MiB  5.0 MiB/s  0:01 left");
  });
});
