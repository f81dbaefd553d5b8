/**
 * The UsageMeter: what adapters tick and the engine reads. Each tick counts in memory at once (per-run deltas,
 * Prometheus) and is written to the store's month counters shortly after, coalesced: at 20 calls a second that is a
 * few store writes a second, not twenty, and a tick never waits for the store. A flush that fails keeps its deltas and
 * is tried again; the engine flushes at the end of every run and the connector at shutdown, so what GET /usage shows
 * on any replica is at most a moment behind.
 */
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { UsageStore } from '../store/types.js';
import { wallClockOf } from '../time.js';
import { errorMessage } from '../errors.js';
import {
  METERED_TARGETS, noticesOf, zeroCounts, type CallCounts, type MeteredTarget, type QuotaNotice, type QuotaStatus, type UsagePort, type UsageReport,
} from '../core/metering.js';

export interface Budgets {
  /** DINGTALK_MONTHLY_CALL_BUDGET; 0 = unlimited */
  dingtalkCalls: number;
  /** ROBOT_MONTHLY_MESSAGE_BUDGET; 0 = unlimited */
  robotMessages: number;
}

export interface UsageMeterOptions {
  store: UsageStore;
  /** the months are calendar months in this zone (SYNC_TIMEZONE) */
  timezone: string;
  budgets: Budgets;
  metrics?: Metrics;
  logger?: Logger;
  now?: () => Date;
  /** how long ticks are gathered before one store write (default 250 ms) */
  flushDelayMs?: number;
}

const noticeName = (n: Pick<QuotaNotice, 'target' | 'level'>) => `notice.${n.target}.${n.level}`;

/** The store counter of one target's use on one day of the month: `dingtalk.d07`. */
export function dayCounter(target: MeteredTarget, day: number): string {
  return `${target}.d${String(day).padStart(2, '0')}`;
}

export function monthOf(instant: Date, timeZone: string): string {
  const wc = wallClockOf(instant, timeZone);
  return `${wc.year}-${String(wc.month).padStart(2, '0')}`;
}

export class UsageMeter implements UsagePort {
  private readonly counts = zeroCounts();
  /** deltas not yet in the store, by month */
  private readonly unflushed = new Map<string, Record<string, number>>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private failures = 0;
  private readonly now: () => Date;
  private readonly logger: Logger;
  private readonly delayMs: number;

  constructor(private readonly opts: UsageMeterOptions) {
    for (const [k, v] of Object.entries(opts.budgets)) {
      if (!Number.isSafeInteger(v) || v < 0) throw new TypeError(`budgets.${k}: expected a whole number ≥ 0 (0 = unlimited)`);
    }
    this.now = opts.now ?? (() => new Date());
    this.logger = opts.logger ?? silentLogger;
    this.delayMs = opts.flushDelayMs ?? 250;
    wallClockOf(new Date(), opts.timezone); // a bad zone fails here, not on the first tick
  }

  month(): string { return monthOf(this.now(), this.opts.timezone); }

  tick(target: MeteredTarget, n = 1): void {
    if (!(METERED_TARGETS as readonly string[]).includes(target) || !Number.isSafeInteger(n) || n <= 0) return;
    this.counts[target] += n;
    this.opts.metrics?.meteredCalls.inc({ target }, n);
    const wc = wallClockOf(this.now(), this.opts.timezone);
    const month = `${wc.year}-${String(wc.month).padStart(2, '0')}`;
    const d = this.unflushed.get(month) ?? {};
    d[target] = (d[target] ?? 0) + n;
    // per day too (`dingtalk.d07`): the console draws the month day by day
    const day = dayCounter(target, wc.day);
    d[day] = (d[day] ?? 0) + n;
    this.unflushed.set(month, d);
    this.schedule();
  }

  totals(): CallCounts { return { ...this.counts }; }

