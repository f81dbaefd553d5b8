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
 *
 * The ledger is keyed by the key field's value, which a transformed key (`SKU-{product_no}`) makes differ from the
 * product number: each entry is compared by the product it stands for (`GoneActor.ownerOf`: the number it keeps, else
 * its OKKI product id), never by its key.
 */
import { ConnectorError, errorCode, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { LedgerEntry } from '../store/types.js';
import {
  normalizeProductNo, productIdText, productList, type MappingContext, type ProductSource, type RunRecord,
} from '../core/index.js';
import type { GoneActor, GoneTarget } from './gone.js';
import { SWEEP_CONFIRM_BODY, type GoneOutcome } from './mirror.js';
import { proveAndAct, type Candidate } from './verify.js';

export type LedgerScan = (pageSize?: number) => AsyncIterable<Array<[string, LedgerEntry]>>;

export interface SweepDeps {
  source: ProductSource;
  scanLedger: LedgerScan;
  actor: GoneActor;
  logger: Logger;
}

export interface SweepOptions { confirm: boolean; ctx: MappingContext; signal: AbortSignal }

export async function runSweep(run: RunRecord, deps: SweepDeps, opts: SweepOptions): Promise<GoneOutcome> {
  const { source, actor, logger } = deps;
  if (!source.catalogue) throw new ConnectorError('MIRROR_UNSUPPORTED', 'This product source cannot read its whole catalogue, so it cannot be swept');

  // 1. Every listed product, by number and by id. A failure of any page (after the client's retries) ends the sweep
  // here, before any action.
  const aliveNos = new Set<string>();
  const aliveIds = new Set<string>();
  const flaggedNos = new Map<string, GoneTarget>();
  const flaggedIds = new Map<string, GoneTarget>();
  let listed = 0;
  try {
    for await (const page of source.catalogue({ signal: opts.signal })) {
      for (const item of page.items) {
        const no = normalizeProductNo(item.product_no);
        if (!no) continue;
        listed++;
        const id = productIdText(item.product_id);
        const reason = actor.reasonOf(item);
        if (reason) {
          const t: GoneTarget = { productNo: no, reason, product: { product_no: no, product_id: item.product_id, name: item.name } };
          flaggedNos.set(no, t);
          if (id) flaggedIds.set(id, t);
        } else {
          aliveNos.add(no);
          // a ledger key is the number as the key field held it, spaces and all
          if (typeof item.product_no === 'string' && item.product_no !== no) aliveNos.add(item.product_no);
          if (id) aliveIds.add(id);
        }
      }
      listed += page.rejected.length;
    }
  } catch (err) {
    run.sweep = { listed, complete: false, candidates: 0 };
    if (opts.signal.aborted) throw err;
    throw new ConnectorError('SWEEP_INCOMPLETE', `The sweep could not read the whole OKKI list (${errorCode(err)}: ${errorMessage(err)}); nothing was marked or deleted`, { cause: err });
  }

  // 2. The ledger against it: an entry (not yet settled as gone) whose product OKKI does not list alive.
  const proven: GoneTarget[] = [];
  const unlisted: Candidate[] = [];
  for await (const page of deps.scanLedger()) {
    for (const [key, entry] of page) {
      if (!actor.needsAction(entry)) continue;
      const owner = actor.ownerOf(key, entry);
      if (owner.productNo ? aliveNos.has(owner.productNo) : owner.productId ? aliveIds.has(owner.productId) : aliveNos.has(key)) continue;
      const f = (owner.productNo ? flaggedNos.get(owner.productNo) : undefined) ?? (owner.productId ? flaggedIds.get(owner.productId) : undefined);
      if (f) proven.push({ ...f, key });
      else unlisted.push({ key, ...owner });
    }
  }
  aliveNos.clear();
  aliveIds.clear();
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
