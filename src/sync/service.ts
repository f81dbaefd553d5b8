/** What the HTTP layer, the schedule and the CLI ask of the sync engine. */
import type { RunMode, RunRecord } from './types.js';
import type { UsageReport } from '../metering/meter.js';

export interface TriggerRequest {
  trigger: 'webhook' | 'schedule' | 'cli' | 'startup';
  /** incremental (default) or full; targeted when productNos is given */
  mode?: Exclude<RunMode, 'targeted'>;
  productNos?: string[];
  requestedBy?: string;
}

export interface TriggerResult {
  runId: string;
  /** skipped: a scheduled trigger while the DingTalk call budget is spent (its record says BUDGET_EXHAUSTED) */
  status: 'running' | 'skipped';
  /** true when a run already in progress absorbed this trigger */
  coalesced: boolean;
}

export interface ServiceStatus {
  /** the cursor as source wall-clock text, null before the first successful run */
  cursor: string | null;
  runningRunId: string | null;
  nextScheduledRun: Date | null;
  sandbox: boolean;
}

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
}
