/**
 * Conditional writes of single keyv records, atomic in the store itself (not behind an in-process mutex), so that two
 * processes or replicas cannot both make the same ledger transition:
 * - compare-and-set: write only when the stored text is still the one that was read (or the key is still absent);
 * - fenced: write only while a given lease is still held with a given fencing token (lock.ts), so a run that stalled
 *   past its lease cannot overwrite what the run that took over wrote.
 *
 * The records stay in keyv's own format and rows (`namespace:key` in keyv's table, `namespace::key` in Redis), so keyv
 * reads them as before.
 */
import type Keyv from 'keyv';
import { SQLITE_KV_TABLE, StoreArgumentError, type Backend } from './keyv.js';
import { redisLeaseKeys, sqliteLeaseName } from './lock.js';
import type { Fence } from './types.js';

export type { Fence };

/** `absent`: only if the key has no record; a string: only if the stored text is exactly it; `any`: unconditionally. */
export type Expected = { absent: true } | { text: string } | { any: true };

export type CasResult = 'ok' | 'conflict' | 'fenced';

export interface AtomicKv {
  /** the stored text of a record (keyv's serialised form), undefined when absent */
  getText(key: string): Promise<string | undefined>;
  /** write `next` (a serialised record; null deletes) when `expected` holds and the fence, if any, is current */
  write(key: string, expected: Expected, next: string | null, fence?: Fence): Promise<CasResult>;
  /** keyv's serialised form of a value without expiry */
  serialize(value: unknown): Promise<string>;
  deserialize<T>(text: string): Promise<T | undefined>;
}

// KEYS[1] record, KEYS[2] lease, KEYS[3] unused counter; ARGV: mode, expected text, next text ('' + del flag), owner, token
const REDIS_WRITE = `
if ARGV[6] == '1' then
  local v = redis.call('get', KEYS[2])
  if v ~= ARGV[5] .. ':' .. ARGV[4] then return -1 end
end
local cur = redis.call('get', KEYS[1])
if ARGV[1] == 'absent' then if cur then return 0 end
elseif ARGV[1] == 'text' then if cur ~= ARGV[2] then return 0 end end
if ARGV[7] == '1' then redis.call('del', KEYS[1]) else redis.call('set', KEYS[1], ARGV[3]) end
return 1`;

export function createAtomicKv(backend: Backend, kv: Keyv, now: () => number = Date.now): AtomicKv {
  const codec = {
    async serialize(value: unknown): Promise<string> {
      const text = await kv.serializeData({ value, expires: undefined });
      if (typeof text !== 'string') throw new StoreArgumentError('keyv is configured without a text serialiser');
      return text;
    },
    async deserialize<T>(text: string): Promise<T | undefined> {
      return ((await kv.deserializeData<T>(text)) as { value?: T } | undefined)?.value;
    },
  };
  if (backend.kind === 'redis') {
    const client = backend.redis;
    if (!client) throw new StoreArgumentError('redis backend without a client');
    return {
      ...codec,
      async getText(key) {
        return (await backend.guard('get', () => client.get(backend.rawKey(key)))) ?? undefined;
      },
      async write(key, expected, next, fence) {
        const lease = fence ? redisLeaseKeys(backend, fence.lock).lease : backend.rawKey(key);
        const mode = 'absent' in expected ? 'absent' : 'text' in expected ? 'text' : 'any';
        const args = [mode, 'text' in expected ? expected.text : '', next ?? '', fence?.owner ?? '', String(fence?.token ?? ''), fence ? '1' : '0', next === null ? '1' : '0'];
        const r = Number(await backend.guard('conditional write', () => client.eval(REDIS_WRITE, { keys: [backend.rawKey(key), lease], arguments: args })));
        return r === 1 ? 'ok' : r === -1 ? 'fenced' : 'conflict';
      },
    };
  }
  const sql = backend.sql;
  if (!sql) throw new StoreArgumentError('sqlite backend without sql access');
  const T = SQLITE_KV_TABLE;
  const fenceHolds = 'EXISTS (SELECT 1 FROM leases WHERE name = ? AND owner = ? AND fence = ? AND expires_at > ?)';
  const fenceArgs = (f: Fence) => [sqliteLeaseName(backend, f.lock), f.owner, f.token, now()];
  return {
    ...codec,
    async getText(key) {
      const rows = await sql(`SELECT value FROM ${T} WHERE key = ?`, backend.rawKey(key));
      const v = rows[0]?.value;
      return typeof v === 'string' ? v : undefined;
    },
    async write(key, expected, next, fence) {
      const k = backend.rawKey(key);
      const guard = fence ? fenceHolds : '1';
      const gArgs = fence ? fenceArgs(fence) : [];
      let rows: unknown[];
      if (next === null) {
        const cond = 'text' in expected ? ' AND value = ?' : '';
        rows = await sql(`DELETE FROM ${T} WHERE key = ?${cond} AND ${guard} RETURNING 1`, k, ...('text' in expected ? [expected.text] : []), ...gArgs);
      } else if ('absent' in expected) {
        rows = await sql(`INSERT INTO ${T}(key, value) SELECT ?, ? WHERE ${guard} ON CONFLICT(key) DO NOTHING RETURNING 1`, k, next, ...gArgs);
      } else if ('text' in expected) {
        rows = await sql(`UPDATE ${T} SET value = ? WHERE key = ? AND value = ? AND ${guard} RETURNING 1`, next, k, expected.text, ...gArgs);
      } else {
        rows = await sql(`INSERT INTO ${T}(key, value) SELECT ?, ? WHERE ${guard} ON CONFLICT(key) DO UPDATE SET value = excluded.value RETURNING 1`, k, next, ...gArgs);
      }
      if (rows.length) return 'ok';
      // Not written: say why (the fence is checked again on its own; only the diagnosis, not the decision, rests on it).
      if (fence && !(await sql(`SELECT 1 WHERE ${fenceHolds}`, ...fenceArgs(fence))).length) return 'fenced';
      // Deleting a record that is already gone is done; any other miss means the record was not what was expected.
      return next === null && !('text' in expected) ? 'ok' : 'conflict';
    },
  };
}
