/**
 * Turns queued OKKI push events into targeted runs through the one single-flight engine.
 *
 * - Debounced: the first event after a quiet spell starts a short timer (PUSH_DEBOUNCE_MS), so a burst of edits becomes
 *   one run rather than one run per event; events that arrive while a run is in progress are taken by the next run.
 * - At most `maxPerRun` (500) products per run, oldest first; each claimed atomically in the store, so replicas sharing a
 *   Redis never run the same entry twice.
 * - An entry leaves the queue only after the run that carried it finished with it: a failed run, or a product whose
 *   write failed, hands it back (due again after 5 s, 30 s, 2 min); after that it is dropped with a warning, and the
 *   polling schedule, which reads every changed product anyway, is the backstop. Rejected products are not retried.
 * - A trigger that joined a run already in progress (a schedule, a Yida button, another replica) did not carry these
 *   products: the drainer waits for that run and triggers again.
 * - A poll (every few seconds) finds what other replicas queued, what was handed back, and what a crashed process left.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { PushQueue, QueuedProduct, RunRecord, SyncService } from '../core/index.js';
import type { PushMetrics } from './metrics.js';

export interface DrainerOptions {
  /** who holds claimed entries (default: host, pid and a random tag) */
  owner?: string;
  /** wait this long after the first event for more before starting a run */
  debounceMs?: number;
  maxPerRun?: number;
  /** claim lease, renewed at a third of it while the run lives */
  leaseMs?: number;
  /** how often the queue is looked at without a notification */
  pollMs?: number;
  /** delays before the 1st, 2nd, … retry of an entry; one more failure drops it */
  retryDelaysMs?: readonly number[];
}

export const DRAINER_DEFAULTS = { debounceMs: 500, maxPerRun: 500, leaseMs: 30_000, pollMs: 5_000, retryDelaysMs: [5_000, 30_000, 120_000] };

export interface DrainerDeps {
  queue: PushQueue;
  service: SyncService;
  logger: Logger;
  metrics?: PushMetrics;
}

/** Failures that a second run would repeat: the product is acknowledged, the run record and report say why. */
const PERMANENT = new Set([
  'MAPPING_REJECTED', 'DUPLICATE_PRODUCT_NO', 'OKKI_ITEM_INVALID', 'OKKI_NOT_FOUND', 'YIDA_REJECTED', 'YIDA_DUPLICATE_FOUND', 'DELETE_GUARD',
]);

/** How long one waitForRun call waits before the drainer looks at its own state again. */
const WAIT_SLICE_MS = 5_000;

export class PushDrainer {
  private readonly o: Required<DrainerOptions>;
  private timer?: NodeJS.Timeout;
  private poller?: NodeJS.Timeout;
  private loop?: Promise<void>;
  private more = false;
  private stopped = false;

