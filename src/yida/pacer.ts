/**
 * Adaptive request pacing for one DingTalk API: at most `maxRate` requests per second, and at most `concurrency`
 * in flight (a slot shared by every API of one sink). DingTalk does not publish the limit an app actually has, so
 * the rate adapts: see AdaptivePacer.
 */
import { sleep } from '../sleep.js';

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
  /** multiplicative cut on throttling when no success rate could be observed (0..1) */
  decrease?: number;
  /** relative growth per second while well below the last limit estimate (or before any throttling) */
  fastGrowth?: number;
  /** relative growth per second near the estimate: slow, so the limit is probed rarely */
  slowGrowth?: number;
  /** clock (tests) */
  now?: () => number;
}

/**
 * The limit is estimated from what actually got through: when a throttling answer arrives, the success rate of the
 * last second is (close to) the limit, so the rate drops straight to just under it — one step, however far above the
 * limit the ceiling was — instead of halving its way down while hammering. From there it grows slowly, probing the
 * limit now and then (the limit can rise), and fast when far below it (after a cut on thin evidence).
 */
export class AdaptivePacer {
  private rateNow: number;
  private estimate?: number;
  private readonly minRate: number;
  private readonly decrease: number;
  private readonly fastGrowth: number;
  private readonly slowGrowth: number;
  private readonly now: () => number;
  private nextSlot = 0;
  private lastCutAt = -Infinity;
  private firstSuccessAt?: number;
  /** success times within the observation window, oldest first */
  private readonly successes: number[] = [];

  constructor(private readonly opts: PacerOptions) {
    if (!(opts.maxRate > 0)) throw new TypeError('pacer maxRate: expected a positive number of requests per second');
    this.rateNow = opts.maxRate;
    this.minRate = Math.min(opts.minRate ?? 0.2, opts.maxRate);
    this.decrease = opts.decrease ?? 0.7;
    this.fastGrowth = opts.fastGrowth ?? 0.25;
    this.slowGrowth = opts.slowGrowth ?? 0.01;
    this.now = opts.now ?? Date.now;
  }

  get rate(): number { return this.rateNow; }
  /** the limit believed in, from the last throttling (undefined before any) */
  get limitEstimate(): number | undefined { return this.estimate; }

  /** wait for this request's time slot */
  async wait(signal?: AbortSignal): Promise<void> {
    const delay = this.reserve();
    if (delay > 0) await sleep(delay, signal);
  }

  /** take the next time slot; returns how many ms from now it is */
  reserve(): number {
    const now = this.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + 1000 / this.rateNow;
    return slot - now;
  }

  /** long enough to hold a few requests even at a low rate */
  private windowMs(): number { return Math.max(1000, 3000 / this.rateNow); }

  private observedRate(now: number): number {
    const w = this.windowMs();
    while (this.successes.length && this.successes[0] <= now - w) this.successes.shift();
    if (this.firstSuccessAt === undefined) return 0;
    const span = Math.min(w, Math.max(now - this.firstSuccessAt, 1000 / this.opts.maxRate));
    return (this.successes.length * 1000) / span;
  }

  onThrottled(): void {
    const now = this.now();
    // Throttles of requests already in flight when the first came back say nothing new: one cut per window.
    if (now - this.lastCutAt < this.windowMs()) return;
    this.lastCutAt = now;
    const observed = this.observedRate(now);
    if (observed > 0) {
      this.estimate = observed;
      this.rateNow = Math.max(this.minRate, Math.min(this.rateNow, observed * 0.95));
    } else {
      this.rateNow = Math.max(this.minRate, this.rateNow * this.decrease);
    }
    // Push the schedule back by one interval so the burst that tripped the limit drains first.
    this.nextSlot = Math.max(this.nextSlot, now + 1000 / this.rateNow);
  }

  onSuccess(): void {
    const now = this.now();
    this.firstSuccessAt ??= now;
    this.successes.push(now);
    if (this.successes.length > 4 * this.opts.maxRate + 100) this.successes.shift();
    // Each success at rate r is 1/r seconds of good behaviour, so adding g per success grows the rate by g·r per
    // second: a relative growth of g per second.
    const g = this.estimate === undefined || this.rateNow < 0.85 * this.estimate ? this.fastGrowth : this.slowGrowth;
    this.rateNow = Math.min(this.opts.maxRate, this.rateNow + g);
  }
}
