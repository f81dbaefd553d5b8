/**
 * Runs whose process died: recorded as interrupted (failed, cursor unchanged) so that they do not show `running` for
 * ever, at start-up and whenever such a record is read.
 */
import type { RunRecord } from '../core/index.js';
import type { Logger } from '../log.js';
import type { RunStore } from '../store/types.js';
import type { RunLease } from './lease.js';

export class RunRecovery {
  constructor(private readonly deps: { runs: RunStore; lease: RunLease; logger: Logger; now: () => Date; here: (runId: string) => boolean }) {}

  /** Record a run whose process died as failed, so it does not show `running` for ever. */
  async markInterrupted(runId: string): Promise<RunRecord | undefined> {
    const run = await this.deps.runs.get(runId);
    if (!run || run.status !== 'running') return run;
    run.status = 'failed';
    run.finishedAt = this.deps.now().toISOString();
    run.error = { code: 'RUN_INTERRUPTED', message: 'The process running it stopped before it finished; the next run repeats its window' };
    run.cursorAfter = run.cursorBefore ?? null;
    await this.deps.runs.put(run);
    this.deps.logger.warn({ interruptedRunId: runId }, 'found a run whose process died; recorded it as interrupted');
    return run;
  }

  /**
   * At start-up: runs recorded `running` whose process is gone (killed, crashed, or stopped during a store outage) are
   * recorded as interrupted, and a lease such a run left behind is released.
   */
  async recover(): Promise<void> {
    const { runs, lease } = this.deps;
    const holder = await lease.holder();
    for (const run of await runs.list(50)) {
      if (run.status !== 'running') continue;
      // A live run always holds the lease; one that does not is over, whatever its record says.
      if (run.id === holder && !(await lease.isDead(run.id))) continue;
      await this.markInterrupted(run.id);
      if (run.id === holder) await lease.release(run.id);
    }
  }

  /** A record still `running` whose process is gone is shown (and stored) as interrupted. */
  async healed(run: RunRecord | undefined): Promise<RunRecord | undefined> {
    if (!run || run.status !== 'running' || this.deps.here(run.id) || !(await this.deps.lease.isDead(run.id))) return run;
    return (await this.markInterrupted(run.id)) ?? run;
  }
}
