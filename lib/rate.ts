/**
 * A token bucket: at most `burst` events at once, and `perSecond` on average after that.
 * The book's one rate limiter. Taught in 04-server/11-udp-guard (replies per source) and used
 * by the chat's flood guard.
 *
 * The bucket holds up to `burst` tokens and gains `perSecond` of them every second; each
 * event takes one. Nothing runs in the background: the tokens earned since the last call are
 * added when the next one comes.
 */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes `count` tokens if there are that many, and says whether it could. */
  take(count = 1): boolean {
    const now = performance.now();
    const earned = ((now - this.last) / 1000) * this.perSecond;
    this.tokens = Math.min(this.burst, this.tokens + earned);
    this.last = now;
    if (this.tokens < count) return false;
    this.tokens -= count;
    return true;
  }
}
