/**
 * The mirror inside runs (DESIGN "Mirror"): gone products in ordinary runs (listed with enable_flag 0, discontinued
 * with SYNC_DISCONTINUED=gone, reported deleted by OKKI push and unknown to /v1/product/info), and the two modes of
 * their own, sweep (`sweep.ts`) and audit (`audit.ts`). What the run did is written into its record: `gone`,
 * `counts.deleted` / `counts.marked`, failures, and DELETE_GUARD when the guard held.
 */
import type {
  GoneReason, MappingContext, OkkiProduct, ProductPage, RejectedRecord, RunFailure, RunRecord,
} from '../core/index.js';
import { productList } from '../core/index.js';
import { MAX_RECORDED_FAILURES } from './pipeline.js';
import type { ActResult, GoneActor, GoneTarget } from './gone.js';

/** The webhook bodies that confirm a guarded deletion (the report and the record show them). */
export const SWEEP_CONFIRM_BODY = '{"mode":"sweep","confirmDeletes":true}';
export const AUDIT_CONFIRM_BODY = '{"mode":"audit","repair":true,"confirmDeletes":true}';

/** What ordinary pages become: the products to write, and the gone ones set aside for the actor. */
export interface Diverted { pages: AsyncIterable<ProductPage>; gone: GoneTarget[] }

/**
 * Take gone products out of the pages before they are mapped and written: items OKKI flags as gone, and product
 * numbers push reported deleted that /v1/product/info no longer knows (those arrive as OKKI_NOT_FOUND rejections).
 * A product push reported deleted that OKKI still has, unflagged, is written as usual (events arrive out of order).
 */
export function divertGone(pages: AsyncIterable<ProductPage>, actor: GoneActor, ctx: MappingContext, pushDeleted: ReadonlySet<string> = new Set()): Diverted {
  const gone: GoneTarget[] = [];
  // held under the key field's value; a key that cannot be evaluated is looked for under the number (a ledger from
  // before entries were keyed by the key field's value still holds it there)
  const target = (product: OkkiProduct, productNo: string, reason: GoneReason): GoneTarget => ({ productNo, key: actor.keyOf(product, ctx) ?? productNo, reason, product });
  async function* filtered(): AsyncGenerator<ProductPage> {
    for await (const page of pages) {
      const items: OkkiProduct[] = [];
      for (const item of page.items) {
        const reason = actor.reasonOf(item);
        if (reason && typeof item.product_no === 'string') gone.push(target(item, item.product_no, reason));
        else items.push(item);
      }
      const rejected: RejectedRecord[] = [];
      for (const r of page.rejected) {
        if (r.product_no && r.code === 'OKKI_NOT_FOUND' && pushDeleted.has(r.product_no)) gone.push(target({ product_no: r.product_no }, r.product_no, 'push'));
        else rejected.push(r);
      }
      yield { ...page, items, rejected };
    }
  }
  return { pages: filtered(), gone };
}

/** Append failures to the record, within the recorded bound (the total is always counted). */
export function recordFailures(run: RunRecord, failures: readonly RunFailure[]): void {
  for (const f of failures) {
    run.failuresTotal = (run.failuresTotal ?? run.failures.length) + 1;
    if (run.failures.length < MAX_RECORDED_FAILURES) run.failures.push(f);
  }
}

export function guardFailure(count: number, max: number, confirm = SWEEP_CONFIRM_BODY): RunFailure {
  return {
    product_no: null, code: 'DELETE_GUARD',
    reason: `${count} products are gone from OKKI, more than SYNC_DELETE_MAX (${max}): nothing was marked or deleted. After checking them, POST ${confirm} to /webhooks/yida/sync to act on them`,
  };
}

export interface GoneOutcome {
  /** products whose mark or removal failed (they hold the cursor like failed writes) */
  failed: number;
  /** the run ends partial: something failed, or the guard held */
  partial: boolean;
}

/** Put what the actor did into the run record. */
export function recordGone(run: RunRecord, r: ActResult, max: number, extra: { confirm?: string; sampled?: { checked: number; stillInOkki: number } } = {}): GoneOutcome {
  const confirm = extra.confirm ?? SWEEP_CONFIRM_BODY;
  const prev = run.gone;
  run.gone = {
    found: productList([...(prev?.found.product_nos ?? []), ...r.found], (prev?.found.count ?? 0) + r.found.length),
    due: (prev?.due ?? 0) + r.due.length,
    marked: (prev?.marked ?? 0) + r.marked,
    deleted: (prev?.deleted ?? 0) + r.deleted,
    kept: (prev?.kept ?? 0) + r.kept,
    ...(r.guarded ? { guarded: { count: r.due.length, max, confirm, ...(extra.sampled ? { sampled: extra.sampled } : {}) } } : prev?.guarded ? { guarded: prev.guarded } : {}),
  };
  run.counts.marked = (run.counts.marked ?? 0) + r.marked;
  run.counts.deleted = (run.counts.deleted ?? 0) + r.deleted;
  // a product whose mark or removal failed is a failed product (its ledger entry stays pending for the next run)
  run.counts.failed += r.failures.length;
  recordFailures(run, r.failures);
  if (r.guarded) recordFailures(run, [guardFailure(r.due.length, max, confirm)]);
  return { failed: r.failures.length, partial: r.guarded || r.failures.length > 0 };
}

/** Act on the gone products an ordinary run set aside (guarded: an ordinary run is never confirmed). */
export async function settleDiverted(run: RunRecord, actor: GoneActor, gone: readonly GoneTarget[], ctx: MappingContext, signal?: AbortSignal): Promise<GoneOutcome> {
  if (!gone.length) return { failed: 0, partial: false };
  run.counts.fetched += gone.length;
  const r = await actor.act(gone, { guard: true, ctx, signal });
  return recordGone(run, r, actor.policy.deleteMax);
}

/** Reason text per cause, for logs. */
export const REASON_TEXT: Record<GoneReason, string> = {
  deleted: 'listed with enable_flag 0', discontinued: 'discontinued (disable_flag 0)', unlisted: 'no longer listed', push: 'deleted (push event)',
};
