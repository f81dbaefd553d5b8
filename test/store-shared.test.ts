/**
 * What every backend must do the same way: lease lock semantics, cursor, bounded run history, the cron coordinator.
 * The same specification runs on sqlite and on a real Redis.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStores, createCronCoordinator } from '../src/store/index.js';
import type { Stores } from '../src/store/types.js';
import type { RunRecord } from '../src/core/index.js';
import { redisAvailable, startRedis, type RedisHandle } from './helpers/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function runRecord(i: number, over: Partial<RunRecord> = {}): RunRecord {
  return {
    id: `run-${String(i).padStart(4, '0')}`, trigger: 'schedule', mode: 'incremental', status: 'succeeded',
    window: { start: null, end: '2025-01-01 10:00:00' },
    startedAt: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(), finishedAt: null,
    counts: { fetched: i, created: 0, updated: 0, unchanged: 0, rejected: 0, failed: 0 }, failures: [], ...over,
  };
}

interface Backend { name: string; open(): Promise<Stores>; openAgain(): Promise<Stores>; before?(): Promise<void>; after?(): Promise<void> }

const dir = mkdtempSync(join(tmpdir(), 'store-shared-'));
let redis: RedisHandle | undefined;
let counter = 0;
const sqliteAt = (p: string) => createStores({ url: `sqlite://${p}`, kind: 'sqlite', sqlitePath: p });
const backends: Backend[] = [
  {
    name: 'sqlite',
    open: () => sqliteAt(join(dir, `s${++counter}.sqlite`)),
    // a second connection to the same file: what a second process (`npm run sync` beside the service) has
    openAgain: () => sqliteAt(join(dir, `s${counter}.sqlite`)),
  },
  {
    name: 'redis',
    before: async () => { redis = await startRedis(); },
    // a fresh namespace per test: separate data on one server
    open: () => createStores({ url: redis!.url, kind: 'redis' }, { namespace: `t${++counter}` }),
    // a second connection (another replica) on the same data
    openAgain: () => createStores({ url: redis!.url, kind: 'redis' }, { namespace: `t${counter}` }),
    after: async () => { await redis?.stop(); },
  },
];

after(() => rmSync(dir, { recursive: true, force: true }));

for (const backend of backends) {
  describe(`store on ${backend.name}: shared behaviour`, function () {
    let stores: Stores;
    before(async function () {
      if (backend.name === 'redis' && !redisAvailable()) this.skip();
      await backend.before?.();
    });
    after(async () => { await backend.after?.(); });
    beforeEach(async () => { stores = await backend.open(); });
    afterEach(async () => { await stores?.close(); });

    it(`reports its kind and answers ping`, async () => {
      expect(stores.kind).to.equal(backend.name);
      expect(await stores.ping()).to.equal(true);
    });

    describe('run owners and the failure streak', () => {
      it('keeps who runs a run, readable from another connection (another replica)', async () => {
        await stores.owners.set('run-1', { host: 'host-a', pid: 4242 });
        expect(await stores.owners.get('run-1')).to.deep.equal({ host: 'host-a', pid: 4242 });
        expect(await stores.owners.get('run-unknown')).to.equal(undefined);
        if (backend.name === 'redis') {
          const other = await backend.openAgain();
          try { expect(await other.owners.get('run-1')).to.deep.equal({ host: 'host-a', pid: 4242 }); } finally { await other.close(); }
        }
      });

      it('reads a damaged owner record as unknown (a run is never declared dead on a guess) and refuses a bad one', async () => {
        await stores.kv.set('run-owner:run-2', 'garbage');
        expect(await stores.owners.get('run-2')).to.equal(undefined);
        let refused: unknown;
        try { await stores.owners.set('run-3', { host: 'h' } as never); } catch (err) { refused = err; }
        expect(refused).to.have.property('code', 'STORE_ARGUMENT_INVALID');
      });

      it('counts failed runs in a row and resets on any other outcome', async () => {
        expect(await stores.failureStreak.get()).to.equal(0);
        expect(await stores.failureStreak.record(true)).to.equal(1);
        expect(await stores.failureStreak.record(true)).to.equal(2);
        expect(await stores.failureStreak.get()).to.equal(2);
        expect(await stores.failureStreak.record(false)).to.equal(0);
        expect(await stores.failureStreak.get()).to.equal(0);
      });
    });

    describe('lease lock', () => {
      it('is exclusive: a second owner cannot take a held lease', async () => {
        expect(await stores.lock.acquire('sync:lock', 'A', 10_000)).to.equal(true);
        expect(await stores.lock.acquire('sync:lock', 'B', 10_000)).to.equal(false);
        expect(await stores.lock.acquire('sync:lock', 'A', 10_000)).to.equal(false); // renew, don't re-acquire
        expect(await stores.lock.holder('sync:lock')).to.equal('A');
        expect(await stores.lock.acquire('other', 'B', 10_000)).to.equal(true);
      });

      it('expires: a dead holder does not block forever', async () => {
        expect(await stores.lock.acquire('l', 'A', 150)).to.equal(true);
        await sleep(300);
        expect(await stores.lock.holder('l')).to.equal(undefined);
        expect(await stores.lock.acquire('l', 'B', 10_000)).to.equal(true);
        expect(await stores.lock.holder('l')).to.equal('B');
      });

      it('renews for its owner only, and renewal keeps it alive past the first expiry', async () => {
        expect(await stores.lock.acquire('l', 'A', 300)).to.equal(true);
        expect(await stores.lock.renew('l', 'B', 10_000)).to.equal(false);
        expect(await stores.lock.renew('l', 'A', 10_000)).to.equal(true);
        await sleep(450);
        expect(await stores.lock.holder('l')).to.equal('A');
        expect(await stores.lock.acquire('l', 'B', 10_000)).to.equal(false);
      });

      it('cannot renew a lease that was lost', async () => {
        expect(await stores.lock.acquire('l', 'A', 100)).to.equal(true);
        await sleep(250);
        expect(await stores.lock.acquire('l', 'B', 10_000)).to.equal(true);
        expect(await stores.lock.renew('l', 'A', 10_000)).to.equal(false);
        expect(await stores.lock.holder('l')).to.equal('B');
      });

      it('releases for its owner only', async () => {
        expect(await stores.lock.acquire('l', 'A', 10_000)).to.equal(true);
        await stores.lock.release('l', 'B');
        expect(await stores.lock.holder('l')).to.equal('A');
        await stores.lock.release('l', 'A');
        expect(await stores.lock.holder('l')).to.equal(undefined);
        expect(await stores.lock.acquire('l', 'B', 10_000)).to.equal(true);
      });

      it('50 concurrent acquirers (over two connections) → exactly one wins', async () => {
        const second = await backend.openAgain();
        try {
          const lockFor = (i: number) => (i % 2 ? second.lock : stores.lock);
          const wins = await Promise.all(Array.from({ length: 50 }, (_, i) => lockFor(i).acquire('race', `owner-${i}`, 10_000)));
          expect(wins.filter(Boolean)).to.have.length(1);
          const winner = `owner-${wins.indexOf(true)}`;
          expect(await stores.lock.holder('race')).to.equal(winner);
        } finally { await second.close(); }
      });

      it('rejects nonsense arguments with a typed error', async () => {
        for (const call of [() => stores.lock.acquire('', 'A', 10), () => stores.lock.acquire('l', 'A', 0), () => stores.lock.acquire('l', 'A', 1.5), () => stores.lock.renew('l', '', 10)]) {
          let code: string | undefined;
          try { await call(); } catch (err) { code = (err as { code?: string }).code; }
          expect(code).to.equal('STORE_ARGUMENT_INVALID');
        }
      });
    });

    describe('lease fencing tokens', () => {
      it('every lease taken gets a larger token; token() answers it only to the holder, while held', async () => {
        const t1 = await stores.lock.acquireToken('sync:lock', 'A', 10_000);
        expect(t1).to.be.a('number');
        expect(await stores.lock.token('sync:lock', 'A')).to.equal(t1);
        expect(await stores.lock.token('sync:lock', 'B')).to.equal(undefined);
        expect(await stores.lock.acquireToken('sync:lock', 'B', 10_000)).to.equal(undefined);
        await stores.lock.release('sync:lock', 'A');
        expect(await stores.lock.token('sync:lock', 'A')).to.equal(undefined);
        const t2 = await stores.lock.acquireToken('sync:lock', 'B', 10_000);
        const t3 = await stores.lock.acquireToken('other', 'C', 10_000);
        expect(t2).to.be.greaterThan(t1!);
        expect(t3).to.be.greaterThan(t2!);
      });
    });

    describe('ledger transitions', () => {
      const entry = (state: 'pending' | 'done', tag: string) => ({ hash: `h-${tag}`, state, op: 'start' as const, attemptId: tag, syncedAt: new Date().toISOString() });

      it('claim writes only over what was read: a second claim of "no entry", or over a changed entry, loses', async () => {
        expect(await stores.ledger.claim('P-1', undefined, entry('pending', 'a'))).to.equal(true);
        expect(await stores.ledger.claim('P-1', undefined, entry('pending', 'b'))).to.equal(false);
        const read = await stores.ledger.get('P-1');
        expect(read).to.include({ attemptId: 'a' });
        const readAgain = await stores.ledger.get('P-1');
        expect(await stores.ledger.claim('P-1', read, entry('done', 'c'))).to.equal(true);
        // readAgain is what P-1 held before c: stale now
        expect(await stores.ledger.claim('P-1', readAgain, entry('pending', 'd'))).to.equal(false);
        expect(await stores.ledger.get('P-1')).to.include({ attemptId: 'c', state: 'done' });
      });

      it('50 concurrent claims of one new product (over two connections) → exactly one wins', async () => {
        const second = await backend.openAgain();
        try {
          const wins = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? second : stores).ledger.claim('P-race', undefined, entry('pending', `w${i}`))));
          expect(wins.filter(Boolean)).to.have.length(1);
          expect(await stores.ledger.get('P-race')).to.include({ attemptId: `w${wins.indexOf(true)}` });
        } finally { await second.close(); }
      });

      it('a write fenced by a lease that expired and passed to another run is refused with SYNC_FENCE_STALE, nothing changed', async () => {
        const token = (await stores.lock.acquireToken('sync:lock', 'run-A', 150))!;
        const fenceA = { lock: 'sync:lock', owner: 'run-A', token };
        await stores.ledger.set('P-1', entry('pending', 'a'), fenceA);
        expect(await stores.ledger.claim('P-1', await stores.ledger.get('P-1'), entry('done', 'a2'), fenceA)).to.equal(true);
        await sleep(300); // run A stalls past its lease
        const tokenB = (await stores.lock.acquireToken('sync:lock', 'run-B', 10_000))!;
        await stores.ledger.set('P-1', entry('done', 'b'), { lock: 'sync:lock', owner: 'run-B', token: tokenB });
        const codes: string[] = [];
        for (const write of [
          () => stores.ledger.set('P-1', entry('pending', 'late'), fenceA),
          async () => stores.ledger.claim('P-1', await stores.ledger.get('P-1'), entry('pending', 'late'), fenceA),
          () => stores.ledger.delete('P-1', fenceA),
          () => stores.ledger.set('P-2', entry('pending', 'late'), fenceA),
        ]) {
          try { await write(); codes.push('written'); } catch (err) { codes.push((err as { code?: string }).code ?? 'other'); }
        }
        expect(codes).to.deep.equal(Array(4).fill('SYNC_FENCE_STALE'));
        expect(await stores.ledger.get('P-1')).to.include({ attemptId: 'b', state: 'done' });
        expect(await stores.ledger.get('P-2')).to.equal(undefined);
      });
    });

    describe('cursor', () => {
      it('is undefined before the first run, then the instant that was set', async () => {
        expect(await stores.cursor.get()).to.equal(undefined);
        const t = new Date('2025-03-04T05:06:07.089Z');
        await stores.cursor.set(t);
        expect((await stores.cursor.get())?.toISOString()).to.equal(t.toISOString());
        expect(await stores.kv.get('cursor')).to.equal('2025-03-04T05:06:07.089Z');
      });

      it('refuses a corrupt stored cursor instead of treating it as absent', async () => {
        await stores.kv.set('cursor', 'yesterday');
        let code: string | undefined;
        try { await stores.cursor.get(); } catch (err) { code = (err as { code?: string }).code; }
        expect(code).to.equal('STORE_CURSOR_CORRUPT');
      });
    });

    describe('run records', () => {
      it('get/put round-trips and list is newest first; an update keeps the run in its place', async () => {
        await stores.runs.put(runRecord(1));
        await stores.runs.put(runRecord(3));
        await stores.runs.put(runRecord(2));
        await stores.runs.put({ ...runRecord(1), status: 'failed', finishedAt: '2025-01-01T00:01:00.000Z' });
        expect((await stores.runs.list(10)).map((r) => r.id)).to.deep.equal(['run-0003', 'run-0002', 'run-0001']);
        expect((await stores.runs.get('run-0001'))?.status).to.equal('failed');
        expect(await stores.runs.get('nope')).to.equal(undefined);
        expect((await stores.runs.list(2)).map((r) => r.id)).to.deep.equal(['run-0003', 'run-0002']);
        expect(await stores.runs.list(0)).to.deep.equal([]);
      });

      it('keeps only the last 200 runs; older ones are pruned', async () => {
        for (let i = 1; i <= 205; i++) await stores.runs.put(runRecord(i));
        const all = await stores.runs.list(1000);
        expect(all).to.have.length(200);
        expect(all[0]!.id).to.equal('run-0205');
        expect(all[199]!.id).to.equal('run-0006');
        expect(await stores.runs.get('run-0005')).to.equal(undefined);
        expect(await stores.runs.get('run-0006')).to.not.equal(undefined);
      });
    });

    describe('cron coordinator (node-cron RunCoordinator)', () => {
      it('elects exactly one replica per tick key and never releases a tick early', async () => {
        const a = createCronCoordinator(stores.lock, 'replica-a');
        const b = createCronCoordinator(stores.lock, 'replica-b');
        const key = 'sync:2025-01-01T10:00:00.000Z';
        const [ra, rb] = await Promise.all([a.shouldRun(key, 30_000), b.shouldRun(key, 30_000)]);
        expect([ra, rb].filter(Boolean)).to.have.length(1);
        await (ra ? a : b).onComplete(key);
        expect(await b.shouldRun(key, 30_000)).to.equal(false);
        expect(await a.shouldRun(key, 30_000)).to.equal(false);
        const next = 'sync:2025-01-01T10:10:00.000Z';
        expect([await a.shouldRun(next, 30_000), await b.shouldRun(next, 30_000)].filter(Boolean)).to.have.length(1);
      });
    });
  });
}
