/**
 * Lease locks: a named lease held by one owner until released or expired, so a crashed holder cannot block forever.
 *
 * Same semantics on both backends:
 * - acquire succeeds only when nobody holds an unexpired lease (also not the same owner: extend with renew);
 * - renew and release act only for the current owner;
 * - an expired lease is free, whoever held it;
 * - every lease taken gets a fencing token, larger than any taken before in the store: writes guarded by it
 *   (atomic.ts) are refused once the lease has expired or passed to someone else.
 *
 * Both are atomic in the store itself, so they hold across processes and replicas:
 * Redis: Lua scripts (claim-if-absent with the token; compare-and-pexpire; compare-and-del).
 * sqlite: one conditional statement each on the `leases` table (SQLite's write lock makes it atomic across the
 * processes sharing the file: the service and `npm run sync` from a crontab).
 */
import type { LeaseLock } from './types.js';
import { StoreArgumentError, type Backend, type RedisClient } from './keyv.js';

// The lease value is `<token>:<owner>`; KEYS[2] is the store-wide token counter.
const ACQUIRE_SCRIPT = `if redis.call('exists', KEYS[1]) == 1 then return 0 end
local t = redis.call('incr', KEYS[2])
redis.call('set', KEYS[1], t .. ':' .. ARGV[1], 'PX', ARGV[2])
return t`;
const OWNER_OF = `local v = redis.call('get', KEYS[1])
local t, o = nil, nil
if v then t, o = string.match(v, '^(%d+):(.*)$') end`;
const RENEW_SCRIPT = `${OWNER_OF}
if o == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]); return tonumber(t) else return 0 end`;
const RELEASE_SCRIPT = `${OWNER_OF}
if o == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const TOKEN_SCRIPT = `${OWNER_OF}
if o == ARGV[1] then return tonumber(t) else return 0 end`;

/** Redis keys of a lease and of the token counter (raw keys, namespaced like the adapter's). */
export function redisLeaseKeys(backend: Pick<Backend, 'rawKey'>, name: string): { lease: string; counter: string } {
  return { lease: backend.rawKey(`lock:${name}`), counter: backend.rawKey('lock-fence') };
}
/** The row name of a lease in the sqlite `leases` table. */
export function sqliteLeaseName(backend: Pick<Backend, 'rawKey'>, name: string): string { return backend.rawKey(`lock:${name}`); }

/** Longest lease accepted: longer ones almost always mean seconds were passed as milliseconds the wrong way round. */
const MAX_TTL_MS = 7 * 24 * 3600 * 1000;

function checkName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) throw new StoreArgumentError('lock name: expected a non-empty string of at most 200 characters');
}
function checkOwner(owner: string): void {
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > 200) throw new StoreArgumentError('lock owner: expected a non-empty string of at most 200 characters');
}
function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_TTL_MS) throw new StoreArgumentError(`lock ttlMs: expected a whole number of milliseconds from 1 to ${MAX_TTL_MS}`);
}

export function createLeaseLock(backend: Backend, now: () => number = Date.now): LeaseLock {
  if (backend.kind === 'redis') {
    if (!backend.redis) throw new StoreArgumentError('redis backend without a client');
    return new RedisLeaseLock(backend.redis, backend);
  }
  return new SqliteLeaseLock(backend, now);
}

export class RedisLeaseLock implements LeaseLock {
  constructor(private readonly client: RedisClient, private readonly backend: Pick<Backend, 'rawKey' | 'guard'>) {}

  private keys(name: string): string[] { const k = redisLeaseKeys(this.backend, name); return [k.lease, k.counter]; }

  private run(op: string, script: string, name: string, args: string[]): Promise<number> {
    return this.backend.guard(op, () => this.client.eval(script, { keys: this.keys(name), arguments: args })).then(Number);
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.acquireToken(name, owner, ttlMs)) !== undefined;
  }

  async acquireToken(name: string, owner: string, ttlMs: number): Promise<number | undefined> {
    checkName(name); checkOwner(owner); checkTtl(ttlMs);
    const t = await this.run('lock acquire', ACQUIRE_SCRIPT, name, [owner, String(ttlMs)]);
    return t > 0 ? t : undefined;
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    checkName(name); checkOwner(owner); checkTtl(ttlMs);
    return (await this.run('lock renew', RENEW_SCRIPT, name, [owner, String(ttlMs)])) > 0;
  }

  async release(name: string, owner: string): Promise<void> {
    checkName(name); checkOwner(owner);
    await this.run('lock release', RELEASE_SCRIPT, name, [owner]);
  }

  async holder(name: string): Promise<string | undefined> {
    checkName(name);
    const v = await this.backend.guard('lock holder', () => this.client.get(redisLeaseKeys(this.backend, name).lease));
    return v ? /^\d+:(.*)$/s.exec(v)?.[1] : undefined;
  }

  async token(name: string, owner: string): Promise<number | undefined> {
    checkName(name); checkOwner(owner);
    const t = await this.run('lock token', TOKEN_SCRIPT, name, [owner]);
    return t > 0 ? t : undefined;
  }
}

/** sqlite: each operation is one statement on the `leases` table (see the note at the top). */
export class SqliteLeaseLock implements LeaseLock {
  private readonly sql: NonNullable<Backend['sql']>;

  constructor(private readonly backend: Pick<Backend, 'rawKey' | 'sql'>, private readonly now: () => number = Date.now) {
    if (!backend.sql) throw new StoreArgumentError('sqlite backend without sql access');
    this.sql = backend.sql;
  }

  private row(name: string): string { return sqliteLeaseName(this.backend, name); }

  async acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.acquireToken(name, owner, ttlMs)) !== undefined;
  }

  async acquireToken(name: string, owner: string, ttlMs: number): Promise<number | undefined> {
    checkName(name); checkOwner(owner); checkTtl(ttlMs);
    const now = this.now();
    // Insert-if-absent, or take over a released/expired row: one statement, so two processes cannot both win.
    const rows = await this.sql(`INSERT INTO leases(name, owner, expires_at, fence) VALUES(?, ?, ?, (SELECT COALESCE(MAX(fence), 0) + 1 FROM leases))
       ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, fence = excluded.fence
       WHERE leases.owner IS NULL OR leases.expires_at <= ?
       RETURNING fence`, this.row(name), owner, now + ttlMs, now);
    return rows.length ? Number(rows[0].fence) : undefined;
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    checkName(name); checkOwner(owner); checkTtl(ttlMs);
    const now = this.now();
    const rows = await this.sql('UPDATE leases SET expires_at = ? WHERE name = ? AND owner = ? AND expires_at > ? RETURNING fence', now + ttlMs, this.row(name), owner, now);
    return rows.length > 0;
  }

  async release(name: string, owner: string): Promise<void> {
    checkName(name); checkOwner(owner);
    // The row stays (owner cleared) so that the token counter never goes back.
    await this.sql('UPDATE leases SET owner = NULL, expires_at = 0 WHERE name = ? AND owner = ?', this.row(name), owner);
  }

  async holder(name: string): Promise<string | undefined> {
    checkName(name);
    const rows = await this.sql('SELECT owner FROM leases WHERE name = ? AND owner IS NOT NULL AND expires_at > ?', this.row(name), this.now());
    const owner = rows[0]?.owner;
    return typeof owner === 'string' ? owner : undefined;
  }

  async token(name: string, owner: string): Promise<number | undefined> {
    checkName(name); checkOwner(owner);
    const rows = await this.sql('SELECT fence FROM leases WHERE name = ? AND owner = ? AND expires_at > ?', this.row(name), owner, this.now());
    return rows.length ? Number(rows[0].fence) : undefined;
  }
}
