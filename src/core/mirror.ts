/**
 * The mirror's vocabulary (DESIGN "Second stage" → "Mirror"): when a product is gone, what happens to its instance,
 * and what sweeps and audits put into run records. Implemented by `sync/gone.ts`, `sync/sweep.ts`, `sync/audit.ts`.
 */

/** SYNC_DELETIONS: what a gone product's instance becomes: left alone, marked with the mapping's onDelete, removed. */
export type DeletionMode = 'off' | 'mark' | 'delete';
/** SYNC_DISCONTINUED: a discontinued product (disable_flag 0) stays and is synced, or counts as gone. */
export type DiscontinuedPolicy = 'keep' | 'gone';

export interface MirrorPolicy {
  deletions: DeletionMode;
  discontinued: DiscontinuedPolicy;
  /** SYNC_DELETE_MAX: no run marks or deletes more products than this unless confirmed */
  deleteMax: number;
}

/** Why a product counts as gone. */
export type GoneReason = 'deleted' | 'discontinued' | 'unlisted' | 'push';

/** Product numbers with a count: the first ones are listed, the count says how many there were in all. */
export interface ProductList { count: number; product_nos: string[] }

/** How many product numbers a run record lists per finding (the count is always complete). */
export const RECORDED_PRODUCT_NOS = 100;

/** What a run did about gone products (run record `gone`). */
export interface GoneSummary {
  /** gone products this run found (flagged in a list, reported by push, missing from a sweep and proven by /info) */
  found: ProductList;
  /** of those, the ones whose instance still needed marking or removing (the guard counts these) */
  due: number;
  /** instances marked with the mapping's onDelete entries */
  marked: number;
  /** instances removed */
  deleted: number;
  /** SYNC_DELETIONS=off: found, nothing changed */
  kept: number;
  /**
   * More gone products than SYNC_DELETE_MAX and no confirmation: nothing was marked or deleted. `confirm` is the
   * webhook body that acts on them.
   */
  guarded?: { count: number; max: number; confirm: string; sampled?: { checked: number; stillInOkki: number } };
}

/** What a sweep read (run record `sweep`). */
export interface SweepSummary {
  /** distinct products the unwindowed list delivered */
  listed: number;
  /** true when the whole list was read (rows seen cover data.count, no page failed): only then may the sweep act */
  complete: boolean;
  /** ledger entries that OKKI no longer lists (before proof by /v1/product/info) */
  candidates: number;
  /** candidates /v1/product/info still knows: the list was short; they are left alone */
  stillInOkki?: ProductList;
}

/** Audit findings (run record `audit`), each with the first product numbers. */
export interface AuditFindings {
  /** in OKKI, not in Yida */
  missing: ProductList;
  /** more than one instance for one key */
  duplicates: ProductList;
  /** Yida values differ from the mapping of today's OKKI product */
  stale: ProductList;
  /** instances whose key OKKI does not have */
  orphans: ProductList;
}

export interface AuditSummary extends AuditFindings {
  /** instances read from Yida */
  instances: number;
  /** products read from OKKI (alive ones) */
  products: number;
  /** with repair: what was done */
  repaired?: { created: number; updated: number; duplicatesRemoved: number; orphansMarked: number; orphansDeleted: number; failed: number };
}

export function productList(nos: Iterable<string>, count?: number): ProductList {
  const first: string[] = [];
  let n = 0;
  for (const no of nos) { if (first.length < RECORDED_PRODUCT_NOS) first.push(no); n++; }
  return { count: count ?? n, product_nos: first };
}
