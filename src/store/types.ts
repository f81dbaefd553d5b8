/** The typed stores the engine uses, all on one keyv (sqlite by default, Redis for several replicas). */
import type Keyv from 'keyv';
import type { RunRecord, PushQueue, ParkedInfo } from '../core/index.js';

export interface LedgerEntry {
  /** content hash of the mapped form data last written (or being written) */
  hash: string;
  /** Yida process instance id, once known */
  instanceId?: string;
  /** pending = a write may have happened and is not confirmed; done = confirmed */
  state: 'pending' | 'done';
  /** id of the write attempt that set `pending` */
  attemptId?: string;
  /** what the pending attempt was doing: creating, updating, marking a gone product, removing a gone product's instance */
  op?: 'start' | 'update' | 'mark' | 'remove';
  /** the product is gone from OKKI (SYNC_DELETIONS): its instance was marked, or removed (then no instanceId) */
  gone?: 'marked' | 'deleted';
  /** the OKKI product_id that holds this product number (a second product claiming it is rejected, in any run) */
  productId?: string;
  /**
   * the OKKI product number, kept when the key field holds a transformed value (the key is then not the number): the
   * mirror proves a product gone by asking OKKI for it
   */
  productNo?: string;
  /** refused for good with this content (its hash): skipped until the content changes or a product_nos run names it */
  parked?: ParkedInfo;
  /** ISO time of the last state change */
  syncedAt: string;
}

export type { Fence } from '../core/index.js';
import type { Fence } from '../core/index.js';

/**
 * Every write takes an optional fence; a stale one rejects with SYNC_FENCE_STALE and changes nothing.
 * All of them are atomic in the store (across processes and replicas), not only within this process.
 */
export interface Ledger {
  get(productNo: string): Promise<LedgerEntry | undefined>;
  set(productNo: string, entry: LedgerEntry, fence?: Fence): Promise<void>;
  delete(productNo: string, fence?: Fence): Promise<void>;
  /**
   * Write `next` only if the entry is still `expected` (an entry returned by `get`, or undefined for "no entry"):
   * false when another writer changed it in between, and then nothing was written.
   */
  claim(productNo: string, expected: LedgerEntry | undefined, next: LedgerEntry, fence?: Fence): Promise<boolean>;
}

/** The groups mirror's own records (besides its ledger): see store/group-state.ts. */
export interface GroupStateStore {
  /** group ids that may have a record in the group form (added before a group is written, removed after deletion) */
  known(): Promise<Set<number>>;
  addKnown(ids: Iterable<number>): Promise<void>;
  removeKnown(ids: Iterable<number>): Promise<void>;
  /** each group's path (names from the root) as of the last complete run; undefined before the first */
  paths(): Promise<Map<number, string> | undefined>;
  setPaths(paths: ReadonlyMap<number, string>): Promise<void>;
}

export interface CursorStore {
  /** the end of the last fully covered window (an instant), undefined before the first successful run */
  get(): Promise<Date | undefined>;
  set(instant: Date): Promise<void>;
}

export interface RunStore {
  put(run: RunRecord): Promise<void>;
  get(id: string): Promise<RunRecord | undefined>;
  /** newest first */
  list(limit: number): Promise<RunRecord[]>;
}

/** A lease: held by one owner until released or until it expires (so a dead holder cannot block forever). */
export interface LeaseLock {
  /** true when `owner` now holds `name` for `ttlMs` */
  acquire(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** extend a lease the owner still holds; false when it was lost */
  renew(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** release only if `owner` holds it */
  release(name: string, owner: string): Promise<void>;
  /** current holder, if any */
  holder(name: string): Promise<string | undefined>;
  /** acquire, answering the lease's fencing token (larger than any before it in this store), undefined when not taken */
  acquireToken(name: string, owner: string, ttlMs: number): Promise<number | undefined>;
  /** the fencing token of `owner`'s lease while it holds it, else undefined */
  token(name: string, owner: string): Promise<number | undefined>;
}

/** Month-to-date counters (metering), atomic increments shared by every process on the store. */
export interface UsageStore {
  /** add each delta (whole numbers ≥ 0) to the month's counter of that name, atomically */
  add(month: string, deltas: Record<string, number>): Promise<void>;
  /** every counter of the month (absent = 0) */
  get(month: string): Promise<Record<string, number>>;
}

/** Which process runs a run: a run whose process is provably gone is not waited for. */
export interface RunOwner { host: string; pid: number }

export interface RunOwnerStore {
  /** recorded before the run takes the lease, kept a week */
  set(runId: string, owner: RunOwner): Promise<void>;
  /** undefined when unknown (never recorded, expired, or unreadable) */
  get(runId: string): Promise<RunOwner | undefined>;
}

/** How many runs in a row have failed (the report raises an alert from it). */
export interface FailureStreakStore {
  get(): Promise<number>;
  /** a failed run adds one, any other run resets it; resolves with the new streak */
  record(failed: boolean): Promise<number>;
}

export interface Stores {
  kind: 'sqlite' | 'redis';
  /** the raw keyv (namespaced) for small extra records */
  kv: Keyv;
  ledger: Ledger;
  /** the groups mirror's ledger: the same entries, keyed by group id in a key space of its own (`group-ledger:`) */
  groupLedger: Ledger;
  groupState: GroupStateStore;
  /** the whole ledger, a page at a time (a sweep); memory is one page */
  scanLedger(pageSize?: number): AsyncIterable<Array<[productNo: string, entry: LedgerEntry]>>;
  cursor: CursorStore;
  runs: RunStore;
  lock: LeaseLock;
  usage: UsageStore;
  owners: RunOwnerStore;
  failureStreak: FailureStreakStore;
  /** OKKI push events waiting for their run */
  pushQueue: PushQueue;
  /** true when the backing store answers */
  ping(): Promise<boolean>;
  /** delete expired records now (sqlite; also done hourly by itself); Redis expires keys on its own: 0 */
  prune(): Promise<number>;
  close(): Promise<void>;
}