  private schedule(): void {
    if (this.timer) return;
    // after a failed flush, wait longer (up to 10 s) so a store outage is not hammered
    const wait = this.failures ? Math.min(10_000, this.delayMs * 2 ** this.failures) : this.delayMs;
    this.timer = setTimeout(() => { this.timer = undefined; this.flush().catch(() => undefined); }, wait);
    this.timer.unref();
  }

  /** Write what is buffered. Rejects when the store fails (the deltas stay buffered and are tried again). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    if (!this.unflushed.size) return Promise.resolve();
    this.flushing = this.write().finally(() => { this.flushing = undefined; });
    return this.flushing;
  }

  private async write(): Promise<void> {
    const batch = [...this.unflushed];
    this.unflushed.clear();
    try {
      for (let i = 0; i < batch.length; i++) {
        const [month, deltas] = batch[i];
        try {
          await this.opts.store.add(month, deltas);
        } catch (err) {
          // this month's deltas and the ones after it go back into the buffer, merged with what came meanwhile
          for (const [m, d] of batch.slice(i)) {
            const cur = this.unflushed.get(m) ?? {};
            for (const [k, v] of Object.entries(d)) cur[k] = (cur[k] ?? 0) + v;
            this.unflushed.set(m, cur);
          }
          throw err;
        }
      }
      this.failures = 0;
    } catch (err) {
      this.failures++;
      this.logger.warn({ err: errorMessage(err) }, 'could not record API usage in the store; will try again');
      this.schedule();
      throw err;
    }
  }

  /** Month-to-date usage: the store's counters plus what is still buffered here. */
  async usage(): Promise<UsageReport & { counters: Record<string, number> }> {
    const month = this.month();
    const stored = await this.opts.store.get(month);
    const counters: Record<string, number> = { ...stored };
    for (const [k, v] of Object.entries(this.unflushed.get(month) ?? {})) counters[k] = (counters[k] ?? 0) + v;
    const { dingtalkCalls, robotMessages } = this.opts.budgets;
    const report: UsageReport = {
      month,
      dingtalk: { calls: counters.dingtalk ?? 0, budget: dingtalkCalls },
      robot: { messages: counters.robot ?? 0, budget: robotMessages },
    };
    const m = this.opts.metrics;
    if (m) {
      m.usageMonthToDate.set({ target: 'dingtalk' }, report.dingtalk.calls);
      m.usageMonthToDate.set({ target: 'robot' }, report.robot.messages);
      m.usageMonthToDate.set({ target: 'okki' }, counters.okki ?? 0);
      m.usageBudget.set({ target: 'dingtalk' }, dingtalkCalls);
      m.usageBudget.set({ target: 'robot' }, robotMessages);
    }
    return { ...report, counters };
  }

  async report(): Promise<UsageReport> {
    const { counters: _c, ...report } = await this.usage();
    return report;
  }

  async quota(): Promise<QuotaStatus> {
    const { counters, ...usage } = await this.usage();
    const notices = noticesOf(usage);
    return {
      usage,
      notices,
      // a 100 % notice also covers the 80 % one: announcing exhaustion says more than the warning
      unannounced: notices.filter((n) => !counters[noticeName(n)]),
      dingtalkExhausted: notices.some((n) => n.target === 'dingtalk' && n.level === 100),
      robotExhausted: notices.some((n) => n.target === 'robot' && n.level === 100),
    };
  }

  async markAnnounced(notices: readonly QuotaNotice[]): Promise<void> {
    if (!notices.length) return;
    const deltas: Record<string, number> = {};
    for (const n of notices) {
      deltas[noticeName(n)] = 1;
      if (n.level === 100) deltas[noticeName({ target: n.target, level: 80 })] = 1;
    }
    await this.opts.store.add(this.month(), deltas);
  }

  /** Stop the timer and write what is left (shutdown). Never throws. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush().catch((err) => this.logger.warn({ err: errorMessage(err) }, 'API usage not recorded at shutdown'));
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
