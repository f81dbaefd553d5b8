/**
 * The ledger-guarded writer (README "Data flow of one run", step 6): one sink instance per product number, whatever
 * fails. It knows the sink only through the ProductSink port and its sink-neutral errors (core/).
 *
 *  - same hash and `done`          → unchanged, no call;
 *  - new                           → `pending(op:start)` → start → `done(instanceId)`;
 *  - changed                       → `pending(op:update)` → update → `done`;
 *  - no entry in an adopting session (no cursor: first sync, or a lost store) → the same search first: adopt what
 *    exists (from the session's bulk key scan when there is one);
 *  - `pending` found (a crash, a timeout or a 5xx after the request left) → reconcile by the EXACT key search
 *    before writing anything: 0 → start; 1 → adopt it (and update unless it provably already holds this data);
 *    more than 1 → YIDA_DUPLICATE_FOUND with the ids, nothing written.
 *
 * An ambiguous start is reconciled once more within the same call, after `reconcileDelayMs` (the common case —
 * committed, then a 5xx — is settled at once, without waiting for the next run). If that search finds nothing the
 * entry stays `pending` and the outcome is YIDA_WRITE_AMBIGUOUS: a search index may lag a fresh commit, so a second
 * start is left to the next run, when the search can be trusted.
 *
 * Keys: the ledger, the exact search and the bulk scan use the value the sink holds in its key field (`item.key`, the
 * mapping's output: `SKU-P-001` for `SKU-{product_no}`), not the raw product number.
 *
 * Refusals for good (the sink refused the data, more than one instance holds the key) are *parked* in the ledger with
 * their reason and the content hash: counted as rejected (the cursor moves), skipped while the content stays the same,
 * tried again when it changes or when a product_nos run names the product. A product number held by one OKKI product
 * (`productId` in the ledger) is refused to another one, in any run (DUPLICATE_PRODUCT_NO).
 *
 * Every ledger transition carries the run's fence (its lease token) when the session has one: a run that lost its
 * lease is refused the transition (SYNC_FENCE_STALE) and stops.
 *
 * `write` never throws: every failure becomes a `failed` outcome with a stable code.
 */
import { randomUUID } from 'node:crypto';
import type { Ledger, LedgerEntry } from '../store/types.js';
import {
  DuplicateFoundError, WriteAmbiguousError, notExecuted, sinkErrorKind,
  type OpenSessionOptions, type ParkedInfo, type ProductSink, type ProductWriter, type WriteItem, type WriteOutcome, type WriteSession,
} from '../core/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { errorCode, errorMessage } from '../errors.js';
import { sleep } from '../sleep.js';
import {
  failedOutcome, heldByAnother, isForGood, isStillParked, keyOf, LedgerConflictError, ownedEntry, parkedInfo, PendingTooRecentError, productIdOf, stillParked,
} from './writer-rules.js';

export { LedgerConflictError, PendingTooRecentError } from './writer-rules.js';

type Opts = WriteSession;
const NO_SESSION: WriteSession = { adopt: false };

/** One write as it goes: the item, its key, the product id the ledger records for it, the run's session. */
interface Job { item: WriteItem; key: string; productId?: string; opts: Opts }

export interface LedgerWriterDeps {
  ledger: Ledger;
  sink: ProductSink;
  /** the sink field that holds the product number */
  keyField: string;
  logger?: Logger;
  metrics?: Metrics;
  /** pause before the in-call reconciliation of an ambiguous start; negative = leave it to the next run (default 1500) */
  reconcileDelayMs?: number;
  /** the mapping's onDelete fields cleared (Mapping.clearMarks): written with a marked product that comes back */
  clearMarks?: Record<string, unknown>;
  /**
   * YIDA_SEARCH_LAG: a pending start younger than this is never started again when the search finds nothing, because
   * the search may not show a fresh commit yet and a timed-out SDK call is never cancelled (default 60 s)
   */
  searchLagMs?: number;
  /**
   * The sink target (form, app) in one string: a product parked by one target is tried again under another, so a
   * refusal that came from a misconfigured form is not held against the products once the configuration is fixed
   */
  parkScope?: string;
  now?: () => number;
}

// Matched by stable code rather than instanceof (sinkErrorKind): a module loaded twice must not change the policy.
const isAmbiguous = (err: unknown) => sinkErrorKind(err) === 'ambiguous';

