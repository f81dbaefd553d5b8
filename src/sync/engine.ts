/**
 * The sync engine: single-flight runs (a lease in the store, so one run at a time across replicas), the run's
 * lifecycle (claim → groups → window → pipeline → cursor → record → report → release) and graceful shutdown.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { ConnectorError, errorCode, errorMessage } from '../errors.js';
import { redact } from '../config.js';
import { runContext, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Stores } from '../store/types.js';
import { emptyCounts, runPipeline } from './pipeline.js';
import type { ServiceStatus, SyncService, TriggerRequest, TriggerResult } from '../core/index.js';
import type { Mapping, ProductSource, ProductWriter, Reporter, RunMode, RunRecord } from '../core/index.js';
import { windowFor } from './window.js';
import { ownerGone, recordOwner } from './run-owner.js';
import { sleep } from '../sleep.js';

export const LOCK_NAME = 'sync:lock';
const CONSECUTIVE_FAILURES_KEY = 'runs:consecutiveFailures';
/** errors after which no further product can be written: the run stops instead of failing product by product */
const FATAL_WRITE_CODES = new Set(['STORE_UNAVAILABLE', 'YIDA_AUTH_FAILED']);

export interface EngineOptions {
  lookbackSeconds: number;
  timezone: string;
  /** writes in flight at most (the writer paces below it) */
  maxInFlight: number;
  /** product fields to fetch via detail calls because the mapping needs them and list items lack them */
  detailFields?: readonly string[];
  /** lease length; renewed at a third of it while the run lives (default 30 s) */
  lockTtlMs?: number;
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
  metrics: Metrics;
  logger: Logger;
  now?: () => Date;
}

interface ActiveRun {
  record: RunRecord; done: Promise<RunRecord>; abort: AbortController;
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
  private claiming?: Promise<TriggerResult>;
  private accepting_ = true;
  private readonly now: () => Date;
  private readonly lockTtlMs: number;

  constructor(private readonly deps: EngineDeps, private readonly opts: EngineOptions) {
    this.now = deps.now ?? (() => new Date());
    this.lockTtlMs = opts.lockTtlMs ?? 30_000;
  }

  get accepting(): boolean { return this.accepting_; }

  async trigger(req: TriggerRequest): Promise<TriggerResult> {
    if (!this.accepting_) throw new ConnectorError('SERVICE_SHUTTING_DOWN', 'The service is shutting down; try again shortly', { status: 503 });
    // A run whose record already says it is over (it is saving that record and releasing its lease) must not absorb a
    // trigger: the caller would be handed a finished run that never did what it asked. Wait the moment, then claim.
    while (this.active && this.active.record.status !== 'running') await this.active.freed;
    if (this.active) return { runId: this.active.record.id, status: 'running', coalesced: true };
    // Concurrent triggers in this process wait for the one claim under way instead of racing for the lock.
    if (this.claiming) {
      const first = await this.claiming;
      return { ...first, coalesced: true };
    }
    this.claiming = this.claim(req);
    try { return await this.claiming; } finally { this.claiming = undefined; }
  }

