/**
 * The sweep (`{"mode":"sweep"}`, SYNC_SWEEP_CRON): read every product key OKKI lists, without a time window, and
 * compare with the ledger; a product the ledger holds that OKKI no longer lists is gone. Memory: a set of product
 * numbers and one ledger page, never product records (100,000 products ≈ a few MB).
 *
 * Layers of protection, because a short or failing OKKI answer must never delete anything:
 *  1. the list must be read whole: the source ends normally only when the rows seen cover `data.count` and no page
 *     failed; otherwise the sweep fails with SWEEP_INCOMPLETE and acts on nothing;
 *  2. SYNC_DELETE_MAX: more gone products than that and no `confirmDeletes` → nothing is done (DELETE_GUARD); a few
 *     of them are looked up in OKKI so that the report can say whether the list looked short;
 *  3. proof per product: a product missing from the list is acted on only when /v1/product/info says OKKI does not
 *     have it (or has it flagged gone). A list that looked complete but was short (data.count agreeing with the
 *     short list) is caught here: the products it left out still exist, they are left alone and the run says
 *     OKKI_LIST_INCOMPLETE.
 * Products the list shows flagged (enable_flag 0, or discontinued with SYNC_DISCONTINUED=gone) are their own proof.
 */
import { ConnectorError, errorCode, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { LedgerEntry } from '../store/types.js';
import {
  productList, type MappingContext, type OkkiProduct, type ProductSource, type RunRecord,
} from '../core/index.js';
import type { GoneActor, GoneTarget } from './gone.js';
import { SWEEP_CONFIRM_BODY, type GoneOutcome } from './mirror.js';
import { proveAndAct } from './verify.js';

export type LedgerScan = (pageSize?: number) => AsyncIterable<Array<[string, LedgerEntry]>>;

export interface SweepDeps {
  source: ProductSource;
  scanLedger: LedgerScan;
  actor: GoneActor;
  logger: Logger;
  /** the ledger key of a listed product (its product number unless the key field holds a transformed value) */
  keyOf?: (product: OkkiProduct) => string | undefined;
}

export interface SweepOptions { confirm: boolean; ctx: MappingContext; signal: AbortSignal }

const productNoOf = (p: OkkiProduct) => (typeof p.product_no === 'string' && p.product_no ? p.product_no : undefined);

export async function runSweep(run: RunRecord, deps: SweepDeps, opts: SweepOptions): Promise<GoneOutcome> {
  const { source, actor, logger } = deps;
  if (!source.catalogue) throw new ConnectorError('MIRROR_UNSUPPORTED', 'This product source cannot read its whole catalogue, so it cannot be swept');
  const keyOf = deps.keyOf ?? productNoOf;

  // 1. Every listed key. A failure of any page (after the client's retries) ends the sweep here, before any action.
  const alive = new Set<string>();
  const flagged = new Map<string, GoneTarget>();
  let listed = 0;
  try {
    for await (const page of source.catalogue({ signal: opts.signal })) {
      for (const item of page.items) {
        const key = keyOf(item);
        if (!key) continue;
        listed++;
        const reason = actor.reasonOf(item);
        if (reason) flagged.set(key, { productNo: key, reason, product: { product_no: item.product_no, product_id: item.product_id, name: item.name } });
        else alive.add(key);
      }
      listed += page.rejected.length;
    }
  } catch (err) {
    run.sweep = { listed, complete: false, candidates: 0 };
    if (opts.signal.aborted) throw err;
    throw new ConnectorError('SWEEP_INCOMPLETE', `The sweep could not read the whole OKKI list (${errorCode(err)}: ${errorMessage(err)}); nothing was marked or deleted`, { cause: err });
  }

  // 2. The ledger against it: a product the ledger holds (not yet settled as gone) that OKKI does not list alive.
  const proven: GoneTarget[] = [];
  const unlisted: string[] = [];
  for await (const page of deps.scanLedger()) {
    for (const [no, entry] of page) {
      if (alive.has(no) || !actor.needsAction(entry)) continue;
      const f = flagged.get(no);
      if (f) proven.push(f);
      else unlisted.push(no);
    }
  }
  alive.clear();
  run.sweep = { listed, complete: true, candidates: proven.length + unlisted.length };
  run.counts.fetched = listed;
  logger.info({ listed, flagged: proven.length, unlisted: unlisted.length }, 'sweep compared OKKI\'s list with the ledger');
  if (!proven.length && !unlisted.length) {
    run.gone = { found: productList([]), due: 0, marked: 0, deleted: 0, kept: 0 };
    return { failed: 0, partial: false };
  }

  // 3. Guard, proof per product, action (verify.ts).
  return proveAndAct(run, source, actor, unlisted, { proven, confirm: opts.confirm, confirmBody: SWEEP_CONFIRM_BODY, ctx: opts.ctx, signal: opts.signal });
}