  constructor(private readonly deps: DrainerDeps, opts: DrainerOptions = {}) {
    this.o = {
      ...DRAINER_DEFAULTS, ...opts,
      owner: opts.owner ?? `push-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    } as Required<DrainerOptions>;
    for (const k of ['debounceMs', 'maxPerRun', 'leaseMs', 'pollMs'] as const) {
      if (!Number.isInteger(this.o[k]) || this.o[k] < (k === 'debounceMs' ? 0 : 1)) throw new RangeError(`PushDrainer: ${k} must be a whole number`);
    }
  }

  get owner(): string { return this.o.owner; }

  /** Begin: drain what is already queued (events acknowledged before a restart), then poll. */
  async start(): Promise<void> {
    // The sqlite store serves one process: any claim found at start-up belongs to a process that is gone.
    const freed = await this.deps.queue.releaseAll?.().catch((err) => { this.deps.logger.warn({ err: errorMessage(err) }, 'push queue: could not free old claims'); return 0; });
    if (freed) this.deps.logger.info({ entries: freed }, 'push queue: took back entries an earlier process had claimed');
    this.poller = setInterval(() => { if (!this.loop && !this.timer) this.kick(); }, this.o.pollMs);
    this.poller.unref();
    this.kick();
  }

  /** Events were queued: start a run after the debounce (or right after the run in progress). */
  notify(): void {
    if (this.stopped) return;
    if (this.loop) { this.more = true; return; }
    if (this.timer) return;
    this.timer = setTimeout(() => { this.timer = undefined; this.kick(); }, this.o.debounceMs);
  }

  /** Stop starting runs; resolves once the batch in progress is settled (its run is stopped by the engine's shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer); this.timer = undefined;
    clearInterval(this.poller); this.poller = undefined;
    await this.loop;
  }

  /** Resolves when nothing is being drained right now (tests, bench). */
  async idle(): Promise<void> { while (this.loop || this.timer) await (this.loop ?? new Promise((r) => setTimeout(r, 20))); }

  private kick(): void {
    if (this.stopped) return;
    if (this.loop) { this.more = true; return; }
    this.more = false;
    this.loop = this.drain()
      .catch((err) => this.deps.logger.error({ err: errorMessage(err) }, 'push drainer failed; the next poll tries again'))
      .finally(() => {
        this.loop = undefined;
        if (this.more) this.kick();
      });
  }

  private async drain(): Promise<void> {
    const { queue, logger, metrics } = this.deps;
    while (!this.stopped) {
      let batch: QueuedProduct[];
      try {
        batch = await queue.claim(this.o.owner, this.o.maxPerRun, this.o.leaseMs);
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'push queue unavailable; trying again at the next poll');
        return;
      }
      if (!batch.length) break;
      await this.runBatch(batch);
    }
    if (metrics) await queue.stats().then((s) => metrics.queued.set(s.pending + s.claimed), () => undefined);
  }

  private async runBatch(batch: QueuedProduct[]): Promise<void> {
    const { queue, logger } = this.deps;
    const nos = batch.map((e) => e.productNo);
    const renewer = setInterval(() => {
      queue.renew(this.o.owner, nos, this.o.leaseMs).catch((err) => logger.warn({ err: errorMessage(err) }, 'push queue: could not renew a claim'));
    }, Math.max(1000, Math.floor(this.o.leaseMs / 3)));
    renewer.unref();
    try {
      const run = await this.runFor(batch);
      await this.settle(batch, run);
    } catch (err) {
      // Entries stay claimed until their lease runs out, then the next poll takes them again: nothing is lost.
      logger.warn({ err: errorMessage(err), products: nos.length }, 'push batch not settled; it is taken again after its lease');
    } finally {
      clearInterval(renewer);
    }
  }

  /** The finished run that carried these products, or undefined when none could be started or followed. */
  private async runFor(batch: QueuedProduct[]): Promise<RunRecord | undefined> {
    const upserts = batch.filter((e) => e.kind === 'upsert').map((e) => e.productNo);
    const deletes = batch.filter((e) => e.kind === 'delete').map((e) => e.productNo);
    for (;;) {
      if (this.stopped) return undefined;
      let t;
      try {
        t = await this.deps.service.trigger({
          trigger: 'push', requestedBy: 'OKKI push',
          ...(upserts.length ? { productNos: upserts } : {}), ...(deletes.length ? { deletedProductNos: deletes } : {}),
        });
      } catch (err) {
        this.deps.logger.warn({ err: errorMessage(err), products: batch.length }, 'push run could not start');
        return undefined;
      }
      const run = await this.finished(t.runId, t.coalesced);
      if (!t.coalesced) return run;
      if (!run) return undefined;
      this.deps.logger.debug({ joinedRunId: t.runId }, 'push run waited for the run in progress');
    }
  }

  private async finished(runId: string, remote: boolean): Promise<RunRecord | undefined> {
    for (;;) {
      const run = await this.deps.service.waitForRun(runId, WAIT_SLICE_MS);
      if (!run || run.status !== 'running') return run;
      // Our own run is stopped by the engine's shutdown and then ends; another's is not ours to wait for.
      if (this.stopped && remote) return undefined;
    }
  }

  private async settle(batch: QueuedProduct[], run: RunRecord | undefined): Promise<void> {
    const { queue, logger, metrics } = this.deps;
    let retry: QueuedProduct[];
    let done: QueuedProduct[];
    if (!run || run.status === 'failed' || run.status === 'running') {
      retry = batch; done = [];
      logger.warn({ runId: run?.id, code: run?.error?.code, products: batch.length }, 'push run did not finish its products; they are tried again');
    } else {
      const failed = new Set(run.failures.filter((f) => f.product_no !== null && !PERMANENT.has(f.code)).map((f) => f.product_no));
      retry = batch.filter((e) => failed.has(e.productNo));
      done = batch.filter((e) => !failed.has(e.productNo));
    }
    const dropped = retry.filter((e) => e.attempts >= this.o.retryDelaysMs.length);
    if (dropped.length) {
      logger.warn({ products: dropped.map((e) => e.productNo).slice(0, 20), count: dropped.length }, 'push events dropped after repeated failures; the polling schedule syncs these products');
    }
    await queue.ack(this.o.owner, [...done, ...dropped].map((e) => e.productNo));
    const byDelay = new Map<number, string[]>();
    for (const e of retry) {
      if (e.attempts >= this.o.retryDelaysMs.length) continue;
      const d = this.o.retryDelaysMs[e.attempts];
      byDelay.set(d, [...(byDelay.get(d) ?? []), e.productNo]);
    }
    for (const [delay, nos] of byDelay) await queue.release(this.o.owner, nos, delay);
    metrics?.drained.inc({ outcome: 'done' }, done.length);
    metrics?.drained.inc({ outcome: 'retry' }, retry.length - dropped.length);
    metrics?.drained.inc({ outcome: 'dropped' }, dropped.length);
  }
}
