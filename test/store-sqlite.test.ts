import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import sqlite3 from 'sqlite3';
import { createStores } from '../src/store/index.js';
import type { Config } from '../src/config.js';

const run = promisify(execFile);
const storeIndex = new URL('../src/store/index.ts', import.meta.url).pathname;
const sqlite = (path: string): Config['store'] => ({ url: `sqlite://${path}`, kind: 'sqlite', sqlitePath: path });

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try { await p; } catch (err) { return (err as { code?: string }).code; }
  return undefined;
}

/** Runs `body` in a separate Node process with the stores opened on `path`; prints whatever body returns as JSON. */
async function inChild(path: string, body: string): Promise<any> {
  const code = `
    const { createStores } = await import(${JSON.stringify(storeIndex)});
    const stores = await createStores({ url: 'sqlite://' + ${JSON.stringify(path)}, kind: 'sqlite', sqlitePath: ${JSON.stringify(path)} });
    const out = await (async () => { ${body} })();
    await stores.close();
    process.stdout.write(JSON.stringify(out ?? null));`;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: new URL('..', import.meta.url).pathname, timeout: 30_000 });
  return JSON.parse(stdout);
}

/**
 * Starts `body` in a separate Node process on the stores at `path`; it runs when `go(t0)` is called (one line on stdin
 * to every child), and `T0` is then a shared instant (this host's clock) to time its rounds from, so that several
 * processes act at the same moment. Resolves with what body returns.
 */
function racer(path: string, body: string): { ready: Promise<void>; go(t0: number): void; result: Promise<any> } {
  const code = `
    const { createStores } = await import(${JSON.stringify(storeIndex)});
    const stores = await createStores({ url: 'sqlite://' + ${JSON.stringify(path)}, kind: 'sqlite', sqlitePath: ${JSON.stringify(path)} });
    process.stdout.write('ready\\n');
    const T0 = Number(String(await new Promise((r) => process.stdin.once('data', r))).trim());
    process.stdin.pause();
    const out = await (async () => { ${body} })();
    await stores.close();
    process.stdout.write(JSON.stringify(out ?? null) + '\\n');`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: new URL('..', import.meta.url).pathname, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let markReady: () => void;
  const ready = new Promise<void>((r) => { markReady = r; });
  child.stdout.on('data', (d) => { out += String(d); if (out.startsWith('ready\n')) markReady(); });
  const result = new Promise<any>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('racer timed out')); }, 60_000);
    child.on('exit', (c) => { clearTimeout(timer); if (c !== 0) reject(new Error(`racer exited ${c}`)); else resolve(JSON.parse(out.slice('ready\n'.length))); });
  });
  return { ready, go: (t0) => child.stdin.write(`${t0}\n`), result };
}

/** Two processes on one sqlite file (the service and `npm run sync` from a crontab) run `body` for the same rounds. */
async function twoProcesses(path: string, body: string): Promise<[any, any]> {
  const a = racer(path, body);
  const b = racer(path, body);
  await Promise.all([a.ready, b.ready]);
  const t0 = Date.now() + 300;
  a.go(t0); b.go(t0);
  return Promise.all([a.result, b.result]);
}

