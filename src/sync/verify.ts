/**
 * Gone products that a whole-list read did not see (a sweep's unlisted ledger entries, an audit's orphans) are acted
 * on only with proof: the SYNC_DELETE_MAX guard first (before any per-product call, so a short list costs no
 * thousands of lookups), then /v1/product/info for each — OKKI does not have it (or has it flagged gone) → gone;
 * OKKI still has it → the list was short: it is left alone and the run says OKKI_LIST_INCOMPLETE.
 *
 * What is asked about is the product a Yida key stands for, never the key itself: with a transformed key field
 * (`SKU-{product_no}`) the key is no product number, and OKKI answering "not found" for it would prove nothing. The
 * ledger says which product (`KeyOwner`): the number, else the OKKI id; a key it cannot tie to either is left alone
 * (GONE_UNPROVEN).
 */
import { errorCode, errorMessage } from '../errors.js';
import { normalizeProductNo, productIdText, productList, type MappingContext, type ProductPage, type ProductSource, type RunRecord } from '../core/index.js';
import type { GoneActor, GoneTarget, KeyOwner } from './gone.js';
import { recordFailures, recordGone, type GoneOutcome } from './mirror.js';

/** products looked up in OKKI when the guard holds, to tell a short list from real deletions */
const GUARD_SAMPLE = 5;
/** products per /v1/product/info round */
const VERIFY_CHUNK = 100;

/** A Yida key to prove gone, with the product the ledger says it stands for. */
export interface Candidate extends KeyOwner { key: string }

/** How a candidate is named in records and reports: its product number, else its key. */
export const nameOf = (c: Candidate): string => c.productNo ?? c.key;

export interface Verified { gone: GoneTarget[]; alive: string[]; unknown: Array<{ productNo: string; code: string; reason: string }> }

/**
 * Ask /v1/product/info about each candidate's product: not found (or flagged) = gone, found = still there, no answer =
 * unknown. Found, but keyed otherwise today (the product was renumbered, or the key field's template changed): OKKI
 * has no product with this key, so the key is gone too; a key that cannot be evaluated counts as still there.
 */
export async function askOkki(source: ProductSource, actor: GoneActor, candidates: readonly Candidate[], signal: AbortSignal, ctx?: MappingContext): Promise<Verified> {
  const out: Verified = { gone: [], alive: [], unknown: [] };
  const byNo = new Map<string, Candidate[]>();
  const byId = new Map<string, Candidate[]>();
  for (const c of candidates) {
    if (c.productNo) byNo.set(c.productNo, [...(byNo.get(c.productNo) ?? []), c]);
    else if (c.productId && source.byProductIds) byId.set(c.productId, [...(byId.get(c.productId) ?? []), c]);
    else {
      out.unknown.push({
        productNo: nameOf(c), code: 'GONE_UNPROVEN',
        reason: c.productId
          ? `the ledger knows only OKKI product id ${c.productId} for this key, and this source cannot look a product up by id: it was left alone`
          : 'nothing says which OKKI product this Yida key stands for (the key field holds a transformed value, and the ledger kept no product number for it: an instance the connector did not write, or an entry older than that), so nothing can prove it gone: it was left alone. A full run ({"mode":"full"}) teaches the ledger the numbers of the products OKKI still has',
      });
    }
  }
  await ask([...byNo.keys()], (chunk) => source.byProductNos(chunk, { signal }), byNo, (p) => normalizeProductNo(p.product_no), (r) => r.product_no ?? undefined);
  await ask([...byId.keys()], (chunk) => source.byProductIds!(chunk.map(Number), { signal }), byId, (p) => productIdText(p.product_id), (r) => productIdText(r.product_id));
  return out;

  async function ask(
    refs: readonly string[], pages: (chunk: string[]) => AsyncIterable<ProductPage>, owners: ReadonlyMap<string, Candidate[]>,
    refOfItem: (p: ProductPage['items'][number]) => string | undefined, refOfRejected: (r: ProductPage['rejected'][number]) => string | undefined,
  ): Promise<void> {
    for (let i = 0; i < refs.length; i += VERIFY_CHUNK) {
      const chunk = refs.slice(i, i + VERIFY_CHUNK);
      const answered = new Set<string>();
      try {
        for await (const page of pages(chunk)) {
          for (const item of page.items) {
            const ref = refOfItem(item);
            if (!ref || !owners.has(ref)) continue;
            answered.add(ref);
            const reason = actor.reasonOf(item);
            const today = ctx ? actor.keyOf(item, ctx) : undefined;
            for (const c of owners.get(ref)!) {
              if (reason) out.gone.push({ productNo: normalizeProductNo(item.product_no) ?? nameOf(c), key: c.key, reason, product: item });
              else if (today !== undefined && today !== c.key) out.gone.push({ productNo: nameOf(c), key: c.key, reason: 'unlisted', ...(c.productNo ? { product: { product_no: c.productNo } } : {}) });
              else out.alive.push(nameOf(c));
            }
          }
          for (const r of page.rejected) {
            const ref = refOfRejected(r);
            if (!ref || !owners.has(ref)) continue;
            answered.add(ref);
            for (const c of owners.get(ref)!) {
              if (r.code === 'OKKI_NOT_FOUND') out.gone.push({ productNo: nameOf(c), key: c.key, reason: 'unlisted', ...(c.productNo ? { product: { product_no: c.productNo } } : {}) });
              else out.unknown.push({ productNo: nameOf(c), code: r.code, reason: r.reason });
            }
          }
        }
      } catch (err) {
        if (signal.aborted) throw err;
        for (const ref of chunk) {
          if (answered.has(ref)) continue;
          for (const c of owners.get(ref) ?? []) out.unknown.push({ productNo: nameOf(c), code: errorCode(err), reason: `could not ask OKKI whether it still has this product: ${errorMessage(err)}` });
        }
      }
    }
  }
}

