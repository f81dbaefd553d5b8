/**
 * The one construction point of the connector's keyv: @keyv/sqlite for `sqlite://PATH`, @keyv/redis for `redis://`.
 *
 * keyv@5 swallows adapter errors by default (`get` returns undefined, `set` returns false, and only `set`/`delete`
 * emit an `error` event). For a dedupe ledger that is dangerous: a store outage read as "no entry" would start a
 * second Yida instance. So every adapter operation here is wrapped to reject with a typed StoreUnavailableError
 * (after a bounded time, so a hung connection cannot stall a run), and keyv is built with `throwOnErrors: true`
 * so it passes that rejection on instead of turning it into undefined/false.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Keyv from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import KeyvRedis, { createClient } from '@keyv/redis';
import type { Config } from '../config.js';
import { ConnectorError, errorMessage } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';

export const DEFAULT_NAMESPACE = 'okki-yida';
const DEFAULT_OP_TIMEOUT_MS = 5_000;
/** the table keyv's sqlite adapter keeps its rows in (its default) */
export const SQLITE_KV_TABLE = 'keyv';
/**
 * Leases (lock.ts) live in a table of their own so that taking one is a single conditional SQL statement. `fence` is
 * the lease's fencing token: it grows with every lease taken in the file (the newest row is never pruned).
 */
const SQLITE_LEASES_TABLE = 'CREATE TABLE IF NOT EXISTS leases(name TEXT PRIMARY KEY, owner TEXT, expires_at INTEGER NOT NULL, fence INTEGER NOT NULL)';

/** The store did not answer (down, unreachable, timed out, I/O error): the operation's outcome is unknown. */
export class StoreUnavailableError extends ConnectorError {
  constructor(op: string, cause: unknown) {
    super('STORE_UNAVAILABLE', `Store ${op} failed: ${describe(cause)}`, { cause });
  }
}

/** A store call was given something it cannot work with (programming error, not an outage). */
export class StoreArgumentError extends ConnectorError {
  constructor(message: string) {
    super('STORE_ARGUMENT_INVALID', message);
  }
}

function describe(cause: unknown): string {
  // Only the error's own text: node-redis and sqlite3 messages carry host:port or a file path, never a password.
  const text = errorMessage(cause).split('\n')[0] ?? '';
  return text.replace(/\/\/[^@/\s]*@/g, '//***@').slice(0, 200);
}

function createRedisClient(url: string, timeoutMs: number) {
  return createClient({
    url,
    // Without this, node-redis queues commands while reconnecting and they hang until Redis comes back;
    // an outage must fail the run now, not stall it.
    disableOfflineQueue: true,
    commandOptions: { timeout: timeoutMs },
    socket: {
      connectTimeout: timeoutMs,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2_000),
    },
  });
}

/** The node-redis client that keyv uses, also used directly by the lock (scripts) and the run index (sorted set). */
export type RedisClient = ReturnType<typeof createRedisClient>;

export interface Backend {
  kind: 'sqlite' | 'redis';
  namespace: string;
  kv: Keyv;
  /** only on Redis: the connected node-redis client that keyv also uses */
  redis?: RedisClient;
  /**
   * only on sqlite: one SQL statement on keyv's connection (tables of its own beside keyv's: the push queue, leases),
   * guarded like the rest. One statement is atomic in SQLite itself, across processes sharing the file too (its
   * write lock), which an in-process mutex is not.
   */
  sql?: (sql: string, ...params: unknown[]) => Promise<Array<Record<string, unknown>>>;
  /** prefix for raw Redis keys, consistent with the adapter's (`namespace::key`) */
  rawKey(key: string): string;
  /** run a raw backend call with the same timeout and typed error as keyv's operations */
  guard<T>(op: string, work: () => Promise<T>): Promise<T>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface BackendOptions {
  namespace?: string;
  logger?: Logger;
  /** upper bound for one store operation before it rejects as unavailable */
  opTimeoutMs?: number;
}

function makeGuard(timeoutMs: number) {
  return async function guard<T>(op: string, work: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([work(), timeout]);
    } catch (err) {
      if (err instanceof ConnectorError) throw err;
      throw new StoreUnavailableError(op, err);
    } finally {
      clearTimeout(timer);
    }
  };
}

const ADAPTER_METHODS = ['get', 'getMany', 'set', 'setMany', 'delete', 'deleteMany', 'has', 'hasMany', 'clear'] as const;

/** Patch the adapter instance so each data operation rejects with StoreUnavailableError instead of failing silently. */
function guardAdapter(adapter: object, guard: ReturnType<typeof makeGuard>): void {
  const a = adapter as Record<string, unknown>;
  for (const name of ADAPTER_METHODS) {
    const original = a[name];
    if (typeof original !== 'function') continue;
    a[name] = (...args: unknown[]) => guard(name, () => (original as (...x: unknown[]) => Promise<unknown>).apply(adapter, args));
  }
}

function validateOptions(opts: BackendOptions): Required<Omit<BackendOptions, 'logger'>> & { logger: Logger } {
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(namespace)) throw new StoreArgumentError('store namespace: expected 1-64 characters of A-Z a-z 0-9 . _ -');
  const opTimeoutMs = opts.opTimeoutMs ?? DEFAULT_OP_TIMEOUT_MS;
  if (!Number.isInteger(opTimeoutMs) || opTimeoutMs < 1) throw new StoreArgumentError('store opTimeoutMs: expected a whole number of milliseconds ≥ 1');
  return { namespace, opTimeoutMs, logger: opts.logger ?? silentLogger };
}

