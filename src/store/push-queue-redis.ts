/**
 * The push queue on Redis, shared by every replica. Each operation is one Lua script, so Redis runs it atomically:
 * a message is either queued with its id remembered or not at all, and two replicas never claim one entry.
 *
 * Keys (under the store's namespace): `push:q` hash product_no → entry JSON; `push:due` sorted set of unclaimed
 * entries by the time they are due; `push:leased` sorted set of claimed entries by lease expiry; `push:seq` counter;
 * `push:msg:<message_id>` remembered ids (expiring). Durable as far as Redis is (README: `appendonly yes`).
 */
import { MESSAGE_ID_TTL_MS, type PushEvent, type EnqueueResult, type PushQueue, type QueuedProduct, type QueueStats } from '../core/index.js';
import type { Backend, RedisClient } from './keyv.js';
import { coalesce } from './push-queue-common.js';

// Entries are JSON objects {no, id?, kind, seq, first, due, attempts, owner?, claimed?}. Absent fields are left out
// (cjson turns JSON null into a userdata, not nil).
const ENQUEUE = `
if redis.call('exists', KEYS[4]) == 1 then return -1 end
local now = tonumber(ARGV[1])
local evs = cjson.decode(ARGV[3])
local seq = redis.call('incr', KEYS[3])
for _, e in ipairs(evs) do
  local cur = redis.call('hget', KEYS[1], e.productNo)
  local entry
  if cur then
    entry = cjson.decode(cur)
    if entry.kind == 'delete' or e.kind == 'delete' then entry.kind = 'delete' else entry.kind = 'upsert' end
    if e.productId then entry.id = e.productId end
    entry.seq = seq
    if not entry.owner then
      if now < entry.due then entry.due = now end
      redis.call('zadd', KEYS[2], entry.due, e.productNo)
    end
  else
    entry = { no = e.productNo, id = e.productId, kind = e.kind, seq = seq, first = now, due = now, attempts = 0 }
    redis.call('zadd', KEYS[2], now, e.productNo)
  end
  redis.call('hset', KEYS[1], e.productNo, cjson.encode(entry))
end
redis.call('set', KEYS[4], ARGV[1], 'PX', ARGV[2])
return #evs`;

const CLAIM = `
local now = tonumber(ARGV[1])
for _, no in ipairs(redis.call('zrangebyscore', KEYS[3], '-inf', now)) do
  redis.call('zrem', KEYS[3], no)
  local cur = redis.call('hget', KEYS[1], no)
  if cur then
    local entry = cjson.decode(cur)
    entry.owner = nil; entry.claimed = nil
    redis.call('hset', KEYS[1], no, cjson.encode(entry))
    redis.call('zadd', KEYS[2], entry.due, no)
  end
end
local out = {}
local lease = now + tonumber(ARGV[3])
for _, no in ipairs(redis.call('zrangebyscore', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))) do
  redis.call('zrem', KEYS[2], no)
  local cur = redis.call('hget', KEYS[1], no)
  if cur then
    local entry = cjson.decode(cur)
    entry.owner = ARGV[4]; entry.claimed = entry.seq
    local text = cjson.encode(entry)
    redis.call('hset', KEYS[1], no, text)
    redis.call('zadd', KEYS[3], lease, no)
    out[#out + 1] = text
  end
end
return out`;

/** ARGV: owner, nos JSON, mode ('ack' | 'release' | 'renew'), now, delay or lease ms */
const SETTLE = `
local now = tonumber(ARGV[4])
local n = 0
for _, no in ipairs(cjson.decode(ARGV[2])) do
  local cur = redis.call('hget', KEYS[1], no)
  if cur then
    local entry = cjson.decode(cur)
    if entry.owner == ARGV[1] then
      n = n + 1
      if ARGV[3] == 'renew' then
        redis.call('zadd', KEYS[3], now + tonumber(ARGV[5]), no)
      elseif ARGV[3] == 'ack' and entry.seq == entry.claimed then
        redis.call('hdel', KEYS[1], no)
        redis.call('zrem', KEYS[3], no)
      else
        entry.owner = nil; entry.claimed = nil
        if ARGV[3] == 'ack' then entry.attempts = 0
        else entry.attempts = entry.attempts + 1; entry.due = now + tonumber(ARGV[5]) end
        redis.call('hset', KEYS[1], no, cjson.encode(entry))
        redis.call('zrem', KEYS[3], no)
        redis.call('zadd', KEYS[2], entry.due, no)
      end
    end
  end
end
return n`;

