/**
 * Expired records leave the sqlite file. keyv on sqlite stores a record's expiry inside its value and deletes an
 * expired record only when someone reads it; records nobody reads again (`run-owner:<run id>` for every run, cron
 * tick claims) would stay for ever and the file would grow with every run. Redis expires keys by itself.
 *
 * Pruned: keyv rows whose `expires` has passed, and lease rows expired for a day (except the newest, whose fencing
 * token the next lease continues from).
 */
import type { Logger } from '../log.js';
import { SQLITE_KV_TABLE, type Backend } from './keyv.js';

export const DEFAULT_PRUNE_INTERVAL_MS = 3600_000;
/** an expired lease row is kept this long: a stalled former holder may still check its fence against it */
const LEASE_KEEP_MS = 24 * 3600_000;

/** Delete every expired record now; answers how many rows went. */
export async function pruneSqlite(sql: NonNullable<Backend['sql']>, now = Date.now()): Promise<number> {
  const t = SQLITE_KV_TABLE;
  // keyv writes `"expires":<ms>` only for records with a TTL: the LIKE skips the JSON parse for every other row.
  const kv = await sql(`DELETE FROM ${t} WHERE value LIKE '%"expires":%'
    AND (CASE WHEN json_valid(value) THEN json_extract(value, '$.expires') END) < ? RETURNING 1`, now);
  const leases = await sql(`DELETE FROM leases WHERE expires_at < ? AND fence < (SELECT MAX(fence) FROM leases) RETURNING 1`, now - LEASE_KEEP_MS);
  return kv.length + leases.length;
}

/** Prune at once and then every `intervalMs` until stopped; a failure is logged and tried again next time. */
export function startSqlitePruner(sql: NonNullable<Backend['sql']>, opts: { intervalMs?: number; logger?: Logger } = {}): { prune(): Promise<number>; stop(): void } {
  let stopped = false;
  const prune = async () => {
    try {
      const n = await pruneSqlite(sql);
      if (n) opts.logger?.debug({ rows: n }, 'pruned expired store records');
      return n;
    } catch (err) {
      if (!stopped) opts.logger?.warn({ err: (err as Error).message }, 'could not prune expired store records; trying again later');
      return 0;
    }
  };
  void prune();
  const timer = setInterval(() => void prune(), opts.intervalMs ?? DEFAULT_PRUNE_INTERVAL_MS);
  timer.unref();
  return { prune, stop() { stopped = true; clearInterval(timer); } };
}
