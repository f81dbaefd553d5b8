/**
 * Month-to-date usage counters in the store: increments are atomic (two processes on one sqlite file, two replicas on
 * one Redis, many increments at once lose none), survive closing and reopening, and keep months and namespaces apart.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createStores } from '../src/store/index.js';
import type { Stores } from '../src/store/types.js';
import { redisAvailable, startRedis, type RedisHandle } from './helpers/redis.js';

const run = promisify(execFile);
const storeIndex = new URL('../src/store/index.ts', import.meta.url).href;
const sqlite = (path: string) => ({ url: `sqlite://${path}`, kind: 'sqlite' as const, sqlitePath: path });

/** `n` increments of 1, each its own store call, from a separate Node process on the same sqlite file */
function childIncrements(path: string, month: string, n: number): Promise<unknown> {
  const code = `
    const { createStores } = await import(${JSON.stringify(storeIndex)});
    const stores = await createStores({ url: 'sqlite://' + ${JSON.stringify(path)}, kind: 'sqlite', sqlitePath: ${JSON.stringify(path)} });
    const work = [];
    for (let i = 0; i < ${n}; i++) work.push(stores.usage.add(${JSON.stringify(month)}, { dingtalk: 1, robot: i % 2 }));
    await Promise.all(work);
    await stores.close();`;
  return run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: new URL('..', import.meta.url).pathname, timeout: 60_000 });
}

describe('usage store', function () {
  this.timeout(90_000);

  describe('on sqlite', () => {
    let dir: string;
    beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'usage-sqlite-')); });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('adds atomically: this process and another one incrementing the same counters at once lose nothing', async () => {
      const path = join(dir, 'usage.sqlite');
      const a = await createStores(sqlite(path));
      await a.usage.get('2026-05'); // creates the table before the child races for it
      const child = childIncrements(path, '2026-05', 300);
      const mine: Promise<void>[] = [];
      for (let i = 0; i < 300; i++) mine.push(a.usage.add('2026-05', { dingtalk: 2 }));
      await Promise.all([child, ...mine]);
      expect(await a.usage.get('2026-05')).to.deep.equal({ dingtalk: 900, robot: 150 });
      await a.close();
    });

    it('keeps counts across closing and reopening, and keeps months and namespaces apart', async () => {
      const path = join(dir, 'usage.sqlite');
      const a = await createStores(sqlite(path));
      await a.usage.add('2026-04', { dingtalk: 5, okki: 7 });
      await a.usage.add('2026-05', { dingtalk: 1 });
      await a.close();
      const b = await createStores(sqlite(path));
      expect(await b.usage.get('2026-04')).to.deep.equal({ dingtalk: 5, okki: 7 });
      expect(await b.usage.get('2026-05')).to.deep.equal({ dingtalk: 1 });
      expect(await b.usage.get('2026-06')).to.deep.equal({});
      await b.close();
      const other = await createStores(sqlite(path), { namespace: 'other' });
      expect(await other.usage.get('2026-04')).to.deep.equal({});
      await other.close();
    });

    it('refuses a malformed month or increment instead of writing it', async () => {
      const s = await createStores(sqlite(join(dir, 'u.sqlite')));
      for (const bad of ['2026-13', '26-05', '2026-5', '']) {
        let err: any;
        try { await s.usage.add(bad, { dingtalk: 1 }); } catch (e) { err = e; }
        expect(err?.code, bad).to.equal('STORE_ARGUMENT_INVALID');
      }
      for (const bad of [-1, 1.5, Number.NaN]) {
        let err: any;
        try { await s.usage.add('2026-05', { dingtalk: bad }); } catch (e) { err = e; }
        expect(err?.code, String(bad)).to.equal('STORE_ARGUMENT_INVALID');
      }
      expect(await s.usage.get('2026-05')).to.deep.equal({});
      await s.close();
    });
  });

  describe('on Redis', () => {
    let redis: RedisHandle | undefined;
    const open: Stores[] = [];
    before(async function () {
      if (!redisAvailable()) this.skip();
      redis = await startRedis();
    });
    after(async () => { await Promise.all(open.map((s) => s.close())); await redis?.stop(); });

    it('two replicas incrementing at once lose nothing, and both read the shared total', async () => {
      const a = await createStores({ url: redis!.url, kind: 'redis' }, { namespace: 'usage-a' });
      const b = await createStores({ url: redis!.url, kind: 'redis' }, { namespace: 'usage-a' });
      open.push(a, b);
      const work: Promise<void>[] = [];
      for (let i = 0; i < 250; i++) {
        work.push(a.usage.add('2026-05', { dingtalk: 1, robot: 1 }));
        work.push(b.usage.add('2026-05', { dingtalk: 3 }));
      }
      await Promise.all(work);
      expect(await a.usage.get('2026-05')).to.deep.equal({ dingtalk: 1000, robot: 250 });
      expect(await b.usage.get('2026-05')).to.deep.equal({ dingtalk: 1000, robot: 250 });
      const other = await createStores({ url: redis!.url, kind: 'redis' }, { namespace: 'usage-b' });
      open.push(other);
      expect(await other.usage.get('2026-05')).to.deep.equal({});
    });

    it('expires a month after about 13 months rather than keeping it for ever', async () => {
      const a = await createStores({ url: redis!.url, kind: 'redis' }, { namespace: 'usage-ttl' });
      open.push(a);
      await a.usage.add('2026-05', { dingtalk: 1 });
      const { createClient } = await import('@keyv/redis');
      const c = createClient({ url: redis!.url });
      await c.connect();
      const ttl = await c.ttl('usage-ttl::usage:2026-05');
      await c.close();
      expect(ttl).to.be.within(390 * 86400, 400 * 86400);
    });
  });
});
