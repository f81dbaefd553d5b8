/**
 * Single flight across processes: the run lease (`sync:lock` in the store), who holds it, and whether a holder is
 * still alive. Each run records its owner (host, pid) before it takes the lease, so a run whose process died
 * (SIGKILL, OOM, a crash) is recognised at once instead of blocking every trigger until its lease expires.
 */
import { hostname } from 'node:os';
import { ConnectorError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { LeaseLock, RunOwner, RunOwnerStore } from '../store/types.js';

export const LOCK_NAME = 'sync:lock';
export const DEFAULT_LEASE_TTL_MS = 30_000;

export function thisProcess(): RunOwner { return { host: hostname(), pid: process.pid }; }

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code !== 'ESRCH'; }
}

/** What this process knows of its own runs. */
export interface LocalRuns {
  /** the run is still this process's (running, or over and still saving or reporting) */
  has(runId: string): boolean;
  /** the run this process is running now, if any */
  activeId(): string | undefined;
}

/** claimed: with the lease's fencing token (every ledger transition of the run carries it) */
export type ClaimResult = { claimed: true; token: number } | { claimed: false; holder: string };

export class RunLease {
  constructor(
    private readonly stores: { lock: LeaseLock; owners: RunOwnerStore },
    private readonly local: LocalRuns,
    readonly ttlMs: number = DEFAULT_LEASE_TTL_MS,
  ) {}

  holder(): Promise<string | undefined> { return this.stores.lock.holder(LOCK_NAME); }

  release(runId: string): Promise<void> { return this.stores.lock.release(LOCK_NAME, runId); }

  /** Release without failing: a lease that cannot be released expires by itself. */
  releaseQuietly(runId: string, log: Logger): Promise<void> {
    return this.release(runId).catch((err) => log.warn({ err: errorMessage(err) }, 'could not release the sync lock; it expires by itself'));
  }

  /**
   * True only when the run's process is provably gone: it ran on this host and its pid is dead, or it ran in this very
   * process and is no longer here. A run on another host is never declared dead here: its lease expires instead.
   */
  async isDead(runId: string): Promise<boolean> {
    const owner = await this.stores.owners.get(runId);
    if (!owner || owner.host !== hostname()) return false;
    if (owner.pid === process.pid) return !this.local.has(runId);
    return !pidAlive(owner.pid);
  }

  /**
   * Take the lease for a new run, or name the live run that holds it (to be joined). A holder left by a dead process,
   * or by a run of this process that is over but could not release it (its store was down), is freed first;
   * `onDeadHolder` records such a run as interrupted before its lease goes.
   */
  async claim(runId: string, onDeadHolder: (holder: string) => Promise<unknown>): Promise<ClaimResult> {
    const { lock, owners } = this.stores;
    // Who runs it is known before the lease is taken, so a holder without an owner record is never taken for dead.
    await owners.set(runId, thisProcess());
    for (let attempt = 0; attempt < 3; attempt++) {
      const token = await lock.acquireToken(LOCK_NAME, runId, this.ttlMs);
      if (token !== undefined) return { claimed: true, token };
      const holder = await lock.holder(LOCK_NAME);
      if (!holder) continue; // released in between: try again
      if (this.local.has(holder) && this.local.activeId() !== holder) {
        await this.release(holder);
        continue;
      }
      if (await this.isDead(holder)) {
        await onDeadHolder(holder);
        await this.release(holder);
        continue;
      }
      return { claimed: false, holder };
    }
    throw new ConnectorError('SYNC_LOCK_UNAVAILABLE', 'Could not claim the sync lock');
  }

  /** Renew the lease at a third of its length while the run lives; `onLost` when it was lost. Returns the stop. */
  heartbeat(runId: string, log: Logger, onLost: (err: ConnectorError) => void): () => void {
    const timer = setInterval(() => {
      this.stores.lock.renew(LOCK_NAME, runId, this.ttlMs).then((held) => {
        if (!held) { log.error('lost the sync lock; stopping the run'); onLost(new ConnectorError('SYNC_LOCK_LOST', 'The sync lock was lost')); }
      }, (err) => log.warn({ err: errorMessage(err) }, 'could not renew the sync lock'));
    }, Math.max(1000, Math.floor(this.ttlMs / 3)));
    timer.unref();
    return () => clearInterval(timer);
  }
}
