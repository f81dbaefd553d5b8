/**
 * The end of a run: its record completed and saved (retrying while the store is down, bounded), the lease released,
 * the failure streak kept, and the report sent (a robot failure never fails the run).
 */
import { errorMessage } from '../errors.js';
import type { Reporter, RunRecord } from '../core/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { FailureStreakStore, RunStore } from '../store/types.js';
import { sleep } from '../sleep.js';
import type { RunLease } from './lease.js';

export interface FinisherDeps {
  runs: RunStore;
  failureStreak: FailureStreakStore;
  lease: RunLease;
  reporter?: Reporter;
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
  constructor(private readonly deps: FinisherDeps, private readonly opts: { saveRetryMs?: number } = {}) {}

  /** Complete, save, release, report. `onOver` is called as soon as the run no longer holds the engine. */
  async finish(run: RunRecord, startedMs: number, onOver: () => void): Promise<RunRecord> {
    const { runs, lease, reporter, metrics, logger: log } = this.deps;
    run.finishedAt = this.deps.now().toISOString();
    run.durationMs = Date.now() - startedMs;
    metrics.runs.inc({ status: run.status, trigger: run.trigger });
    metrics.runDuration.observe({ mode: run.mode }, run.durationMs / 1000);

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
      run.report = await reporter.report(run, { consecutiveFailures });
      if (!run.report.sent && run.report.error) log.warn({ err: run.report.error }, 'run report not sent');
    }
    if (reporter || !saved) {
      await this.persist(run, log);
      if (!saved) await lease.releaseQuietly(run.id, log);
    }
    return run;
  }

  /**
   * Save a finished run, retrying while the store is down (bounded): a run must not stay `running` for ever. What
   * cannot be saved before the process ends is recorded as interrupted by the next start-up.
   */
  private async persist(run: RunRecord, log: Logger): Promise<void> {
    const deadline = Date.now() + (this.opts.saveRetryMs ?? 300_000);
    for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
      try { await this.deps.runs.put(run); return; } catch (err) {
        if (Date.now() + delay > deadline || !this.deps.accepting()) {
          log.error({ err: errorMessage(err) }, 'could not record the finished run; the next start-up records it as interrupted');
          return;
        }
        await sleep(delay);
      }
    }
  }
}
