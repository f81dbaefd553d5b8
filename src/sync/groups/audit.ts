/**
 * The groups' part of an audit (`{"mode":"audit"}`, DESIGN "Mirror"): the whole group form read (100 records a call,
 * sliced under the 5,000-row cap by the sink) and compared with OKKI's group list, into `groups.audit`:
 * missing (a clean group without a record), duplicates (more than one record for a group id), stale (a record whose
 * values differ from the mapping of today's group), orphans (records whose group OKKI does not list).
 *
 * With `repair`: the missing are created, the stale updated, extra duplicates removed (the oldest stays, and the
 * ledger holds it), orphans treated per SYNC_DELETIONS under the SYNC_DELETE_MAX guard, each proven gone by asking
 * OKKI for it by id first. Groups whose data is not clean are reported (as in every run) and never written.
 */
import type {
  GroupAuditSummary, GroupMapping, GroupRecord, MappingContext, ProductSink, ProductWriter, RunFailure, WriteSession,
} from '../../core/index.js';
import { RECORDED_GROUP_IDS } from '../../core/index.js';
import type { GroupStateStore, Ledger } from '../../store/types.js';
import type { Logger } from '../../log.js';
import { errorCode, errorMessage } from '../../errors.js';
import { fingerprint } from '../audit.js';
import { AUDIT_CONFIRM_BODY } from '../mirror.js';
import { MARKED_HASH_PREFIX, type DeletionMode } from './gone.js';
import { settled } from './settle.js';

export interface GroupAuditDeps {
  mapping: GroupMapping;
  sink: ProductSink;
  writer: ProductWriter;
  ledger: Ledger;
  state: GroupStateStore;
  source?: { groupListed?(groupId: number, opts?: { signal?: AbortSignal }): Promise<boolean> };
  policy: { deletions: DeletionMode; deleteMax: number };
  logger?: Logger;
}

interface Held { id: string; createdAt: number; fp: string }

const list = (keys: readonly string[]) => ({ count: keys.length, keys: keys.slice(0, RECORDED_GROUP_IDS) });

export async function auditGroups(
  deps: GroupAuditDeps, clean: readonly GroupRecord[], listed: ReadonlySet<number>, ctx: MappingContext,
  opts: { repair: boolean; confirm: boolean; signal?: AbortSignal },
): Promise<{ audit: GroupAuditSummary; failures: RunFailure[] }> {
  const { mapping, sink, writer, ledger, state, policy } = deps;
  if (!sink.scanRecords) throw new Error('the group form\'s sink cannot be read whole');
  const fields = [...new Set([...mapping.fields, ...Object.keys(mapping.clearMarks())])];
  const failures: RunFailure[] = [];
  const repaired = { created: 0, updated: 0, duplicatesRemoved: 0, orphansMarked: 0, orphansDeleted: 0, failed: 0 };
  const fail = (key: string, err: unknown) => {
    repaired.failed++;
    failures.push({ product_no: null, group_id: Number(key), code: errorCode(err), reason: `group ${key}: ${errorMessage(err)}` });
  };

  // 1. The form: group id → its records, oldest first.
  const held = new Map<string, Held[]>();
  let records = 0;
  for await (const page of sink.scanRecords(mapping.keyField, { fields, signal: opts.signal })) {
    for (const r of page) {
      records++;
      held.set(r.key, [...(held.get(r.key) ?? []), { id: r.instanceId, createdAt: r.createdAt ?? Number.MAX_SAFE_INTEGER, fp: fingerprint(r.data, fields) }]);
    }
  }
  for (const l of held.values()) l.sort((a, b) => a.createdAt - b.createdAt);

  // 2. Every clean group against its records.
  const missing: string[] = [];
  const duplicates: string[] = [];
  const stale: string[] = [];
  let session: WriteSession | undefined;
  if (opts.repair) session = await writer.openSession({ adopt: false, signal: opts.signal });
  for (const group of clean) {
    const m = mapping.map(group, ctx);
    if (!m.ok) continue; // reported by the mirror's own mapping of the group
    const recs = held.get(m.key) ?? [];
    const [kept, ...extra] = recs;
    const isStale = kept !== undefined && kept.fp !== fingerprint(m.formData, fields);
    if (!kept) missing.push(m.key);
    if (extra.length) duplicates.push(m.key);
    if (isStale) stale.push(m.key);
    if (!opts.repair || (kept && !extra.length && !isStale)) continue;
    try {
      if (!kept) await ledger.delete(m.key); // a ledger entry may still name a record deleted by hand
      else await ledger.set(m.key, { hash: isStale ? '' : m.hash, state: 'done', instanceId: kept.id, syncedAt: new Date().toISOString() });
      for (const x of extra) { await sink.remove!(x.id, { signal: opts.signal, key: m.key }); repaired.duplicatesRemoved++; }
      if (kept && !isStale) continue;
      await state.addKnown([group.id]);
      const o = await settled(writer.write({ productNo: m.key, formData: m.formData, hash: m.hash }, session), () => writer.flush?.(session));
      if (o.kind === 'failed') fail(m.key, Object.assign(new Error(o.reason), { code: o.code }));
      else if (o.kind === 'created') repaired.created++;
      else repaired.updated++;
    } catch (err) { fail(m.key, err); }
  }

  // 3. Orphans: records whose group OKKI does not list. A record marked as gone is what mark mode means to leave.
  const orphans: string[] = [];
  for (const key of held.keys()) {
    if (/^\d+$/.test(key) && listed.has(Number(key))) continue;
    const entry = key ? await ledger.get(key) : undefined;
    if (policy.deletions === 'mark' && entry?.state === 'done' && entry.hash.startsWith(MARKED_HASH_PREFIX)) continue;
    orphans.push(key);
  }
  const audit: GroupAuditSummary = {
    missing: list(missing), duplicates: list(duplicates), stale: list(stale), orphans: list(orphans), records, groups: clean.length,
  };
  if (opts.repair) {
    await repairOrphans(deps, orphans.filter((k) => /^\d+$/.test(k)), held, ctx, opts, repaired, failures, fail);
    audit.repaired = repaired;
  }
  deps.logger?.info({ missing: missing.length, duplicates: duplicates.length, stale: stale.length, orphans: orphans.length }, 'audit compared the group form with OKKI\'s groups');
  return { audit, failures };
}

