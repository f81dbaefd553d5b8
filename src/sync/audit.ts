/**
 * The audit (`{"mode":"audit"}`): read the whole Yida form (keys and the mapped fields' values) and the whole OKKI
 * catalogue, and record what differs (`audit: {missing, duplicates, stale, orphans}`, DESIGN "Mirror"). With
 * `repair` it creates the missing, updates the stale, removes extra duplicates (keeping the oldest, which the ledger
 * then holds) and treats orphans per SYNC_DELETIONS (under the SYNC_DELETE_MAX guard and the per-product proof of
 * the sweep); it touches nothing else (the cursor stays).
 *
 * Cost: the form is read 100 instances per call (the sink slices its reads under any paging cap), the catalogue 100
 * products per call, plus /v1/product/info only for fields list items lack and for orphans being repaired. Memory:
 * per instance its id, creation time and a short fingerprint of its values; per product its key.
 */
import { createHash } from 'node:crypto';
import { ConnectorError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  keyText, normalizeProductNo, productIdText, productList, type AuditSummary, type Mapping, type MappingContext, type ProductSink, type ProductSource,
  type ProductWriter, type RunRecord, type WriteSession,
} from '../core/index.js';
import type { Ledger } from '../store/types.js';
import type { GoneActor, GoneTarget, KeyOwner } from './gone.js';
import { AUDIT_CONFIRM_BODY, recordFailures, type GoneOutcome } from './mirror.js';
import { proveAndAct, type Candidate } from './verify.js';

export interface AuditDeps {
  source: ProductSource;
  sink: ProductSink;
  mapping: Mapping;
  writer: ProductWriter;
  ledger: Ledger;
  actor: GoneActor;
  logger: Logger;
  /** product fields list items lack that the mapping needs (fetched per product via /v1/product/info) */
  detailFields?: readonly string[];
  /** repairs in flight at most */
  maxInFlight?: number;
}

export interface AuditOptions { repair: boolean; confirm: boolean; ctx: MappingContext; signal: AbortSignal }

interface Held { id: string; createdAt: number; fp: string }

/** One value as both sides can agree on it: empty is empty, numbers by value, text trimmed. */
export function normalised(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.length ? JSON.stringify(v.map(normalised)) : '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'string') {
    const t = v.trim();
    return /^-?\d+(\.\d+)?$/.test(t) ? String(Number(t)) : t;
  }
  if (typeof v === 'boolean') return String(v);
  return stableJson(v);
}