export class LedgerWriter implements ProductWriter {
  private readonly ledger: Ledger;
  private readonly sink: ProductSink;
  private readonly keyField: string;
  private readonly logger?: Logger;
  private readonly reconcileDelayMs: number;
  private readonly searchLagMs: number;
  private readonly now: () => number;
  private readonly clearMarks?: Record<string, unknown>;
  private readonly parkScope?: string;
  /** writes of one key run one after another, never interleaved */
  private readonly perKey = new Map<string, Promise<unknown>>();

  constructor(deps: LedgerWriterDeps) {
    if (!deps?.ledger) throw new TypeError('LedgerWriter: deps.ledger is required');
    if (!deps.sink) throw new TypeError('LedgerWriter: deps.sink is required');
    if (typeof deps.keyField !== 'string' || !deps.keyField.trim()) throw new TypeError('LedgerWriter: deps.keyField must be the Yida field id holding the product number');
    if (deps.reconcileDelayMs !== undefined && !Number.isFinite(deps.reconcileDelayMs)) throw new TypeError('LedgerWriter: deps.reconcileDelayMs must be a number of milliseconds');
    this.ledger = deps.ledger;
    this.sink = deps.sink;
    this.keyField = deps.keyField;
    this.logger = deps.logger;
    this.reconcileDelayMs = deps.reconcileDelayMs ?? 1500;
    if (deps.searchLagMs !== undefined && !(Number.isFinite(deps.searchLagMs) && deps.searchLagMs >= 0)) throw new TypeError('LedgerWriter: deps.searchLagMs must be a number of milliseconds ≥ 0');
    this.searchLagMs = deps.searchLagMs ?? 60_000;
    this.now = deps.now ?? Date.now;
    this.clearMarks = deps.clearMarks && Object.keys(deps.clearMarks).length ? deps.clearMarks : undefined;
    this.parkScope = deps.parkScope;
  }

  /**
   * One run's session. Adopting (no cursor), every instance's key is read once — 100 per call — so that the lookups
   * before each create need no call of their own; where the scan is not possible, each lookup searches on its own.
   */
  async openSession(opts: OpenSessionOptions): Promise<WriteSession> {
    const session: WriteSession = { adopt: Boolean(opts.adopt), signal: opts.signal, named: opts.named, retryParked: opts.retryParked || opts.named, fence: opts.fence };
    if (!session.adopt || !opts.bulk || !this.sink.scanKeys) return session;
    try {
      const existing = await this.sink.scanKeys(this.keyField, { signal: opts.signal });
      this.logger?.info({ instances: [...existing.values()].reduce((n, ids) => n + ids.length, 0) }, 'read the keys of the instances already in the sink');
      return { ...session, existing };
    } catch (err) {
      this.logger?.warn({ code: errorCode(err), err: errorMessage(err) }, 'could not list the instances already in the sink; looking each new product up instead');
      return session;
    }
  }

  async flush(session: WriteSession = NO_SESSION): Promise<void> {
    await this.sink.flush?.({ signal: session.signal });
  }

  write(item: WriteItem, opts: Opts = NO_SESSION): Promise<WriteOutcome> {
    const key = item && typeof item.productNo === 'string' ? keyOf(item) : '';
    const prev = this.perKey.get(key) ?? Promise.resolve();
    const run = prev.then(() => this.guarded(item, key, opts));
    this.perKey.set(key, run);
    void run.finally(() => { if (this.perKey.get(key) === run) this.perKey.delete(key); });
    return run;
  }

  private async guarded(item: WriteItem, key: string, opts: Opts): Promise<WriteOutcome> {
    try {
      if (!item || typeof item.productNo !== 'string' || !item.productNo) throw new TypeError('write: item.productNo is required');
      if (typeof item.hash !== 'string' || !item.hash) throw new TypeError(`write ${item.productNo}: item.hash is required`);
      return await this.decide({ item, key, productId: productIdOf(item), opts });
    } catch (err) {
      return failedOutcome(item, err, opts.signal, this.logger);
    }
  }