/** Orphans per SYNC_DELETIONS, under the guard, each proven gone by OKKI first. Keyless records are never touched. */
async function repairOrphans(
  deps: GroupAuditDeps, keys: string[], held: ReadonlyMap<string, Held[]>, ctx: MappingContext,
  opts: { confirm: boolean; signal?: AbortSignal }, repaired: NonNullable<GroupAuditSummary['repaired']>,
  failures: RunFailure[], fail: (key: string, err: unknown) => void,
): Promise<void> {
  const { policy, sink, ledger, state, mapping } = deps;
  if (!keys.length || policy.deletions === 'off' || (policy.deletions === 'mark' && !mapping.hasMarks)) return;
  if (keys.length > policy.deleteMax && !opts.confirm) {
    failures.push({
      product_no: null, code: 'DELETE_GUARD',
      reason: `${keys.length} records of the group form belong to no group OKKI lists, more than SYNC_DELETE_MAX (${policy.deleteMax}): none was ${policy.deletions === 'mark' ? 'marked' : 'deleted'}. After checking them, POST ${AUDIT_CONFIRM_BODY} to /webhooks/yida/sync to act on them`,
    });
    return;
  }
  for (const key of keys) {
    const id = Number(key);
    try {
      if (await deps.source?.groupListed?.(id, { signal: opts.signal })) continue;
      const ids = held.get(key)!.map((h) => h.id);
      if (policy.deletions === 'delete') {
        await ledger.set(key, { hash: '', state: 'pending', op: 'update', instanceId: ids[0], syncedAt: new Date().toISOString() });
        for (const x of ids) await sink.remove!(x, { signal: opts.signal, key });
        await ledger.delete(key);
        await state.removeKnown([id]);
        repaired.orphansDeleted++;
        continue;
      }
      const marks = mapping.markData({ id, name: '', parent_id: 0, layer: 0 }, ctx);
      if (!marks?.ok) continue;
      const hash = MARKED_HASH_PREFIX + marks.hash;
      await ledger.set(key, { hash, state: 'pending', op: 'update', instanceId: ids[0], syncedAt: new Date().toISOString() });
      for (const x of ids) await settled(sink.update(x, marks.formData, { signal: opts.signal, key }), () => sink.flush?.({ signal: opts.signal }));
      await ledger.set(key, { hash, state: 'done', instanceId: ids[0], syncedAt: new Date().toISOString() });
      repaired.orphansMarked++;
    } catch (err) { fail(key, err); }
  }
}
