/**
 * One run's life, from trigger to record: plan (cursor, window) → groups → pages → map → ledger-guarded write →
 * cursor → finish (record, report). The lifecycle owns the live run record: it fills it in as the run goes, so
 * `GET /runs/:id` shows progress, and tells its listener of every step.
 */
import { ConnectorError, errorCode, errorMessage, isErrorCode } from '../errors.js';
import { redact } from '../redact.js';
import {
  SINK_ERROR_CODES,
  type Mapping, type MappingContext, type ProductPage, type ProductSource, type ProductWriter, type RunProgress,
  type Fence, type RunRecord, type TriggerRequest,
} from '../core/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { CursorStore, RunStore } from '../store/types.js';
import { runPipeline, type PipelineProgress } from './pipeline.js';
import { isMirrorMode, planRun, type RunPlan } from './plan.js';
import type { MirrorParts } from './mirror-parts.js';
import { divertGone, settleDiverted, type GoneOutcome } from './mirror.js';
import { runSweep } from './sweep.js';
import { runAudit } from './audit.js';
import type { RunLease } from './lease.js';
import type { RunFinisher } from './finish.js';
import type { GroupPhase, GroupRun } from './groups/phase.js';
import type { UsagePort } from '../core/metering.js';
import { RunCalls } from './metering.js';

/** errors after which no further product can be written: the run stops instead of failing product by product */
const FATAL_WRITE_CODES = new Set<string>(['STORE_UNAVAILABLE', 'SYNC_FENCE_STALE', SINK_ERROR_CODES.auth]);

export interface LifecycleDeps {
  source: ProductSource;
  mapping: Mapping;
  writer: ProductWriter;
  cursor: CursorStore;
  runs: RunStore;
  lease: RunLease;
  finisher: RunFinisher;
  /** the groups' part of window runs: the groups mirror, and renamed groups' products read again */
  groups?: GroupPhase;
  /** metering: what the run's calls cost goes on its record */
  usage?: UsagePort;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  /** gone products, sweep and audit (absent: gone products are written like any other, and those modes fail) */
  mirror?: MirrorParts;
}

export interface LifecycleOptions {
  lookbackSeconds: number;
  /** writes in flight at most (the writer paces below it) */
  maxInFlight: number;
  /** the source's wall-clock zone, in which the mapping formats dates (SYNC_TIMEZONE) */
  timezone: string;
  /** SYNC_CURSOR_MAX_AGE in seconds: an older cursor raises an alert (0 or absent: never) */
  cursorMaxAgeSeconds?: number;
}

/** One run in this process: its live record, what was asked, and the switch that stops it. */
export interface LiveRun {
  record: RunRecord; request: TriggerRequest; abort: AbortController;
  /** the run's lease and its fencing token: ledger transitions check it */
  fence?: Fence;
}

export interface LifecycleHooks {
  /** told as products settle */
  onProgress?(progress: RunProgress): void;
  /** the run is over (its record saved, or being saved): the engine takes new triggers from here */
  onOver(): void;
}

export class RunLifecycle {
  constructor(private readonly deps: LifecycleDeps, private readonly opts: LifecycleOptions) {}

  /** Never rejects: every outcome ends in a run record. */
  async run(live: LiveRun, hooks: LifecycleHooks): Promise<RunRecord> {
    const { record: run, abort } = live;
    const log = this.deps.logger;
    const started = Date.now();
    const calls = new RunCalls(this.deps.usage);
    const stopHeartbeat = this.deps.lease.heartbeat(run.id, log, (err) => abort.abort(err));
    log.info({ trigger: run.trigger, mode: run.mode, requestedBy: run.requestedBy }, 'run started');
    try {
      await this.execute(live, hooks);
    } catch (err) {
      run.status = 'failed';
      run.cursorAfter = run.cursorBefore ?? null;
      run.error = { code: errorCode(err), message: redact(errorMessage(err)) };
      log.error({ code: run.error.code, err: run.error.message }, 'run failed');
    } finally {
      stopHeartbeat();
    }
    await this.cursorAge(run);
    return this.deps.finisher.finish(run, started, hooks.onOver, calls);
  }

