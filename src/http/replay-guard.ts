/**
 * Remembers signatures seen within the acceptance window so a captured request cannot be replayed.
 * Bounded: when full, the oldest entry goes first. Eviction only helps someone who already holds valid
 * signatures (i.e. the secret), so bounding memory is the better trade than refusing legitimate calls.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly ttlMs: number, private readonly capacity: number) {
    if (!(ttlMs > 0)) throw new RangeError('ReplayGuard: ttlMs must be > 0');
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('ReplayGuard: capacity must be a positive integer');
  }

  /** true the first time `key` is offered within its ttl; false for a replay. */
  claim(key: string, now: number): boolean {
    this.sweep(now);
    const expires = this.seen.get(key);
    if (expires !== undefined && expires > now) return false;
    this.seen.delete(key);
    while (this.seen.size >= this.capacity) {
      const oldest = this.seen.keys().next().value as string;
      this.seen.delete(oldest);
    }
    this.seen.set(key, now + this.ttlMs);
    return true;
  }

  get size(): number { return this.seen.size; }

  /** Entries are inserted in time order with the same ttl, so expired ones sit at the front. */
  private sweep(now: number): void {
    for (const [key, expires] of this.seen) {
      if (expires > now) break;
      this.seen.delete(key);
    }
  }
}
