/**
 * The metering port: adapters tick a CallMeter once per call that costs quota, the engine reads totals. Imports
 * nothing, so okki/, yida/, robot/ and sync/ can all depend on it.
 *
 * What counts (DingTalk's billing rules, reference/dingtalk-openapi.md "Monthly quotas"):
 *  - dingtalk: Yida API calls that reached DingTalk and were not refused by throttling (token calls are exempt,
 *    throttled refusals and calls that never left are not counted);
 *  - robot: messages the custom group robot accepted (webhook messages have their own monthly quota);
 *  - okki: OKKI API requests (not billed, but paced: the cost of a backfill at OKKI_QPS).
 */
export const METERED_TARGETS = ['dingtalk', 'okki', 'robot'] as const;
export type MeteredTarget = (typeof METERED_TARGETS)[number];
export type CallCounts = Record<MeteredTarget, number>;

export interface CallMeter {
  /** `n` (default 1) metered calls to `target` just happened */
  tick(target: MeteredTarget, n?: number): void;
}

/** A meter that counts nothing: the default for adapters built without one. */
export const noMeter: CallMeter = { tick() { /* not metered */ } };

export function zeroCounts(): CallCounts {
  return { dingtalk: 0, okki: 0, robot: 0 };
}

/** `after - before`, per target. */
export function diffCounts(after: CallCounts, before: CallCounts): CallCounts {
  return { dingtalk: after.dingtalk - before.dingtalk, okki: after.okki - before.okki, robot: after.robot - before.robot };
}

/** Month-to-date usage against the monthly budgets (GET /usage). A budget of 0 means unlimited. */
export interface UsageReport {
  month: string; // YYYY-MM in SYNC_TIMEZONE
  dingtalk: { calls: number; budget: number };
  robot: { messages: number; budget: number };
}

/** A budget threshold reached this month: 80 % (warn) or 100 % (exhausted). */
export interface QuotaNotice { target: 'dingtalk' | 'robot'; level: 80 | 100; used: number; budget: number }

/** What the engine and the reporter need to know about quotas at the end of a run. */
export interface QuotaStatus {
  usage: UsageReport;
  /** every threshold reached this month (the report shows them) */
  notices: QuotaNotice[];
  /** thresholds reached and not yet announced by a report sent (such a report goes out even when it would be quiet) */
  unannounced: QuotaNotice[];
  dingtalkExhausted: boolean;
  robotExhausted: boolean;
}

/** What the engine asks of metering: totals for per-run deltas, the quota picture, and that a notice was shown. */
export interface UsagePort extends CallMeter {
  totals(): CallCounts;
  /** month-to-date usage against the budgets */
  report(): Promise<UsageReport>;
  quota(): Promise<QuotaStatus>;
  markAnnounced(notices: readonly QuotaNotice[]): Promise<void>;
  /** write buffered counts to the store now */
  flush(): Promise<void>;
}

/** The notices a usage report implies. */
export function noticesOf(u: UsageReport): QuotaNotice[] {
  const out: QuotaNotice[] = [];
  const check = (target: 'dingtalk' | 'robot', used: number, budget: number) => {
    if (budget <= 0) return;
    if (used >= budget) out.push({ target, level: 100, used, budget });
    else if (used >= budget * 0.8) out.push({ target, level: 80, used, budget });
  };
  check('dingtalk', u.dingtalk.calls, u.dingtalk.budget);
  check('robot', u.robot.messages, u.robot.budget);
  return out;
}
