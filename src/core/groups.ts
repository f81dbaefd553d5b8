/**
 * The groups mirror's vocabulary (DESIGN "Second stage" → "Mirror", groups mirror): OKKI's product groups written
 * into a Yida form of their own (YIDA_GROUP_FORM_UUID), with a ledger of their own, deletions and the SYNC_DELETE_MAX
 * guard, and what a run records about them. Implemented by `sync/groups/*` (the engine side), `mapping/groups.ts`
 * (the mapping file's `groups` block) and `okki/groups.ts` (the records).
 */
import type { MappingContext } from './mapping.js';

/** One OKKI product group as the groups mirror reads it: the list's fields, with id, parent and layer as numbers. */
export type GroupRecord = Record<string, unknown> & {
  id: number;
  name: string;
  /** 0 for a root */
  parent_id: number;
  /** 1 for a root; OKKI's own value, or the depth in the rebuilt tree when OKKI gives none */
  layer: number;
};

/** What mapping one group gives: the form data and its hash, or why it cannot be written. */
export type GroupMappingResult =
  | { ok: true; key: string; formData: Record<string, unknown>; hash: string }
  | { ok: false; reason: string };

/** The mapping file's `groups` block, compiled (implemented by `mapping/groups.ts`). */
export interface GroupMapping {
  /** the Yida field id of the group form that holds the group id (the entry whose value is `{id}`) */
  readonly keyField: string;
  /** the fields the `request` entries write (an audit compares these) */
  readonly fields: readonly string[];
  /** the block has `onDelete` entries (what SYNC_DELETIONS=mark writes) */
  readonly hasMarks: boolean;
  map(group: GroupRecord, ctx: MappingContext): GroupMappingResult;
  /** what SYNC_DELETIONS=mark writes into a gone group's instance (`groups.onDelete`); undefined when there is none */
  markData(group: GroupRecord, ctx: MappingContext): GroupMappingResult | undefined;
  /** a marked group that came back: its onDelete fields no request entry writes, cleared */
  clearMarks(): Record<string, unknown>;
}

/** How many group ids a run record lists per finding (the counts are always complete). */
export const RECORDED_GROUP_IDS = 100;

/** What a run did about groups (run record `groups`). */
export interface GroupMirrorSummary {
  /** groups OKKI listed */
  listed: number;
  created: number;
  updated: number;
  unchanged: number;
  /** groups not written because their data is not clean (empty name, a name repeated among siblings, mapping) */
  rejected: number;
  failed: number;
  /** groups gone from OKKI's list and what was done about them (SYNC_DELETIONS) */
  gone?: {
    found: number;
    group_ids: number[];
    marked: number;
    deleted: number;
    /** SYNC_DELETIONS=off (or mark without a `groups.onDelete`): found, nothing changed */
    kept: number;
    /** absent from the list but OKKI still answers for them by id: the list was short, they are left alone */
    stillInOkki?: number;
    /** more gone groups than SYNC_DELETE_MAX and no confirmation: nothing was marked or deleted */
    guarded?: { count: number; max: number; confirm: string };
  };
  /**
   * Groups whose name (or place in the tree) changed since the last complete run: the products in them (and in their
   * sub-groups) were read again, because the group names mapped into them changed although the products did not.
   */
  renamed?: { groups: number; group_ids: number[]; productsRead: number };
  /** an audit run: the group form compared with OKKI's groups (and repaired, when asked) */
  audit?: GroupAuditSummary;
}

/** Keys of the group form (group ids as text) with a count: the first ones are listed, the count is complete. */
export interface GroupKeyList { count: number; keys: string[] }

/** An audit's findings about the group form (run record `groups.audit`). */
export interface GroupAuditSummary {
  /** clean groups OKKI lists that have no record */
  missing: GroupKeyList;
  /** group ids held by more than one record */
  duplicates: GroupKeyList;
  /** records whose values differ from the mapping of today's group */
  stale: GroupKeyList;
  /** records whose group OKKI does not list (a record marked as gone is not one) */
  orphans: GroupKeyList;
  /** records read from the group form */
  records: number;
  /** clean groups compared */
  groups: number;
  /** with repair: what was done */
  repaired?: { created: number; updated: number; duplicatesRemoved: number; orphansMarked: number; orphansDeleted: number; failed: number };
}

export function emptyGroupSummary(listed = 0): GroupMirrorSummary {
  return { listed, created: 0, updated: 0, unchanged: 0, rejected: 0, failed: 0 };
}
