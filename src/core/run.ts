/** A run as everyone sees it: its record (`GET /runs/:id`, the robot report, the store) and the reporter port. */
import type { GroupMirrorSummary } from './groups.js';
import type { AuditSummary, GoneSummary, SweepSummary } from './mirror.js';
import type { CallCounts, QuotaStatus } from './metering.js';

/** skipped: a scheduled run not started because the month's DingTalk call budget is spent (error BUDGET_EXHAUSTED) */
export type RunStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'skipped';
/**
 * What a run reads. `targeted` is chosen by the engine when product numbers are given. New modes (sweep, audit) are
 * added here and planned in `sync/plan.ts`.
 */
export type RunMode = 'incremental' | 'full' | 'targeted' | 'sweep' | 'audit';
/** Who asked for a run. New triggers (an OKKI push queue, ...) are added here and call `SyncService.trigger`. */
export type RunTrigger = 'webhook' | 'schedule' | 'cli' | 'startup' | 'push' | 'console';

export interface RunCounts {
  fetched: number; created: number; updated: number; unchanged: number; rejected: number; failed: number;
  /** gone products whose instance was removed / marked (present once a run dealt with gone products) */
  deleted?: number; marked?: number;
}

export interface RunFailure {
  product_no: string | null; code: string; reason: string;
  /** a failure of the groups mirror names the group instead of a product */
  group_id?: number;
}

export function emptyCounts(): RunCounts {
  return { fetched: 0, created: 0, updated: 0, unchanged: 0, rejected: 0, failed: 0 };
}

/** The run record exactly as `GET /runs/:id` shows it (README "HTTP surface"), plus a few extra fields. */
export interface RunRecord {
  id: string;
  trigger: string; // a RunTrigger
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
  /** a targeted run's product numbers OKKI reported deleted (push delete events) */
  deletedProductNos?: string[];
  /**
   * gone products the run found (flagged in a list, missing targets of a push run, missing from a sweep and proven by
   * /v1/product/info) and what was done about them per SYNC_DELETIONS, under the SYNC_DELETE_MAX guard
   */
  gone?: GoneSummary;
  cursorBefore?: string | null;
  cursorAfter?: string | null;
  /**
   * products refused for good (the sink refused the data, duplicate instances) that this run parked or found still
   * parked: skipped until their content changes or a product_nos run names them (first 100; `parkedTotal` counts all)
   */
  parked?: Array<{ product_no: string; code: string; reason: string; since: string }>;
  parkedTotal?: number;
  /** the cursor is older than SYNC_CURSOR_MAX_AGE after this run (the report raises an alert) */
  cursorStale?: { cursor: string; ageSeconds: number; maxAgeSeconds: number };
  /** what the run cost: metered DingTalk calls, OKKI requests, robot messages (core/metering.ts) */
  calls?: CallCounts;
  /** robot delivery: `skipped` says why no message was sent on purpose (ROBOT_REPORT, robot budget) */
  report?: { sent: boolean; error?: string; skipped?: string };
  /** the groups mirror (YIDA_GROUP_FORM_UUID): what it wrote, rejected, found gone, and products read again */
  groups?: GroupMirrorSummary;
  /** a sweep's read of the whole catalogue */
  sweep?: SweepSummary;
  /** an audit's findings (and repairs) */
  audit?: AuditSummary;
  /** `confirmDeletes` / `repair` as asked */
  options?: { confirmDeletes?: boolean; repair?: boolean };
}

/** Live progress of a run in this process (not stored): for a console or a progress bar. */
export interface RunProgress {
  runId: string;
  counts: RunCounts;
  /** products read so far (= counts.fetched) */
  read: number;
  /** products whose write settled: created + updated + unchanged + failed */
  written: number;
  /** products the read holds, when the source told (absent for unknown) */
  total?: number;
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
