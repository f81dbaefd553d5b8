/**
 * The engine's own rules, with small in-memory stand-ins for the source and the writer and a real sqlite store:
 * single flight, cursor movement, failure handling, shutdown. (The real clients are exercised end to end elsewhere.)
 */
import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStores } from '../src/store/index.js';
import type { Stores } from '../src/store/types.js';
import { SyncEngine, LOCK_NAME } from '../src/sync/engine.js';
import { windowFor } from '../src/sync/window.js';
import { createMetrics } from '../src/metrics.js';
import { silentLogger } from '../src/log.js';
import { ConnectorError } from '../src/errors.js';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import type {
  GroupTree, Mapping, OkkiProduct, OpenSessionOptions, ProductPage, ProductSource, ProductWriter, PullOptions, Reporter, RunRecord,
  RunEvent, SyncWindow, WriteOutcome, WriteSession,
} from '../src/core/index.js';

const groups: GroupTree = { name: () => undefined, level1: () => undefined, level2: () => undefined, path: () => [], size: 0 };

class FakeSource implements ProductSource {
  windows: SyncWindow[] = [];
  fail?: Error;
  /** resolves each page only when released (to hold a run open) */
  gate?: Promise<void>;
  constructor(public products: OkkiProduct[], private pageSize = 10) {}
  async groups() { return groups; }
  formatTime(d: Date) { return d.toISOString(); }
  async *pages(window: SyncWindow, _opts?: PullOptions): AsyncIterable<ProductPage> {
    this.windows.push(window);
    for (let i = 0; i < this.products.length; i += this.pageSize) {
      if (this.gate) await this.gate;
      if (this.fail) throw this.fail;
      const items = this.products.slice(i, i + this.pageSize);
      yield { index: i / this.pageSize + 1, items: items.filter((p) => p.product_no), rejected: items.filter((p) => !p.product_no).map(() => ({ product_no: null, code: 'OKKI_ITEM_INVALID', reason: 'no product_no' })) };
    }
  }
  async *byProductNos(nos: readonly string[]): AsyncIterable<ProductPage> {
    yield { index: 1, items: this.products.filter((p) => nos.includes(p.product_no!)), rejected: nos.filter((n) => !this.products.some((p) => p.product_no === n)).map((n) => ({ product_no: n, code: 'OKKI_NOT_FOUND', reason: `${n} not found` })) };
  }
}

const mapping: Mapping = {
  keyField: 'textField_no',
  referencedProductFields: () => new Set(['product_no', 'name']),
  map(p) {
    if (p.name === 'REJECT') return { ok: false, rejected: { product_no: p.product_no ?? null, code: 'MAPPING_REJECTED', reason: '产品名称 is empty' } };
    return { ok: true, productNo: p.product_no!, formData: { textField_no: p.product_no, textField_name: p.name }, hash: `${p.product_no}:${p.name}` };
  },
};

class FakeWriter implements ProductWriter {
  written: string[] = [];
  inFlight = 0;
  maxInFlightPerKey = new Map<string, number>();
  failFor = new Set<string>();
  failCode = 'YIDA_WRITE_AMBIGUOUS';
  /** the sessions opened, one per run */
  sessions: OpenSessionOptions[] = [];
  /** per write: whether its session adopts existing instances */
  adopting: Array<boolean | undefined> = [];
  delayMs = 0;
  async openSession(opts: OpenSessionOptions): Promise<WriteSession> {
    this.sessions.push({ adopt: opts.adopt, bulk: opts.bulk });
    return { adopt: opts.adopt, signal: opts.signal };
  }
  async write(item: { productNo: string }, session?: WriteSession): Promise<WriteOutcome> {
    this.adopting.push(session?.adopt);
    const n = (this.maxInFlightPerKey.get(item.productNo) ?? 0) + 1;
    this.maxInFlightPerKey.set(item.productNo, n);
    this.inFlight++;
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      if (n > 1) throw new Error(`two writes of ${item.productNo} at once`);
      this.written.push(item.productNo);
      if (this.failFor.has(item.productNo) || this.failFor.has('*')) return { kind: 'failed', productNo: item.productNo, code: this.failCode, reason: 'timeout' };
      return { kind: 'created', productNo: item.productNo, instanceId: `inst-${item.productNo}` };
    } finally {
      this.inFlight--;
      this.maxInFlightPerKey.set(item.productNo, (this.maxInFlightPerKey.get(item.productNo) ?? 1) - 1);
    }
  }
}

