/**
 * The groups mirror (README "Groups mirror"): every OKKI product group as one record of the group form
 * (YIDA_GROUP_FORM_UUID), written through the same ledger-guarded writer as products, over a ledger of its own
 * (`group-ledger:<id>`): one record per group id whatever fails, a record rewritten only when its mapped data changed.
 *
 * Each run (incremental, full): groups that are not clean (empty name, a name repeated among siblings) or that the
 * `groups` block cannot map are reported and not written; the others are written; groups the mirror wrote before and
 * OKKI no longer lists are gone (gone.ts).
 */
import type {
  GroupMapping, GroupMirrorSummary, GroupRecord, GroupTree, MappingContext, ProductWriter, RunFailure, WriteOutcome,
} from '../../core/index.js';
import { emptyGroupSummary } from '../../core/index.js';
import type { GroupStateStore } from '../../store/types.js';
import type { Logger } from '../../log.js';
import { cleanGroups } from './clean.js';
import { settled } from './settle.js';
import { GoneGroups, type GoneGroupsDeps } from './gone.js';
import { auditGroups } from './audit.js';

export interface GroupMirrorDeps extends Omit<GoneGroupsDeps, 'keyField'> {
  mapping: GroupMapping;
  /** a LedgerWriter over the group ledger and the group form's sink, keyed on the mapping's key field */
  writer: ProductWriter;
  state: GroupStateStore;
  logger?: Logger;
}

export interface GroupMirrorResult { summary: GroupMirrorSummary; failures: RunFailure[] }

export interface GroupMirrorOptions {
  signal?: AbortSignal;
  /** act on more gone groups than SYNC_DELETE_MAX (a confirmed sweep) */
  confirmDeletes?: boolean;
}

export class GroupMirror {
  private readonly gone: GoneGroups;

  constructor(private readonly deps: GroupMirrorDeps) {
    this.gone = new GoneGroups({ ...deps, keyField: deps.mapping.keyField });
  }

  /** Write the groups of `tree` and deal with the gone ones. Throws only when the store fails. */
  async run(tree: GroupTree, ctx: MappingContext, opts: GroupMirrorOptions = {}): Promise<GroupMirrorResult> {
    const { mapping, writer, state } = this.deps;
    const records = tree.records?.() ?? [];
    const summary = emptyGroupSummary(records.length);
    const failures: RunFailure[] = [];
    const fail = (group: GroupRecord, code: string, reason: string) => failures.push({ product_no: null, group_id: group.id, code, reason });

    const { clean, issues } = cleanGroups(records);
    for (const i of issues) { summary.rejected++; fail(i.group, i.code, i.reason); }
    const items: Array<{ group: GroupRecord; key: string; formData: Record<string, unknown>; hash: string }> = [];
    for (const group of clean) {
      const m = mapping.map(group, ctx);
      if (!m.ok) { summary.rejected++; fail(group, 'MAPPING_REJECTED', `group ${group.id} "${group.name}": ${m.reason}`); continue; }
      items.push({ group, key: m.key, formData: m.formData, hash: m.hash });
    }

    const known = await state.known();
    // Before anything is written: a group id is known before its record can exist, so a crash cannot hide a record
    // from the gone check of later runs.
    await state.addKnown(items.map((i) => i.group.id));
    // No group known yet (the first run, or a lost store): records already in the form are adopted, not duplicated.
    const session = await writer.openSession({ adopt: known.size === 0, bulk: true, signal: opts.signal });
    const settle = (group: GroupRecord, o: WriteOutcome) => {
      if (o.kind !== 'failed') { summary[o.kind]++; return; }
      summary.failed++;
      fail(group, o.code, `group ${group.id} "${group.name}": ${o.reason}`);
    };
    // Every write at once: the group form's sink gathers them into batches (yida/form-sink.ts), told to send what it
    // holds while the writes are waited for.
    await settled(Promise.all(items.map(async (item) => {
      if (opts.signal?.aborted) return;
      settle(item.group, await writer.write({ productNo: item.key, formData: item.formData, hash: item.hash }, session));
    })), () => writer.flush?.(session));

    const listed = new Set(records.map((g) => g.id));
    const goneCandidates = [...known].filter((id) => !listed.has(id));
    if (goneCandidates.length) {
      const gone = await this.gone.handle(goneCandidates, ctx, opts);
      // Marked before (and still to be left marked): nothing to report again.
      if (gone.summary.found > 0) summary.gone = gone.summary;
      failures.push(...gone.failures);
    }
    this.deps.logger?.info({ groups: summary }, 'groups mirrored');
    return { summary, failures };
  }

  /** An audit run: compare the group form with OKKI's groups (audit.ts); nothing else is written. */
  async audit(tree: GroupTree, ctx: MappingContext, opts: { repair: boolean; confirm: boolean; signal?: AbortSignal }): Promise<GroupMirrorResult> {
    const records = tree.records?.() ?? [];
    const summary = emptyGroupSummary(records.length);
    const { clean, issues } = cleanGroups(records);
    const failures: RunFailure[] = issues.map((i) => ({ product_no: null, group_id: i.group.id, code: i.code, reason: i.reason }));
    summary.rejected = issues.length;
    const audited = await auditGroups(this.deps, clean, new Set(records.map((g) => g.id)), ctx, opts);
    summary.audit = audited.audit;
    const r = audited.audit.repaired;
    if (r) { summary.created = r.created; summary.updated = r.updated; summary.failed = r.failed; }
    failures.push(...audited.failures);
    return { summary, failures };
  }
}
