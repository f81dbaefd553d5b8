/**
 * Follow-up runs: a trigger that asks for something the run in progress will not do (product numbers it does not
 * read, a full read, a sweep or an audit) is not coalesced into it and dropped, but queued, and run as soon as the run
 * in progress is over (here, or on another replica: its lease is watched). Queued requests of one kind merge: product
 * numbers are united, a second full read is the same full read. A plain incremental trigger still just joins (the
 * run in progress reads what it would), and OKKI push batches keep their own retry loop (push/drainer.ts).
 */
import type { TriggerRequest, TriggerResult } from '../core/index.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { modeOf } from './plan.js';

/** Does the trigger ask for more than joining the run in progress gives it? */
export function wantsOwnRun(req: TriggerRequest): boolean {
  return req.trigger !== 'push' && modeOf(req) !== 'incremental';
}

const subset = (a: readonly string[] | undefined, b: readonly string[] | undefined) => (a ?? []).every((x) => (b ?? []).includes(x));

/** Does the run asked for by `running` do all that `req` asks? */
export function covers(running: TriggerRequest | undefined, req: TriggerRequest): boolean {
  if (!running || modeOf(running) !== modeOf(req)) return false;
  if (Boolean(req.confirmDeletes) !== Boolean(running.confirmDeletes) || Boolean(req.repair) !== Boolean(running.repair)) return false;
  return subset(req.productNos, running.productNos) && subset(req.deletedProductNos, running.deletedProductNos);
}

/** The answer to a trigger that was queued: the run in progress (coalesced, as before) and what will follow it. */
export function queuedAnswer(runId: string, req: TriggerRequest): TriggerResult {
  const mode = modeOf(req);
  return {
    runId, status: 'running', coalesced: true, queued: true,
    followUp: { mode, ...(mode === 'targeted' ? { productNos: [...(req.productNos ?? []), ...(req.deletedProductNos ?? [])] } : {}) },
  };
}

export class FollowUpQueue {
  private readonly items: TriggerRequest[] = [];

  get size(): number { return this.items.length; }

  /** Queue `req`, merged into a queued request of the same kind. */
  add(req: TriggerRequest): void {
    const mode = modeOf(req);
    const same = this.items.find((q) => modeOf(q) === mode && Boolean(q.confirmDeletes) === Boolean(req.confirmDeletes) && Boolean(q.repair) === Boolean(req.repair));
    if (!same) { this.items.push({ ...req }); return; }
    if (mode !== 'targeted') return;
    const union = (a?: string[], b?: string[]) => { const u = [...new Set([...(a ?? []), ...(b ?? [])])]; return u.length ? u : undefined; };
    same.productNos = union(same.productNos, req.productNos);
    same.deletedProductNos = union(same.deletedProductNos, req.deletedProductNos);
  }

  /** The next request to run (first queued first). */
  next(): TriggerRequest | undefined { return this.items.shift(); }

  /** Put a request back at the front (its run could not start yet). */
  putBack(req: TriggerRequest): void { this.items.unshift(req); }

  clear(): TriggerRequest[] { return this.items.splice(0); }
}

export interface FollowUpDeps {
  /** the engine's own trigger: a follow-up is started like any other run */
  trigger(req: TriggerRequest): Promise<TriggerResult>;
  /** a run of this process holds the engine (it starts the follow-ups itself when it hands back) */
  busy(): boolean;
  accepting(): boolean;
  logger: Logger;
  /** how often to look again while another replica's run holds the lease (default 2 s) */
  pollMs?: number;
}

/** The engine's side of follow-ups: answers a trigger that meets a run, and starts what was queued when it can. */
export class FollowUps {
  private readonly queue = new FollowUpQueue();
  private timer?: NodeJS.Timeout;
  private starting = false;

  constructor(private readonly deps: FollowUpDeps) {}

  /**
   * A trigger meets the run `runId` in progress (`running`: what that run was asked, when known here). It joins it when
   * that run does what it asks; otherwise it is queued to run right after it, and the answer says so.
   */
  join(req: TriggerRequest, runId: string, running: TriggerRequest | undefined): TriggerResult {
    if (!wantsOwnRun(req) || covers(running, req)) return { runId, status: 'running', coalesced: true };
    this.queue.add(req);
    this.deps.logger.info({ runningRunId: runId, mode: modeOf(req), productNos: req.productNos?.length }, 'trigger queued to run after the run in progress');
    this.schedule();
    return queuedAnswer(runId, req);
  }

  /** The local run handed the engine back: what was queued behind it starts now (after waiting triggers had their turn). */
  released(): void {
    if (this.queue.size) setImmediate(() => void this.startNext());
  }

  /** Shutdown: nothing more starts; answers what was dropped. */
  stop(): TriggerRequest[] {
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.queue.clear();
  }

  /** While another replica's run holds the lease, look again now and then (a local run calls released() instead). */
  private schedule(): void {
    if (!this.queue.size || !this.deps.accepting() || this.timer || this.deps.busy()) return;
    this.timer = setTimeout(() => { this.timer = undefined; void this.startNext(); }, this.deps.pollMs ?? 2_000);
    this.timer.unref();
  }

  private async startNext(): Promise<void> {
    if (this.starting || this.deps.busy() || !this.deps.accepting()) return;
    const next = this.queue.next();
    if (!next) return;
    this.starting = true;
    try {
      const r = await this.deps.trigger(next);
      // Not started (a run on another replica holds the lease, or one started here meanwhile): the trigger queued it again.
      if (!r.queued && r.coalesced) this.queue.putBack(next);
    } catch (err) {
      this.deps.logger.warn({ err: errorMessage(err), mode: modeOf(next) }, 'queued follow-up run could not start; it stays queued');
      if (this.deps.accepting()) this.queue.putBack(next);
    } finally {
      this.starting = false;
      this.schedule();
    }
  }
}
