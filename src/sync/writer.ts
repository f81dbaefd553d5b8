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
 * `write` never throws: every failure becomes a `failed` outcome with a stable code.
 */
import { randomUUID } from 'node:crypto';
import type { Ledger, LedgerEntry } from '../store/types.js';
import {
  DuplicateFoundError, WriteAmbiguousError, notExecuted, sinkErrorKind,
  type OpenSessionOptions, type ProductSink, type ProductWriter, type WriteItem, type WriteOutcome, type WriteSession,
} from '../core/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { ConnectorError, errorCode, errorMessage } from '../errors.js';
import { sleep } from '../sleep.js';

type Item = WriteItem;
type Opts = WriteSession;
const NO_SESSION: WriteSession = { adopt: false };

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
  now?: () => number;
}

/** A pending write is too young for an empty search to prove it never happened: it is left for a later run. */
export class PendingTooRecentError extends ConnectorError {
  constructor(productNo: string, ageMs: number) {
    super('LEDGER_PENDING_RECENT', `a write of ${productNo} began ${Math.round(ageMs / 1000)} s ago and is not visible in Yida's search yet; it is left for a later run (YIDA_SEARCH_LAG)`);
  }
}

// Matched by stable code rather than instanceof (sinkErrorKind): a module loaded twice must not change the policy.
const isAmbiguous = (err: unknown) => sinkErrorKind(err) === 'ambiguous';
const isRejected = (err: unknown) => sinkErrorKind(err) === 'rejected';

/** Another writer (a second process or replica) changed the product's ledger entry between our read and our claim. */
export class LedgerConflictError extends ConnectorError {
  constructor(productNo: string) {
    super('LEDGER_CONFLICT', `another run changed the ledger entry of ${productNo} at the same moment; nothing was written, the next run checks it again`);
  }
}

