/**
 * Reading the whole dedupe ledger page by page (a sweep compares it with OKKI's list): memory is one page, however
 * many products the ledger holds. sqlite: keyset paging over keyv's table (`key > last ORDER BY key LIMIT n`); Redis:
 * SCAN with MATCH on the ledger prefix, then MGET. A record changed while the scan runs may be seen old or new, and
 * on Redis a key may come twice (SCAN's guarantee): callers treat the scan as a set of keys.
 */
import type { Backend } from './keyv.js';
import type { LedgerEntry } from './types.js';

const PREFIX = 'ledger:';
/** @keyv/sqlite's default table */
const SQLITE_TABLE = 'keyv';

export type LedgerPage = Array<[productNo: string, entry: LedgerEntry]>;

function entryOf(value: unknown): LedgerEntry | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const e = value as Partial<LedgerEntry>;
  if (typeof e.hash !== 'string' || (e.state !== 'pending' && e.state !== 'done') || typeof e.syncedAt !== 'string') {
    // A malformed entry is not "done": like the ledger's own reader, it counts as a possibly-written start.
    return { hash: '', state: 'pending', op: 'start', syncedAt: new Date(0).toISOString() };
  }
  return e as LedgerEntry;
}

async function decode(backend: Backend, text: unknown): Promise<LedgerEntry | undefined> {
  if (typeof text !== 'string') return undefined;
  const data = (await backend.kv.deserializeData<LedgerEntry>(text)) as { value?: unknown; expires?: number | null } | undefined;
  if (data?.expires && data.expires < Date.now()) return undefined;
  return entryOf(data?.value);
}

export function createLedgerScan(backend: Backend): (pageSize?: number) => AsyncGenerator<LedgerPage> {
  const raw = backend.rawKey(PREFIX);
  if (backend.kind === 'sqlite') {
    const sql = backend.sql!;
    return async function* scanSqlite(pageSize = 500) {
      // Range on the primary key: every key that starts with the prefix sorts between it and the prefix + U+FFFF.
      let last = raw;
      for (;;) {
        const rows = await sql(`SELECT key, value FROM ${SQLITE_TABLE} WHERE key > ? AND key < ? ORDER BY key LIMIT ?`, last, `${raw}\uffff`, pageSize);
        if (!rows.length) return;
        const page: LedgerPage = [];
        for (const row of rows) {
          const key = String(row.key);
          const entry = await decode(backend, row.value);
          if (entry) page.push([key.slice(raw.length), entry]);
        }
        last = String(rows[rows.length - 1].key);
        if (page.length) yield page;
        if (rows.length < pageSize) return;
      }
    };
  }
  const client = backend.redis!;
  // the namespace is [A-Za-z0-9._-] (keyv.ts checks it) and the prefix has no glob characters
  const match = `${raw}*`;
  return async function* scanRedis(pageSize = 500) {
    let cursor = '0';
    do {
      const r = await backend.guard('scan', () => client.scan(cursor, { MATCH: match, COUNT: pageSize }));
      cursor = String(r.cursor);
      const keys = r.keys.map(String);
      if (!keys.length) continue;
      const values = await backend.guard('mget', () => client.mGet(keys));
      const page: LedgerPage = [];
      for (let i = 0; i < keys.length; i++) {
        const entry = await decode(backend, values[i]);
        if (entry) page.push([keys[i].slice(raw.length), entry]);
      }
      if (page.length) yield page;
    } while (cursor !== '0');
  };
}
