/**
 * The push queue's contract on sqlite and on a real Redis: message-id dedupe, coalescing per product with a sticky
 * delete, atomic claims (two holders never share an entry), ack that keeps entries that changed during their run,
 * release with a delay, expiry of a dead holder's lease, and durability across a reopen (and a Redis SIGKILL).
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStores } from '../src/store/index.js';
import type { Stores } from '../src/store/types.js';
import type { PushEvent } from '../src/core/index.js';
import { redisAvailable, startRedis, type RedisHandle } from './helpers/redis.js';

const up = (productNo: string, productId?: number): PushEvent => ({ productNo, kind: 'upsert', ...(productId ? { productId } : {}) });
const del = (productNo: string): PushEvent => ({ productNo, kind: 'delete' });

interface Backend { name: string; open(): Promise<Stores>; reopen(): Promise<Stores>; before?(): Promise<void>; after?(): Promise<void> }

const dir = mkdtempSync(join(tmpdir(), 'push-queue-'));
let redis: RedisHandle | undefined;
let counter = 0;
const backends: Backend[] = [
  {
    name: 'sqlite',
    open: () => { const p = join(dir, `q${++counter}.sqlite`); return createStores({ url: `sqlite://${p}`, kind: 'sqlite', sqlitePath: p }); },
    reopen: () => { const p = join(dir, `q${counter}.sqlite`); return createStores({ url: `sqlite://${p}`, kind: 'sqlite', sqlitePath: p }); },
  },
  {
    name: 'redis',
    before: async () => { redis = await startRedis({ persistent: true }); },
    open: () => createStores({ url: redis!.url, kind: 'redis' }, { namespace: `pq${++counter}` }),
    reopen: () => createStores({ url: redis!.url, kind: 'redis' }, { namespace: `pq${counter}` }),
    after: async () => { await redis?.stop(); },
  },
];

after(() => rmSync(dir, { recursive: true, force: true }));

for (const backend of backends) {
  describe(`push queue on ${backend.name}`, function () {
    let stores: Stores;
    before(async function () {
      if (backend.name === 'redis' && !redisAvailable()) this.skip();
      await backend.before?.();
    });
    after(async () => { await backend.after?.(); });
    beforeEach(async () => { stores = await backend.open(); });
    afterEach(async () => { await stores?.close(); });

    it('queues a message once: a repeated message id is a duplicate and queues nothing', async () => {
      const q = stores.pushQueue;
      expect(await q.enqueue('msg_1', [up('P-1', 11), up('P-2', 12)], 1000)).to.deep.equal({ duplicate: false, queued: 2 });
      expect(await q.enqueue('msg_1', [up('P-1', 11), up('P-3')], 2000)).to.deep.equal({ duplicate: true, queued: 0 });
      const got = await q.claim('a', 10, 60_000, 3000);
      expect(got.map((e) => e.productNo)).to.deep.equal(['P-1', 'P-2']);
      expect(got[0]).to.include({ productId: 11, kind: 'upsert', firstAt: 1000, attempts: 0 });
      // acked and gone, the same id still counts as seen: a replay starts nothing
      await q.ack('a', ['P-1', 'P-2']);
      expect(await q.enqueue('msg_1', [up('P-1')], 4000)).to.include({ duplicate: true });
      expect(await q.claim('a', 10, 60_000, 5000)).to.deep.equal([]);
    });

    it('concurrent deliveries: each message id is new exactly once, every event is queued', async () => {
      const q = stores.pushQueue;
      const results = await Promise.all(Array.from({ length: 600 }, (_, i) => q.enqueue(`m${i % 300}`, [up(`P-${i % 300}`)], 1000)));
      expect(results.filter((r) => !r.duplicate)).to.have.length(300);
      expect((await q.stats(1000)).pending).to.equal(300);
      expect(await q.claim('a', 1000, 60_000, 1000)).to.have.length(300);
    });

    it('coalesces per product; a delete sticks against a later update of the same product', async () => {
      const q = stores.pushQueue;
      await q.enqueue('m1', [up('P-1', 1), up('P-2', 2)], 1000);
      await q.enqueue('m2', [del('P-1')], 1100);
      await q.enqueue('m3', [up('P-1', 1), up('P-2', 2)], 1200); // delivered late: happened before the delete
      await q.enqueue('m4', [del('P-3'), up('P-3', 3)], 1300); // both in one message
      const got = await q.claim('a', 10, 60_000, 2000);
      expect(got.map((e) => [e.productNo, e.kind, e.firstAt])).to.deep.equal([['P-1', 'delete', 1000], ['P-2', 'upsert', 1000], ['P-3', 'delete', 1300]]);
      expect((await q.stats(2000))).to.include({ pending: 0, claimed: 3 });
    });

    it('claims are exclusive and bounded; oldest first', async () => {
      const q = stores.pushQueue;
      for (let i = 0; i < 30; i++) await q.enqueue(`m${i}`, [up(`P-${String(i).padStart(2, '0')}`)], 1000 + i);
      const [a, b] = await Promise.all([q.claim('a', 20, 60_000, 5000), q.claim('b', 20, 60_000, 5000)]);
      expect(a.length + b.length).to.equal(30);
      const all = new Set([...a, ...b].map((e) => e.productNo));
      expect(all.size).to.equal(30);
      const first = a.length === 20 ? a : b;
      expect(first.map((e) => e.productNo)).to.deep.equal(Array.from({ length: 20 }, (_, i) => `P-${String(i).padStart(2, '0')}`));
    });

    it('ack keeps an entry that got a newer event during its run; release delays it and counts the attempt', async () => {
      const q = stores.pushQueue;
      await q.enqueue('m1', [up('P-1'), up('P-2'), up('P-3')], 1000);
      await q.claim('a', 10, 60_000, 2000);
      await q.enqueue('m2', [up('P-2')], 2500); // changed while the run was in progress
      await q.ack('a', ['P-1', 'P-2']);
      await q.release('a', ['P-3'], 10_000, 3000);
      expect(await q.stats(3000)).to.include({ pending: 2, claimed: 0 });
      const now = await q.claim('b', 10, 60_000, 3000);
      expect(now.map((e) => e.productNo)).to.deep.equal(['P-2']);
      const later = await q.claim('b', 10, 60_000, 13_000);
      expect(later.map((e) => [e.productNo, e.attempts])).to.deep.equal([['P-3', 1]]);
    });

    it('only the holder settles its entries; a dead holder\'s lease expires and the entry is claimable again', async () => {
      const q = stores.pushQueue;
      await q.enqueue('m1', [up('P-1')], 1000);
      expect(await q.claim('dead', 10, 5000, 1000)).to.have.length(1);
      await q.ack('other', ['P-1']);
      expect(await q.claim('b', 10, 5000, 3000)).to.deep.equal([]); // still leased
      await q.renew('dead', ['P-1'], 5000, 4000); // renewed until 9000
      expect(await q.claim('b', 10, 5000, 8000)).to.deep.equal([]);
      const got = await q.claim('b', 10, 5000, 9500);
      expect(got.map((e) => e.productNo)).to.deep.equal(['P-1']);
      await q.ack('b', ['P-1']);
      expect(await q.stats(9500)).to.include({ pending: 0, claimed: 0 });
    });

    it('survives closing and reopening the store', async () => {
      await stores.pushQueue.enqueue('m1', [up('P-1', 1), del('P-2')], 1000);
      await stores.pushQueue.claim('gone', 1, 60_000, 1000);
      await stores.close();
      stores = await backend.reopen();
      const q = stores.pushQueue;
      expect(await q.enqueue('m1', [up('P-9')], 2000)).to.include({ duplicate: true });
      if (q.releaseAll) expect(await q.releaseAll()).to.equal(1);
      const got = await q.claim('b', 10, 60_000, q.releaseAll ? 2000 : 70_000);
      expect(got.map((e) => [e.productNo, e.kind])).to.deep.equal([['P-1', 'upsert'], ['P-2', 'delete']]);
    });

    if (backend.name === 'redis') {
      it('an acknowledged enqueue survives a SIGKILL of Redis (appendfsync always)', async () => {
        await stores.pushQueue.enqueue('m1', [up('P-1')], 1000);
        await stores.close();
        await redis!.kill();
        await redis!.restart();
        stores = await backend.reopen();
        expect((await stores.pushQueue.claim('b', 10, 60_000, 2000)).map((e) => e.productNo)).to.deep.equal(['P-1']);
      });
    }
  });
}