export class LedgerWriter implements ProductWriter {
  private readonly ledger: Ledger;
  private readonly sink: ProductSink;
  private readonly keyField: string;
  private readonly logger?: Logger;
  private readonly reconcileDelayMs: number;
  private readonly searchLagMs: number;
  private readonly now: () => number;
  private readonly clearMarks?: Record<string, unknown>;
  /** writes of one product number run one after another, never interleaved */
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
  }

  /**
   * One run's session. Adopting (no cursor), every instance's key is read once — 100 per call — so that the lookups
   * before each create need no call of their own; where the scan is not possible, each lookup searches on its own.
   */
  async openSession(opts: OpenSessionOptions): Promise<WriteSession> {
    const session = { adopt: Boolean(opts.adopt), signal: opts.signal };
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

  write(item: Item, opts: Opts = NO_SESSION): Promise<WriteOutcome> {
    const prev = this.perKey.get(item.productNo) ?? Promise.resolve();
    const run = prev.then(() => this.guarded(item, opts));
    this.perKey.set(item.productNo, run);
    void run.finally(() => { if (this.perKey.get(item.productNo) === run) this.perKey.delete(item.productNo); });
    return run;
  }

  private async guarded(item: Item, opts: Opts): Promise<WriteOutcome> {
    try {
      if (!item || typeof item.productNo !== 'string' || !item.productNo) throw new TypeError('write: item.productNo is required');
      if (typeof item.hash !== 'string' || !item.hash) throw new TypeError(`write ${item.productNo}: item.hash is required`);
      return await this.decide(item, opts);
    } catch (err) {
      return this.failed(item, err, opts);
    }
  }

  private failed(item: Item, err: unknown, opts: Opts): WriteOutcome {
    const aborted = opts.signal?.aborted === true;
    const code = aborted ? 'SYNC_ABORTED' : errorCode(err);
    // Stopped mid-way, the write may or may not have reached Yida: the ledger says pending when it might have, and the
    // next run's search settles it either way.
    const reason = aborted ? 'the run was stopped before this product\'s write was confirmed; the next run checks Yida and finishes it' : errorMessage(err);
    // debug: a failure storm would be one line per product per run; the run's end summarises them (finish.ts).
    this.logger?.debug({ productNo: item?.productNo, code, reason }, 'product not written');
    return { kind: 'failed', productNo: item?.productNo ?? '', code, reason };
  }

  private async decide(item: Item, opts: Opts): Promise<WriteOutcome> {
    const entry = await this.ledger.get(item.productNo);
    // A product marked gone (SYNC_DELETIONS=mark) that comes back: its marks are cleared unless the request writes them.
    if (this.clearMarks && (entry?.gone === 'marked' || entry?.op === 'mark')) item = { ...item, formData: { ...this.clearMarks, ...item.formData } };
    if (entry?.state === 'done' && entry.instanceId) {
      if (entry.hash === item.hash) return { kind: 'unchanged', productNo: item.productNo, instanceId: entry.instanceId };
      return this.update(item, entry.instanceId, 'updated', entry, entry, opts);
    }
    if (entry?.state === 'pending') return this.reconcile(item, entry, entry, false, opts);
    // No ledger entry: normally a new product. Adopting (no cursor yet: a first sync onto a form that may already
    // hold instances, or a store that lost its ledger) an instance found by the key is adopted and updated.
    if (opts.adopt) {
      const known = opts.existing?.get(item.productNo);
      if (opts.existing && !known) return this.start(item, entry, opts, true);
      return this.reconcile(item, this.entry({ hash: '', state: 'pending', op: 'update' }), entry, false, opts, 'search-first', known ? [...known] : undefined);
    }
    return this.start(item, entry, opts, true);
  }

  /**
   * Move the entry from `stored` (what was read; undefined = none) to `next`, atomically in the store: when another
   * process got there first, nothing is written here and the product fails with LEDGER_CONFLICT for this run.
   */
  private async claim(productNo: string, stored: LedgerEntry | undefined, next: LedgerEntry): Promise<void> {
    if (!(await this.ledger.claim(productNo, stored, next))) throw new LedgerConflictError(productNo);
  }

  private entry(partial: Omit<LedgerEntry, 'syncedAt'>): LedgerEntry {
    return { ...partial, syncedAt: new Date().toISOString() };
  }

  private async start(item: Item, stored: LedgerEntry | undefined, opts: Opts, mayReconcileNow: boolean): Promise<WriteOutcome> {
    const pending = this.entry({ hash: item.hash, state: 'pending', attemptId: randomUUID(), op: 'start' });
    await this.claim(item.productNo, stored, pending);
    let instanceId: string;
    try {
      instanceId = await this.sink.create(item.formData, { signal: opts.signal, key: item.productNo });
    } catch (err) {
      if (isAmbiguous(err)) {
        this.logger?.debug({ productNo: item.productNo, attemptId: pending.attemptId, reason: errorMessage(err) }, 'start outcome unknown; reconciling by search');
        if (mayReconcileNow && this.reconcileDelayMs >= 0) {
          await sleep(this.reconcileDelayMs, opts.signal);
          return this.reconcile(item, pending, pending, true, opts);
        }
        throw err;
      }
      // Refused or never executed: nothing exists on the Yida side for this attempt, so no reconciliation is owed.
      if (notExecuted(err) || isRejected(err)) await this.ledger.delete(item.productNo);
      throw err;
    }
    await this.ledger.set(item.productNo, this.entry({ hash: item.hash, state: 'done', instanceId }));
    return { kind: 'created', productNo: item.productNo, instanceId };
  }

  private async update(item: Item, instanceId: string, kind: 'created' | 'updated', stored: LedgerEntry | undefined, before: LedgerEntry | undefined, opts: Opts): Promise<WriteOutcome> {
    const pending = this.entry({ hash: item.hash, state: 'pending', attemptId: randomUUID(), op: 'update', instanceId });
    await this.claim(item.productNo, stored, pending);
    try {
      await this.sink.update(instanceId, item.formData, { signal: opts.signal, key: item.productNo });
    } catch (err) {
      // Not executed: the instance still holds what `before` says, so put that back and skip a search next time.
      if (notExecuted(err) && before?.state === 'done') await this.ledger.claim(item.productNo, pending, before);
      throw err;
    }
    await this.ledger.set(item.productNo, this.entry({ hash: item.hash, state: 'done', instanceId }));
    return { kind, productNo: item.productNo, instanceId };
  }

  /** `stored`: the ledger entry as read (undefined when there is none); `pending` says what the earlier attempt did. */
  private async reconcile(item: Item, pending: LedgerEntry, stored: LedgerEntry | undefined, immediate: boolean, opts: Opts, why: 'pending' | 'search-first' = 'pending', knownIds?: string[]): Promise<WriteOutcome> {
    const ids = knownIds ?? await this.sink.findByKey(this.keyField, item.productNo, { signal: opts.signal });
    if (why === 'pending') this.logger?.info({ productNo: item.productNo, op: pending.op, found: ids.length, immediate }, 'reconciled pending ledger entry');
    else if (ids.length) this.logger?.info({ productNo: item.productNo, found: ids.length }, 'adopted an instance that already existed in Yida');
    if (ids.length > 1) throw new DuplicateFoundError(item.productNo, ids);
    const kind = pending.op === 'update' ? 'updated' : 'created';
    if (ids.length === 1) {
      const instanceId = ids[0];
      // A pending start with this very hash means the instance was created from this data; anything else may differ.
      const holdsThisData = pending.op !== 'update' && pending.hash === item.hash;
      if (!holdsThisData) return this.update(item, instanceId, kind, stored, undefined, opts);
      await this.claim(item.productNo, stored, this.entry({ hash: item.hash, state: 'done', instanceId }));
      return { kind, productNo: item.productNo, instanceId };
    }
    if (immediate) {
      throw new WriteAmbiguousError(`start for ${item.productNo} had no clear answer and no instance is visible yet; the next run reconciles it`);
    }
    // An empty search proves nothing about a young attempt (still in flight elsewhere, or committed but not indexed).
    const age = this.now() - Date.parse(pending.syncedAt);
    if (why === 'pending' && age < this.searchLagMs) throw new PendingTooRecentError(item.productNo, Math.max(0, age));
    return this.start(item, stored, opts, true);
  }
}
