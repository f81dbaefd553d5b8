/**
 * Typed records about who runs what, beside the lease: the owner of each run (host and pid, so a run whose process
 * died is recognised at once) and the streak of consecutive failed runs (for the report's alert). Same keys as ever,
 * so records written by an older version are still read.
 */
import type Keyv from 'keyv';
import type { FailureStreakStore, RunOwner, RunOwnerStore } from './types.js';
import { StoreArgumentError } from './keyv.js';

const ownerKey = (runId: string) => `run-owner:${runId}`;
/** kept a while after the run: long enough for any replica to look */
export const OWNER_TTL_MS = 7 * 24 * 3600_000;
const STREAK_KEY = 'runs:consecutiveFailures';

function isOwner(v: unknown): v is RunOwner {
  return Boolean(v) && typeof (v as RunOwner).host === 'string' && Number.isInteger((v as RunOwner).pid);
}

export class KeyvRunOwnerStore implements RunOwnerStore {
  constructor(private readonly kv: Keyv, private readonly ttlMs = OWNER_TTL_MS) {}

  async set(runId: string, owner: RunOwner): Promise<void> {
    if (typeof runId !== 'string' || !runId) throw new StoreArgumentError('run owner: expected a run id');
    if (!isOwner(owner)) throw new StoreArgumentError('run owner: expected { host, pid }');
    await this.kv.set(ownerKey(runId), { host: owner.host, pid: owner.pid }, this.ttlMs);
  }

  async get(runId: string): Promise<RunOwner | undefined> {
    const v: unknown = await this.kv.get(ownerKey(runId));
    // Anything else (hand-edited, half-written) is treated as unknown: a run is never declared dead on a guess.
    return isOwner(v) ? v : undefined;
  }
}

export class KeyvFailureStreakStore implements FailureStreakStore {
  constructor(private readonly kv: Keyv) {}

  async get(): Promise<number> {
    const n = Number(await this.kv.get(STREAK_KEY));
    return Number.isInteger(n) && n > 0 ? n : 0;
  }

  async record(failed: boolean): Promise<number> {
    const n = failed ? (await this.get()) + 1 : 0;
    await this.kv.set(STREAK_KEY, n);
    return n;
  }
}