/** `sqlite://PATH` → absolute file path (relative paths are relative to the working directory). */
export function sqliteFilePath(store: Config['store']): string {
  const raw = store.sqlitePath ?? store.url.replace(/^sqlite:\/\//i, '');
  if (!raw) throw new StoreArgumentError('STORE_URL: expected sqlite://PATH with a file path');
  return raw === ':memory:' ? raw : resolve(process.cwd(), raw);
}

export async function openBackend(store: Config['store'], options: BackendOptions = {}): Promise<Backend> {
  const opts = validateOptions(options);
  if (store.kind === 'redis') return openRedis(store.url, opts);
  if (store.kind === 'sqlite') return openSqlite(sqliteFilePath(store), opts);
  throw new StoreArgumentError(`store kind: expected sqlite or redis`);
}

function logErrors(kv: Keyv, logger: Logger, kind: string): void {
  // keyv emits the same failure the caller already receives; log it once at warn for operators.
  kv.on('error', (err: unknown) => logger.warn({ store: kind, err: describe(err) }, 'store operation failed'));
}

async function openSqlite(file: string, opts: ReturnType<typeof validateOptions>): Promise<Backend> {
  if (file !== ':memory:') {
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch (err) {
      throw new StoreUnavailableError('open (creating the sqlite directory)', err);
    }
  }
  const guard = makeGuard(opts.opTimeoutMs);
  const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: Math.min(opts.opTimeoutMs, 5_000) });
  // The adapter opens the file in its constructor and leaves a rejected promise if that fails: observe it now.
  const opened = guard('open', () => adapter.query('SELECT 1'));
  adapter.on('error', () => { /* surfaced through `opened` and each operation */ });
  try {
    await opened;
  } catch (err) {
    await adapter.disconnect().catch(() => undefined);
    throw err;
  }
  const sql = (statement: string, ...params: unknown[]) => guard('sql', () => adapter.query(statement, ...params) as Promise<Array<Record<string, unknown>>>);
  try {
    // WAL with synchronous=NORMAL: a commit is one append to the log instead of several fsyncs of the database and
    // its journal, so the ledger keeps up with batch writes (hundreds of transitions a second). A killed process
    // loses nothing (the log is in the file system); only a power cut may lose the last commits, which the ledger's
    // pending/reconcile rules already cover. Readers in other processes see every commit, as before.
    if (file !== ':memory:') {
      await sql('PRAGMA journal_mode = WAL');
      await sql('PRAGMA synchronous = NORMAL');
    }
    await sql(SQLITE_LEASES_TABLE);
  } catch (err) {
    await adapter.disconnect().catch(() => undefined);
    throw err;
  }
  guardAdapter(adapter, guard);
  const kv = new Keyv(adapter, { namespace: opts.namespace, throwOnErrors: true });
  logErrors(kv, opts.logger, 'sqlite');
  let closed = false;
  return {
    kind: 'sqlite',
    namespace: opts.namespace,
    kv,
    rawKey: (key) => `${opts.namespace}:${key}`,
    guard,
    sql,
    async ping() {
      if (closed) return false;
      try { await guard('ping', () => adapter.query('SELECT 1')); return true; } catch { return false; }
    },
    async close() {
      if (closed) return;
      closed = true;
      await adapter.disconnect().catch((err: unknown) => opts.logger.warn({ err: describe(err) }, 'sqlite close failed'));
    },
  };
}

async function openRedis(url: string, opts: ReturnType<typeof validateOptions>): Promise<Backend> {
  const guard = makeGuard(opts.opTimeoutMs);
  const client = createRedisClient(url, opts.opTimeoutMs);
  let lastLogged = 0;
  let lastError: unknown;
  client.on('error', (err: unknown) => {
    lastError = err;
    // Reconnect attempts fail every ~2 s during an outage: log at most one line every 30 s.
    const now = Date.now();
    if (now - lastLogged > 30_000) { lastLogged = now; opts.logger.warn({ err: describe(err) }, 'redis connection error'); }
  });
  try {
    await guard('connect', () => client.connect());
  } catch (err) {
    try { client.destroy(); } catch { /* never connected */ }
    // node-redis keeps retrying a refused connection, so the guard's timeout hides the reason: name it.
    throw lastError === undefined ? err : new StoreUnavailableError('connect', lastError);
  }
  const adapter = new KeyvRedis(client, { namespace: opts.namespace, throwOnErrors: true, throwOnConnectError: true });
  adapter.on('error', () => { /* surfaced through each operation */ });
  guardAdapter(adapter, guard);
  const kv = new Keyv(adapter, { namespace: opts.namespace, useKeyPrefix: false, throwOnErrors: true });
  logErrors(kv, opts.logger, 'redis');
  let closed = false;
  return {
    kind: 'redis',
    namespace: opts.namespace,
    kv,
    redis: client,
    rawKey: (key) => `${opts.namespace}::${key}`,
    guard,
    async ping() {
      if (closed) return false;
      try { return (await guard('ping', () => client.ping())) === 'PONG'; } catch { return false; }
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        if (client.isOpen) await guard('close', () => client.close());
      } catch {
        try { client.destroy(); } catch { /* already gone */ }
      }
    },
  };
}
