/**
 * Groups gone from OKKI (README "Groups mirror"): a group the mirror wrote that OKKI's flat list no longer holds.
 * What happens to its record follows SYNC_DELETIONS, under the same guard as products:
 *  - `off`: found and reported, nothing changed;
 *  - `mark`: the `groups.onDelete` entries are written into its record (nothing, and a warning, without them);
 *  - `delete`: its record is removed.
 * Nothing is marked or deleted when more groups are gone than SYNC_DELETE_MAX (unless a sweep confirms), and none
 * before OKKI, asked for it by id, no longer answers for it: a list that came back short deletes nothing.
 *
 * Exactly once: the ledger entry goes `pending` before the record is touched and is settled after; a pending entry
 * found later is settled by an exact search on the key, like a pending write.
 */
import type {
  GroupMapping, GroupMirrorSummary, GroupRecord, MappingContext, ProductSink, RunFailure,
} from '../../core/index.js';
import { DuplicateFoundError, RECORDED_GROUP_IDS, SinkRejectedError } from '../../core/index.js';
import type { GroupStateStore, Ledger, LedgerEntry } from '../../store/types.js';
import type { Logger } from '../../log.js';
import { ConnectorError, errorCode, errorMessage } from '../../errors.js';
import { SWEEP_CONFIRM_BODY } from '../mirror.js';
import { settled } from './settle.js';

/** the webhook body that confirms guarded deletions: a confirmed sweep, as for products (DESIGN "Mirror") */
export const GROUPS_CONFIRM_BODY = SWEEP_CONFIRM_BODY;
/** a marked record's ledger hash starts with this: a group that comes back always differs, and is rewritten */
export const MARKED_HASH_PREFIX = 'marked:';

export type DeletionMode = 'off' | 'mark' | 'delete';

export interface GoneGroupsDeps {
  ledger: Ledger;
  sink: ProductSink;
  keyField: string;
  mapping: GroupMapping;
  state: GroupStateStore;
  /** OKKI asked for one group by id: the proof before a group missing from the list is treated as gone */
  source?: { groupListed?(groupId: number, opts?: { signal?: AbortSignal }): Promise<boolean> };
  policy: { deletions: DeletionMode; deleteMax: number };
  logger?: Logger;
}

type GoneSummary = NonNullable<GroupMirrorSummary['gone']>;

const isStoreFailure = (err: unknown) => errorCode(err) === 'STORE_UNAVAILABLE';

export class GoneGroups {
  private warnedNoMarks = false;
  constructor(private readonly deps: GoneGroupsDeps) {}

  async handle(candidates: readonly number[], ctx: MappingContext, opts: { signal?: AbortSignal; confirmDeletes?: boolean }): Promise<{ summary: GoneSummary; failures: RunFailure[] }> {
    const { ledger, state, policy } = this.deps;
    const failures: RunFailure[] = [];
    const entries = new Map<number, LedgerEntry>();
    const forgotten: number[] = [];
    for (const id of candidates) {
      const entry = await ledger.get(String(id));
      // Known but never written (refused, or never got that far): nothing in the form to act on.
      if (!entry) { forgotten.push(id); continue; }
      // Marked already: nothing more to do unless records are now to be deleted.
      if (entry.state === 'done' && entry.hash.startsWith(MARKED_HASH_PREFIX) && policy.deletions !== 'delete') continue;
      entries.set(id, entry);
    }
    if (forgotten.length) await state.removeKnown(forgotten);
    const found = [...entries.keys()];
    const summary: GoneSummary = { found: found.length, group_ids: found.slice(0, RECORDED_GROUP_IDS), marked: 0, deleted: 0, kept: 0 };
    if (!found.length) return { summary, failures };

    if (policy.deletions === 'off' || (policy.deletions === 'mark' && !this.deps.mapping.hasMarks)) {
      if (policy.deletions === 'mark' && !this.warnedNoMarks) {
        this.warnedNoMarks = true;
        this.deps.logger?.warn('SYNC_DELETIONS=mark, but the mapping\'s groups block has no onDelete entries: gone groups are kept as they are');
      }
      summary.kept = found.length;
      return { summary, failures };
    }
    if (found.length > policy.deleteMax && !opts.confirmDeletes) {
      summary.guarded = { count: found.length, max: policy.deleteMax, confirm: GROUPS_CONFIRM_BODY };
      failures.push({
        product_no: null, code: 'DELETE_GUARD',
        reason: `${found.length} product groups are gone from OKKI, more than SYNC_DELETE_MAX (${policy.deleteMax}): none was ${policy.deletions === 'mark' ? 'marked' : 'deleted'}. After checking them, POST ${GROUPS_CONFIRM_BODY} to /webhooks/yida/sync to act on them`,
      });
      return { summary, failures };
    }

    const paths = await state.paths();
    for (const id of found) {
      if (opts.signal?.aborted) break;
      try {
        if (await this.stillListed(id, opts.signal)) { summary.stillInOkki = (summary.stillInOkki ?? 0) + 1; continue; }
        const path = paths?.get(id);
        const group: GroupRecord = { id, name: path?.split(' / ').pop() ?? '', parent_id: 0, layer: path ? path.split(' / ').length : 0 };
        if (policy.deletions === 'mark') summary.marked += await this.mark(group, entries.get(id)!, ctx, opts.signal);
        else summary.deleted += await this.remove(id, entries.get(id)!, opts.signal);
      } catch (err) {
        if (isStoreFailure(err)) throw err;
        failures.push({ product_no: null, group_id: id, code: errorCode(err), reason: `gone group ${id}: ${errorMessage(err)}` });
      }
    }
    return { summary, failures };
  }