  /** The run's body. Throws when the run fails as a whole; the caller records it. */
  private async execute(live: LiveRun, hooks: LifecycleHooks): Promise<void> {
    const { source, mapping, writer, cursor: cursorStore, runs, metrics } = this.deps;
    const { record: run, abort } = live;
    const cursor = await cursorStore.get();
    run.cursorBefore = cursor ? source.formatTime(cursor) : null;
    const groups = await source.groups({ signal: abort.signal });
    const plan = planRun(live.request, { runId: run.id, cursor, now: this.deps.now(), lookbackSeconds: this.opts.lookbackSeconds, signal: abort.signal });
    const ctx: MappingContext = { groups, lastSyncTime: plan.cursor, now: plan.now, timezone: this.opts.timezone };
    if (plan.window) run.window = { start: plan.window.start ? source.formatTime(plan.window.start) : null, end: source.formatTime(plan.window.end) };
    await runs.put(run);

    // The groups first (the group form; renamed groups noticed), in the runs that read the window or the catalogue.
    const groupRun = await this.deps.groups?.begin(groups, ctx, plan);
    if (isMirrorMode(plan.mode)) return this.mirrorRun(live, plan, ctx, groupRun);
    const mirror = this.deps.mirror;
    const own = groupRun ? groupRun.pages(this.pages(plan)) : this.pages(plan);
    const diverted = mirror ? divertGone(own, mirror.actor, ctx, plan.goneIfMissing) : undefined;
    const session = await writer.openSession({
      adopt: plan.adopt, bulk: plan.mode !== 'targeted', signal: abort.signal, fence: live.fence,
      // a product_nos run names its products (an operator's decision): parked ones are tried again; a push run does not
      named: plan.mode === 'targeted' && run.trigger !== 'push',
      // and a full read an operator asked for tries every parked product again
      retryParked: plan.mode === 'full' && run.trigger !== 'schedule',
    });
    const result = await runPipeline(diverted?.pages ?? own, ctx, {
      mapping, writer, session, metrics, maxInFlight: this.opts.maxInFlight,
      onFailure: (code, reason) => {
        if (FATAL_WRITE_CODES.has(code) && isErrorCode(code) && !abort.signal.aborted) abort.abort(new ConnectorError(code, reason));
      },
      onProgress: (p) => this.progress(run, p, hooks),
    }, abort.signal);
    run.counts = result.counts;
    run.failures = result.failures;
    run.failuresTotal = result.failuresTotal;
    if (result.parkedTotal) { run.parked = result.parked; run.parkedTotal = result.parkedTotal; }
    if (result.aborted) throw abort.signal.reason ?? new ConnectorError('RUN_ABORTED', 'The run was stopped');
    // Gone products set aside from the pages: marked or removed per SYNC_DELETIONS, under the guard.
    const gone: GoneOutcome = mirror && diverted ? await settleDiverted(run, mirror.actor, diverted.gone, ctx, abort.signal) : { failed: 0, partial: false };
    await groupRun?.finish(run, result.counts.failed === 0);

    // The cursor moves only when every product of the window is done or parked as rejected; a failed write (or a
    // failed mark or removal) means the next run must read this window again.
    if (plan.window && result.counts.failed === 0 && gone.failed === 0) {
      await cursorStore.set(plan.window.end);
      run.cursorAfter = source.formatTime(plan.window.end);
    } else {
      run.cursorAfter = run.cursorBefore;
    }
    run.status = result.counts.failed > 0 || result.counts.rejected > 0 || gone.partial || groupRun?.partial ? 'partial' : 'succeeded';
  }

  /** A sweep or an audit: the whole catalogue against the ledger or the form (sweep.ts, audit.ts); the cursor stays. */
  private async mirrorRun(live: LiveRun, plan: RunPlan, ctx: MappingContext, groupRun?: GroupRun): Promise<void> {
    const { record: run, request } = live;
    const m = this.deps.mirror;
    if (!m) throw new ConnectorError('MIRROR_UNSUPPORTED', `This service is not set up for ${plan.mode} runs`);
    const confirm = request.confirmDeletes === true;
    const repair = plan.mode === 'audit' && request.repair === true;
    if (confirm || repair) run.options = { ...(confirm ? { confirmDeletes: true } : {}), ...(repair ? { repair: true } : {}) };
    await this.deps.runs.put(run);
    const { source, mapping, writer, logger } = this.deps;
    const o = plan.mode === 'sweep'
      ? await runSweep(run, { source, scanLedger: m.scanLedger, actor: m.actor, logger }, { confirm, ctx, signal: plan.signal })
      : await runAudit(run, {
        source, sink: m.sink, mapping, writer, ledger: m.ledger, actor: m.actor, logger, detailFields: m.detailFields, maxInFlight: this.opts.maxInFlight,
      }, { repair, confirm, ctx, signal: plan.signal });
    if (plan.signal.aborted) throw plan.signal.reason ?? new ConnectorError('RUN_ABORTED', 'The run was stopped');
    run.cursorAfter = run.cursorBefore;
    await groupRun?.finish(run, run.counts.failed === 0);
    run.status = o.partial || run.counts.failed > 0 || groupRun?.partial ? 'partial' : 'succeeded';
  }

  /**
   * SYNC_CURSOR_MAX_AGE: runs that end `partial` over and over (a failure that does not go away) leave the cursor where
   * it was without ever counting as failed; once it is older than this the run says so, and its report carries an alert.
   */
  private async cursorAge(run: RunRecord): Promise<void> {
    const max = this.opts.cursorMaxAgeSeconds;
    if (!max || (run.mode !== 'incremental' && run.mode !== 'full')) return;
    const cursor = await this.deps.cursor.get().catch(() => undefined);
    if (!cursor) return;
    const ageSeconds = Math.floor((this.deps.now().getTime() - cursor.getTime()) / 1000);
    if (ageSeconds <= max) return;
    run.cursorStale = { cursor: this.deps.source.formatTime(cursor), ageSeconds, maxAgeSeconds: max };
    this.deps.logger.warn(run.cursorStale, 'the sync cursor is older than SYNC_CURSOR_MAX_AGE: products changed since then may be missing in Yida');
  }

  /** What the plan reads. A new mode adds its reader here. */
  private pages(plan: RunPlan): AsyncIterable<ProductPage> {
    const pull = { signal: plan.signal };
    if (plan.mode === 'targeted') return this.deps.source.byProductNos(plan.targets ?? [], pull);
    return this.deps.source.pages(plan.window!, pull);
  }

  /** Keep the live record current (GET /runs/:id shows progress) and pass the progress on. */
  private progress(run: RunRecord, p: PipelineProgress, hooks: LifecycleHooks): void {
    run.counts = p.counts;
    if (p.failure) run.failures.push(p.failure);
    if (!hooks.onProgress) return;
    const c = p.counts;
    hooks.onProgress({ runId: run.id, counts: c, read: c.fetched, written: c.created + c.updated + c.unchanged + c.failed, total: p.total });
  }
}
