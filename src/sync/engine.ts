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
import type { ServiceStatus, SyncService, TriggerRequest, TriggerResult } from './service.js';
import type { Mapping, ProductSource, ProductWriter, Reporter, RunMode, RunRecord } from './types.js';
import { windowFor } from './window.js';

export const LOCK_NAME = 'sync:lock';
const CONSECUTIVE_FAILURES_KEY = 'runs:consecutiveFailures';

export interface EngineOptions {
  lookbackSeconds: number;
  timezone: string;
  /** writes in flight at most (the writer paces below it) */
  maxInFlight: number;
  /** product fields to fetch via detail calls because the mapping needs them and list items lack them */
  detailFields?: readonly string[];
  sandbox?: boolean;
  /** lease length; renewed at a third of it while the run lives */
  lockTtlMs?: number;
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
  /** when the schedule fires next (wired by main) */
  nextScheduledRun?: () => Date | null;
}

interface ActiveRun { record: RunRecord; done: Promise<RunRecord>; abort: AbortController }

export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `run-${t}-${randomBytes(4).toString('hex')}`;
}

export class SyncEngine implements SyncService {
  private active?: ActiveRun;
  private claiming?: Promise<TriggerResult>;
  private accepting_ = true;
  private readonly now: () => Date;
  private readonly lockTtlMs: number;

  constructor(private readonly deps: EngineDeps, private readonly opts: EngineOptions) {
    this.now = deps.now ?? (() => new Date());
    this.lockTtlMs = opts.lockTtlMs ?? 60_000;
  }

  get accepting(): boolean { return this.accepting_; }

  async trigger(req: TriggerRequest): Promise<TriggerResult> {
    if (!this.accepting_) throw new ConnectorError('SERVICE_SHUTTING_DOWN', 'The service is shutting down; try again shortly', { status: 503 });
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
    const startedAt = this.now();
    const id = newRunId(startedAt);
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.deps.stores.lock.acquire(LOCK_NAME, id, this.lockTtlMs)) return this.begin(id, startedAt, req);
      // Held elsewhere (another replica): join that run. The holder may have finished in between: try again.
      const holder = await this.deps.stores.lock.holder(LOCK_NAME);
      if (holder) return { runId: holder, status: 'running', coalesced: true };
    }
    throw new ConnectorError('SYNC_LOCK_UNAVAILABLE', 'Could not claim the sync lock', { status: 503 });
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
    const active: ActiveRun = { record, abort, done: undefined as unknown as Promise<RunRecord> };
    this.active = active;
    this.deps.metrics.running.set(1);
    active.done = runContext.run({ runId: id }, () => this.execute(record, req, abort))
      .finally(() => { if (this.active === active) this.active = undefined; this.deps.metrics.running.set(0); });
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

      // The pipeline fills the record's counts and failures in place, so GET /runs/:id shows progress.
      const result = await runPipeline(pages, ctx, { mapping, writer, metrics, logger: log, maxInFlight: this.opts.maxInFlight }, abort.signal, run);
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
    }

    run.finishedAt = this.now().toISOString();
    run.durationMs = Date.now() - started;
    metrics.runs.inc({ status: run.status, trigger: run.trigger });
    metrics.runDuration.observe({ mode: run.mode }, run.durationMs / 1000);

    const consecutiveFailures = await this.countFailures(run).catch(() => undefined);
    await this.save(run, log);
    if (this.deps.reporter) {
      run.report = await this.deps.reporter.report(run, { consecutiveFailures });
      if (!run.report.sent && run.report.error) log.warn({ err: run.report.error }, 'run report not sent');
      await this.save(run, log);
    }
    await stores.lock.release(LOCK_NAME, run.id).catch((err) => log.warn({ err: errorMessage(err) }, 'could not release the sync lock; it expires by itself'));
    log.info({ status: run.status, counts: run.counts, durationMs: run.durationMs, failuresTotal: run.failuresTotal ?? 0 }, 'run finished');
    return run;
  }

  private async countFailures(run: RunRecord): Promise<number> {
    const kv = this.deps.stores.kv;
    const n = run.status === 'failed' ? (Number(await kv.get(CONSECUTIVE_FAILURES_KEY)) || 0) + 1 : 0;
    await kv.set(CONSECUTIVE_FAILURES_KEY, n);
    return n;
  }

  private async save(run: RunRecord, log: Logger): Promise<void> {
    try { await this.deps.stores.runs.put(run); } catch (err) { log.error({ err: errorMessage(err) }, 'could not record the run'); }
  }

  async waitForRun(runId: string, timeoutMs: number): Promise<RunRecord | undefined> {
    const deadline = Date.now() + timeoutMs;
    if (this.active?.record.id === runId) {
      const done = this.active.done;
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([done, new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), timeoutMs); })]);
      clearTimeout(timer);
      return finished ?? this.active?.record ?? this.getRun(runId);
    }
    // A run on another replica: follow its record in the shared store.
    for (;;) {
      const run = await this.getRun(runId);
      if (!run || run.status !== 'running' || Date.now() >= deadline) return run;
      await new Promise((r) => setTimeout(r, Math.min(250, Math.max(10, deadline - Date.now()))));
    }
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    if (this.active?.record.id === id) return this.active.record;
    return this.deps.stores.runs.get(id);
  }

  listRuns(limit: number): Promise<RunRecord[]> { return this.deps.stores.runs.list(limit); }

  async status(): Promise<ServiceStatus> {
    const cursor = await this.deps.stores.cursor.get().catch(() => undefined);
    return {
      cursor: cursor ? this.deps.source.formatTime(cursor) : null,
      runningRunId: this.active?.record.id ?? (await this.deps.stores.lock.holder(LOCK_NAME).catch(() => undefined)) ?? null,
      nextScheduledRun: this.deps.nextScheduledRun?.() ?? null,
      sandbox: Boolean(this.opts.sandbox),
    };
  }

  async ready(): Promise<{ ok: boolean; checks: Record<string, boolean> }> {
    const store = await this.deps.stores.ping().catch(() => false);
    const checks = { store, config: true, mapping: Boolean(this.deps.mapping.keyField), accepting: this.accepting_ };
    return { ok: Object.values(checks).every(Boolean), checks };
  }

  /** The run in progress here, if any (for the CLI and shutdown). */
  get current(): Promise<RunRecord> | undefined { return this.active?.done; }

  /**
   * Stop taking triggers and stop the run in progress from reading more: writes already in flight settle (a write
   * cut off half-way is what makes duplicates), the run is recorded as failed with the cursor unchanged, and the lock
   * is released. Bounded by the grace period; what is still pending then is reconciled by the next run.
   */
  async shutdown(): Promise<void> {
    this.accepting_ = false;
    if (this.claiming) await this.claiming.catch(() => undefined);
    const active = this.active;
    if (!active) return;
    active.abort.abort(new ConnectorError('RUN_ABORTED', 'The service shut down during the run'));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([active.done, new Promise((r) => { timer = setTimeout(r, this.opts.shutdownGraceMs ?? 20_000); })]);
    clearTimeout(timer);
  }
}