  private async decide(job: Job): Promise<WriteOutcome> {
    const { opts } = job;
    const entry = await this.read(job);
    let { item } = job;
    // A product marked gone (SYNC_DELETIONS=mark) that comes back: its marks are cleared unless the request writes them.
    if (this.clearMarks && (entry?.gone === 'marked' || entry?.op === 'mark')) item = { ...item, formData: { ...this.clearMarks, ...item.formData } };
    job = { ...job, item, productId: job.productId ?? entry?.productId };
    const held = heldByAnother(item, entry, Boolean(opts.named));
    if (held) return held;
    if (isStillParked(entry?.parked, item.hash, this.parkScope, Boolean(opts.retryParked))) return stillParked(item, entry!.parked!);
    if (entry?.state === 'done' && entry.instanceId) {
      if (entry.hash === item.hash && !entry.parked) {
        // The ledger learns which OKKI product holds the number (entries from before it kept one, or a named hand-over).
        // …and, with a transformed key, which product number the key stands for (the mirror proves gone products by it).
        const owned = ownedEntry(entry, job.key, job.item.productNo, job.productId);
        if (owned.productId !== entry.productId || owned.productNo !== entry.productNo) await this.claim(job, entry, owned);
        return { kind: 'unchanged', productNo: item.productNo, instanceId: entry.instanceId };
      }
      return this.update(job, entry.instanceId, 'updated', entry, entry);
    }
    if (entry?.state === 'pending') return this.reconcile(job, entry, entry, false);
    // No ledger entry: normally a new product. Adopting (no cursor yet: a first sync onto a form that may already
    // hold instances, or a store that lost its ledger) an instance found by the key is adopted and updated.
    if (opts.adopt) {
      const known = opts.existing?.get(job.key);
      if (opts.existing && !known) return this.start(job, entry, true);
      return this.reconcile(job, this.entry(job, { hash: '', state: 'pending', op: 'update' }), entry, false, 'search-first', known ? [...known] : undefined);
    }
    return this.start(job, entry, true);
  }

  /**
   * The product's entry. A ledger written before entries were keyed by the key field's value holds a transformed key's
   * entry under the product number: it moves to the key once, so its instance keeps being the one written.
   */
  private async read(job: Job): Promise<LedgerEntry | undefined> {
    const entry = await this.ledger.get(job.key);
    if (entry || job.key === job.item.productNo) return entry;
    const legacy = await this.ledger.get(job.item.productNo);
    if (!legacy) return undefined;
    const moved = { ...legacy };
    await this.claim(job, undefined, moved);
    await this.ledger.delete(job.item.productNo, job.opts.fence);
    this.logger?.info({ productNo: job.item.productNo, key: job.key }, 'moved a ledger entry from the product number to the key field\'s value');
    return moved;
  }

  /**
   * Move the entry from `stored` (what was read; undefined = none) to `next`, atomically in the store: when another
   * process got there first, nothing is written here and the product fails with LEDGER_CONFLICT for this run.
   */
  private async claim(job: Job, stored: LedgerEntry | undefined, next: LedgerEntry): Promise<void> {
    if (!(await this.ledger.claim(job.key, stored, next, job.opts.fence))) throw new LedgerConflictError(job.item.productNo);
  }

  private entry(job: Job, partial: Omit<LedgerEntry, 'syncedAt' | 'productId' | 'productNo'>): LedgerEntry {
    return ownedEntry({ ...partial, syncedAt: new Date(this.now()).toISOString() }, job.key, job.item.productNo, job.productId);
  }

  /** Park the product: `base` (what the instance side now is) plus why it was refused; the run counts it rejected. */
  private async park(job: Job, stored: LedgerEntry | undefined, base: LedgerEntry, err: unknown): Promise<WriteOutcome> {
    const parked: ParkedInfo = parkedInfo(err, job.item.hash, new Date(this.now()), this.parkScope);
    await this.claim(job, stored, { ...base, parked });
    this.logger?.debug({ productNo: job.item.productNo, code: parked.code }, 'product parked: refused for good, skipped until its content changes');
    return { kind: 'rejected', productNo: job.item.productNo, code: parked.code, reason: parked.reason, parked };
  }

