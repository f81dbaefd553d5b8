/** The sync service port: what the HTTP layer, the schedule, the CLI (and any new trigger) ask of the engine. */
import type { RunMode, RunProgress, RunRecord, RunTrigger } from './run.js';
import type { UsageReport } from './metering.js';

export interface TriggerRequest {
  trigger: RunTrigger;
  /** incremental (default), full, sweep or audit; targeted when productNos (or deletedProductNos) is given */
  mode?: Exclude<RunMode, 'targeted'>;
  productNos?: string[];
  /**
   * Product numbers OKKI reported deleted (push `delete` events); targeted too. The engine reads each from OKKI: one
   * OKKI still has is synced as usual (events arrive out of order), one it no longer has is gone (SYNC_DELETIONS).
   */
  deletedProductNos?: string[];
  requestedBy?: string;
  /** sweep (or audit with repair): act on more gone products than SYNC_DELETE_MAX */
  confirmDeletes?: boolean;
  /** audit: repair what it finds (create missing, update stale, remove extra duplicates, orphans per SYNC_DELETIONS) */
  repair?: boolean;
}

export interface TriggerResult {
  runId: string;
  /** skipped: a scheduled trigger while the DingTalk call budget is spent (its record says BUDGET_EXHAUSTED) */
  status: 'running' | 'skipped';
  /** true when a run already in progress absorbed this trigger */
  coalesced: boolean;
  /**
   * true when the run in progress (`runId`) would not do what was asked (other product numbers, a full read, a sweep
   * or an audit): the trigger is queued as a follow-up run that starts as soon as that run is over
   */
  queued?: boolean;
  /** what the queued follow-up run will do */
  followUp?: { mode: RunMode; productNos?: string[] };
}

/** What the engine knows about itself. Extras it has no use for (next scheduled run, sandbox) are added where served. */
export interface ServiceStatus {
  /** the cursor as source wall-clock text, null before the first successful run */
  cursor: string | null;
  runningRunId: string | null;
}

/** A run event in this process: a run began, made progress, or ended (its final record). */
export type RunEvent =
  | { type: 'started'; run: RunRecord }
  | { type: 'progress'; progress: RunProgress }
  | { type: 'finished'; run: RunRecord };

export interface SyncService {
  /** Start a run, or join the one in progress (here or, with Redis, on another replica). Throws ConnectorError 503 when shutting down. */
  trigger(req: TriggerRequest): Promise<TriggerResult>;
  /** Resolves with the run once finished, or its current record after `timeoutMs`. */
  waitForRun(runId: string, timeoutMs: number): Promise<RunRecord | undefined>;
  getRun(id: string): Promise<RunRecord | undefined>;
  listRuns(limit: number): Promise<RunRecord[]>;
  status(): Promise<ServiceStatus>;
  /** readiness: store reachable, config valid, mapping loaded */
  ready(): Promise<{ ok: boolean; checks: Record<string, boolean> }>;
  /** month-to-date usage against the budgets (GET /usage); absent when metering is not wired */
  usage?(): Promise<UsageReport>;
  /** false once shutdown began: new triggers are refused */
  readonly accepting: boolean;
  /** Follow this process's runs (start, progress, end); returns the unsubscribe function. Optional for fakes. */
  subscribe?(listener: (event: RunEvent) => void): () => void;
}
