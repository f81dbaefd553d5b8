/**
 * Adaptive request pacing for one DingTalk API: at most `maxRate` requests per second, and at most `concurrency`
 * in flight (a slot shared by every API of one sink). DingTalk does not publish the limit an app actually has, so
 * the rate follows AIMD: a throttling answer cuts it multiplicatively (once per burst, not once per throttled
 * request in flight), each success adds back a little, and it settles just under the limit it cannot see.
 */
import { sleep } from './backoff.js';

export class Semaphore {
  private inUse = 0;
  private readonly waiters: Array<() => void> = [];
  constructor(readonly size: number) {}
  async acquire(): Promise<() => void> {
    if (this.inUse >= this.size) await new Promise<void>((r) => this.waiters.push(r));
    else this.inUse++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next(); else this.inUse--;
    };
  }
  get active(): number { return this.inUse; }
}

export interface PacerOptions {
  /** ceiling and starting rate, requests per second */
  maxRate: number;
  /** the floor the rate never goes under */
  minRate?: number;
  /** multiplicative cut on throttling (0..1) */
  decrease?: number;
  /** requests per second regained per second of successes at the current rate */
  increasePerSecond?: number;
}

export class AdaptivePacer {
  private rateNow: number;
  private readonly minRate: number;
  private readonly decrease: number;
  private readonly increasePerSecond: number;
  private nextSlot = 0;
  private lastCutAt = -Infinity;

  constructor(private readonly opts: PacerOptions) {
    if (!(opts.maxRate > 0)) throw new TypeError('pacer maxRate: expected a positive number of requests per second');
    this.rateNow = opts.maxRate;
    this.minRate = Math.min(opts.minRate ?? 0.2, opts.maxRate);
    this.decrease = opts.decrease ?? 0.7;
    this.increasePerSecond = opts.increasePerSecond ?? Math.max(0.5, opts.maxRate / 10);
  }

  get rate(): number { return this.rateNow; }

  /** wait for this request's time slot */
  async wait(signal?: AbortSignal): Promise<void> {
    const now = Date.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + 1000 / this.rateNow;
    if (slot > now) await sleep(slot - now, signal);
  }

  onThrottled(): void {
    const now = Date.now();
    // Requests already in flight when the first throttle came back say nothing new: one cut per interval.
    if (now - this.lastCutAt < Math.max(1000 / this.rateNow, 250)) return;
    this.lastCutAt = now;
    this.rateNow = Math.max(this.minRate, this.rateNow * this.decrease);
    // Also push the schedule back by one interval so the burst that tripped the limit drains first.
    this.nextSlot = Math.max(this.nextSlot, now + 1000 / this.rateNow);
  }

  onSuccess(): void {
    // Each success at rate r is 1/r seconds of good behaviour: +increasePerSecond per second overall.
    this.rateNow = Math.min(this.opts.maxRate, this.rateNow + this.increasePerSecond / this.rateNow);
  }
}
