import type { CallCounts, QuotaStatus } from '../metering/meter.js';

/**
 * The small interfaces the sync engine depends on. `okki/`, `mapping/`, `yida/`, `store/` and `robot/`
 * implement them; the engine never reaches into their internals.
 */

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
}

/** An update-time window. `start` absent = everything up to `end` (first run, full backfill). Instants. */
export interface SyncWindow { start?: Date; end: Date }

export interface ProductPage {
  /** 1-based page number as read (after re-reads it is the order of delivery) */
  index: number;
  items: OkkiProduct[];
  /** items from this page that failed item validation (no product_no, ...) */
  rejected: RejectedRecord[];
}

export interface PullOptions {
  /** product fields the mapping needs that list items may lack (e.g. product_type): fetched via /v1/product/info */
  detailFields?: readonly string[];
  signal?: AbortSignal;
}

export interface ProductSource {
  groups(opts?: { signal?: AbortSignal }): Promise<GroupTree>;
  /** Every product updated within the window, each delivered exactly once, page by page (memory bounded by a page). */
  pages(window: SyncWindow, opts?: PullOptions): AsyncIterable<ProductPage>;
  /** Targeted pull by product numbers via /v1/product/info; not-found numbers come back as rejected records. */
  byProductNos(productNos: readonly string[], opts?: PullOptions): AsyncIterable<ProductPage>;
  /** The wall-clock text the source uses for an instant (SYNC_TIMEZONE, `YYYY-MM-DD HH:mm:ss`): for records and reports. */
  formatTime(instant: Date): string;
}

/** Context the mapping reads `{{variables}}` from. */
export interface MappingContext {
  groups: GroupTree;
  /** the cursor before this run (LAST_SYNC_TIME); undefined on the first run */
  lastSyncTime?: Date;
  /** run start (CURRENT_TIME) */
  now: Date;
  /** wall-clock zone for formatting dates (SYNC_TIMEZONE) */
  timezone: string;
}

export type MappingResult =
  | { ok: true; productNo: string; formData: Record<string, unknown>; hash: string }
  | { ok: false; rejected: RejectedRecord };

export interface Mapping {
  /** the Yida field id that holds the product number (the dedupe key on the Yida side) */
  readonly keyField: string;
  map(product: OkkiProduct, ctx: MappingContext): MappingResult;
  /** top-level product field names the templates reference (`{fob.price_min}` → `fob`) */
  referencedProductFields(): Set<string>;
}

/** What writing one mapped product ended as. */
export type WriteOutcome =
  | { kind: 'created' | 'updated' | 'unchanged'; productNo: string; instanceId: string }
  | { kind: 'failed'; productNo: string; code: string; reason: string };

/** Ledger-guarded writer: one Yida instance per product number, whatever fails. */
export interface ProductWriter {
  /** `searchFirst`: look a product number without a ledger entry up in Yida before creating it (adopt what exists) */
  write(item: { productNo: string; formData: Record<string, unknown>; hash: string }, opts?: { signal?: AbortSignal; searchFirst?: boolean }): Promise<WriteOutcome>;
  /** before a backfill: learn in bulk which product numbers already have instances (optional) */
  preloadExisting?(signal?: AbortSignal): Promise<number | undefined>;
  dropExisting?(): void;
}

/** skipped: a scheduled run not started because the month's DingTalk call budget is spent (error BUDGET_EXHAUSTED) */
export type RunStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'skipped';
export type RunMode = 'incremental' | 'full' | 'targeted';

export interface RunCounts { fetched: number; created: number; updated: number; unchanged: number; rejected: number; failed: number }

export interface RunFailure { product_no: string | null; code: string; reason: string }

/** The run record exactly as `GET /runs/:id` shows it (DESIGN.md), plus a few extra fields. */
export interface RunRecord {
  id: string;
  trigger: string; // 'webhook' | 'schedule' | 'cli' | 'startup'
  /** who asked for it, when known (webhook caller, replica id) */
  requestedBy?: string;
  mode: RunMode;
  status: RunStatus;
  /** wall-clock texts in SYNC_TIMEZONE (`YYYY-MM-DD HH:mm:ss`); start null on a full backfill */
  window: { start: string | null; end: string | null };
  startedAt: string; // ISO
  finishedAt: string | null; // ISO
  durationMs?: number;
  counts: RunCounts;
  failures: RunFailure[];
  /** total failures, even when `failures` is truncated */
  failuresTotal?: number;
  /** the run-level error when status is failed */
  error?: { code: string; message: string };
  productNos?: string[];
  cursorBefore?: string | null;
  cursorAfter?: string | null;
  /** what the run cost: metered DingTalk calls, OKKI requests, robot messages (metering/meter.ts) */
  calls?: CallCounts;
  /** robot delivery: `skipped` says why no message was sent on purpose (ROBOT_REPORT, robot budget) */
  report?: { sent: boolean; error?: string; skipped?: string };
}

export interface ReportExtra {
  consecutiveFailures?: number;
  /** the month's quota picture: thresholds reached are shown, a new one is announced even by a quiet report */
  quota?: QuotaStatus;
}

export interface Reporter {
  /** Never throws: a robot failure is logged and returned, never fails the run. */
  report(run: RunRecord, extra?: ReportExtra): Promise<{ sent: boolean; error?: string; skipped?: string }>;
}
