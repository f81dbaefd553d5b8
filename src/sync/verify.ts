/**
 * Gone products that a whole-list read did not see (a sweep's unlisted ledger entries, an audit's orphans) are acted
 * on only with proof: the SYNC_DELETE_MAX guard first (before any per-product call, so a short list costs no
 * thousands of lookups), then /v1/product/info for each — OKKI does not have it (or has it flagged gone) → gone;
 * OKKI still has it → the list was short: it is left alone and the run says OKKI_LIST_INCOMPLETE.
 */
import { errorCode, errorMessage } from '../errors.js';
import { productList, type MappingContext, type OkkiProduct, type ProductSource, type RunRecord } from '../core/index.js';
import type { GoneActor, GoneTarget } from './gone.js';
import { recordFailures, recordGone, type GoneOutcome } from './mirror.js';

/** products looked up in OKKI when the guard holds, to tell a short list from real deletions */
const GUARD_SAMPLE = 5;
/** product numbers per /v1/product/info round */
const VERIFY_CHUNK = 100;

const productNoOf = (p: OkkiProduct) => (typeof p.product_no === 'string' && p.product_no ? p.product_no : undefined);

export interface Verified { gone: GoneTarget[]; alive: string[]; unknown: Array<{ productNo: string; code: string; reason: string }> }

/** Ask /v1/product/info about each product: not found (or flagged) = gone, found = still there, no answer = unknown. */
export async function askOkki(source: ProductSource, actor: GoneActor, nos: readonly string[], signal: AbortSignal): Promise<Verified> {
  const out: Verified = { gone: [], alive: [], unknown: [] };
  for (let i = 0; i < nos.length; i += VERIFY_CHUNK) {
    const chunk = nos.slice(i, i + VERIFY_CHUNK);
    const answered = new Set<string>();
    try {
      for await (const page of source.byProductNos(chunk, { signal })) {
        for (const item of page.items) {
          const no = productNoOf(item);
          if (!no) continue;
          answered.add(no);
          const reason = actor.reasonOf(item);
          if (reason) out.gone.push({ productNo: no, reason, product: item });
          else out.alive.push(no);
        }
        for (const r of page.rejected) {
          if (!r.product_no) continue;
          answered.add(r.product_no);
          if (r.code === 'OKKI_NOT_FOUND') out.gone.push({ productNo: r.product_no, reason: 'unlisted' });
          else out.unknown.push({ productNo: r.product_no, code: r.code, reason: r.reason });
        }
      }
    } catch (err) {
      if (signal.aborted) throw err;
      for (const no of chunk) {
        if (!answered.has(no)) out.unknown.push({ productNo: no, code: errorCode(err), reason: `could not ask OKKI whether it still has this product: ${errorMessage(err)}` });
      }
    }
  }
  return out;
}

export interface ProveOptions {
  /** gone products proven already (flagged in the list) */
  proven: GoneTarget[];
  /** the sweep / audit confirmed deletions beyond SYNC_DELETE_MAX */
  confirm: boolean;
  /** the webhook body that confirms (shown in the record and report) */
  confirmBody: string;
  /** an audit's orphans: the instances to act on (the ledger may not know them) */
  instancesOf?: (productNo: string) => string[];
  ctx: MappingContext;
  signal: AbortSignal;
}

/** Guard, prove, act, and record it all on the run. */
export async function proveAndAct(run: RunRecord, source: ProductSource, actor: GoneActor, unlisted: readonly string[], opts: ProveOptions): Promise<GoneOutcome> {
  const policy = actor.policy;
  const due = [...opts.proven.map((t) => t.productNo), ...unlisted];
  if (!due.length) return { failed: 0, partial: false };
  if (policy.deletions === 'off') {
    return recordGone(run, { found: due, due, marked: 0, deleted: 0, kept: due.length, guarded: false, failures: [] }, policy.deleteMax, { confirm: opts.confirmBody });
  }
  if (due.length > policy.deleteMax && !opts.confirm) {
    const sample = await askOkki(source, actor, unlisted.slice(0, GUARD_SAMPLE), opts.signal);
    const checked = Math.min(GUARD_SAMPLE, unlisted.length);
    return recordGone(run, { found: due, due, marked: 0, deleted: 0, kept: 0, guarded: true, failures: [] }, policy.deleteMax, {
      confirm: opts.confirmBody, ...(checked ? { sampled: { checked, stillInOkki: sample.alive.length } } : {}),
    });
  }
  const checked = await askOkki(source, actor, unlisted, opts.signal);
  let partial = false;
  if (checked.alive.length) {
    if (run.sweep) run.sweep.stillInOkki = productList(checked.alive);
    recordFailures(run, [{
      product_no: null, code: 'OKKI_LIST_INCOMPLETE',
      reason: `${checked.alive.length} products missing from OKKI's list still exist in OKKI (the list was short): they were left alone (first: ${checked.alive.slice(0, 10).join(', ')})`,
    }]);
    partial = true;
  }
  if (checked.unknown.length) {
    recordFailures(run, checked.unknown.map((u) => ({ product_no: u.productNo, code: u.code, reason: u.reason })));
    run.counts.failed += checked.unknown.length;
    partial = true;
  }
  const withIds = (t: GoneTarget): GoneTarget => (opts.instancesOf ? { ...t, instanceIds: opts.instancesOf(t.productNo) } : t);
  const r = await actor.act([...opts.proven, ...checked.gone].map(withIds), { guard: false, ctx: opts.ctx, signal: opts.signal });
  const o = recordGone(run, r, policy.deleteMax, { confirm: opts.confirmBody });
  return { failed: o.failed + checked.unknown.length, partial: partial || o.partial };
}