export interface ProveOptions {
  /** gone products proven already (flagged in the list) */
  proven: GoneTarget[];
  /** the sweep / audit confirmed deletions beyond SYNC_DELETE_MAX */
  confirm: boolean;
  /** the webhook body that confirms (shown in the record and report) */
  confirmBody: string;
  /** an audit's orphans: the instances to act on, by key (the ledger may not know them) */
  instancesOf?: (key: string) => string[];
  ctx: MappingContext;
  signal: AbortSignal;
}

/** Guard, prove, act, and record it all on the run. */
export async function proveAndAct(run: RunRecord, source: ProductSource, actor: GoneActor, unlisted: readonly Candidate[], opts: ProveOptions): Promise<GoneOutcome> {
  const policy = actor.policy;
  const due = [...opts.proven.map((t) => t.productNo), ...unlisted.map(nameOf)];
  if (!due.length) return { failed: 0, partial: false };
  if (policy.deletions === 'off') {
    return recordGone(run, { found: due, due, marked: 0, deleted: 0, kept: due.length, guarded: false, failures: [] }, policy.deleteMax, { confirm: opts.confirmBody });
  }
  if (due.length > policy.deleteMax && !opts.confirm) {
    const sample = await askOkki(source, actor, unlisted.slice(0, GUARD_SAMPLE), opts.signal, opts.ctx);
    const checked = Math.min(GUARD_SAMPLE, unlisted.length);
    return recordGone(run, { found: due, due, marked: 0, deleted: 0, kept: 0, guarded: true, failures: [] }, policy.deleteMax, {
      confirm: opts.confirmBody, ...(checked ? { sampled: { checked, stillInOkki: sample.alive.length } } : {}),
    });
  }
  const checked = await askOkki(source, actor, unlisted, opts.signal, opts.ctx);
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
  const withIds = (t: GoneTarget): GoneTarget => (opts.instancesOf ? { ...t, instanceIds: opts.instancesOf(t.key ?? t.productNo) } : t);
  const r = await actor.act([...opts.proven, ...checked.gone].map(withIds), { guard: false, ctx: opts.ctx, signal: opts.signal });
  const o = recordGone(run, r, policy.deleteMax, { confirm: opts.confirmBody });
  return { failed: o.failed + checked.unknown.length, partial: partial || o.partial };
}
