/** Sliding-window counters: how many events a key had in the last `windowMs` (QPS limits, robot budget). */
export class SlidingWindow {
  private readonly events = new Map<string, number[]>();
  constructor(private readonly windowMs: number) {}

  /** events of `key` still inside the window at `now` */
  count(key: string, now: number): number {
    const list = this.events.get(key);
    if (!list) return 0;
    let drop = 0;
    while (drop < list.length && list[drop] <= now - this.windowMs) drop++;
    if (drop) list.splice(0, drop);
    return list.length;
  }

  /** record one event when fewer than `limit` are in the window; false (nothing recorded) otherwise */
  tryTake(key: string, limit: number, now: number): boolean {
    if (this.count(key, now) + 1 > limit) return false;
    const list = this.events.get(key) ?? [];
    list.push(now);
    this.events.set(key, list);
    return true;
  }

  clear(): void { this.events.clear(); }
}
