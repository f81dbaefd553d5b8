/**
 * node-cron wiring. `noOverlap` keeps one tick from starting while the last is running in this process; with a shared
 * (Redis) store, `distributed` mode with a RunCoordinator on the store's lease lock lets exactly one replica run a tick.
 */
import cron, { type RunCoordinator, type ScheduledTask } from 'node-cron';
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';
import type { RunMode, SyncService } from './core/index.js';

export interface ScheduleOptions {
  cron: string;
  timezone: string;
  /** what the tick runs (default incremental); a sweep tick that finds another kind of run in progress waits and retries */
  mode?: Exclude<RunMode, 'targeted'>;
  /** task name, the same on every replica (distributed mode keys its claims by it) */
  name?: string;
  /** present when replicas share the store */
  coordinator?: RunCoordinator;
  /** how long a tick waits for its run to finish (keeps noOverlap meaningful) */
  waitMs?: number;
}

export function startSchedule(service: SyncService, opts: ScheduleOptions, logger: Logger): ScheduledTask {
  const waitMs = opts.waitMs ?? 6 * 3600_000;
  const task = cron.schedule(opts.cron, async (ctx) => {
    try {
      // An incremental tick that joins a run in progress is done (that run reads the same window). A sweep is not: it
      // waits for the run it joined and asks again, a few times.
      for (let attempt = 0; attempt < (opts.mode ? 4 : 1); attempt++) {
        const t = await service.trigger({ trigger: 'schedule', requestedBy: `cron ${opts.cron}`, ...(opts.mode ? { mode: opts.mode } : {}) });
        if (t.status === 'skipped') return; // the engine recorded and logged why (the month's call budget is spent)
        logger.info({ runId: t.runId, coalesced: t.coalesced, tick: ctx.dateLocalIso, mode: opts.mode }, t.coalesced ? 'scheduled tick joined the run in progress' : 'scheduled run started');
        if (t.coalesced && !opts.mode) return;
        const run = await service.waitForRun(t.runId, waitMs);
        if (!t.coalesced || run?.mode === opts.mode) return;
      }
      logger.warn({ mode: opts.mode }, 'scheduled tick found other runs in progress every time; it runs at its next tick');
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'scheduled tick could not start a run');
    }
  }, {
    name: opts.name ?? 'okki-yida-sync',
    timezone: opts.timezone,
    noOverlap: true,
    distributed: Boolean(opts.coordinator),
    runCoordinator: opts.coordinator,
    logger: {
      info: (m) => logger.debug({ cron: true }, m),
      warn: (m) => logger.warn({ cron: true }, m),
      error: (m, e) => logger.error({ cron: true, err: e ? errorMessage(e) : undefined }, String(m)),
      debug: (m) => logger.debug({ cron: true }, String(m)),
    },
  });
  return task;
}
