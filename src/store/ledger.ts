/**
 * The dedupe ledger on keyv: one entry per product number (`ledger:<product_no>`), saying which Yida instance holds
 * it, the hash of what was last written, and whether that write is confirmed (`done`) or may have happened (`pending`).
 *
 * Transitions are conditional in the store itself (atomic.ts): `claim` writes only when the entry is still what was
 * read, so two processes that both read "no entry" cannot both claim `pending` and both start an instance; and every
 * write may carry the run's lease fence, refused once the lease is no longer the run's.
 */
import { ConnectorError } from '../errors.js';
import type { AtomicKv, Expected, Fence } from './atomic.js';
import type { Ledger, LedgerEntry } from './types.js';

const PREFIX = 'ledger:';
/** the groups mirror's entries, keyed by group id: a key space of their own, never mistaken for a product's */
export const GROUP_LEDGER_PREFIX = 'group-ledger:';

function isEntry(v: unknown): v is LedgerEntry {
  if (!v || typeof v !== 'object') return false;
  const e = v as Partial<LedgerEntry>;
  return typeof e.hash === 'string' && (e.state === 'pending' || e.state === 'done') && typeof e.syncedAt === 'string';
}

/** The run's lease is no longer its own (expired, or taken by another run): it must stop writing. */
export class FenceStaleError extends ConnectorError {
  constructor(productNo: string) {
    super('SYNC_FENCE_STALE', `The run no longer holds the sync lease; the ledger entry of ${productNo} was not changed and the run stops`);
  }
}

export class KeyvLedger implements Ledger {
  /** the stored text each entry was read from: what a claim compares against */
  private readonly texts = new WeakMap<LedgerEntry, string>();

  constructor(private readonly store: AtomicKv, private readonly prefix: string = PREFIX) {}

  async get(productNo: string): Promise<LedgerEntry | undefined> {
    const text = await this.store.getText(this.prefix + productNo);
    if (text === undefined) return undefined;
    let v: unknown;
    try { v = await this.store.deserialize(text); } catch { v = undefined; }
    // A malformed entry must not pass for "done": treating it as absent-but-possibly-written sends it to reconciliation.
    const entry: LedgerEntry = isEntry(v) ? v : { hash: '', state: 'pending', op: 'start', syncedAt: new Date(0).toISOString() };
    this.texts.set(entry, text);
    return entry;
  }

  async set(productNo: string, entry: LedgerEntry, fence?: Fence): Promise<void> {
    await this.write(productNo, { any: true }, entry, fence);
  }

  async delete(productNo: string, fence?: Fence): Promise<void> {
    await this.write(productNo, { any: true }, null, fence);
  }

  async claim(productNo: string, expected: LedgerEntry | undefined, next: LedgerEntry, fence?: Fence): Promise<boolean> {
    if (expected === undefined) return this.write(productNo, { absent: true }, next, fence);
    const text = this.texts.get(expected);
    if (text === undefined) throw new TypeError(`ledger claim for ${productNo}: the expected entry must be one returned by get()`);
    return this.write(productNo, { text }, next, fence);
  }

  private async write(productNo: string, expected: Expected, entry: LedgerEntry | null, fence?: Fence): Promise<boolean> {
    if (entry !== null && !isEntry(entry)) throw new TypeError(`ledger entry for ${productNo}: expected {hash, state: pending|done, syncedAt}`);
    const text = entry === null ? null : await this.store.serialize(entry);
    const r = await this.store.write(this.prefix + productNo, expected, text, fence);
    if (r === 'fenced') throw new FenceStaleError(productNo);
    if (r === 'ok' && entry !== null && text !== null) this.texts.set(entry, text);
    return r === 'ok';
  }
}
