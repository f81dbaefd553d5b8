/**
 * Lease locks: a named lease held by one owner until released or expired, so a crashed holder cannot block forever.
 *
 * Same semantics on both backends:
 * - acquire succeeds only when nobody holds an unexpired lease (also not the same owner: extend with renew);
 * - renew and release act only for the current owner;
 * - an expired lease is free, whoever held it.
 *
 * Redis: atomic server-side (SET NX PX; Lua compare-and-pexpire; Lua compare-and-del), safe across replicas.
 * sqlite: the store is single-process by design, so an in-process mutex around read-check-write is enough.
 */
import type { LeaseLock } from './types.js';
import { StoreArgumentError, type Backend, type RedisClient } from './keyv.js';

const RENEW_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

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

export function createLeaseLock(backend: Backend): LeaseLock {
  if (backend.kind === 'redis') {
    if (!backend.redis) throw new StoreArgumentError('redis backend without a client');
    return new RedisLeaseLock(backend.redis, backend);
  }
  return new KeyvLeaseLock(backend);
}

export class RedisLeaseLock implements LeaseLock {
  constructor(private readonly client: RedisClient, private readonly backend: Pick<Backend, 'rawKey' | 'guard'>) {}

  private key(name: string): string { return this.backend.rawKey(`lock:${name}`); }

  async acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    checkName(name); checkOwner(owner); checkTtl(ttlMs);
    const reply = await this.backend.guard('lock acquire', () => this.client.set(this.key(name), owner, { condition: 'NX', expiration: { type: 'PX', value: ttlMs } }));
    return reply === 'OK';
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    checkName(name); checkOwner(owner); checkTtl(ttlMs);
    const reply = await this.backend.guard('lock renew', () => this.client.eval(RENEW_SCRIPT, { keys: [this.key(name)], arguments: [owner, String(ttlMs)] }));
    return Number(reply) === 1;
  }

  async release(name: string, owner: string): Promise<void> {
    checkName(name); checkOwner(owner);
    await this.backend.guard('lock release', () => this.client.eval(RELEASE_SCRIPT, { keys: [this.key(name)], arguments: [owner] }));
  }

  async holder(name: string): Promise<string | undefined> {
    checkName(name);
    const v = await this.backend.guard('lock holder', () => this.client.get(this.key(name)));
    return v ?? undefined;
  }
}

interface LeaseRecord { owner: string; expiresAt: number }

export class KeyvLeaseLock implements LeaseLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(private readonly backend: Pick<Backend, 'kv'>, private readonly now: () => number = Date.now) {}

  private key(name: string): string { return `lock:${name}`; }

  /** Serialise read-check-write per lock name within this process. */
  private exclusive<T>(name: string, work: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(name) ?? Promise.resolve();
    const next = prev.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(name, tail);
    void tail.then(() => { if (this.tails.get(name) === tail) this.tails.delete(name); });
    return next;
  }

  private async current(name: string): Promise<LeaseRecord | undefined> {
    const rec = (await this.backend.kv.get(this.key(name))) as LeaseRecord | undefined;
    if (!rec || typeof rec.owner !== 'string' || typeof rec.expiresAt !== 'number') return undefined;
    return rec.expiresAt > this.now() ? rec : undefined;
  }

  private async write(name: string, owner: string, ttlMs: number): Promise<void> {
    const rec: LeaseRecord = { owner, expiresAt: this.now() + ttlMs };
    await this.backend.kv.set(this.key(name), rec, ttlMs);
  }

  acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    checkName(name); checkOwner(owner); checkTtl(ttlMs);
    return this.exclusive(name, async () => {
      if (await this.current(name)) return false;
      await this.write(name, owner, ttlMs);
      return true;
    });
  }

  renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    checkName(name); checkOwner(owner); checkTtl(ttlMs);
    return this.exclusive(name, async () => {
      const rec = await this.current(name);
      if (rec?.owner !== owner) return false;
      await this.write(name, owner, ttlMs);
      return true;
    });
  }

  release(name: string, owner: string): Promise<void> {
    checkName(name); checkOwner(owner);
    return this.exclusive(name, async () => {
      const rec = await this.current(name);
      if (rec?.owner === owner) await this.backend.kv.delete(this.key(name));
    });
  }

  async holder(name: string): Promise<string | undefined> {
    checkName(name);
    return (await this.current(name))?.owner;
  }
}
