/**
 * The sync service facade: trigger (single flight: start a run, or join the one in progress here or on another
 * replica), the runs and the status as callers see them, and graceful shutdown. The parts it puts together:
 * `lease.ts` (the lease and who holds it), `recovery.ts` (runs whose process died), `lifecycle.ts` (one run from
 * plan to record), `finish.ts` (record, report).
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { ConnectorError, ShuttingDownError, errorMessage } from '../errors.js';
import { runContext, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Stores } from '../store/types.js';
import {
  emptyCounts,
  type Mapping, type ProductSource, type ProductWriter, type Reporter, type RunEvent, type RunRecord,
  type ServiceStatus, type SyncService, type TriggerRequest, type TriggerResult,
} from '../core/index.js';
import { DEFAULT_LEASE_TTL_MS, RunLease } from './lease.js';
import { RunRecovery } from './recovery.js';
import { RunLifecycle, type LiveRun } from './lifecycle.js';
import { RunFinisher } from './finish.js';
import type { GroupPhase } from './groups/phase.js';
import { modeOf } from './plan.js';
import { FollowUps } from './follow-ups.js';
import type { MirrorParts } from './mirror-parts.js';
import { sleep } from '../sleep.js';
import type { UsagePort, UsageReport } from '../core/metering.js';
import { exhaustedFor, skippedRecord } from './metering.js';

export { LOCK_NAME } from './lease.js';
import { LOCK_NAME } from './lease.js';

export interface EngineOptions {
  lookbackSeconds: number;
  /** the source's wall-clock zone, in which the mapping formats dates (SYNC_TIMEZONE) */
  timezone: string;
  /** writes in flight at most (the writer paces below it) */
  maxInFlight: number;
  /** lease length; renewed at a third of it while the run lives (default 30 s) */
  lockTtlMs?: number;
  /** SYNC_CURSOR_MAX_AGE in seconds: a run that leaves an older cursor raises an alert (0 or absent: never) */
  cursorMaxAgeSeconds?: number;
  /** how long a finished run keeps trying to save its record while the store is down (default 5 min) */
  saveRetryMs?: number;
  /** how long shutdown waits for a run to wind down */
  shutdownGraceMs?: number;
}

export interface EngineDeps {
  source: ProductSource;
  mapping: Mapping;
  writer: ProductWriter;
  stores: Stores;
  reporter?: Reporter;
  /** metering and budgets: per-run calls, GET /usage, scheduled runs skipped when the DingTalk budget is spent */
  usage?: UsagePort;
  /** the groups' part of window runs (groups mirror, renamed groups' products read again): sync/groups/phase.ts */
  groups?: GroupPhase;
  metrics: Metrics;
  logger: Logger;
  now?: () => Date;
  /** gone products, sweep and audit (SYNC_DELETIONS ...); absent: gone products are written as usual */
  mirror?: MirrorParts;
}

interface ActiveRun extends LiveRun {
  done: Promise<RunRecord>;
  /** settles when the engine is handed back (the final record saved or given up on, the lease released) */
  freed: Promise<void>; free(): void;
}

export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `run-${t}-${randomBytes(4).toString('hex')}`;
}

export class SyncEngine implements SyncService {
  private active?: ActiveRun;
  /** every run of this process until it is completely done (the active one, and finished ones still reporting) */
  private readonly inProcess = new Map<string, ActiveRun>();
  private readonly listeners = new Set<(event: RunEvent) => void>();
  private claiming?: Promise<TriggerResult>;
  /** triggers the run in progress would not have served, run after it (follow-ups.ts) */
  private readonly followUps: FollowUps;
  private accepting_ = true;
  private readonly now: () => Date;
  private readonly lease: RunLease;
  private readonly recovery: RunRecovery;
  private readonly lifecycle: RunLifecycle;
  private readonly finisher: RunFinisher;

