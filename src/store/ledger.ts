/**
 * The dedupe ledger on keyv: one entry per product number (`ledger:<product_no>`), saying which Yida instance holds
 * it, the hash of what was last written, and whether that write is confirmed (`done`) or may have happened (`pending`).
 */
import type Keyv from 'keyv';
import type { Ledger, LedgerEntry } from './types.js';

const PREFIX = 'ledger:';
/** the groups mirror's entries, keyed by group id: a key space of their own, never mistaken for a product's */
export const GROUP_LEDGER_PREFIX = 'group-ledger:';

function isEntry(v: unknown): v is LedgerEntry {
  if (!v || typeof v !== 'object') return false;
  const e = v as Partial<LedgerEntry>;
  return typeof e.hash === 'string' && (e.state === 'pending' || e.state === 'done') && typeof e.syncedAt === 'string';
}

export class KeyvLedger implements Ledger {
  constructor(private readonly kv: Keyv, private readonly prefix: string = PREFIX) {}

  async get(productNo: string): Promise<LedgerEntry | undefined> {
    const v = await this.kv.get(this.prefix + productNo);
    if (v === undefined || v === null) return undefined;
    // A malformed entry must not pass for "done": treating it as absent-but-possibly-written sends it to reconciliation.
    if (!isEntry(v)) return { hash: '', state: 'pending', op: 'start', syncedAt: new Date(0).toISOString() };
    return v;
  }

  async set(productNo: string, entry: LedgerEntry): Promise<void> {
    if (!isEntry(entry)) throw new TypeError(`ledger entry for ${productNo}: expected {hash, state: pending|done, syncedAt}`);
    const ok = await this.kv.set(this.prefix + productNo, entry);
    if (ok === false) throw new Error(`ledger: the store refused the entry for ${productNo}`);
  }

  async delete(productNo: string): Promise<void> {
    await this.kv.delete(this.prefix + productNo);
  }
}
