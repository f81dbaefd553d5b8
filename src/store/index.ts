/**
 * Builds every store the connector uses from `Config['store']`, on one keyv (one construction point: keyv.ts).
 *
 * node-cron@4 distributed mode (checked in node_modules/node-cron 4.6.0):
 *   interface RunCoordinator { shouldRun(key: string, ttlMs: number): boolean | Promise<boolean>; onComplete?(key: string): void | Promise<void> }
 * - used only when the task has `distributed: true`; the coordinator comes from the task's `runCoordinator` option,
 *   else `cron.setRunCoordinator(...)`, else an env-var coordinator that THROWS unless NODE_CRON_RUN is 'true'/'false';
 * - the key is `${task.name}:${slot.toISOString()}`, and `task.name` defaults to a RANDOM id per process: every
 *   replica must give the task the same explicit `name`, or each replica sees its own keys and all of them run;
 * - ttlMs is the task's `distributedLease` option (default 30 000 ms);
 * - shouldRun throwing or rejecting → the tick is skipped ('coordinator-error', fail closed); false → 'not-elected';
 * - onComplete(key) is called after the run, also after a failed run.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { LeaseLock, Stores } from './types.js';
import { openBackend, StoreArgumentError, type BackendOptions } from './keyv.js';
import { createLeaseLock } from './lock.js';
import { KeyvCursorStore } from './cursor.js';
import { createRunStore } from './runs.js';
import { KeyvLedger, GROUP_LEDGER_PREFIX } from './ledger.js';
import { KeyvGroupStateStore } from './group-state.js';
import { createLedgerScan } from './ledger-scan.js';
import { createUsageStore } from './usage.js';
import { createAtomicKv } from './atomic.js';
import { KeyvRunOwnerStore, KeyvFailureStreakStore } from './run-owners.js';
import { createPushQueue } from './push-queue.js';
import { startSqlitePruner } from './sqlite-prune.js';

export { StoreUnavailableError, StoreArgumentError, DEFAULT_NAMESPACE } from './keyv.js';
export { CursorCorruptError } from './cursor.js';
export { FenceStaleError } from './ledger.js';
export { DEFAULT_RUN_HISTORY } from './runs.js';

export interface StoreDeps {
  logger?: Logger;
  /** key namespace shared by every record (default 'okki-yida') */
  namespace?: string;
  /** bound for one store operation before it rejects with STORE_UNAVAILABLE (default 5000) */
  opTimeoutMs?: number;
  /** run history kept (default 200) */
  maxRuns?: number;
  /** sqlite: how often expired records are deleted (default hourly) */
  pruneIntervalMs?: number;
}

export async function createStores(store: Config['store'], deps: StoreDeps = {}): Promise<Stores> {
  const backendOpts: BackendOptions = { logger: deps.logger, namespace: deps.namespace, opTimeoutMs: deps.opTimeoutMs };
  const backend = await openBackend(store, backendOpts);
  const pruner = backend.sql ? startSqlitePruner(backend.sql, { intervalMs: deps.pruneIntervalMs, logger: deps.logger }) : undefined;
  try {
    return {
      kind: backend.kind,
      kv: backend.kv,
      ledger: new KeyvLedger(createAtomicKv(backend, backend.kv)),
      groupLedger: new KeyvLedger(createAtomicKv(backend, backend.kv), GROUP_LEDGER_PREFIX),
      groupState: new KeyvGroupStateStore(backend.kv),
      scanLedger: createLedgerScan(backend),
      cursor: new KeyvCursorStore(backend.kv),
      runs: createRunStore(backend, { maxRuns: deps.maxRuns }),
      lock: createLeaseLock(backend),
      usage: createUsageStore(backend),
      owners: new KeyvRunOwnerStore(backend.kv),
      failureStreak: new KeyvFailureStreakStore(backend.kv),
      pushQueue: createPushQueue(backend),
      ping: () => backend.ping(),
      prune: () => pruner?.prune() ?? Promise.resolve(0),
      close: () => { pruner?.stop(); return backend.close(); },
    };
  } catch (err) {
    pruner?.stop();
    await backend.close();
    throw err;
  }
}

/** node-cron@4's RunCoordinator (see the note at the top of this file). */
export interface CronRunCoordinator {
  shouldRun(key: string, ttlMs: number): Promise<boolean>;
  onComplete(key: string): Promise<void>;
}

/** A tick's claim must outlive the skew between replicas' clocks, whatever short lease the task asks for. */
const MIN_TICK_CLAIM_MS = 5 * 60 * 1000;

/**
 * Exactly one replica runs each tick: the first to claim `cron:<task name>:<slot>` for the lease wins.
 * The claim is never released on completion: a replica whose clock is a little late would otherwise claim the
 * same slot after the winner finished and run it a second time. It simply expires.
 */
export function createCronCoordinator(lock: LeaseLock, owner: string, opts: { minClaimMs?: number } = {}): CronRunCoordinator {
  if (typeof owner !== 'string' || owner === '') throw new StoreArgumentError('cron coordinator owner: expected a non-empty replica id');
  const minClaimMs = opts.minClaimMs ?? MIN_TICK_CLAIM_MS;
  if (!Number.isInteger(minClaimMs) || minClaimMs < 1) throw new StoreArgumentError('cron coordinator minClaimMs: expected a whole number ≥ 1');
  return {
    async shouldRun(key: string, ttlMs: number): Promise<boolean> {
      const ttl = Math.max(Number.isFinite(ttlMs) ? Math.ceil(ttlMs) : 0, minClaimMs);
      // A store failure rejects: node-cron then skips the tick (fail closed) rather than risk two replicas running it.
      return lock.acquire(`cron:${key}`, owner, ttl);
    },
    async onComplete(): Promise<void> { /* the claim expires on its own; see above */ },
  };
}