  constructor(private readonly deps: EngineDeps, private readonly opts: EngineOptions) {
    this.now = deps.now ?? (() => new Date());
    const { stores, logger, metrics } = deps;
    this.lease = new RunLease(stores, {
      has: (id) => this.inProcess.has(id), activeId: () => this.active?.record.id,
    }, opts.lockTtlMs ?? DEFAULT_LEASE_TTL_MS);
    this.recovery = new RunRecovery({ runs: stores.runs, lease: this.lease, logger, now: this.now, here: (id) => this.inProcess.has(id) });
    const finisher = this.finisher = new RunFinisher({
      runs: stores.runs, failureStreak: stores.failureStreak, lease: this.lease, reporter: deps.reporter, usage: deps.usage, metrics, logger,
      now: this.now, accepting: () => this.accepting_,
    }, { saveRetryMs: opts.saveRetryMs });
    this.lifecycle = new RunLifecycle({
      source: deps.source, mapping: deps.mapping, writer: deps.writer, cursor: stores.cursor, runs: stores.runs,
      lease: this.lease, finisher, usage: deps.usage, groups: deps.groups, metrics, logger, now: this.now, mirror: deps.mirror,
    }, { lookbackSeconds: opts.lookbackSeconds, maxInFlight: opts.maxInFlight, timezone: opts.timezone, cursorMaxAgeSeconds: opts.cursorMaxAgeSeconds });
    this.followUps = new FollowUps({ trigger: (req) => this.trigger(req), busy: () => this.active !== undefined, accepting: () => this.accepting_, logger });
  }

  get accepting(): boolean { return this.accepting_; }

  private join(req: TriggerRequest, runId: string, running: TriggerRequest | undefined): TriggerResult {
    return this.followUps.join(req, runId, running);
  }

  async trigger(req: TriggerRequest): Promise<TriggerResult> {
    if (!this.accepting_) throw new ShuttingDownError();
    // A run whose record already says it is over (it is saving that record and releasing its lease) must not absorb a
    // trigger: the caller would be handed a finished run that never did what it asked. Wait the moment, then claim.
    while (this.active && this.active.record.status !== 'running') await this.active.freed;
    if (this.active) return this.join(req, this.active.record.id, this.active.request);
    // Concurrent triggers in this process wait for the one claim under way instead of racing for the lock.
    if (this.claiming) {
      const first = await this.claiming;
      // A scheduled tick skipped for budget absorbs other ticks, never a person's trigger: that one gets its own run.
      if (first.status === 'skipped' && req.trigger !== 'schedule') return this.trigger(req);
      const live = this.active as ActiveRun | undefined;
      return this.join(req, first.runId, live?.record.id === first.runId ? live.request : undefined);
    }
    this.claiming = this.skipOrClaim(req);
    try { return await this.claiming; } finally { this.claiming = undefined; }
  }

  /** A scheduled trigger while the month's DingTalk call budget is spent is recorded as skipped instead of run. */
  private async skipOrClaim(req: TriggerRequest): Promise<TriggerResult> {
    const quota = await exhaustedFor(req, this.deps.usage, this.deps.logger);
    if (!quota) return this.claim(req);
    const run = skippedRecord(newRunId(this.now()), this.now(), req, quota);
    await this.finisher.skipped(run, quota);
    return { runId: run.id, status: 'skipped', coalesced: false };
  }

  /** Month-to-date usage against the budgets (GET /usage). */
  async usage(): Promise<UsageReport> {
    if (!this.deps.usage) throw new ConnectorError('USAGE_UNAVAILABLE', 'Metering is not configured');
    return this.deps.usage.report();
  }

  private async claim(req: TriggerRequest): Promise<TriggerResult> {
    const startedAt = this.now();
    const id = newRunId(startedAt);
    const claim = await this.lease.claim(id, (holder) => this.recovery.markInterrupted(holder));
    // A live run (here or on another replica): join it, or follow it.
    if (!claim.claimed) return this.join(req, claim.holder, undefined);
    return this.begin(id, startedAt, req, claim.token);
  }

  private async begin(id: string, startedAt: Date, req: TriggerRequest, token: number): Promise<TriggerResult> {
    const record: RunRecord = {
      id, trigger: req.trigger, requestedBy: req.requestedBy, mode: modeOf(req), status: 'running',
      window: { start: null, end: null }, startedAt: startedAt.toISOString(), finishedAt: null,
      counts: emptyCounts(), failures: [], productNos: req.productNos,
      ...(req.deletedProductNos?.length ? { deletedProductNos: req.deletedProductNos } : {}),
    };
    try {
      await this.deps.stores.runs.put(record);
    } catch (err) {
      await this.lease.release(id).catch(() => undefined);
      throw new ConnectorError('STORE_UNAVAILABLE', `Could not record the run: ${errorMessage(err)}`, { cause: err });
    }
    const abort = new AbortController();
    // Every in-flight request of the run listens on this signal: legitimately many at once.
    setMaxListeners(10_000, abort.signal);
    let free!: () => void;
    const freed = new Promise<void>((r) => { free = r; });
    const active: ActiveRun = {
      record, request: req, abort, done: undefined as unknown as Promise<RunRecord>, freed, free,
      // every ledger transition of the run carries its lease token: once the lease is another's, the run stops
      fence: { lock: LOCK_NAME, owner: id, token },
    };
    this.active = active;
    this.deps.metrics.running.set(1);
    this.emit({ type: 'started', run: record });
    // runContext (log.ts) puts the run id on every line written while the run is in progress.
    active.done = runContext.run({ runId: id }, () => this.lifecycle.run(active, {
      onOver: () => this.release(id),
      onProgress: (progress) => this.emit({ type: 'progress', progress }),
    }))
      .finally(() => { this.release(id); this.inProcess.delete(id); this.emit({ type: 'finished', run: record }); });
    this.inProcess.set(id, active);
    return { runId: id, status: 'running', coalesced: false };
  }

