import { expect } from 'chai';
import cron from 'node-cron';
import { createStores, createCronCoordinator } from '../src/store/index.js';
import type { Stores } from '../src/store/types.js';
import { freePort, redisAvailable, startRedis, type RedisHandle } from './helpers/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try { await p; } catch (err) { return (err as { code?: string }).code; }
  return undefined;
}

describe('store on redis', function () {
  let redis: RedisHandle;
  const opened: Stores[] = [];
  const open = async (opts: { namespace?: string; opTimeoutMs?: number } = {}) => {
    const s = await createStores({ url: redis.url, kind: 'redis' }, opts);
    opened.push(s);
    return s;
  };

  before(async function () {
    if (!redisAvailable()) this.skip();
    redis = await startRedis();
  });
  afterEach(async () => { await Promise.all(opened.splice(0).map((s) => s.close())); });
  after(async () => { if (redis) await redis.stop().catch(() => undefined); });

  it('keeps data in Redis under the namespace, visible to a second connection (another replica)', async () => {
    const a = await open({ namespace: 'okki-yida' });
    const b = await open({ namespace: 'okki-yida' });
    const other = await open({ namespace: 'elsewhere' });
    await a.ledger.set('P-1', { hash: 'h', state: 'pending', attemptId: 'att-1', op: 'start', syncedAt: '2025-01-01T00:00:00.000Z' });
    expect((await b.ledger.get('P-1'))?.attemptId).to.equal('att-1');
    expect(await other.ledger.get('P-1')).to.equal(undefined);
    await a.lock.acquire('sync:lock', 'replica-a', 10_000);
    expect(await b.lock.holder('sync:lock')).to.equal('replica-a');
  });

  it('refuses to start with STORE_UNAVAILABLE when Redis cannot be reached', async () => {
    const port = await freePort();
    expect(await codeOf(createStores({ url: `redis://127.0.0.1:${port}`, kind: 'redis' }, { opTimeoutMs: 1_000 }))).to.equal('STORE_UNAVAILABLE');
  });

  it('an outage rejects every operation with STORE_UNAVAILABLE (never "no entry"), and it recovers when Redis is back', async function () {
    this.timeout(30_000);
    const s = await open({ opTimeoutMs: 1_000 });
    await s.ledger.set('P-1', { hash: 'h', state: 'done', syncedAt: '2025-01-01T00:00:00.000Z' });
    await s.cursor.set(new Date('2025-01-01T00:00:00.000Z'));
    await redis.kill();
    try {
      expect(await s.ping()).to.equal(false);
      expect(await codeOf(s.ledger.get('P-1'))).to.equal('STORE_UNAVAILABLE');
      expect(await codeOf(s.ledger.set('P-2', { hash: 'h', state: 'done', syncedAt: '2025-01-01T00:00:00.000Z' }))).to.equal('STORE_UNAVAILABLE');
      expect(await codeOf(s.kv.get('cursor'))).to.equal('STORE_UNAVAILABLE');
      expect(await codeOf(s.cursor.get())).to.equal('STORE_UNAVAILABLE');
      expect(await codeOf(s.lock.acquire('sync:lock', 'x', 1_000))).to.equal('STORE_UNAVAILABLE');
      expect(await codeOf(s.lock.renew('sync:lock', 'x', 1_000))).to.equal('STORE_UNAVAILABLE');
      expect(await codeOf(s.runs.list(5))).to.equal('STORE_UNAVAILABLE');
      const cron = createCronCoordinator(s.lock, 'r1');
      expect(await codeOf(cron.shouldRun('t:slot', 1000))).to.equal('STORE_UNAVAILABLE'); // node-cron skips the tick
    } finally {
      await redis.restart();
    }
    // the client reconnects by itself (back-off ≤ 2 s); the data is gone (no persistence in the test server)
    let up = false;
    for (let i = 0; i < 50 && !up; i++) { up = await s.ping(); if (!up) await sleep(200); }
    expect(up).to.equal(true);
    expect(await s.ledger.get('P-1')).to.equal(undefined);
    await s.cursor.set(new Date('2025-02-01T00:00:00.000Z'));
    expect((await s.cursor.get())?.toISOString()).to.equal('2025-02-01T00:00:00.000Z');
  });

  it('a Redis that stops answering (hung, not down) makes operations reject after the timeout', async function () {
    this.timeout(20_000);
    const s = await open({ opTimeoutMs: 500 });
    await s.kv.set('k', 1);
    process.kill(redis.process.pid!, 'SIGSTOP');
    try {
      expect(await codeOf(s.kv.get('k'))).to.equal('STORE_UNAVAILABLE');
      expect(await codeOf(s.lock.acquire('l', 'o', 1_000))).to.equal('STORE_UNAVAILABLE');
    } finally {
      process.kill(redis.process.pid!, 'SIGCONT');
    }
    let value: unknown;
    for (let i = 0; i < 20 && value === undefined; i++) { value = await s.kv.get('k').catch(() => undefined); if (value === undefined) await sleep(100); }
    expect(value).to.equal(1);
  });

  it('node-cron distributed mode: two "replicas" with the coordinator run each seconds-tick once', async function () {
    this.timeout(20_000);
    const a = await open({ namespace: 'cron-test' });
    const b = await open({ namespace: 'cron-test' });
    const ran: string[] = [];
    const make = (stores: Stores, replica: string) => cron.schedule('* * * * * *', (ctx) => { ran.push(`${ctx.date.toISOString()}|${replica}`); }, {
      name: 'okki-yida-sync', // must be the same on every replica: it is part of the tick key
      distributed: true,
      runCoordinator: createCronCoordinator(stores.lock, replica),
      distributedLease: 30_000,
    });
    const tasks = [make(a, 'A'), make(b, 'B')];
    try {
      for (let i = 0; i < 40 && new Set(ran.map((r) => r.split('|')[0])).size < 3; i++) await sleep(100);
    } finally {
      for (const t of tasks) await t.destroy();
    }
    await sleep(100);
    const ticks = ran.map((r) => r.split('|')[0]);
    expect(new Set(ticks).size).to.be.at.least(3);
    expect(ticks.length).to.equal(new Set(ticks).size); // no tick ran on both replicas
  });
});