function entry(text: string): QueuedProduct {
  const e = JSON.parse(text) as { no: string; id?: number; kind: string; seq: number; first: number; attempts: number };
  return {
    productNo: e.no, ...(typeof e.id === 'number' ? { productId: e.id } : {}),
    kind: e.kind === 'delete' ? 'delete' : 'upsert', seq: e.seq, firstAt: e.first, attempts: e.attempts,
  };
}

export class RedisPushQueue implements PushQueue {
  private readonly keys: { q: string; due: string; leased: string; seq: string };

  constructor(private readonly client: RedisClient, private readonly backend: Pick<Backend, 'rawKey' | 'guard'>, private readonly messageTtlMs = MESSAGE_ID_TTL_MS) {
    const k = (s: string) => backend.rawKey(`push:${s}`);
    this.keys = { q: k('q'), due: k('due'), leased: k('leased'), seq: k('seq') };
  }

  async enqueue(messageId: string, events: readonly PushEvent[], now = Date.now()): Promise<EnqueueResult> {
    const list = coalesce(events);
    const { q, due, seq } = this.keys;
    const msgKey = this.backend.rawKey(`push:msg:${messageId}`);
    const n = await this.backend.guard('push enqueue', () => this.client.eval(ENQUEUE, {
      keys: [q, due, seq, msgKey], arguments: [String(now), String(this.messageTtlMs), JSON.stringify(list)],
    }));
    return Number(n) < 0 ? { duplicate: true, queued: 0 } : { duplicate: false, queued: Number(n) };
  }

  async claim(owner: string, max: number, leaseMs: number, now = Date.now()): Promise<QueuedProduct[]> {
    const { q, due, leased } = this.keys;
    const out = await this.backend.guard('push claim', () => this.client.eval(CLAIM, {
      keys: [q, due, leased], arguments: [String(now), String(max), String(leaseMs), owner],
    }));
    return (out as string[]).map(entry).sort((a, b) => a.firstAt - b.firstAt || (a.productNo < b.productNo ? -1 : 1));
  }

  private async settle(mode: 'ack' | 'release' | 'renew', owner: string, productNos: readonly string[], ms: number, now: number): Promise<void> {
    if (!productNos.length) return;
    const { q, due, leased } = this.keys;
    await this.backend.guard(`push ${mode}`, () => this.client.eval(SETTLE, {
      keys: [q, due, leased], arguments: [owner, JSON.stringify(productNos), mode, String(now), String(ms)],
    }));
  }

  renew(owner: string, productNos: readonly string[], leaseMs: number, now = Date.now()): Promise<void> {
    return this.settle('renew', owner, productNos, leaseMs, now);
  }

  ack(owner: string, productNos: readonly string[]): Promise<void> {
    return this.settle('ack', owner, productNos, 0, Date.now());
  }

  release(owner: string, productNos: readonly string[], delayMs = 0, now = Date.now()): Promise<void> {
    return this.settle('release', owner, productNos, delayMs, now);
  }

  async stats(now = Date.now()): Promise<QueueStats> {
    const { q, due, leased } = this.keys;
    const [total, live, oldest] = await this.backend.guard('push stats', () => Promise.all([
      this.client.hLen(q), this.client.zCount(leased, now + 1, '+inf'), this.client.zRangeWithScores(due, 0, 0),
    ]));
    return { pending: Number(total) - Number(live), claimed: Number(live), ...(oldest.length ? { oldestAt: oldest[0].score } : {}) };
  }
}
