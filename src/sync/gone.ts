/**
 * Gone products (DESIGN "Mirror"): which products are gone, and what happens to their instances — nothing
 * (SYNC_DELETIONS=off), the mapping's onDelete entries written into them (mark), or removed (delete) — each exactly
 * once, through the ledger:
 *
 *   mark:   pending(op:mark, instanceId) → update(instance, onDelete data) → done(gone:marked, instanceId)
 *   delete: pending(op:remove)           → remove(instance)                → done(gone:deleted, no instance)
 *
 * A pending entry found later (a crash, a lost answer) is settled the same way, from an exact key search instead of the
 * ledger's instance id: every instance holding the key is marked or removed, so a crash never leaves a gone product
 * both removed and present, or present twice. A product that comes back is the writer's business (a marked entry's
 * hash never matches, so it is updated and its marks cleared; a deleted one has no instance, so it is created anew).
 *
 * The guard: no run acts on more than SYNC_DELETE_MAX products unless the caller confirmed; above it nothing at all is
 * marked or removed and the caller records DELETE_GUARD.
 */
import { randomUUID } from 'node:crypto';
import { errorCode, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import {
  normalizeProductNo, type GoneReason, type Mapping, type MappingContext, type MirrorPolicy, type OkkiProduct, type ProductSink, type RunFailure,
} from '../core/index.js';
import type { Ledger, LedgerEntry } from '../store/types.js';

/** The hash of a marked entry: never a content hash, so a product that comes back is always written again. */
export const MARKED_HASH = 'gone:marked';

/** A flag is 0 when it says 0 as a number or a string; absent or anything else is the normal state (1). */
function flagIsZero(v: unknown): boolean {
  return v === 0 || (typeof v === 'string' && v.trim() === '0');
}

/** Why OKKI's own record says a product is gone (enable_flag 0; disable_flag 0 with SYNC_DISCONTINUED=gone). */
export function flaggedGone(product: OkkiProduct, policy: Pick<MirrorPolicy, 'discontinued'>): GoneReason | undefined {
  if (flagIsZero(product.enable_flag)) return 'deleted';
  if (policy.discontinued === 'gone' && flagIsZero(product.disable_flag)) return 'discontinued';
  return undefined;
}

export interface GoneTarget {
  /** the OKKI product number (reports show it); the Yida key when nothing says which number the key stands for */
  productNo: string;
  /** the ledger's and Yida's key: the key field's value, which a transformed key makes differ from the number */
  key?: string;
  reason: GoneReason;
  /** what is known of the product (onDelete templates read it); at least its number */
  product?: OkkiProduct;
  /** act on exactly these instances (an audit's orphans, which the ledger may not know) instead of the ledger's */
  instanceIds?: readonly string[];
}

export interface ActOptions {
  /** apply SYNC_DELETE_MAX (false when the caller applied it already, or the user confirmed) */
  guard: boolean;
  ctx: MappingContext;
  signal?: AbortSignal;
}

export interface ActResult {
  /** every gone product asked about */
  found: string[];
  /** products that needed something done (before the guard) */
  due: string[];
  marked: number;
  deleted: number;
  /** SYNC_DELETIONS=off: due, left alone */
  kept: number;
  /** over SYNC_DELETE_MAX: nothing was done */
  guarded: boolean;
  failures: RunFailure[];
}

export interface GoneActorDeps {
  ledger: Ledger;
  sink: ProductSink;
  mapping: Mapping;
  keyField: string;
  policy: MirrorPolicy;
  logger?: Logger;
  /** products worked on at once (the sink paces its calls below this; a batching sink fills its batches with it) */
  concurrency?: number;
}

type Outcome = 'marked' | 'deleted' | 'none';

/** The key a target is held under in the ledger and in Yida. */
export const keyOfTarget = (t: GoneTarget): string => t.key ?? t.productNo;

/** Which OKKI product a ledger key stands for (the sweep and the audit ask OKKI about it before acting). */
export interface KeyOwner { productNo?: string; productId?: string }

export class GoneActor {
  /** a ledger key is a product number (the key field holds it unchanged; a mapping that cannot evaluate keys: as before) */
  private readonly keyIsNo: boolean;

  constructor(private readonly deps: GoneActorDeps) {
    const m = deps.mapping;
    this.keyIsNo = m.keyIsProductNo ? m.keyIsProductNo() : !m.keyOf;
    if (deps.policy.deletions === 'mark' && !(deps.mapping.markData && deps.mapping.onDeleteFields?.().length)) throw new TypeError('GoneActor: SYNC_DELETIONS=mark needs a mapping with onDelete entries');
    if (deps.policy.deletions === 'delete' && !deps.sink.remove) throw new TypeError('GoneActor: SYNC_DELETIONS=delete needs a sink that can remove instances');
  }

  get policy(): MirrorPolicy { return this.deps.policy; }

  reasonOf(product: OkkiProduct): GoneReason | undefined { return flaggedGone(product, this.deps.policy); }

  /** A product's ledger and Yida key: the key field's value (a transformed one too). */
  keyOf(product: OkkiProduct, ctx: MappingContext): string | undefined {
    const m = this.deps.mapping;
    return m.keyOf ? m.keyOf(product, ctx) : normalizeProductNo(product.product_no);
  }

  /**
   * Which product a ledger key stands for: the number its entry keeps (a transformed key), the key itself when the key
   * field holds the number unchanged, and the OKKI product id. Neither number nor id: nothing can prove it gone.
   */
  ownerOf(key: string, entry: LedgerEntry | undefined): KeyOwner {
    const productNo = entry?.productNo ?? (this.keyIsNo ? key : undefined);
    return { ...(productNo ? { productNo } : {}), ...(entry?.productId ? { productId: entry.productId } : {}) };
  }

  /** Does this ledger entry still need the policy's action? (never synced, or already marked/removed: no) */
  needsAction(entry: LedgerEntry | undefined, target?: Pick<GoneTarget, 'instanceIds'>): boolean {
    if (target?.instanceIds?.length) return true;
    if (!entry) return false;
    if (entry.state === 'pending') return true;
    if (entry.gone === 'deleted') return false;
    if (entry.gone === 'marked') return this.deps.policy.deletions === 'delete';
    return true;
  }

  /** Mark or remove the instances of gone products per SYNC_DELETIONS, under the guard. Never throws for a product. */
  async act(targets: readonly GoneTarget[], opts: ActOptions): Promise<ActResult> {
    const { policy, ledger, logger } = this.deps;
    const seen = new Set<string>();
    const due: GoneTarget[] = [];
    const found: string[] = [];
    for (const t of targets) {
      const key = keyOfTarget(t);
      if (seen.has(key)) continue;
      seen.add(key);
      found.push(t.productNo);
      const entry = await ledger.get(key);
      // A key computed from little more than a number (a push delete) may be another product's: its entry says whose.
      if (entry?.productNo && key !== t.productNo && entry.productNo !== t.productNo) {
        logger?.warn({ productNo: t.productNo, key, holder: entry.productNo }, 'gone product: its key is held by another product number; left alone');
        continue;
      }
      if (this.needsAction(entry, t)) due.push(t);
    }
    const result: ActResult = { found, due: due.map((t) => t.productNo), marked: 0, deleted: 0, kept: 0, guarded: false, failures: [] };
    if (!due.length) return result;
    if (policy.deletions === 'off') {
      result.kept = due.length;
      logger?.info({ products: due.length }, 'gone products found; SYNC_DELETIONS=off leaves their instances alone');
      return result;
    }
    if (opts.guard && due.length > policy.deleteMax) {
      result.guarded = true;
      logger?.warn({ products: due.length, max: policy.deleteMax }, 'more gone products than SYNC_DELETE_MAX: nothing marked or deleted until confirmed');
      return result;
    }
    if (policy.deletions === 'delete' && this.deps.sink.removeMany) {
      await this.removeInBatches(due, opts, result);
      return result;
    }
    const queue = [...due];
    const worker = async () => {
      for (let t = queue.shift(); t; t = queue.shift()) {
        if (opts.signal?.aborted) return;
        try {
          const o = await this.one(t, opts);
          if (o === 'marked') result.marked++;
          else if (o === 'deleted') result.deleted++;
        } catch (err) {
          const code = errorCode(err);
          logger?.warn({ productNo: t.productNo, code, err: errorMessage(err) }, 'gone product not settled; the next run or sweep settles it');
          result.failures.push({ product_no: t.productNo, code, reason: `${policy.deletions === 'mark' ? 'marking' : 'removing'} the instance failed: ${errorMessage(err)}` });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.deps.concurrency ?? 16, due.length)) }, worker));
    return result;
  }

  /**
   * A sink that removes many at once (a plain form: batchRemovalByFormInstanceIdList, 500 per call): every product is
   * marked `pending(op:remove)` first, then their instances go in as few calls as the sink needs, then each entry is
   * `done`. A batch whose answer is lost leaves its products pending: settled by a search the next time (as above).
   */
  private async removeInBatches(due: readonly GoneTarget[], opts: ActOptions, result: ActResult): Promise<void> {
    const { ledger, sink, logger } = this.deps;
    const prepared: Array<{ t: GoneTarget; ids: string[]; before: LedgerEntry | undefined }> = [];
    const queue = [...due];
    const fail = (t: GoneTarget, err: unknown) => {
      logger?.warn({ productNo: t.productNo, code: errorCode(err), err: errorMessage(err) }, 'gone product not settled; the next run or sweep settles it');
      result.failures.push({ product_no: t.productNo, code: errorCode(err), reason: `removing the instance failed: ${errorMessage(err)}` });
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.deps.concurrency ?? 16, due.length)) }, async () => {
      for (let t = queue.shift(); t; t = queue.shift()) {
        if (opts.signal?.aborted) return;
        try {
          const before = await ledger.get(keyOfTarget(t));
          const ids = await this.instancesOf(t, before, opts.signal);
          await ledger.set(keyOfTarget(t), this.entry(before, { hash: '', state: 'pending', op: 'remove', attemptId: randomUUID(), instanceId: ids[0] }));
          prepared.push({ t, ids, before });
        } catch (err) { fail(t, err); }
      }
    }));
    const ids = prepared.flatMap((p) => p.ids);
    try {
      if (ids.length) await sink.removeMany!(ids, { signal: opts.signal });
    } catch (err) {
      for (const p of prepared) fail(p.t, err);
      return;
    }
    for (const p of prepared) {
      try {
        await ledger.set(keyOfTarget(p.t), this.entry(p.before, { hash: '', state: 'done', gone: 'deleted' }));
        if (p.ids.length) result.deleted++;
      } catch (err) { fail(p.t, err); }
    }
  }

  /** A new entry that still says which product it belongs to (a product proven gone later is found by it). */
  private entry(before: LedgerEntry | undefined, partial: Omit<LedgerEntry, 'syncedAt'>): LedgerEntry {
    return {
      ...partial, syncedAt: new Date().toISOString(),
      ...(before?.productId ? { productId: before.productId } : {}), ...(before?.productNo ? { productNo: before.productNo } : {}),
    };
  }

  /** The instances the product has: the ledger's confirmed one, else an exact search (a pending entry, an orphan). */
  private async instancesOf(t: GoneTarget, entry: LedgerEntry | undefined, signal?: AbortSignal): Promise<string[]> {
    if (t.instanceIds?.length) return [...t.instanceIds];
    if (entry?.state === 'done' && entry.instanceId) return [entry.instanceId];
    const key = keyOfTarget(t);
    return this.deps.sink.findByKey(this.deps.keyField, key, { signal, key });
  }

  private async one(t: GoneTarget, opts: ActOptions): Promise<Outcome> {
    const { ledger, sink, mapping, policy } = this.deps;
    const key = keyOfTarget(t);
    const entry = await ledger.get(key);
    const ids = await this.instancesOf(t, entry, opts.signal);
    const call = { signal: opts.signal, key };
    if (policy.deletions === 'mark') {
      const data = mapping.markData!(t.product ?? { product_no: t.productNo }, opts.ctx) ?? {};
      await ledger.set(key, this.entry(entry, { hash: MARKED_HASH, state: 'pending', op: 'mark', attemptId: randomUUID(), instanceId: ids[0] }));
      for (const id of ids) await sink.update(id, data, call);
      await ledger.set(key, this.entry(entry, { hash: MARKED_HASH, state: 'done', gone: 'marked', instanceId: ids[0] }));
      return ids.length ? 'marked' : 'none';
    }
    await ledger.set(key, this.entry(entry, { hash: '', state: 'pending', op: 'remove', attemptId: randomUUID(), instanceId: ids[0] }));
    if (ids.length > 1 && sink.removeMany) await sink.removeMany(ids, call);
    else for (const id of ids) await sink.remove!(id, call);
    await ledger.set(key, this.entry(entry, { hash: '', state: 'done', gone: 'deleted' }));
    return ids.length ? 'deleted' : 'none';
  }
}
