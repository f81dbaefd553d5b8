/** The push queue on whichever backend the store uses. */
import type { PushQueue } from '../core/index.js';
import { StoreArgumentError, type Backend } from './keyv.js';
import { SqlitePushQueue } from './push-queue-sqlite.js';
import { RedisPushQueue } from './push-queue-redis.js';

export function createPushQueue(backend: Backend, opts: { messageTtlMs?: number } = {}): PushQueue {
  if (backend.kind === 'redis') {
    if (!backend.redis) throw new StoreArgumentError('redis backend without a client');
    return new RedisPushQueue(backend.redis, backend, opts.messageTtlMs);
  }
  if (!backend.sql) throw new StoreArgumentError('sqlite backend without SQL access');
  return new SqlitePushQueue(backend.sql, backend.namespace, opts.messageTtlMs);
}
