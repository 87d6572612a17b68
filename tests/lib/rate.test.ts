// lib/rate.ts: the token bucket behind the UDP reply guard and the chat's flood guard.
import { describe, expect, test } from "bun:test";
import { TokenBucket } from "../../lib/rate.ts";

describe("TokenBucket", () => {
  test("burst at once, then refills at perSecond", async () => {
    const bucket = new TokenBucket(100, 3);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    await Bun.sleep(30);
    expect(bucket.take()).toBe(true);
    expect(bucket.take(5)).toBe(false);
  });
});

describe("TokenBucket refill", () => {
  test("never holds more than burst, however long it waited", async () => {
    const bucket = new TokenBucket(1000, 2);
    await Bun.sleep(50);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, false]);
  });
});
