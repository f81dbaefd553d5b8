/**
 * The engine's side of metering and budgets: per-run call counts (deltas of the meter's totals: one run at a time per
 * process), the quota picture handed to the reporter, and the record of a scheduled run skipped because the month's
 * DingTalk call budget is spent (webhook, CLI and start-up runs always run: a person asked for them).
 */
import { diffCounts, type CallCounts, type QuotaStatus, type UsagePort } from '../core/metering.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { emptyCounts, type RunRecord, type TriggerRequest } from '../core/index.js';

export const BUDGET_EXHAUSTED = 'BUDGET_EXHAUSTED';

/** Counts the calls of one run: what the meter counted since `start`. */
export class RunCalls {
  private readonly before?: CallCounts;
  constructor(private readonly usage?: UsagePort) { this.before = usage?.totals(); }
  now(): CallCounts | undefined {
    return this.usage && this.before ? diffCounts(this.usage.totals(), this.before) : undefined;
  }
}

/** The quota picture after a run, with this run's calls written to the store first. Undefined when unknown. */
export async function quotaAfterRun(usage: UsagePort | undefined, log: Logger): Promise<QuotaStatus | undefined> {
  if (!usage) return undefined;
  await usage.flush().catch(() => undefined); // a store outage keeps them buffered; the figures are then a little low
  try { return await usage.quota(); } catch (err) {
    log.warn({ err: errorMessage(err) }, 'could not read the month\'s API usage');
    return undefined;
  }
}

/** For a scheduled trigger: the quota when the DingTalk call budget is spent (the run is skipped), else undefined. */
export async function exhaustedFor(req: TriggerRequest, usage: UsagePort | undefined, log: Logger): Promise<QuotaStatus | undefined> {
  if (req.trigger !== 'schedule' || !usage) return undefined;
  try {
    const q = await usage.quota();
    return q.dingtalkExhausted ? q : undefined;
  } catch (err) {
    // Not knowing is no reason to stop syncing: the run goes ahead (and meets the store outage itself, if that is it).
    log.warn({ err: errorMessage(err) }, 'could not check the DingTalk call budget; running anyway');
    return undefined;
  }
}

export function skippedRecord(id: string, at: Date, req: TriggerRequest, quota: QuotaStatus): RunRecord {
  const { calls, budget } = quota.usage.dingtalk;
  return {
    id, trigger: req.trigger, requestedBy: req.requestedBy, mode: req.mode ?? 'incremental', status: 'skipped',
    window: { start: null, end: null }, startedAt: at.toISOString(), finishedAt: at.toISOString(), durationMs: 0,
    counts: emptyCounts(), failures: [],
    error: {
      code: BUDGET_EXHAUSTED,
      message: `The month's DingTalk call budget is spent (${calls} of ${budget} metered calls in ${quota.usage.month}): scheduled runs are skipped until next month or until DINGTALK_MONTHLY_CALL_BUDGET is raised; a run started from the webhook still runs`,
    },
    calls: { dingtalk: 0, okki: 0, robot: 0 },
  };
}
