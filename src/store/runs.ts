/**
 * Run records, newest first, with a bounded history (older runs are pruned as new ones arrive).
 * Records live in keyv (`run:<id>`); the order lives in an index: a Redis sorted set (scored by start time,
 * pruned atomically by a script) or, on sqlite, one index record guarded by an in-process mutex.
 */
import type Keyv from 'keyv';
import type { RunRecord } from '../core/index.js';
import type { RunStore } from './types.js';
import { StoreArgumentError, type Backend, type RedisClient } from './keyv.js';
import { createAtomicKv, type AtomicKv } from './atomic.js';

export const DEFAULT_RUN_HISTORY = 200;

// Removes the oldest ids beyond the cap from the index and deletes their records, in one atomic step.
const PRUNE_SCRIPT = `
local excess = redis.call('zcard', KEYS[1]) - tonumber(ARGV[1])
if excess <= 0 then return 0 end
local ids = redis.call('zrange', KEYS[1], 0, excess - 1)
for _, id in ipairs(ids) do redis.call('del', ARGV[2] .. id) end
redis.call('zremrangebyrank', KEYS[1], 0, excess - 1)
return #ids`;

function recordKey(id: string): string { return `run:${id}`; }

function checkRun(run: RunRecord): number {
  if (!run || typeof run.id !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(run.id)) throw new StoreArgumentError('run.id: expected 1-128 characters of A-Z a-z 0-9 . _ : -');
  const at = Date.parse(run.startedAt);
  if (Number.isNaN(at)) throw new StoreArgumentError('run.startedAt: expected an ISO instant');
  return at;
}

function checkLimit(limit: number, max: number): number {
  if (!Number.isInteger(limit) || limit < 0) throw new StoreArgumentError('runs limit: expected a whole number ≥ 0');
  return Math.min(limit, max);
}

export interface RunStoreOptions { maxRuns?: number }

export function createRunStore(backend: Backend, opts: RunStoreOptions = {}): RunStore {
  const maxRuns = opts.maxRuns ?? DEFAULT_RUN_HISTORY;
  if (!Number.isInteger(maxRuns) || maxRuns < 1) throw new StoreArgumentError('maxRuns: expected a whole number ≥ 1');
  if (backend.kind === 'redis') {
    if (!backend.redis) throw new StoreArgumentError('redis backend without a client');
    return new RedisRunStore(backend.kv, backend.redis, backend, maxRuns);
  }
  return new KeyvRunStore(backend.kv, maxRuns, createAtomicKv(backend, backend.kv));
}

async function readRun(kv: Keyv, id: string): Promise<RunRecord | undefined> {
  if (typeof id !== 'string' || id === '') return undefined;
  return (await kv.get(recordKey(id))) as RunRecord | undefined;
}

async function readRuns(kv: Keyv, ids: string[]): Promise<RunRecord[]> {
  // One get per id, not keyv.getMany: getMany's fallback path turns adapter failures into undefined.
  const records = await Promise.all(ids.map((id) => kv.get(recordKey(id)) as Promise<RunRecord | undefined>));
  return records.filter((r): r is RunRecord => r !== undefined && r !== null);
}

export class RedisRunStore implements RunStore {
  private readonly indexKey: string;
  constructor(private readonly kv: Keyv, private readonly client: RedisClient, private readonly backend: Pick<Backend, 'rawKey' | 'guard'>, private readonly maxRuns: number) {
    this.indexKey = backend.rawKey('runs:index');
  }

  async put(run: RunRecord): Promise<void> {
    const at = checkRun(run);
    await this.kv.set(recordKey(run.id), run);
    // NX: a run keeps its place when its record is updated (running → finished).
    await this.backend.guard('runs index', () => this.client.zAdd(this.indexKey, { score: at, value: run.id }, { condition: 'NX' }));
    await this.backend.guard('runs prune', () => this.client.eval(PRUNE_SCRIPT, { keys: [this.indexKey], arguments: [String(this.maxRuns), this.backend.rawKey(recordKey(''))] }));
  }

  get(id: string): Promise<RunRecord | undefined> { return readRun(this.kv, id); }

  async list(limit: number): Promise<RunRecord[]> {
    const n = checkLimit(limit, this.maxRuns);
    if (n === 0) return [];
    const ids = await this.backend.guard('runs list', () => this.client.zRange(this.indexKey, 0, n - 1, { REV: true }));
    return readRuns(this.kv, ids);
  }
}

interface IndexEntry { id: string; at: number }

/**
 * sqlite: the index is one record, changed by compare-and-set in SQLite itself (atomic.ts), so processes sharing the
 * file (the service and `npm run sync` from a crontab) never lose each other's runs; within a process the changes are
 * also serialised, so they rarely have to be retried.
 */
export class KeyvRunStore implements RunStore {
  private static readonly INDEX = 'runs:index';
  private tail: Promise<unknown> = Promise.resolve();
  constructor(private readonly kv: Keyv, private readonly maxRuns: number, private readonly atomic?: AtomicKv) {}

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async index(): Promise<IndexEntry[]> {
    const raw = await this.kv.get(KeyvRunStore.INDEX);
    return Array.isArray(raw) ? (raw as IndexEntry[]) : [];
  }

  put(run: RunRecord): Promise<void> {
    const at = checkRun(run);
    return this.exclusive(async () => {
      await this.kv.set(recordKey(run.id), run);
      const pruned = this.atomic ? await this.insertAtomically(run.id, at) : await this.insert(run.id, at);
      for (const e of pruned) await this.kv.delete(recordKey(e.id));
    });
  }

  /** Newest first; a run started at the same instant as another goes before it (it was recorded later). */
  private place(index: IndexEntry[], id: string, at: number): IndexEntry[] | undefined {
    if (index.some((e) => e.id === id)) return undefined;
    const pos = index.findIndex((e) => e.at <= at);
    index.splice(pos === -1 ? index.length : pos, 0, { id, at });
    return index.splice(this.maxRuns);
  }

  private async insert(id: string, at: number): Promise<IndexEntry[]> {
    const index = await this.index();
    const pruned = this.place(index, id, at);
    if (pruned) await this.kv.set(KeyvRunStore.INDEX, index);
    return pruned ?? [];
  }

  /** Read, place, write only if nobody changed the index meanwhile; else read again (bounded). */
  private async insertAtomically(id: string, at: number): Promise<IndexEntry[]> {
    const atomic = this.atomic!;
    for (let attempt = 0; attempt < 50; attempt++) {
      const text = await atomic.getText(KeyvRunStore.INDEX);
      const stored = text === undefined ? undefined : await atomic.deserialize<unknown>(text).catch(() => undefined);
      const index = Array.isArray(stored) ? (stored as IndexEntry[]) : [];
      const pruned = this.place(index, id, at);
      if (!pruned) return [];
      const next = await atomic.serialize(index);
      if (await atomic.write(KeyvRunStore.INDEX, text === undefined ? { absent: true } : { text }, next) === 'ok') return pruned;
    }
    throw new StoreArgumentError('runs index: changed by others 50 times in a row while this run was being added');
  }

  get(id: string): Promise<RunRecord | undefined> { return readRun(this.kv, id); }

  async list(limit: number): Promise<RunRecord[]> {
    const n = checkLimit(limit, this.maxRuns);
    if (n === 0) return [];
    const index = await this.exclusive(() => this.index());
    return readRuns(this.kv, index.slice(0, n).map((e) => e.id));
  }
}