  private async start(job: Job, stored: LedgerEntry | undefined, mayReconcileNow: boolean): Promise<WriteOutcome> {
    const { item, opts } = job;
    const pending = this.entry(job, { hash: item.hash, state: 'pending', attemptId: randomUUID(), op: 'start' });
    await this.claim(job, stored, pending);
    let instanceId: string;
    try {
      instanceId = await this.sink.create(item.formData, { signal: opts.signal, key: job.key });
    } catch (err) {
      if (isAmbiguous(err)) {
        this.logger?.debug({ productNo: item.productNo, attemptId: pending.attemptId, reason: errorMessage(err) }, 'start outcome unknown; reconciling by search');
        if (mayReconcileNow && this.reconcileDelayMs >= 0) {
          await sleep(this.reconcileDelayMs, opts.signal);
          return this.reconcile(job, pending, pending, true);
        }
        throw err;
      }
      // Refused for good: nothing exists on the Yida side for this attempt; the product is parked.
      if (isForGood(err)) return this.park(job, pending, this.entry(job, { hash: '', state: 'done' }), err);
      // Never executed: nothing exists on the Yida side for this attempt, so no reconciliation is owed.
      if (notExecuted(err)) {
        if (stored) await this.ledger.claim(job.key, pending, { ...stored }, opts.fence);
        else await this.ledger.delete(job.key, opts.fence);
      }
      throw err;
    }
    await this.ledger.set(job.key, this.entry(job, { hash: item.hash, state: 'done', instanceId }), opts.fence);
    return { kind: 'created', productNo: item.productNo, instanceId };
  }

  private async update(job: Job, instanceId: string, kind: 'created' | 'updated', stored: LedgerEntry | undefined, before: LedgerEntry | undefined): Promise<WriteOutcome> {
    const { item, opts } = job;
    const pending = this.entry(job, { hash: item.hash, state: 'pending', attemptId: randomUUID(), op: 'update', instanceId });
    await this.claim(job, stored, pending);
    try {
      await this.sink.update(instanceId, item.formData, { signal: opts.signal, key: job.key });
    } catch (err) {
      // Not executed: the instance still holds what `before` says, so put that back and skip a search next time.
      const held = before?.state === 'done' ? { ...before, parked: undefined, productId: job.productId } : undefined;
      if (notExecuted(err) && held) await this.ledger.claim(job.key, pending, held, opts.fence);
      // Refused for good: the instance keeps what it held; the new content is parked.
      else if (isForGood(err)) return this.park(job, pending, held ?? this.entry(job, { hash: '', state: 'done', instanceId }), err);
      throw err;
    }
    await this.ledger.set(job.key, this.entry(job, { hash: item.hash, state: 'done', instanceId }), opts.fence);
    return { kind, productNo: item.productNo, instanceId };
  }

  /** `stored`: the ledger entry as read (undefined when there is none); `pending` says what the earlier attempt did. */
  private async reconcile(job: Job, pending: LedgerEntry, stored: LedgerEntry | undefined, immediate: boolean, why: 'pending' | 'search-first' = 'pending', knownIds?: string[]): Promise<WriteOutcome> {
    const { item, key, opts } = job;
    const ids = knownIds ?? await this.sink.findByKey(this.keyField, key, { signal: opts.signal });
    if (why === 'pending') this.logger?.info({ productNo: item.productNo, op: pending.op, found: ids.length, immediate }, 'reconciled pending ledger entry');
    else if (ids.length) this.logger?.info({ productNo: item.productNo, found: ids.length }, 'adopted an instance that already existed in Yida');
    if (ids.length > 1) {
      // A human decides which instance stays: parked (still pending, so it is searched again once tried again).
      const base = stored ? { ...stored, parked: undefined } : this.entry(job, { hash: '', state: 'pending', op: 'start' });
      return this.park(job, stored, base, new DuplicateFoundError(key, ids));
    }
    const kind = pending.op === 'update' ? 'updated' : 'created';
    if (ids.length === 1) {
      const instanceId = ids[0];
      // A pending start with this very hash means the instance was created from this data; anything else may differ.
      const holdsThisData = pending.op !== 'update' && pending.hash === item.hash;
      if (!holdsThisData) return this.update(job, instanceId, kind, stored, undefined);
      await this.claim(job, stored, this.entry(job, { hash: item.hash, state: 'done', instanceId }));
      return { kind, productNo: item.productNo, instanceId };
    }
    if (immediate) {
      throw new WriteAmbiguousError(`start for ${item.productNo} had no clear answer and no instance is visible yet; the next run reconciles it`);
    }
    // An empty search proves nothing about a young attempt (still in flight elsewhere, or committed but not indexed).
    const age = this.now() - Date.parse(pending.syncedAt);
    if (why === 'pending' && age < this.searchLagMs) throw new PendingTooRecentError(item.productNo, Math.max(0, age));
    return this.start(job, stored, true);
  }
}
