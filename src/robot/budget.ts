/** A sliding-window budget: at most `limit` events in any `windowMs`. */
export class SlidingWindowBudget {
  private readonly stamps: number[] = [];

  constructor(readonly limit: number, readonly windowMs: number, private readonly now: () => number = Date.now) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('budget limit: expected a whole number ≥ 1');
    if (!Number.isFinite(windowMs) || windowMs <= 0) throw new RangeError('budget windowMs: expected a positive number');
  }

  private trim(t: number): void {
    while (this.stamps.length && this.stamps[0]! <= t - this.windowMs) this.stamps.shift();
  }

  /** 0 when an event may happen now, else how long until one may. */
  waitMs(): number {
    const t = this.now();
    this.trim(t);
    if (this.stamps.length < this.limit) return 0;
    return Math.max(1, this.stamps[0]! + this.windowMs - t);
  }

  /** Record an event if there is room; false (and nothing recorded) when there is none. */
  tryTake(): boolean {
    if (this.waitMs() > 0) return false;
    this.stamps.push(this.now());
    return true;
  }

  get used(): number { this.trim(this.now()); return this.stamps.length; }
}
