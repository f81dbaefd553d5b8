/**
 * Month-to-date usage counters (metered DingTalk calls, robot messages, OKKI calls, notices shown), kept in the store
 * so they survive restarts and are shared by every replica on it. Increments are atomic on both backends:
 *  - Redis: HINCRBY on one hash per month (`usage:<YYYY-MM>`), expiring after ~13 months;
 *  - sqlite: an UPSERT (`n = n + excluded.n`) on a table of its own in the same file, atomic even across processes
 *    (a read-modify-write through keyv would lose increments between two processes on one file).
 */
import type { UsageStore } from './types.js';
import { StoreArgumentError, type Backend, type RedisClient } from './keyv.js';

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const NAME = /^[A-Za-z0-9._:-]{1,64}$/;
/** kept about 13 months: long enough to compare a month with the same month last year's invoice, not for ever */
const KEEP_SECONDS = 400 * 24 * 3600;
const TABLE = 'connector_usage';

function checkMonth(month: string): void {
  if (typeof month !== 'string' || !MONTH.test(month)) throw new StoreArgumentError('usage month: expected YYYY-MM');
}

function entries(deltas: Record<string, number>): [string, number][] {
  const out: [string, number][] = [];
  for (const [name, n] of Object.entries(deltas)) {
    if (!NAME.test(name)) throw new StoreArgumentError('usage counter name: expected 1-64 characters of A-Z a-z 0-9 . _ : -');
    if (!Number.isSafeInteger(n) || n < 0) throw new StoreArgumentError('usage increment: expected a whole number ≥ 0');
    if (n > 0) out.push([name, n]);
  }
  return out;
}

export function createUsageStore(backend: Backend): UsageStore {
  if (backend.kind === 'redis') {
    if (!backend.redis) throw new StoreArgumentError('redis backend without a client');
    return new RedisUsageStore(backend.redis, backend);
  }
  if (!backend.sql) throw new StoreArgumentError('sqlite backend without SQL access');
  return new SqliteUsageStore(backend.sql.bind(backend), backend.namespace);
}

export class RedisUsageStore implements UsageStore {
  constructor(private readonly client: RedisClient, private readonly backend: Pick<Backend, 'rawKey' | 'guard'>) {}

  private key(month: string): string { return this.backend.rawKey(`usage:${month}`); }

  async add(month: string, deltas: Record<string, number>): Promise<void> {
    checkMonth(month);
    const list = entries(deltas);
    if (!list.length) return;
    const key = this.key(month);
    await this.backend.guard('usage add', async () => {
      const tx = this.client.multi();
      for (const [name, n] of list) tx.hIncrBy(key, name, n);
      tx.expire(key, KEEP_SECONDS);
      await tx.exec();
    });
  }

  async get(month: string): Promise<Record<string, number>> {
    checkMonth(month);
    const raw = await this.backend.guard('usage get', () => this.client.hGetAll(this.key(month)));
    return Object.fromEntries(Object.entries(raw ?? {}).map(([k, v]) => [k, Number(v) || 0]));
  }
}

export class SqliteUsageStore implements UsageStore {
  private ready?: Promise<void>;

  constructor(private readonly sql: (statement: string, ...params: unknown[]) => Promise<unknown[]>, private readonly ns: string) {}

  private table(): Promise<void> {
    this.ready ??= this.sql(`CREATE TABLE IF NOT EXISTS ${TABLE} (ns TEXT NOT NULL, month TEXT NOT NULL, name TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (ns, month, name))`)
      .then(() => undefined, (err) => { this.ready = undefined; throw err; });
    return this.ready;
  }

  async add(month: string, deltas: Record<string, number>): Promise<void> {
    checkMonth(month);
    const list = entries(deltas);
    if (!list.length) return;
    await this.table();
    const values = list.map(() => '(?, ?, ?, ?)').join(', ');
    const params = list.flatMap(([name, n]) => [this.ns, month, name, n]);
    await this.sql(`INSERT INTO ${TABLE} (ns, month, name, n) VALUES ${values} ON CONFLICT (ns, month, name) DO UPDATE SET n = n + excluded.n`, ...params);
  }

  async get(month: string): Promise<Record<string, number>> {
    checkMonth(month);
    await this.table();
    const rows = await this.sql(`SELECT name, n FROM ${TABLE} WHERE ns = ? AND month = ?`, this.ns, month) as { name: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.name, Number(r.n) || 0]));
  }
}
