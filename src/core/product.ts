/** The source side of the vocabulary: what a product source delivers and how it is asked. */
import type { GroupRecord } from './groups.js';

/** One OKKI product as the API returns it: ids are ints, many numbers are strings, unknown fields pass through. */
export type OkkiProduct = Record<string, unknown> & {
  product_id?: number;
  product_no?: string;
  name?: string;
  group_id?: number;
  update_time?: string;
};

/** A product that cannot be synced, with why. Recorded on the run; the run goes on. */
export interface RejectedRecord {
  product_no: string | null;
  product_id?: number | null;
  code: string; // e.g. OKKI_ITEM_INVALID, MAPPING_REJECTED
  reason: string;
}

/** Group lookups rebuilt from OKKI's flat `/v1/product/groups` list. */
export interface GroupTree {
  name(groupId: number | string | undefined | null): string | undefined;
  /** root ancestor's name */
  level1(groupId: number | string | undefined | null): string | undefined;
  /** name of the level-2 ancestor (or the group itself when it is on level 2); undefined for a root */
  level2(groupId: number | string | undefined | null): string | undefined;
  /** names from the root down to the group */
  path(groupId: number | string | undefined | null): string[];
  size: number;
  /** every group as OKKI listed it (usable ids only), for the groups mirror; absent = the tree cannot tell */
  records?(): readonly GroupRecord[];
}

/** An update-time window. `start` absent = everything up to `end` (first run, full backfill). Instants. */
export interface SyncWindow { start?: Date; end: Date }

export interface ProductPage {
  /** 1-based page number as read (after re-reads it is the order of delivery) */
  index: number;
  items: OkkiProduct[];
  /** items from this page that failed item validation (no product_no, ...) */
  rejected: RejectedRecord[];
  /** how many products the whole read holds, when the source knows it (OKKI's `data.count`): for run progress */
  total?: number;
}

export interface PullOptions {
  /** product fields the mapping needs that list items may lack (e.g. product_type): fetched via /v1/product/info */
  detailFields?: readonly string[];
  signal?: AbortSignal;
  /** deliver only the items this accepts (checked before any detail call); invalid items are dropped too */
  only?: (item: OkkiProduct) => boolean;
}

export interface ProductSource {
  groups(opts?: { signal?: AbortSignal }): Promise<GroupTree>;
  /** Every product updated within the window, each delivered exactly once, page by page (memory bounded by a page). */
  pages(window: SyncWindow, opts?: PullOptions): AsyncIterable<ProductPage>;
  /**
   * Whether OKKI still answers for one group when asked by id (`/v1/product/groups?group_id=`): the groups mirror's
   * proof before it treats a group missing from the flat list as gone. Optional: without it nothing is proven gone.
   */
  groupListed?(groupId: number, opts?: { signal?: AbortSignal }): Promise<boolean>;
  /**
   * Every listed product, without a time window (a sweep or an audit), shift-safe like `pages`: it ends normally only
   * when the rows seen cover the list's `data.count` and no page failed; otherwise it throws. Deleted products that
   * OKKI still lists (enable_flag 0) are delivered like any other: the caller decides. Optional: a source without it
   * cannot sweep or audit.
   */
  catalogue?(opts?: PullOptions): AsyncIterable<ProductPage>;
  /** Targeted pull by product numbers via /v1/product/info; not-found numbers come back as rejected records. */
  byProductNos(productNos: readonly string[], opts?: PullOptions): AsyncIterable<ProductPage>;
  /**
   * The same by OKKI product ids (not-found ids come back rejected with `product_id` set): the mirror's proof for a
   * ledger entry that kept the product's id but not its number. Optional: without it such an entry is never proven gone.
   */
  byProductIds?(productIds: readonly number[], opts?: PullOptions): AsyncIterable<ProductPage>;
  /** The wall-clock text the source uses for an instant (SYNC_TIMEZONE, `YYYY-MM-DD HH:mm:ss`): for records and reports. */
  formatTime(instant: Date): string;
}