const products = (n: number): OkkiProduct[] => Array.from({ length: n }, (_, i) => ({ product_id: i + 1, product_no: `P-${String(i + 1).padStart(4, '0')}`, name: `产品 ${i + 1}` }));

describe('sync engine', () => {
  let stores: Stores;
  let source: FakeSource;
  let writer: FakeWriter;
  let reports: RunRecord[];
  let engine: SyncEngine;
  let now: Date;

  function makeEngine(extra: Partial<ConstructorParameters<typeof SyncEngine>[1]> = {}) {
    const reporter: Reporter = { report: async (run) => { reports.push(structuredClone(run)); return { sent: true }; } };
    return new SyncEngine(
      { source, mapping, writer, stores, reporter, metrics: createMetrics(), logger: silentLogger, now: () => now },
      { lookbackSeconds: 1801, timezone: 'Asia/Shanghai', maxInFlight: 8, ...extra },
    );
  }

  async function runToEnd(e: SyncEngine, req: Parameters<SyncEngine['trigger']>[0] = { trigger: 'cli' }) {
    const t = await e.trigger(req);
    return (await e.waitForRun(t.runId, 30_000))!;
  }

  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'engine-test-'));
    stores = await createStores({ url: `sqlite://${join(dir, 's.sqlite')}`, kind: 'sqlite', sqlitePath: join(dir, 's.sqlite') });
    source = new FakeSource(products(25));
    writer = new FakeWriter();
    reports = [];
    now = new Date('2026-11-25T02:00:00Z');
    engine = makeEngine();
  });
  afterEach(async () => { await engine.shutdown(); await stores.close(); });

  it('computes windows: first run and full mode read everything; incremental subtracts the lookback from the cursor', () => {
    const t = new Date('2026-11-25T02:00:00Z');
    expect(windowFor('incremental', undefined, 1801, t)).to.deep.equal({ end: t });
    expect(windowFor('full', new Date('2026-11-25T01:00:00Z'), 1801, t)).to.deep.equal({ end: t });
    expect(windowFor('incremental', new Date('2026-11-25T01:00:00Z'), 1801, t)).to.deep.equal({ start: new Date('2026-11-25T00:29:59Z'), end: t });
  });

  it('a successful run writes every product, records counts, advances the cursor to the window end and reports once', async () => {
    const run = await runToEnd(engine);
    expect(run.status).to.equal('succeeded');
    expect(run.counts).to.deep.equal({ fetched: 25, created: 25, updated: 0, unchanged: 0, rejected: 0, failed: 0 });
    expect(run.window).to.deep.equal({ start: null, end: now.toISOString() });
    expect((await stores.cursor.get())?.toISOString()).to.equal(now.toISOString());
    expect(reports.map((r) => r.id)).to.deep.equal([run.id]);
    expect(await stores.lock.holder(LOCK_NAME)).to.equal(undefined);
    expect((await stores.runs.get(run.id))?.status).to.equal('succeeded');
  });

  it('the next incremental run starts at cursor minus lookback', async () => {
    await runToEnd(engine);
    const first = now;
    now = new Date(first.getTime() + 600_000);
    await runToEnd(engine);
    expect(source.windows[1]).to.deep.equal({ start: new Date(first.getTime() - 1801_000), end: now });
  });

  it('rejected products are recorded with reasons, the others are written, the run is partial and the cursor moves', async () => {
    source.products[3].name = 'REJECT';
    source.products.push({ product_id: 999, name: 'no number' } as OkkiProduct);
    const run = await runToEnd(engine);
    expect(run.status).to.equal('partial');
    expect(run.counts).to.include({ fetched: 26, created: 24, rejected: 2, failed: 0 });
    expect(run.failures).to.deep.include({ product_no: 'P-0004', code: 'MAPPING_REJECTED', reason: '产品名称 is empty' });
    expect(run.failures).to.deep.include({ product_no: null, code: 'OKKI_ITEM_INVALID', reason: 'no product_no' });
    expect(await stores.cursor.get()).to.deep.equal(now);
  });

  it('a failed write keeps the cursor where it was, so the next run reads the window again', async () => {
    writer.failFor.add('P-0007');
    const run = await runToEnd(engine);
    expect(run.status).to.equal('partial');
    expect(run.counts.failed).to.equal(1);
    expect(run.failures[0]).to.deep.equal({ product_no: 'P-0007', code: 'YIDA_WRITE_AMBIGUOUS', reason: 'timeout' });
    expect(await stores.cursor.get()).to.equal(undefined);
    expect(run.cursorAfter).to.equal(null);
  });

  it('a source failure fails the run cleanly: cursor unchanged, lock released, reason recorded, in-flight writes settled', async () => {
    await runToEnd(engine);
    const cursor = await stores.cursor.get();
    now = new Date(now.getTime() + 60_000);
    writer.delayMs = 20;
    source.fail = new ConnectorError('OKKI_AUTH_FAILED', 'OKKI refused the client credentials');
    const run = await runToEnd(engine);
    expect(run.status).to.equal('failed');
    expect(run.error).to.deep.equal({ code: 'OKKI_AUTH_FAILED', message: 'OKKI refused the client credentials' });
    expect(await stores.cursor.get()).to.deep.equal(cursor);
    expect(await stores.lock.holder(LOCK_NAME)).to.equal(undefined);
    expect(writer.inFlight).to.equal(0);
  });

  it('counts consecutive failed runs for the report alert and resets on success', async () => {
    source.fail = new Error('down');
    await runToEnd(engine); await runToEnd(engine);
    const third = await runToEnd(engine);
    expect(third.status).to.equal('failed');
    source.fail = undefined;
    await runToEnd(engine);
    expect(reports.map((r) => r.status)).to.deep.equal(['failed', 'failed', 'failed', 'succeeded']);
    expect(await stores.failureStreak.get()).to.equal(0);
  });

  it('50 concurrent triggers start exactly one run; the others join it', async () => {
    let release!: () => void;
    source.gate = new Promise((r) => { release = r; });
    const answers = await Promise.all(Array.from({ length: 50 }, () => engine.trigger({ trigger: 'webhook' })));
    expect(new Set(answers.map((a) => a.runId)).size).to.equal(1);
    expect(answers.filter((a) => !a.coalesced)).to.have.length(1);
    release();
    const run = await engine.waitForRun(answers[0].runId, 30_000);
    expect(run?.status).to.equal('succeeded');
    expect((await stores.runs.list(10))).to.have.length(1);
    expect(writer.written).to.have.length(25);
  });

  it('a run held by another replica (the lock) is joined, not duplicated', async () => {
    await stores.lock.acquire(LOCK_NAME, 'run-on-another-replica', 60_000);
    const t = await engine.trigger({ trigger: 'webhook' });
    expect(t).to.deep.equal({ runId: 'run-on-another-replica', status: 'running', coalesced: true });
    expect(writer.written).to.have.length(0);
  });

  it('writes a product delivered twice once, and rejects a second product that claims the same number', async () => {
    const twin = { product_id: 777, product_no: 'P-0002', name: '冒名产品' };
    source.products = [...products(5), ...products(5), twin];
    writer.delayMs = 5;
    const run = await runToEnd(engine);
    expect(writer.written).to.have.length(5);
    expect(run.counts).to.include({ fetched: 6, created: 5, rejected: 1, failed: 0 });
    expect(run.failures).to.deep.equal([{ product_no: 'P-0002', code: 'DUPLICATE_PRODUCT_NO', reason: 'product number P-0002 is used by OKKI products 2 and 777; only the first is synced' }]);
  });

  it('targeted runs read only the given product numbers and leave the cursor alone', async () => {
    const run = await runToEnd(engine, { trigger: 'webhook', productNos: ['P-0002', 'P-0003', 'X-404'] });
    expect(run.mode).to.equal('targeted');
    expect(run.status).to.equal('partial');
    expect(run.counts).to.include({ created: 2, rejected: 1 });
    expect(run.failures).to.deep.equal([{ product_no: 'X-404', code: 'OKKI_NOT_FOUND', reason: 'X-404 not found' }]);
    expect(await stores.cursor.get()).to.equal(undefined);
  });

  it('shutdown mid-run stops reading, lets in-flight writes settle, records the run failed and refuses new triggers', async () => {
    source.products = products(200);
    writer.delayMs = 30;
    const t = await engine.trigger({ trigger: 'schedule' });
    await new Promise((r) => setTimeout(r, 100));
    await engine.shutdown();
    expect(writer.inFlight).to.equal(0);
    const run = (await stores.runs.get(t.runId))!;
    expect(run.status).to.equal('failed');
    expect(run.error?.code).to.equal('RUN_ABORTED');
    expect(run.counts.created).to.be.greaterThan(0).and.lessThan(200);
    expect(await stores.cursor.get()).to.equal(undefined);
    expect(await stores.lock.holder(LOCK_NAME)).to.equal(undefined);
    let refused: unknown;
    try { await engine.trigger({ trigger: 'webhook' }); } catch (err) { refused = err; }
    expect(refused).to.be.instanceOf(ConnectorError).with.property('code', 'SERVICE_SHUTTING_DOWN');
  });

  it('looks product numbers up before creating them only while there is no cursor (first sync, or a lost store)', async () => {
    await runToEnd(engine);
    expect(writer.sessions, 'one session per run, scanning in bulk').to.deep.equal([{ adopt: true, bulk: true }]);
    expect(new Set(writer.adopting)).to.deep.equal(new Set([true]));
    writer.adopting = [];
    now = new Date(now.getTime() + 60_000);
    await runToEnd(engine);
    expect(writer.sessions[1]).to.deep.equal({ adopt: false, bulk: true });
    expect(writer.adopting).to.have.length(25);
    expect(writer.adopting.every((v) => !v), 'no lookup once a cursor exists').to.equal(true);
  });

  it('a targeted run without a cursor adopts product by product, without scanning the whole form', async () => {
    await engine.waitForRun((await engine.trigger({ trigger: 'webhook', productNos: ['P-0001', 'P-0002'] })).runId, 10_000);
    expect(writer.sessions).to.deep.equal([{ adopt: true, bulk: false }]);
    expect(writer.adopting).to.deep.equal([true, true]);
  });

  it('stops the run as failed at the first write that no later product can escape (the store is gone)', async () => {
    source.products = products(200);
    writer.failFor.add('*');
    writer.failCode = 'STORE_UNAVAILABLE';
    const run = await runToEnd(engine);
    expect(run.status).to.equal('failed');
    expect(run.error?.code).to.equal('STORE_UNAVAILABLE');
    expect(writer.written.length).to.be.lessThan(60);
  });

  it('tells subscribers of a run\'s start, progress (read, written) and end; the live record shows the counts meanwhile', async () => {
    const events: RunEvent[] = [];
    const unsubscribe = engine.subscribe((e) => events.push(e));
    const stopThrowing = engine.subscribe(() => { throw new Error('a broken listener'); });
    writer.delayMs = 10;
    const t = await engine.trigger({ trigger: 'webhook' });
    let live: RunRecord | undefined;
    for (let i = 0; i < 400; i++) {
      live = structuredClone(await engine.getRun(t.runId));
      if (live!.counts.created > 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(live).to.deep.include({ status: 'running' });
    expect(live!.counts.created).to.be.greaterThan(0);
    const run = (await engine.waitForRun(t.runId, 10_000))!;
    unsubscribe(); stopThrowing();
    expect(run.status, 'a listener that throws does not disturb the run').to.equal('succeeded');
    expect(events[0]).to.deep.include({ type: 'started' });
    expect(events.at(-1)).to.deep.include({ type: 'finished' });
    const progress = events.flatMap((e) => (e.type === 'progress' ? [e.progress] : []));
    expect(progress).to.have.length(25);
    expect(progress.at(-1)).to.deep.include({ runId: t.runId, read: 25, written: 25 });
    await runToEnd(engine);
    expect(events.at(-1), 'no events after unsubscribing').to.deep.include({ type: 'finished', run });
  });

  it('a trigger after the run is over starts a new run, even while the last report is still being sent', async () => {
    let releaseReport!: () => void;
    const slowReport = new Promise<void>((r) => { releaseReport = r; });
    const reporter: Reporter = { report: async () => { await slowReport; return { sent: true }; } };
    engine = new SyncEngine(
      { source, mapping, writer, stores, reporter, metrics: createMetrics(), logger: silentLogger, now: () => now },
      { lookbackSeconds: 1801, timezone: 'Asia/Shanghai', maxInFlight: 8 },
    );
    const first = await engine.trigger({ trigger: 'webhook' });
    for (let i = 0; i < 200 && (await stores.runs.get(first.runId))?.status === 'running'; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await stores.runs.get(first.runId))?.status).to.equal('succeeded');
    const second = await engine.trigger({ trigger: 'webhook' });
    expect(second.coalesced).to.equal(false);
    expect(second.runId).not.to.equal(first.runId);
    releaseReport();
    expect((await engine.waitForRun(first.runId, 10_000))?.report).to.deep.equal({ sent: true });
    await engine.waitForRun(second.runId, 10_000);
  });

  it('a failure storm is summarised once per run: one warning with counts by code and a few product numbers', async () => {
    const lines: Array<Record<string, any>> = [];
    const { Writable } = await import('node:stream');
    const { createLogger } = await import('../src/log.js');
    const logger = createLogger({ level: 'info', stream: new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c))); cb(); } }) });
    source.products = products(120);
    writer.failFor.add('*');
    engine = new SyncEngine(
      { source, mapping, writer, stores, metrics: createMetrics(), logger, now: () => now },
      { lookbackSeconds: 1801, timezone: 'Asia/Shanghai', maxInFlight: 8 },
    );
    const run = await runToEnd(engine);
    expect(run.counts.failed).to.equal(120);
    const warnings = lines.filter((l) => l.level >= 40);
    expect(warnings.map((l) => l.msg)).to.deep.equal(['run finished']);
    expect(Object.keys(warnings[0].failures)).to.deep.equal(['YIDA_WRITE_AMBIGUOUS']);
    expect(warnings[0].failures.YIDA_WRITE_AMBIGUOUS.count).to.equal(120);
    expect(warnings[0].failures.YIDA_WRITE_AMBIGUOUS.examples).to.have.length(5);
  });

  it('a trigger that arrives once the record says finished, while the lease is still being released, starts a new run', async () => {
    // The moment between "final record saved" and "engine handed back" is where Node 22 landed a webhook call: it was
    // coalesced into the finished run, so the caller got the old run (no cursor, reported once, listed twice by the test).
    const slowRelease: Stores = { ...stores, lock: { ...stores.lock, acquire: stores.lock.acquire.bind(stores.lock), renew: stores.lock.renew.bind(stores.lock), holder: stores.lock.holder.bind(stores.lock), acquireToken: stores.lock.acquireToken.bind(stores.lock), token: stores.lock.token.bind(stores.lock), release: async (name, owner) => { await new Promise((r) => setTimeout(r, 300)); return stores.lock.release(name, owner); } } };
    engine = new SyncEngine(
      { source, mapping, writer, stores: slowRelease, metrics: createMetrics(), logger: silentLogger, now: () => now },
      { lookbackSeconds: 1801, timezone: 'Asia/Shanghai', maxInFlight: 8 },
    );
    const first = await engine.trigger({ trigger: 'webhook' });
    for (let i = 0; i < 500 && (await stores.runs.get(first.runId))?.status === 'running'; i++) await new Promise((r) => setTimeout(r, 5));
    expect((await stores.runs.get(first.runId))?.status).to.equal('succeeded');
    const second = await engine.trigger({ trigger: 'webhook', mode: 'full' });
    expect(second.coalesced, 'joined a run that was already over').to.equal(false);
    expect(second.runId).not.to.equal(first.runId);
    const done = (await engine.waitForRun(second.runId, 10_000))!;
    expect(done.mode).to.equal('full');
    expect(done.cursorBefore, 'the second run starts from the first run\'s cursor').to.be.a('string');
  });

  it('a run whose process died is recorded as interrupted at start-up, and its lease no longer blocks triggers', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!;
    const orphan: RunRecord = {
      id: 'run-orphan', trigger: 'schedule', mode: 'incremental', status: 'running', window: { start: null, end: 'x' },
      startedAt: new Date().toISOString(), finishedAt: null, counts: { fetched: 3, created: 3, updated: 0, unchanged: 0, rejected: 0, failed: 0 }, failures: [],
    };
    await stores.runs.put(orphan);
    await stores.owners.set('run-orphan', { host: hostname(), pid: dead });
    await stores.lock.acquire(LOCK_NAME, 'run-orphan', 60_000);
    await engine.recover();
    const recorded = await stores.runs.get('run-orphan');
    expect(recorded?.status).to.equal('failed');
    expect(recorded?.error?.code).to.equal('RUN_INTERRUPTED');
    expect(await stores.lock.holder(LOCK_NAME)).to.equal(undefined);
  });

  it('a lease left by a dead process is taken over by the next trigger, without waiting for it to expire', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!;
    await stores.owners.set('run-ghost', { host: hostname(), pid: dead });
    await stores.lock.acquire(LOCK_NAME, 'run-ghost', 60_000);
    const t = await engine.trigger({ trigger: 'webhook' });
    expect(t.coalesced).to.equal(false);
    expect((await engine.waitForRun(t.runId, 10_000))?.status).to.equal('succeeded');
  });

  it('a lease held by a live process elsewhere (owner unknown here) is joined, not taken over', async () => {
    await stores.owners.set('run-elsewhere', { host: 'another-host', pid: 1 });
    await stores.lock.acquire(LOCK_NAME, 'run-elsewhere', 60_000);
    await engine.recover();
    const t = await engine.trigger({ trigger: 'webhook' });
    expect(t).to.deep.equal({ runId: 'run-elsewhere', status: 'running', coalesced: true });
  });

  it('waiting for a run joined on another replica follows it even when its record is not visible yet', async () => {
    await stores.owners.set('run-other', { host: 'another-host', pid: 1 });
    await stores.lock.acquire(LOCK_NAME, 'run-other', 60_000);
    const t = await engine.trigger({ trigger: 'webhook' });
    expect(t).to.deep.equal({ runId: 'run-other', status: 'running', coalesced: true });
    const other: RunRecord = {
      id: 'run-other', trigger: 'schedule', mode: 'incremental', status: 'running', window: { start: null, end: 'x' },
      startedAt: new Date().toISOString(), finishedAt: null, counts: { fetched: 0, created: 0, updated: 0, unchanged: 0, rejected: 0, failed: 0 }, failures: [],
    };
    setTimeout(() => { void stores.runs.put(other); }, 150);
    setTimeout(() => { void stores.runs.put({ ...other, status: 'succeeded', finishedAt: new Date().toISOString() }); }, 400);
    const run = await engine.waitForRun('run-other', 10_000);
    expect(run?.status).to.equal('succeeded');
  });

  it('a store that is gone when a trigger arrives answers STORE_UNAVAILABLE and holds no lock', async () => {
    await stores.close();
    let err: unknown;
    try { await engine.trigger({ trigger: 'webhook' }); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(Error);
    expect((err as { code?: string }).code).to.match(/STORE_UNAVAILABLE/);
    const dir = mkdtempSync(join(tmpdir(), 'engine-test-'));
    stores = await createStores({ url: `sqlite://${join(dir, 's.sqlite')}`, kind: 'sqlite', sqlitePath: join(dir, 's.sqlite') });
  });
});