describe('store on sqlite', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'store-sqlite-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a missing directory and keeps data across closing and reopening', async () => {
    const path = join(dir, 'nested', 'deeper', 'connector.sqlite');
    const a = await createStores(sqlite(path));
    expect(existsSync(path)).to.equal(true);
    await a.cursor.set(new Date('2025-02-03T04:05:06.000Z'));
    await a.kv.set('groups', { 1: '五金' });
    expect(await a.lock.acquire('sync:lock', 'me', 60_000)).to.equal(true);
    await a.close();

    const b = await createStores(sqlite(path));
    expect((await b.cursor.get())?.toISOString()).to.equal('2025-02-03T04:05:06.000Z');
    expect(await b.kv.get('groups')).to.deep.equal({ 1: '五金' });
    // a lease outlives its process until it expires: a crashed holder's lease is still honoured
    expect(await b.lock.holder('sync:lock')).to.equal('me');
    await b.close();
  });

  it('a separate process reads what this one wrote, and this one reads what it wrote', async function () {
    this.timeout(60_000);
    const path = join(dir, 'shared.sqlite');
    const a = await createStores(sqlite(path));
    await a.cursor.set(new Date('2025-05-06T07:08:09.000Z'));
    await a.runs.put({
      id: 'run-parent', trigger: 'cli', mode: 'full', status: 'succeeded', window: { start: null, end: '2025-05-06 15:08:09' },
      startedAt: '2025-05-06T07:08:09.000Z', finishedAt: '2025-05-06T07:09:09.000Z',
      counts: { fetched: 3, created: 3, updated: 0, unchanged: 0, rejected: 0, failed: 0 }, failures: [],
    });
    await a.ledger.set('P-001', { hash: 'h1', instanceId: 'inst-1', state: 'done', syncedAt: '2025-05-06T07:09:00.000Z' });
    await a.close();

    const seen = await inChild(path, `
      const cursor = (await stores.cursor.get())?.toISOString();
      const runs = (await stores.runs.list(10)).map((r) => r.id);
      const ledger = await stores.ledger.get('P-001');
      await stores.cursor.set(new Date('2025-06-01T00:00:00.000Z'));
      return { cursor, runs, ledger };`);
    expect(seen).to.deep.equal({
      cursor: '2025-05-06T07:08:09.000Z',
      runs: ['run-parent'],
      ledger: { hash: 'h1', instanceId: 'inst-1', state: 'done', syncedAt: '2025-05-06T07:09:00.000Z' },
    });

    const b = await createStores(sqlite(path));
    expect((await b.cursor.get())?.toISOString()).to.equal('2025-06-01T00:00:00.000Z');
    await b.close();
  });

  it('two processes on one sqlite file: exactly one of them takes a lease, 20 times out of 20', async function () {
    this.timeout(120_000);
    const path = join(dir, 'race.sqlite');
    (await createStores(sqlite(path))).close();
    // Each round both processes ask for the same lease at the same moment (rounds 40 ms apart, both starting on "go").
    const [a, b] = await twoProcesses(path, `
      const t0 = T0; const wins = [];
      for (let r = 0; r < 20; r++) {
        await new Promise((res) => setTimeout(res, Math.max(0, t0 + r * 40 - Date.now())));
        wins.push(await stores.lock.acquire('sync:lock:' + r, 'pid-' + process.pid, 60_000));
      }
      return wins;`);
    const both = a.map((w: boolean, r: number) => (w && b[r] ? r : -1)).filter((r: number) => r >= 0);
    const neither = a.map((w: boolean, r: number) => (!w && !b[r] ? r : -1)).filter((r: number) => r >= 0);
    expect(both, 'rounds in which both processes took the lease').to.deep.equal([]);
    expect(neither, 'rounds in which nobody took the lease').to.deep.equal([]);
  });

  it('two processes on one sqlite file: exactly one claims a product\'s pending ledger entry, 20 times out of 20', async function () {
    this.timeout(120_000);
    const path = join(dir, 'claim.sqlite');
    (await createStores(sqlite(path))).close();
    const [a, b] = await twoProcesses(path, `
      const t0 = T0; const wins = [];
      for (let r = 0; r < 20; r++) {
        await new Promise((res) => setTimeout(res, Math.max(0, t0 + r * 40 - Date.now())));
        // What the writer does for a product it has no entry for: claim pending, and only the winner starts an instance.
        const seen = await stores.ledger.get('P-' + r);
        if (seen) { wins.push('saw the other'); continue; }
        const pending = { hash: 'h', state: 'pending', op: 'start', attemptId: 'pid-' + process.pid, syncedAt: new Date().toISOString() };
        wins.push((await stores.ledger.claim('P-' + r, undefined, pending)) ? 'won' : 'lost');
      }
      return wins;`);
    const winners = a.map((w: string, r: number) => [w, b[r]].filter((x) => x === 'won').length);
    expect(winners, 'claims won per round').to.deep.equal(Array(20).fill(1));
    // In rounds where both read "no entry" (most of them, when the machine is not too busy) the claim itself decided.
    expect(a.filter((w: string, r: number) => w !== 'saw the other' && b[r] !== 'saw the other').length, 'rounds raced').to.be.at.least(1);
    const s2 = await createStores(sqlite(path));
    try {
      for (let r = 0; r < 20; r++) expect((await s2.ledger.get(`P-${r}`))?.state).to.equal('pending');
    } finally { await s2.close(); }
  });

  it('two processes recording runs on one sqlite file at once: every run is listed, once', async function () {
    this.timeout(120_000);
    const path = join(dir, 'runs.sqlite');
    (await createStores(sqlite(path))).close();
    await twoProcesses(path, `
      const t0 = T0; const tag = 'p' + process.pid;
      await new Promise((res) => setTimeout(res, Math.max(0, t0 - Date.now())));
      await Promise.all(Array.from({ length: 30 }, (_, i) => stores.runs.put({
        id: 'run-' + tag + '-' + i, trigger: 'cli', mode: 'incremental', status: 'succeeded', window: { start: null, end: null },
        startedAt: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(), finishedAt: null,
        counts: { fetched: 0, created: 0, updated: 0, unchanged: 0, rejected: 0, failed: 0 }, failures: [],
      })));
      return null;`);
    const s = await createStores(sqlite(path));
    try {
      const ids = (await s.runs.list(200)).map((r) => r.id);
      expect(new Set(ids).size, 'no run listed twice').to.equal(ids.length);
      expect(ids, 'no run lost').to.have.length(60);
    } finally { await s.close(); }
  });

  it('expired records leave the file without anyone reading them (run-owner records, cron tick claims)', async function () {
    this.timeout(20_000);
    const path = join(dir, 'prune.sqlite');
    const s = await createStores(sqlite(path), { pruneIntervalMs: 100 });
    const rows = async () => {
      const db = new sqlite3.Database(path);
      try {
        const all = (q: string) => new Promise<Array<Record<string, unknown>>>((res, rej) => db.all(q, (e, r) => (e ? rej(e) : res(r as Array<Record<string, unknown>>))));
        return { kv: (await all('SELECT key FROM keyv')).map((r) => String(r.key)), leases: (await all('SELECT name FROM leases')).map((r) => String(r.name)) };
      } finally { db.close(); }
    };
    try {
      await s.kv.set('run-owner:run-1', { host: 'h', pid: 1 }, 100);
      await s.kv.set('keep-ttl', 1, 60_000);
      await s.kv.set('keep', 2);
      await s.ledger.set('P-1', { hash: 'h', state: 'done', instanceId: 'i', syncedAt: new Date().toISOString() });
      for (let i = 0; i < 5; i++) expect(await s.lock.acquire(`cron:tick:${i}`, 'replica', 1)).to.equal(true);
      await new Promise((r) => setTimeout(r, 600));
      const { kv } = await rows();
      expect(kv).not.to.include('okki-yida:run-owner:run-1');
      expect(kv).to.include.members(['okki-yida:keep-ttl', 'okki-yida:keep', 'okki-yida:ledger:P-1']);
      // Lease rows expired for more than a day go too, except the newest (the fencing tokens continue from it).
      const { pruneSqlite } = await import('../src/store/sqlite-prune.js');
      const { openBackend } = await import('../src/store/keyv.js');
      const b = await openBackend(sqlite(path));
      try { await pruneSqlite(b.sql!, Date.now() + 2 * 24 * 3600_000); } finally { await b.close(); }
      expect((await rows()).leases).to.deep.equal(['okki-yida:lock:cron:tick:4']);
      expect(await s.lock.acquireToken('sync:lock', 'run-x', 10_000)).to.equal(6);
    } finally { await s.close(); }
  });

  it('resolves a relative path against the working directory', async () => {
    const rel = relative(process.cwd(), join(dir, 'rel', 'r.sqlite'));
    expect(rel.startsWith('/')).to.equal(false);
    const s = await createStores({ url: `sqlite://${rel}`, kind: 'sqlite' });
    await s.kv.set('k', 1);
    await s.close();
    expect(existsSync(join(dir, 'rel', 'r.sqlite'))).to.equal(true);
  });

  it('fails to open with STORE_UNAVAILABLE when the path cannot hold a database', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(await codeOf(createStores(sqlite(join(file, 'db.sqlite'))))).to.equal('STORE_UNAVAILABLE');
    expect(await codeOf(createStores(sqlite(dir)))).to.equal('STORE_UNAVAILABLE'); // a directory, not a file
  });

  it('after close, operations reject with STORE_UNAVAILABLE instead of reading as "no entry"', async () => {
    const s = await createStores(sqlite(join(dir, 'c.sqlite')));
    await s.ledger.set('P-9', { hash: 'h', state: 'done', syncedAt: '2025-01-01T00:00:00.000Z' });
    await s.close();
    expect(await s.ping()).to.equal(false);
    expect(await codeOf(s.ledger.get('P-9'))).to.equal('STORE_UNAVAILABLE');
    expect(await codeOf(s.kv.get('anything'))).to.equal('STORE_UNAVAILABLE');
    expect(await codeOf(s.cursor.set(new Date()))).to.equal('STORE_UNAVAILABLE');
    expect(await codeOf(s.lock.acquire('l', 'o', 1000))).to.equal('STORE_UNAVAILABLE');
    expect(await codeOf(s.runs.list(5))).to.equal('STORE_UNAVAILABLE');
  });

  it('keeps records of different namespaces apart in one file', async () => {
    const path = join(dir, 'ns.sqlite');
    const a = await createStores(sqlite(path), { namespace: 'one' });
    const b = await createStores(sqlite(path), { namespace: 'two' });
    await a.kv.set('k', 'A');
    expect(await b.kv.get('k')).to.equal(undefined);
    expect(await a.kv.get('k')).to.equal('A');
    await a.close();
    await b.close();
  });
});