  /** Hand the engine back: the run's work is done (its record saved, or being saved). */
  private release(runId: string): void {
    if (this.active?.record.id !== runId) return;
    const { free } = this.active;
    this.active = undefined;
    this.deps.metrics.running.set(0);
    free();
    this.followUps.released();
  }

  subscribe(listener: (event: RunEvent) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  private emit(event: RunEvent): void {
    for (const listener of this.listeners) {
      // A listener (a console, a progress bar) never disturbs a run.
      try { listener(event); } catch (err) { this.deps.logger.warn({ err: errorMessage(err) }, 'run listener failed'); }
    }
  }

  /**
   * At start-up: runs recorded `running` whose process is gone are recorded as interrupted, and a lease such a run
   * left behind is released (otherwise every trigger would join a run that will never finish).
   */
  recover(): Promise<void> { return this.recovery.recover(); }

  async waitForRun(runId: string, timeoutMs: number): Promise<RunRecord | undefined> {
    const deadline = Date.now() + timeoutMs;
    const here = this.inProcess.get(runId)?.done;
    if (here) {
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([here, new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), timeoutMs); })]);
      clearTimeout(timer);
      return finished ?? this.getRun(runId);
    }
    // A run on another replica: follow its record in the shared store. A replica records its run just after taking
    // the lease, so a run joined at that moment may not be visible yet: keep looking until the deadline.
    for (;;) {
      const run = await this.getRun(runId);
      if (run && run.status !== 'running') return run;
      if (run && await this.lease.isDead(runId)) return this.recovery.markInterrupted(runId);
      if (Date.now() >= deadline) return run;
      await sleep(Math.min(250, Math.max(10, deadline - Date.now())));
    }
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    // This process's own runs are served from memory: fresher than the store, and readable while it is down.
    const here = this.inProcess.get(id);
    if (here) return here.record;
    return this.recovery.healed(await this.deps.stores.runs.get(id));
  }

  async listRuns(limit: number): Promise<RunRecord[]> {
    return Promise.all((await this.deps.stores.runs.list(limit)).map(async (r) => (await this.recovery.healed(r))!));
  }

  async status(): Promise<ServiceStatus> {
    const cursor = await this.deps.stores.cursor.get().catch(() => undefined);
    return {
      cursor: cursor ? this.deps.source.formatTime(cursor) : null,
      runningRunId: this.active?.record.id ?? (await this.lease.holder().catch(() => undefined)) ?? null,
    };
  }

  async ready(): Promise<{ ok: boolean; checks: Record<string, boolean> }> {
    const store = await this.deps.stores.ping().catch(() => false);
    const checks = { store, config: true, mapping: Boolean(this.deps.mapping.keyField), accepting: this.accepting_ };
    return { ok: Object.values(checks).every(Boolean), checks };
  }

  /**
   * Stop taking triggers and stop the run in progress from reading more: writes already in flight settle (a write
   * cut off half-way is what makes duplicates), the run is recorded as failed with the cursor unchanged, and the lock
   * is released. Bounded by the grace period; what is still pending then is reconciled by the next run.
   */
  async shutdown(): Promise<void> {
    this.accepting_ = false;
    const dropped = this.followUps.stop();
    if (dropped.length) this.deps.logger.warn({ followUps: dropped.map((r) => modeOf(r)) }, 'queued follow-up runs not started: the service is shutting down');
    if (this.claiming) await this.claiming.catch(() => undefined);
    this.active?.abort.abort(new ConnectorError('RUN_ABORTED', 'The service shut down during the run'));
    if (!this.inProcess.size) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.inProcess.values()].map((r) => r.done)), new Promise((r) => { timer = setTimeout(r, this.opts.shutdownGraceMs ?? 20_000); })]);
    clearTimeout(timer);
  }
}