  private async claim(req: TriggerRequest): Promise<TriggerResult> {
    const { lock, kv } = this.deps.stores;
    const startedAt = this.now();
    const id = newRunId(startedAt);
    // Who runs it is known before the lease is taken, so a holder without an owner record is never taken for dead.
    await recordOwner(kv, id);
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await lock.acquire(LOCK_NAME, id, this.lockTtlMs)) return this.begin(id, startedAt, req);
      const holder = await lock.holder(LOCK_NAME);
      if (!holder) continue; // released in between: try again
      if (this.inProcess.has(holder) && this.active?.record.id !== holder) {
        // A run of this process that is over but could not release its lease yet (its store was down).
        await lock.release(LOCK_NAME, holder);
        continue;
      }
      if (await this.isDead(holder)) {
        // Left by a process that died (or by a run here that could not release it): free it and claim again.
        await this.markInterrupted(holder);
        await lock.release(LOCK_NAME, holder);
        continue;
      }
      // A live run (here or on another replica): join it.
      return { runId: holder, status: 'running', coalesced: true };
    }
    throw new ConnectorError('SYNC_LOCK_UNAVAILABLE', 'Could not claim the sync lock', { status: 503 });
  }

  private isDead(runId: string): Promise<boolean> {
    return ownerGone(this.deps.stores.kv, runId, (id) => this.inProcess.has(id));
  }

  /** Record a run whose process died as failed, so it does not show `running` for ever. */
  private async markInterrupted(runId: string): Promise<RunRecord | undefined> {
    const run = await this.deps.stores.runs.get(runId);
    if (!run || run.status !== 'running') return run;
    run.status = 'failed';
    run.finishedAt = this.now().toISOString();
    run.error = { code: 'RUN_INTERRUPTED', message: 'The process running it stopped before it finished; the next run repeats its window' };
    run.cursorAfter = run.cursorBefore ?? null;
    await this.deps.stores.runs.put(run);
    this.deps.logger.warn({ interruptedRunId: runId }, 'found a run whose process died; recorded it as interrupted');
    return run;
  }

  /**
   * At start-up: runs recorded `running` whose process is gone (killed, crashed, or stopped during a store outage) are
   * recorded as interrupted, and a lease such a run left behind is released.
   */
  async recover(): Promise<void> {
    const { lock, runs } = this.deps.stores;
    const holder = await lock.holder(LOCK_NAME);
    for (const run of await runs.list(50)) {
      if (run.status !== 'running') continue;
      // A live run always holds the lease; one that does not is over, whatever its record says.
      if (run.id === holder && !(await this.isDead(run.id))) continue;
      await this.markInterrupted(run.id);
      if (run.id === holder) await lock.release(LOCK_NAME, run.id);
    }
  }

  private async begin(id: string, startedAt: Date, req: TriggerRequest): Promise<TriggerResult> {
    const mode: RunMode = req.productNos?.length ? 'targeted' : req.mode ?? 'incremental';
    const record: RunRecord = {
      id, trigger: req.trigger, requestedBy: req.requestedBy, mode, status: 'running',
      window: { start: null, end: null }, startedAt: startedAt.toISOString(), finishedAt: null,
      counts: emptyCounts(), failures: [], productNos: req.productNos,
    };
    try {
      await this.deps.stores.runs.put(record);
    } catch (err) {
      await this.deps.stores.lock.release(LOCK_NAME, id).catch(() => undefined);
      throw new ConnectorError('STORE_UNAVAILABLE', `Could not record the run: ${errorMessage(err)}`, { status: 503, cause: err });
    }
    const abort = new AbortController();
    // Every in-flight request of the run listens on this signal: legitimately many at once.
    setMaxListeners(10_000, abort.signal);
    let free!: () => void;
    const freed = new Promise<void>((r) => { free = r; });
    const active: ActiveRun = { record, abort, done: undefined as unknown as Promise<RunRecord>, freed, free };
    this.active = active;
    this.deps.metrics.running.set(1);
    active.done = runContext.run({ runId: id }, () => this.execute(record, req, abort))
      .finally(() => { this.release(id); this.inProcess.delete(id); });
    this.inProcess.set(id, active);
    return { runId: id, status: 'running', coalesced: false };
  }

  /** Never rejects: every outcome ends in a run record. */
  private async execute(run: RunRecord, req: TriggerRequest, abort: AbortController): Promise<RunRecord> {
    const { source, mapping, writer, stores, metrics, logger } = this.deps;
    // runContext (log.ts) puts the run id on every line written while the run is in progress.
    const log = logger;
    const started = Date.now();
    const heartbeat = setInterval(() => {
      stores.lock.renew(LOCK_NAME, run.id, this.lockTtlMs).then((held) => {
        if (!held) { log.error('lost the sync lock; stopping the run'); abort.abort(new ConnectorError('SYNC_LOCK_LOST', 'The sync lock was lost')); }
      }, (err) => log.warn({ err: errorMessage(err) }, 'could not renew the sync lock'));
    }, Math.max(1000, Math.floor(this.lockTtlMs / 3)));
    heartbeat.unref();
    log.info({ trigger: run.trigger, mode: run.mode, requestedBy: run.requestedBy }, 'run started');

    try {
      const cursor = await stores.cursor.get();
      run.cursorBefore = cursor ? source.formatTime(cursor) : null;
      const groups = await source.groups({ signal: abort.signal });
      const nowAt = this.now();
      const ctx = { groups, lastSyncTime: cursor, now: nowAt, timezone: this.opts.timezone };
      const pull = { detailFields: this.opts.detailFields, signal: abort.signal };
      let pages;
      let window;
      if (run.mode === 'targeted') {
        pages = source.byProductNos(req.productNos ?? [], pull);
      } else {
        window = windowFor(run.mode, cursor, this.opts.lookbackSeconds, nowAt);
        run.window = { start: window.start ? source.formatTime(window.start) : null, end: source.formatTime(window.end) };
        pages = source.pages(window, pull);
      }
      await stores.runs.put(run);
      if (cursor === undefined && run.mode !== 'targeted') await writer.preloadExisting?.(abort.signal);

      // The pipeline fills the record's counts and failures in place, so GET /runs/:id shows progress.
      const result = await runPipeline(pages, ctx, {
        mapping, writer, metrics, maxInFlight: this.opts.maxInFlight,
        // With no cursor (first run, or a store that lost its ledger) instances may already exist in Yida: every new
        // product number is looked up before it is created, so a lost ledger never means a second instance.
        searchFirst: cursor === undefined,
        onFailure: (code, reason) => {
          if (FATAL_WRITE_CODES.has(code) && !abort.signal.aborted) abort.abort(new ConnectorError(code, reason));
        },
      }, abort.signal, run);
      run.failuresTotal = result.failuresTotal;
      if (result.aborted) throw abort.signal.reason ?? new ConnectorError('RUN_ABORTED', 'The run was stopped');

      // The cursor moves only when every product of the window is done or parked as rejected; a failed write
      // means the next run must read this window again.
      if (window && result.counts.failed === 0) {
        await stores.cursor.set(window.end);
        run.cursorAfter = source.formatTime(window.end);
      } else {
        run.cursorAfter = run.cursorBefore;
      }
      run.status = result.counts.failed > 0 || result.counts.rejected > 0 ? 'partial' : 'succeeded';
    } catch (err) {
      run.status = 'failed';
      run.cursorAfter = run.cursorBefore ?? null;
      run.error = { code: errorCode(err), message: redact(errorMessage(err)) };
      log.error({ code: run.error.code, err: run.error.message }, 'run failed');
    } finally {
      clearInterval(heartbeat);
      writer.dropExisting?.();
    }

    run.finishedAt = this.now().toISOString();
    run.durationMs = Date.now() - started;
    metrics.runs.inc({ status: run.status, trigger: run.trigger });
    metrics.runDuration.observe({ mode: run.mode }, run.durationMs / 1000);

    const consecutiveFailures = await this.countFailures(run).catch(() => undefined);
    log.info({ status: run.status, counts: run.counts, durationMs: run.durationMs, failuresTotal: run.failuresTotal ?? 0 }, 'run finished');
    const saved = await this.deps.stores.runs.put(run).then(() => true, () => false);
    if (saved) await this.releaseLease(run.id, log);
    // The run is over: a trigger from now on starts a new one, even while this one is still reporting or waiting for
    // its store to come back.
    this.release(run.id);
    if (this.deps.reporter) {
      run.report = await this.deps.reporter.report(run, { consecutiveFailures });
      if (!run.report.sent && run.report.error) log.warn({ err: run.report.error }, 'run report not sent');
    }
    if (this.deps.reporter || !saved) {
      await this.persist(run, log);
      if (!saved) await this.releaseLease(run.id, log);
    }
    return run;
  }

  private releaseLease(runId: string, log: Logger): Promise<void> {
    return this.deps.stores.lock.release(LOCK_NAME, runId)
      .catch((err) => log.warn({ err: errorMessage(err) }, 'could not release the sync lock; it expires by itself'));
  }

  /** Hand the engine back: the run's work is done (its record saved, or being saved). */
  private release(runId: string): void {
    if (this.active?.record.id !== runId) return;
    const { free } = this.active;
    this.active = undefined;
    this.deps.metrics.running.set(0);
    free();
  }

  /**
   * Save a finished run, retrying while the store is down (bounded): a run must not stay `running` for ever. What
   * cannot be saved before the process ends is recorded as interrupted by the next start-up.
   */
  private async persist(run: RunRecord, log: Logger): Promise<void> {
    const deadline = Date.now() + (this.opts.saveRetryMs ?? 300_000);
    for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
      try { await this.deps.stores.runs.put(run); return; } catch (err) {
        if (Date.now() + delay > deadline || !this.accepting_) {
          log.error({ err: errorMessage(err) }, 'could not record the finished run; the next start-up records it as interrupted');
          return;
        }
        await sleep(delay);
      }
    }
  }

  private async countFailures(run: RunRecord): Promise<number> {
    const kv = this.deps.stores.kv;
    const n = run.status === 'failed' ? (Number(await kv.get(CONSECUTIVE_FAILURES_KEY)) || 0) + 1 : 0;
    await kv.set(CONSECUTIVE_FAILURES_KEY, n);
    return n;
  }

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
      if (run && await this.isDead(runId)) return this.markInterrupted(runId);
      if (Date.now() >= deadline) return run;
      await sleep(Math.min(250, Math.max(10, deadline - Date.now())));
    }
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    // This process's own runs are served from memory: fresher than the store, and readable while it is down.
    const here = this.inProcess.get(id);
    if (here) return here.record;
    return this.healed(await this.deps.stores.runs.get(id));
  }

  async listRuns(limit: number): Promise<RunRecord[]> {
    return Promise.all((await this.deps.stores.runs.list(limit)).map(async (r) => (await this.healed(r))!));
  }

  /** A record still `running` whose process is gone is shown (and stored) as interrupted. */
  private async healed(run: RunRecord | undefined): Promise<RunRecord | undefined> {
    if (!run || run.status !== 'running' || this.inProcess.has(run.id) || !(await this.isDead(run.id))) return run;
    return (await this.markInterrupted(run.id)) ?? run;
  }

  async status(): Promise<ServiceStatus> {
    const cursor = await this.deps.stores.cursor.get().catch(() => undefined);
    return {
      cursor: cursor ? this.deps.source.formatTime(cursor) : null,
      runningRunId: this.active?.record.id ?? (await this.deps.stores.lock.holder(LOCK_NAME).catch(() => undefined)) ?? null,
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
    if (this.claiming) await this.claiming.catch(() => undefined);
    this.active?.abort.abort(new ConnectorError('RUN_ABORTED', 'The service shut down during the run'));
    if (!this.inProcess.size) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.inProcess.values()].map((r) => r.done)), new Promise((r) => { timer = setTimeout(r, this.opts.shutdownGraceMs ?? 20_000); })]);
    clearTimeout(timer);
  }
}