  /** OKKI still answers for the group when asked by id: its absence from the list was a short answer. */
  private async stillListed(id: number, signal?: AbortSignal): Promise<boolean> {
    const ask = this.deps.source?.groupListed;
    if (!ask) return false;
    const listed = await ask.call(this.deps.source, id, { signal });
    if (listed) this.deps.logger?.warn({ groupId: id }, 'group missing from OKKI\'s list but OKKI still has it: left alone');
    return listed;
  }

  /** The record(s) holding the group: the ledger's when it is sure, else an exact search. */
  private async recordsOf(id: number, entry: LedgerEntry, signal?: AbortSignal): Promise<string[]> {
    if (entry.state === 'done' && entry.instanceId) return [entry.instanceId];
    const { sink } = this.deps;
    return settled(sink.findByKey(this.deps.keyField, String(id), { signal, key: String(id) }), () => sink.flush?.({ signal }));
  }

  private async mark(group: GroupRecord, entry: LedgerEntry, ctx: MappingContext, signal?: AbortSignal): Promise<number> {
    const { ledger, sink, state } = this.deps;
    const key = String(group.id);
    const marks = this.deps.mapping.markData(group, ctx);
    if (!marks) return 0;
    if (!marks.ok) throw new ConnectorError('MAPPING_REJECTED', marks.reason);
    const ids = await this.recordsOf(group.id, entry, signal);
    if (ids.length === 0) { await ledger.delete(key); await state.removeKnown([group.id]); return 0; }
    if (ids.length > 1) throw new DuplicateFoundError(key, ids);
    const hash = MARKED_HASH_PREFIX + marks.hash;
    const now = () => new Date().toISOString();
    await ledger.set(key, { hash, state: 'pending', op: 'update', instanceId: ids[0], syncedAt: now() });
    await settled(sink.update(ids[0], marks.formData, { signal, key }), () => sink.flush?.({ signal }));
    await ledger.set(key, { hash, state: 'done', instanceId: ids[0], syncedAt: now() });
    return 1;
  }

  private async remove(id: number, entry: LedgerEntry, signal?: AbortSignal): Promise<number> {
    const { ledger, sink, state } = this.deps;
    if (!sink.remove) throw new SinkRejectedError('the group form\'s sink cannot delete records');
    const key = String(id);
    const ids = await this.recordsOf(id, entry, signal);
    if (ids.length) {
      await ledger.set(key, { hash: entry.hash, state: 'pending', op: 'update', instanceId: ids[0], syncedAt: new Date().toISOString() });
      for (const instanceId of ids) await sink.remove(instanceId, { signal, key });
    }
    await ledger.delete(key);
    await state.removeKnown([id]);
    return ids.length ? 1 : 0;
  }
}