function stableJson(v: unknown): string {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** A short fingerprint of the compared fields' values. */
export function fingerprint(data: Record<string, unknown>, fields: readonly string[]): string {
  return createHash('sha1').update(JSON.stringify(fields.map((f) => normalised(data[f])))).digest('base64').slice(0, 16);
}

/** Runs tasks with at most `max` in flight. */
class Pool {
  private readonly running = new Set<Promise<void>>();
  constructor(private readonly max: number) {}
  async add(task: () => Promise<void>): Promise<void> {
    const p: Promise<void> = task().finally(() => { this.running.delete(p); });
    this.running.add(p);
    while (this.running.size >= this.max) await Promise.race(this.running);
  }
  async drain(): Promise<void> { await Promise.all(this.running); }
}

export async function runAudit(run: RunRecord, deps: AuditDeps, opts: AuditOptions): Promise<GoneOutcome> {
  const { source, sink, mapping, writer, ledger, actor, logger } = deps;
  if (!source.catalogue || !sink.scanRecords) throw new ConnectorError('MIRROR_UNSUPPORTED', 'This source or sink cannot be read whole, so it cannot be audited');
  const keyField = mapping.keyField;
  const clears = mapping.clearMarks?.() ?? {};
  // The request's fields, and the onDelete fields no request entry writes (a mark left on a live product is stale).
  const fields = [...new Set([...(mapping.requestFields?.() ?? []), ...Object.keys(clears)])];

  // 1. The form: key → its instances, oldest first.
  const held = new Map<string, Held[]>();
  let instances = 0;
  for await (const page of sink.scanRecords(keyField, { fields, signal: opts.signal })) {
    for (const r of page) {
      instances++;
      const list = held.get(r.key) ?? [];
      list.push({ id: r.instanceId, createdAt: r.createdAt ?? Number.MAX_SAFE_INTEGER, fp: fingerprint(r.data, fields) });
      held.set(r.key, list);
    }
  }
  for (const list of held.values()) list.sort((a, b) => a.createdAt - b.createdAt);
  logger.info({ instances, keys: held.size }, 'audit read the Yida form');

  // 2. The catalogue, compared product by product; repairs go out as the comparison goes.
  const missing: string[] = [];
  const duplicates: string[] = [];
  const stale: string[] = [];
  const alive = new Set<string>();
  const flagged = new Map<string, GoneTarget>();
  const repaired = { created: 0, updated: 0, duplicatesRemoved: 0, orphansMarked: 0, orphansDeleted: 0, failed: 0 };
  const pool = new Pool(deps.maxInFlight ?? 8);
  let session: WriteSession | undefined;
  if (opts.repair) session = await writer.openSession({ adopt: false, signal: opts.signal });
  const extras: Array<{ productNo: string; id: string }> = [];
  const fail = (productNo: string, code: string, reason: string) => { repaired.failed++; recordFailures(run, [{ product_no: productNo, code, reason }]); };

  for await (const page of source.catalogue({ detailFields: deps.detailFields, signal: opts.signal })) {
    for (const item of page.items) {
      run.counts.fetched++;
      const reason = actor.reasonOf(item);
      if (reason) {
        const no = normalizeProductNo(item.product_no);
        const k = actor.keyOf(item, opts.ctx) ?? no;
        if (no && k) flagged.set(k, { productNo: no, key: k, reason, product: item });
        continue;
      }
      const mapped = mapping.map(item, opts.ctx);
      if (!mapped.ok) {
        run.counts.rejected++;
        // still OKKI's: its instance (if its key can be told) is no orphan
        const k = actor.keyOf(item, opts.ctx);
        if (k) alive.add(k);
        continue;
      }
      const key = mapped.productNo;
      // Yida and the ledger are matched on the value the key field holds (the product number unless it is transformed)
      const yidaKey = keyText(mapped.formData[keyField]) ?? key;
      const productId = productIdText(item.product_id);
      const owner = { ...(productId ? { productId } : {}), ...(yidaKey !== key ? { productNo: key } : {}) };
      const expected = { ...clears, ...mapped.formData };
      const write = () => writer.write({ productNo: key, key: yidaKey, productId: item.product_id ?? null, formData: expected, hash: mapped.hash }, session);
      alive.add(yidaKey);
      const list = held.get(yidaKey);
      if (!list?.length) {
        missing.push(key);
        if (opts.repair) {
          await pool.add(async () => {
            // The ledger may still name an instance that is gone (deleted by hand): the product starts afresh.
            await ledger.delete(yidaKey);
            const o = await write();
            if (o.kind === 'failed') fail(key, o.code, o.reason); else if (o.kind === 'created') repaired.created++;
          });
        }
        continue;
      }
      const [kept, ...extra] = list;
      const isStale = kept.fp !== fingerprint(expected, fields);
      if (extra.length) duplicates.push(key);
      if (isStale) stale.push(key);
      if (!opts.repair) continue;
      await pool.add(async () => {
        try {
          const entry = await ledger.get(yidaKey);
          // The ledger holds the kept (oldest) instance before any other goes, so it never names a removed one.
          if (extra.length || isStale || entry?.state !== 'done' || entry.instanceId !== kept.id || entry.gone) {
            await ledger.set(yidaKey, { hash: isStale ? '' : mapped.hash, state: 'done', instanceId: kept.id, syncedAt: new Date().toISOString(), ...owner });
          }
          // A sink that removes in bulk gets every extra duplicate at the end, in as few calls as it needs.
          if (sink.removeMany) extras.push(...extra.map((x) => ({ productNo: key, id: x.id })));
          else {
            for (const x of extra) {
              await sink.remove!(x.id, { signal: opts.signal, key: yidaKey });
              repaired.duplicatesRemoved++;
            }
          }
          if (isStale) {
            const o = await write();
            if (o.kind === 'failed') fail(key, o.code, o.reason); else repaired.updated++;
          }
        } catch (err) {
          fail(key, (err as { code?: string }).code ?? 'WRITE_FAILED', (err as Error).message);
        }
      });
    }
    run.counts.rejected += page.rejected.length;
  }
  await pool.drain();
  if (opts.repair) await writer.flush?.(session);
  if (extras.length) {
    try {
      await sink.removeMany!(extras.map((x) => x.id), { signal: opts.signal });
      repaired.duplicatesRemoved += extras.length;
    } catch (err) {
      // the ledger already holds the kept instance of each: the next audit finds what is left and removes it
      for (const no of new Set(extras.map((x) => x.productNo))) fail(no, (err as { code?: string }).code ?? 'WRITE_FAILED', `removing extra duplicates failed: ${(err as Error).message}`);
    }
  }

  // 3. Orphans: instances whose key OKKI does not have alive. A marked gone product is not one (with mark, that is
  // what it is meant to look like).
  const orphanKeys: string[] = [];
  const owners = new Map<string, KeyOwner>();
  for (const key of held.keys()) {
    if (alive.has(key)) continue;
    const entry = key ? await ledger.get(key) : undefined;
    if (actor.policy.deletions === 'mark' && entry?.state === 'done' && entry.gone === 'marked') continue;
    orphanKeys.push(key);
    if (key) owners.set(key, actor.ownerOf(key, entry));
  }
  const audit: AuditSummary = {
    missing: productList(missing), duplicates: productList(duplicates), stale: productList(stale), orphans: productList(orphanKeys),
    instances, products: alive.size,
  };
  run.audit = audit;
  logger.info({ missing: missing.length, duplicates: duplicates.length, stale: stale.length, orphans: orphanKeys.length }, 'audit compared the form with the catalogue');
  let outcome: GoneOutcome = { failed: repaired.failed, partial: repaired.failed > 0 };
  if (opts.repair) {
    // Keyless instances are reported, never acted on: nothing says which product they were.
    const targets = orphanKeys.filter(Boolean);
    if (targets.length) {
      const proven = targets.flatMap((k) => (flagged.has(k) ? [{ ...flagged.get(k)!, instanceIds: held.get(k)!.map((h) => h.id) }] : []));
      // each asked about as the product its key stands for (a transformed key is no product number)
      const toVerify: Candidate[] = targets.filter((k) => !flagged.has(k)).map((k) => ({ key: k, ...owners.get(k) }));
      const o = await proveAndAct(run, source, actor, toVerify, {
        proven, confirm: opts.confirm, confirmBody: AUDIT_CONFIRM_BODY, instancesOf: (k) => held.get(k)?.map((h) => h.id) ?? [], ctx: opts.ctx, signal: opts.signal,
      });
      repaired.orphansMarked = run.gone?.marked ?? 0;
      repaired.orphansDeleted = run.gone?.deleted ?? 0;
      outcome = { failed: outcome.failed + o.failed, partial: outcome.partial || o.partial };
    }
    audit.repaired = repaired;
    run.counts.created += repaired.created;
    run.counts.updated += repaired.updated;
    run.counts.failed += repaired.failed;
  }
  return outcome;
}
