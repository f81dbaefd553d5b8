/**
 * node-cron wiring. `noOverlap` keeps one tick from starting while the last is running in this process; with a shared
 * (Redis) store, `distributed` mode with a RunCoordinator on the store's lease lock lets exactly one replica run a tick.
 */
import cron, { type RunCoordinator, type ScheduledTask } from 'node-cron';
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';
import type { SyncService } from './core/index.js';

export interface ScheduleOptions {
  cron: string;
  timezone: string;
  /** present when replicas share the store */
  coordinator?: RunCoordinator;
  /** how long a tick waits for its run to finish (keeps noOverlap meaningful) */
  waitMs?: number;
}

export function startSchedule(service: SyncService, opts: ScheduleOptions, logger: Logger): ScheduledTask {
  const task = cron.schedule(opts.cron, async (ctx) => {
    try {
      const t = await service.trigger({ trigger: 'schedule', requestedBy: `cron ${opts.cron}` });
      if (t.status === 'skipped') return; // the engine recorded and logged why (the month's call budget is spent)
      logger.info({ runId: t.runId, coalesced: t.coalesced, tick: ctx.dateLocalIso }, t.coalesced ? 'scheduled tick joined the run in progress' : 'scheduled run started');
      if (!t.coalesced) await service.waitForRun(t.runId, opts.waitMs ?? 6 * 3600_000);
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'scheduled tick could not start a run');
    }
  }, {
    name: 'okki-yida-sync',
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
