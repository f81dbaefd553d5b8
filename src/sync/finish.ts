/**
 * The end of a run: its record completed and saved (retrying while the store is down, bounded), the lease released,
 * the failure streak kept, and the report sent (a robot failure never fails the run).
 */
import { errorMessage } from '../errors.js';
import type { Reporter, RunRecord } from '../core/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { FailureStreakStore, RunStore } from '../store/types.js';
import { exponential, resolveRetryPolicy, retrying, type RetryPolicy } from '../outbound/index.js';
import type { RunLease } from './lease.js';
import type { QuotaStatus, UsagePort } from '../core/metering.js';
import { quotaAfterRun, type RunCalls } from './metering.js';

export interface FinisherDeps {
  runs: RunStore;
  failureStreak: FailureStreakStore;
  lease: RunLease;
  reporter?: Reporter;
  /** metering: the run's calls go on its record, the month's quota picture to the reporter */
  usage?: UsagePort;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  /** false once the service shuts down: a save that keeps failing then gives up at once */
  accepting: () => boolean;
}

/** Failed and rejected products of a run by code, with up to 5 product numbers each; undefined when there are none. */
export function failureSummary(run: RunRecord): Record<string, { count: number; examples: Array<string | null> }> | undefined {
  if (!run.failures.length) return undefined;
  const byCode: Record<string, { count: number; examples: Array<string | null> }> = {};
  for (const f of run.failures) {
    const c = (byCode[f.code] ??= { count: 0, examples: [] });
    c.count++;
    if (c.examples.length < 5) c.examples.push(f.product_no);
  }
  return byCode;
}

export class RunFinisher {
  /** saving a finished record: 250 ms doubling to 5 s, no jitter, for at most saveRetryMs (default 5 min) */
  private readonly savePolicy: RetryPolicy;

  constructor(private readonly deps: FinisherDeps, opts: { saveRetryMs?: number } = {}) {
    this.savePolicy = resolveRetryPolicy({ limit: Infinity, delay: exponential(250), backoffLimit: 5000, jitter: 0, maxElapsed: opts.saveRetryMs ?? 300_000 });
  }

  /** Complete, save, release, report. `onOver` is called as soon as the run no longer holds the engine. */
  async finish(run: RunRecord, startedMs: number, onOver: () => void, calls?: RunCalls): Promise<RunRecord> {
    const { runs, lease, reporter, metrics, logger: log } = this.deps;
    run.finishedAt = this.deps.now().toISOString();
    run.durationMs = Date.now() - startedMs;
    metrics.runs.inc({ status: run.status, trigger: run.trigger });
    metrics.runDuration.observe({ mode: run.mode }, run.durationMs / 1000);
    run.calls = calls?.now();

    const consecutiveFailures = await this.deps.failureStreak.record(run.status === 'failed').catch(() => undefined);
    const failed = failureSummary(run);
    // The one line about failed products per run (the writer logs each only at debug): counts by code, a few examples.
    if (failed) log.warn({ status: run.status, counts: run.counts, durationMs: run.durationMs, failuresTotal: run.failuresTotal ?? 0, failures: failed }, 'run finished');
    else log.info({ status: run.status, counts: run.counts, durationMs: run.durationMs, failuresTotal: run.failuresTotal ?? 0 }, 'run finished');
    // The run is over: a trigger from now on starts a new one, even while this one is still being saved, reporting or
    // waiting for its store to come back (a trigger that finds this run's lease not yet released frees it: lease.ts).
    onOver();
    const saved = await runs.put(run).then(() => true, () => false);
    if (saved) await lease.releaseQuietly(run.id, log);
    if (reporter) {
      const quota = await quotaAfterRun(this.deps.usage, log);
      await this.report(run, { consecutiveFailures, quota });
      run.calls = calls?.now(); // with the report's robot message
    } else {
      await this.deps.usage?.flush().catch(() => undefined);
    }
    if (reporter || !saved) {
      await this.persist(run, log);
      if (!saved) await lease.releaseQuietly(run.id, log);
    }
    return run;
  }

  /** Record (and report, when there is news for the robot) a scheduled run skipped because the call budget is spent. */
  async skipped(run: RunRecord, quota: QuotaStatus): Promise<void> {
    this.deps.metrics.runs.inc({ status: run.status, trigger: run.trigger });
    this.deps.logger.warn({ runId: run.id, usage: quota.usage.dingtalk }, 'scheduled run skipped: the month\'s DingTalk call budget is spent');
    await this.deps.runs.put(run);
    if (!this.deps.reporter) return;
    await this.report(run, { quota });
    await this.deps.runs.put(run).catch(() => undefined);
  }

  /** Report, and remember a quota threshold as announced once a report that showed it was sent. */
  private async report(run: RunRecord, extra: { consecutiveFailures?: number; quota?: QuotaStatus }): Promise<void> {
    run.report = await this.deps.reporter!.report(run, extra);
    if (!run.report.sent && run.report.error) this.deps.logger.warn({ err: run.report.error }, 'run report not sent');
    if (run.report.sent && extra.quota?.unannounced.length) await this.deps.usage?.markAnnounced(extra.quota.unannounced).catch(() => undefined);
  }

  /**
   * Save a finished run, retrying while the store is down (bounded): a run must not stay `running` for ever. What
   * cannot be saved before the process ends is recorded as interrupted by the next start-up.
   */
  private async persist(run: RunRecord, log: Logger): Promise<void> {
    try {
      // a put of the same record is idempotent; once the service shuts down a failure is final
      await retrying(() => this.deps.runs.put(run), {
        policy: this.savePolicy, kind: 'idempotent',
        classify: () => (this.deps.accepting() ? { kind: 'ambiguous' } : { kind: 'fatal' }),
      });
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'could not record the finished run; the next start-up records it as interrupted');
    }
  }
}
