/**
 * The ledger-guarded writer end to end: real SDK, DingTalk simulator over loopback, ledger on sqlite (and Redis).
 * The invariant under every fault: exactly one Yida instance per product number.
 */
import { expect } from 'chai';
import { LedgerWriter } from '../src/sync/writer.js';
import { createStores } from '../src/store/index.js';
import type { Ledger, LedgerEntry, Stores } from '../src/store/types.js';
import type { WriteOutcome } from '../src/core/index.js';
import { createYidaSink } from '../src/yida/index.js';
import { dingtalkConfigFor, startSinkFixture, tempSqlite, products, mapLimit, instancesPerKey, KEY_FIELD, type SinkFixture, type TempSqlite } from './helpers/dingtalk.js';
import { startRedis, redisAvailable, type RedisHandle } from './helpers/redis.js';

const tally = (outcomes: WriteOutcome[]) => outcomes.reduce<Record<string, number>>((t, o) => ({ ...t, [o.kind]: (t[o.kind] ?? 0) + 1 }), {});

function expectOnePerProduct(fx: SinkFixture, n: number) {
  const per = instancesPerKey(fx.sim);
  expect(per.size, 'product numbers with an instance').to.equal(n);
  expect([...per.values()].every((c) => c === 1), 'no product number has two instances').to.equal(true);
  expect(fx.sim.instanceCount()).to.equal(n);
}

describe('LedgerWriter (real SDK, simulator, sqlite ledger)', function () {
  let fx: SinkFixture;
  let db: TempSqlite;
  let ledger: Ledger;
  // searchLagMs 0 by default: these tests model an earlier run's pending entry, which is older than any search lag.
  const writer = (o: { ledger?: Ledger; reconcileDelayMs?: number; searchLagMs?: number } = {}) =>
    new LedgerWriter({ ledger: o.ledger ?? ledger, sink: fx.sink, keyField: KEY_FIELD, reconcileDelayMs: o.reconcileDelayMs ?? 5, searchLagMs: o.searchLagMs ?? 0 });
  const run = (w: LedgerWriter, items: ReturnType<typeof products>, limit = 16) => mapLimit(items, limit, (i) => w.write(i));

  beforeEach(async () => { db = await tempSqlite(); ledger = db.stores.ledger; });
  afterEach(async () => { await fx?.close(); await db.close(); });

  it('1,000 new products become exactly 1,000 instances, all ledgered done', async () => {
    fx = await startSinkFixture({ yida: { qps: 1000, concurrency: 16 } });
    const items = products(1000);
    const out = await run(writer(), items);
    expect(tally(out)).to.deep.equal({ created: 1000 });
    expectOnePerProduct(fx, 1000);
    const e = await ledger.get('P-00500');
    expect(e).to.include({ state: 'done', hash: 'h1-P-00500' });
    const o = out[499];
    expect(e!.instanceId).to.equal(o.kind === 'created' ? o.instanceId : 'not created');
  });

  it('an adopting session (no cursor: first sync onto a used form, or a lost ledger) adopts existing instances instead of duplicating them', async () => {
    fx = await startSinkFixture({ yida: { qps: 1000, concurrency: 16 } });
    const items = products(40);
    await run(writer(), items.slice(0, 25));
    const lost = await tempSqlite(); // the ledger is gone: a fresh store
    try {
      const out = await mapLimit(items, 16, (i) => writer({ ledger: lost.stores.ledger }).write(i, { adopt: true }));
      expect(tally(out)).to.deep.equal({ updated: 25, created: 15 });
      expectOnePerProduct(fx, 40);
    } finally { await lost.close(); }
  });

  it('a backfill session scans the form once (100 instances a call) instead of looking each product up', async () => {
    fx = await startSinkFixture({ yida: { qps: 1000, concurrency: 16 }, deps: { searchPageSize: 10 } });
    const items = products(40);
    await run(writer(), items.slice(0, 25));
    const lost = await tempSqlite();
    try {
      const w = writer({ ledger: lost.stores.ledger });
      const session = await w.openSession({ adopt: true, bulk: true });
      expect(session.existing?.size).to.equal(25);
      const searches = fx.sim.requests({ api: 'yida.getInstanceIdList' }).length;
      const out = await mapLimit(items, 16, (i) => w.write(i, session));
      expect(tally(out)).to.deep.equal({ updated: 25, created: 15 });
      expect(fx.sim.requests({ api: 'yida.getInstanceIdList' }).length, 'no per-product search').to.equal(searches);
      expect(fx.sim.requests({ api: 'yida.getInstances' })).to.have.length(3);
      expectOnePerProduct(fx, 40);
    } finally { await lost.close(); }
  });

  it('the scan belongs to the session of its run: a session that does not adopt reads nothing and carries nothing', async () => {
    fx = await startSinkFixture({ yida: { qps: 1000, concurrency: 16 } });
    await run(writer(), products(5));
    const w = writer();
    const backfill = await w.openSession({ adopt: true, bulk: true });
    expect(backfill.existing?.size).to.equal(5);
    const targeted = await w.openSession({ adopt: true, bulk: false });
    expect(targeted.existing, 'a targeted run looks its few products up instead').to.equal(undefined);
    const next = await w.openSession({ adopt: false, bulk: true });
    expect(next.existing).to.equal(undefined);
    expect(fx.sim.requests({ api: 'yida.getInstances' }), 'only the adopting backfill session scanned').to.have.length(1);
  });

  it('when the form cannot be scanned, each new product is looked up on its own instead', async () => {
    fx = await startSinkFixture({ yida: { qps: 1000, concurrency: 16 }, sim: { knobs: { errorRates: { 'yida.getInstances': 1 } } }, deps: { retry: { limit: 0 } } });
    const items = products(10);
    await run(writer(), items.slice(0, 4));
    const lost = await tempSqlite();
    try {
      const w = writer({ ledger: lost.stores.ledger });
      const session = await w.openSession({ adopt: true, bulk: true });
      expect(session.existing).to.equal(undefined);
      const out = await mapLimit(items, 4, (i) => w.write(i, session));
      expect(tally(out)).to.deep.equal({ updated: 4, created: 6 });
      expectOnePerProduct(fx, 10);
    } finally { await lost.close(); }
  });

  it('an unchanged product makes no call; a changed one updates the same instance', async () => {
    fx = await startSinkFixture();
    const w = writer();
    const [first] = await run(w, products(3));
    const before = fx.sim.requests().length;
    expect(tally(await run(w, products(3)))).to.deep.equal({ unchanged: 3 });
    expect(fx.sim.requests().length, 'no DingTalk call for unchanged products').to.equal(before);
    const changed = products(3, 2);
    const out = await run(w, changed);
    expect(tally(out)).to.deep.equal({ updated: 3 });
    expect(out[0]).to.deep.include({ kind: 'updated', instanceId: (first as { instanceId: string }).instanceId });
    expectOnePerProduct(fx, 3);
    expect(fx.sim.instances().find((i) => i.processInstanceId === (out[0] as { instanceId: string }).instanceId)!.data).to.deep.equal(changed[0].formData);
    expect(await ledger.get(changed[0].productNo)).to.include({ state: 'done', hash: changed[0].hash });
  });

  it('commit-then-500 on 10% of starts still leaves exactly one instance per product number', async () => {
    fx = await startSinkFixture({ sim: { knobs: { commitThen500Rate: 0.1 }, seed: 7 }, yida: { qps: 1000, concurrency: 16 } });
    const items = products(300);
    const first = await run(writer(), items);
    expect(fx.sim.requests({ api: 'yida.startInstance' }).filter((r) => r.committed).length, 'the fault fired').to.be.greaterThan(10);
    const second = await run(writer(), items);
    expect(first.concat(second).filter((o) => o.kind === 'failed')).to.have.length(0);
    expectOnePerProduct(fx, 300);
    expect(fx.sim.requests({ api: 'yida.startInstance' }).length, 'no start was repeated').to.equal(300);
  });

  it('500s that did not execute: failed on the first pass are started on the second, never twice', async () => {
    fx = await startSinkFixture({ sim: { knobs: { errorRates: { 'yida.startInstance': 0.1 }, commitThen500Rate: 0.05 }, seed: 3 }, yida: { qps: 1000, concurrency: 16 } });
    const items = products(200);
    const first = await run(writer(), items);
    const failed = first.filter((o) => o.kind === 'failed');
    expect(failed.length, 'some starts failed without executing').to.be.greaterThan(0);
    expect(failed.every((o) => o.kind === 'failed' && o.code === 'YIDA_WRITE_AMBIGUOUS')).to.equal(true);
    for (const f of failed) expect(await ledger.get(f.productNo)).to.include({ state: 'pending', op: 'start' });
    fx.sim.setKnobs({ errorRates: {}, commitThen500Rate: 0 });
    const second = await run(writer(), items);
    expect(second.filter((o) => o.kind === 'failed')).to.have.length(0);
    expectOnePerProduct(fx, 200);
  });

  it('starts that time out (committed, answered late) are adopted by the in-call reconciliation', async () => {
    fx = await startSinkFixture({ sim: { knobs: { hangRate: 0.2, hangMs: 3000 }, seed: 5 }, deps: { timeouts: { readTimeoutMs: 250, connectTimeoutMs: 3000 } } });
    const out = await run(writer(), products(30));
    expect(fx.sim.requests({ api: 'yida.startInstance' }).some((r) => r.committed), 'the fault fired').to.equal(true);
    expect(tally(out)).to.deep.equal({ created: 30 });
    expectOnePerProduct(fx, 30);
  });

  it('403 throttling at a low QPS limit: all written, none failed', async () => {
    fx = await startSinkFixture({ sim: { knobs: { qpsLimits: { 'yida.startInstance': 15 } } }, yida: { qps: 40, concurrency: 8 } });
    const out = await run(writer(), products(60), 8);
    expect(tally(out)).to.deep.equal({ created: 60 });
    expect(fx.sim.requests({ api: 'yida.startInstance' }).some((r) => r.status === 403), 'the limit was hit').to.equal(true);
    expectOnePerProduct(fx, 60);
  });

  it('survives token expiry mid-run', async () => {
    fx = await startSinkFixture();
    const w = writer();
    let n = 0;
    const out = await mapLimit(products(100), 8, async (i) => { if (++n === 50) fx.sim.expireTokens(); return w.write(i); });
    expect(tally(out)).to.deep.equal({ created: 100 });
    expect(fx.sim.requests().some((r) => r.code === 'InvalidAuthentication'), 'a token was refused').to.equal(true);
    expect(fx.sim.requests({ api: 'oauth2.accessToken' })).to.have.length(2);
    expectOnePerProduct(fx, 100);
  });

  it('a crash between start and done is reconciled on the next run by search, without a second start', async () => {
    fx = await startSinkFixture();
    // The process "dies" when it tries to record done: the instance exists, the ledger says pending.
    const crashing: Ledger = {
      get: (k) => ledger.get(k), delete: (k) => ledger.delete(k),
      async set(k: string, e: LedgerEntry) { if (e.state === 'done') throw Object.assign(new Error('process killed'), { code: 'CRASH' }); return ledger.set(k, e); },
      async claim(k: string, was: LedgerEntry | undefined, e: LedgerEntry) { if (e.state === 'done') throw Object.assign(new Error('process killed'), { code: 'CRASH' }); return ledger.claim(k, was, e); },
    };
    const [item] = products(1);
    const crashed = await writer({ ledger: crashing }).write(item);
    expect(crashed).to.deep.include({ kind: 'failed', code: 'CRASH' });
    expect(await ledger.get(item.productNo)).to.include({ state: 'pending', op: 'start' });
    await db.reopen(); ledger = db.stores.ledger; // a new process, same sqlite file
    expect(await ledger.get(item.productNo)).to.include({ state: 'pending' });
    const next = await writer().write(item);
    expect(next.kind).to.equal('created');
    expect(fx.sim.requests({ api: 'yida.startInstance' })).to.have.length(1);
    expect(fx.sim.requests({ api: 'yida.getInstanceIdList' })).to.have.length(1);
    expect(await ledger.get(item.productNo)).to.include({ state: 'done', instanceId: fx.sim.instances()[0].processInstanceId });
    expectOnePerProduct(fx, 1);
  });

  it('a crash after start, then a changed product: adopts the instance and updates it', async () => {
    fx = await startSinkFixture();
    const [v1] = products(1);
    const id = await fx.sink.create(v1.formData);
    await ledger.set(v1.productNo, { hash: v1.hash, state: 'pending', op: 'start', attemptId: 'a1', syncedAt: new Date().toISOString() });
    const [v2] = products(1, 2);
    expect(await writer().write(v2)).to.deep.equal({ kind: 'created', productNo: v2.productNo, instanceId: id });
    expect(fx.sim.instances()[0].data).to.deep.equal(v2.formData);
    expectOnePerProduct(fx, 1);
  });

  it('a pending start younger than YIDA_SEARCH_LAG is not started again on an empty search; an older one is', async () => {
    fx = await startSinkFixture();
    const [item] = products(1);
    // A write that began 5 s ago (another process, or a timed-out call Yida may still commit) and is not visible yet.
    await ledger.set(item.productNo, { hash: item.hash, state: 'pending', op: 'start', attemptId: 'a1', syncedAt: new Date(Date.now() - 5_000).toISOString() });
    const young = await writer({ searchLagMs: 60_000 }).write(item);
    expect(young).to.deep.include({ kind: 'failed', code: 'LEDGER_PENDING_RECENT' });
    expect(fx.sim.requests({ api: 'yida.startInstance' })).to.have.length(0);
    expect(await ledger.get(item.productNo)).to.include({ state: 'pending', attemptId: 'a1' });
    // A later run, past the lag: the empty search can be trusted now.
    expect((await writer({ searchLagMs: 1_000 }).write(item)).kind).to.equal('created');
    expectOnePerProduct(fx, 1);
  });

  it('a product number is held by the OKKI product that has it: another product id is rejected, unless a named run hands it over', async () => {
    fx = await startSinkFixture();
    const [item] = products(1);
    expect((await writer().write({ ...item, productId: 101 })).kind).to.equal('created');
    expect(await ledger.get(item.productNo)).to.include({ productId: '101' });
    const [changed] = products(1, 2);
    const claim = await writer().write({ ...changed, productId: 202 });
    expect(claim).to.deep.include({ kind: 'rejected', code: 'DUPLICATE_PRODUCT_NO' });
    expect((claim as { reason: string }).reason).to.include('101').and.include('202');
    expect(fx.sim.requests({ api: 'yida.updateInstance' }), 'the holder\'s instance is not overwritten').to.have.length(0);
    // the holder itself still syncs
    expect((await writer().write({ ...changed, productId: 101 })).kind).to.equal('updated');
    // a product_nos run (named) hands the number over to the product it read
    const named = await writer().openSession({ adopt: false, named: true });
    const [third] = products(1, 3);
    expect((await writer().write({ ...third, productId: 202 }, named)).kind).to.equal('updated');
    expect(await ledger.get(item.productNo)).to.include({ productId: '202' });
    expectOnePerProduct(fx, 1);
  });

  it('an update Yida refuses is parked: the ledger keeps what the instance holds, and the unchanged content is not sent again', async () => {
    fx = await startSinkFixture();
    const [item] = products(1);
    await writer().write(item);
    fx.sim.setKnobs({ fieldMaxLength: { textField_name: 3 } });
    const [changed] = products(1, 2);
    const out = await writer().write(changed);
    expect(out).to.deep.include({ kind: 'rejected', code: 'YIDA_REJECTED' });
    const entry = await ledger.get(item.productNo);
    expect(entry).to.include({ state: 'done', hash: item.hash });
    expect(entry?.parked).to.include({ hash: changed.hash, code: 'YIDA_REJECTED' });
    const updates = fx.sim.requests({ api: 'yida.updateInstance' }).length;
    expect((await writer().write(changed)).kind).to.equal('rejected');
    expect(fx.sim.requests({ api: 'yida.updateInstance' })).to.have.length(updates);
    // a full run an operator asks for (retryParked) sends it again; once the rule is gone it goes through
    fx.sim.setKnobs({ fieldMaxLength: {} });
    const retry = await writer().openSession({ adopt: false, retryParked: true });
    expect((await writer().write(changed, retry)).kind).to.equal('updated');
    expect((await ledger.get(item.productNo))?.parked).to.equal(undefined);
  });

  it('a pending entry with no instance on Yida is started', async () => {
    fx = await startSinkFixture();
    const [item] = products(1);
    await ledger.set(item.productNo, { hash: item.hash, state: 'pending', op: 'start', attemptId: 'a1', syncedAt: new Date().toISOString() });
    expect((await writer().write(item)).kind).to.equal('created');
    expectOnePerProduct(fx, 1);
  });

  it('two instances for one product number: YIDA_DUPLICATE_FOUND with both ids, nothing written, the product parked', async () => {
    fx = await startSinkFixture();
    const [item] = products(1);
    const a = await fx.sink.create(item.formData); const b = await fx.sink.create(item.formData);
    await ledger.set(item.productNo, { hash: 'old', state: 'pending', op: 'start', attemptId: 'a1', syncedAt: new Date().toISOString() });
    const before = fx.sim.requests().filter((r) => r.api === 'yida.startInstance' || r.api === 'yida.updateInstance').length;
    const out = await writer().write(item);
    expect(out).to.deep.include({ kind: 'rejected', code: 'YIDA_DUPLICATE_FOUND' });
    expect((out as { reason: string }).reason).to.include(a).and.include(b);
    expect(fx.sim.requests().filter((r) => r.api === 'yida.startInstance' || r.api === 'yida.updateInstance').length).to.equal(before);
    // parked: the next run with the same content skips it without a search
    const searches = fx.sim.requests({ api: 'yida.getInstanceIdList' }).length;
    expect(await writer().write(item)).to.deep.include({ kind: 'rejected', code: 'YIDA_DUPLICATE_FOUND' });
    expect(fx.sim.requests({ api: 'yida.getInstanceIdList' })).to.have.length(searches);
  });

  it('a rejected start leaves no pending entry, reports Yida\'s reason, and parks the product under that form only', async () => {
    fx = await startSinkFixture();
    const [item] = products(1);
    const cfg = dingtalkConfigFor(fx.sim);
    const wrongForm = createYidaSink({ ...cfg, yida: { ...cfg.yida, formUuid: 'FORM-GONE' } });
    const w = new LedgerWriter({ ledger, sink: wrongForm, keyField: KEY_FIELD, parkScope: 'FORM-GONE' });
    const out = await w.write(item);
    expect(out).to.deep.include({ kind: 'rejected', code: 'YIDA_REJECTED' });
    expect((out as { reason: string }).reason).to.include('FORM-GONE');
    const entry = await ledger.get(item.productNo);
    expect(entry).to.include({ state: 'done' });
    expect(entry?.instanceId).to.equal(undefined);
    expect(entry?.parked).to.include({ code: 'YIDA_REJECTED', hash: item.hash, scope: 'FORM-GONE' });
    // The configuration is fixed: the refusal came from the old target, so the product is tried again at once.
    const fixed = new LedgerWriter({ ledger, sink: fx.sink, keyField: KEY_FIELD, parkScope: 'FORM-RIGHT' });
    expect((await fixed.write(item)).kind).to.equal('created');
    expect((await ledger.get(item.productNo))?.parked).to.equal(undefined);
  });

  it('never throws, even on a broken item or a failing ledger', async () => {
    fx = await startSinkFixture();
    const broken: Ledger = { get: async () => { throw new Error('store down'); }, set: async () => undefined, delete: async () => undefined, claim: async () => true };
    expect((await writer({ ledger: broken }).write(products(1)[0])).kind).to.equal('failed');
    expect((await writer().write({ productNo: 'P-1', formData: {}, hash: '' })).kind).to.equal('failed');
  });

  it('validates its dependencies up front', () => {
    expect(() => new LedgerWriter({ ledger: undefined as never, sink: {} as never, keyField: 'k' })).to.throw(/ledger/);
    expect(() => new LedgerWriter({ ledger: {} as never, sink: {} as never, keyField: ' ' })).to.throw(/keyField/);
  });

  it('two writers on two connections to one sqlite file (two processes) never start a product twice', async () => {
    fx = await startSinkFixture({ yida: { qps: 1000, concurrency: 16 } });
    const other = await createStores({ url: `sqlite://${db.path}`, kind: 'sqlite', sqlitePath: db.path });
    try {
      const items = products(60);
      const lag = { searchLagMs: 60_000 };
      const [a, b] = await Promise.all([run(writer(lag), items), run(writer({ ...lag, ledger: other.ledger }), items)]);
      expectOnePerProduct(fx, 60);
      // Each product was started once: the other writer saw its claim (pending or done) and did not start it again
      // (it adopted the instance, left a young pending entry alone, or lost the claim).
      expect(fx.sim.requests({ api: 'yida.startInstance' }), 'startInstance calls').to.have.length(60);
      expect([...a, ...b].filter((o) => o.kind === 'failed' && !['LEDGER_PENDING_RECENT', 'LEDGER_CONFLICT'].includes(o.code))).to.deep.equal([]);
    } finally { await other.close(); }
  });

  it('the sqlite ledger survives reopening the file', async () => {
    fx = await startSinkFixture();
    await run(writer(), products(5));
    await db.reopen(); ledger = db.stores.ledger;
    expect(tally(await run(writer(), products(5)))).to.deep.equal({ unchanged: 5 });
  });
});

describe('LedgerWriter with the ledger on Redis', function () {
  let redis: RedisHandle | undefined;
  let fx: SinkFixture;
  let stores: Stores | undefined;

  before(async function () {
    if (!redisAvailable()) this.skip();
    redis = await startRedis();
  });
  after(async () => { await redis?.stop(); });
  afterEach(async () => { await stores?.close(); await fx?.close(); });

  it('writes each product once and finds them unchanged from another connection', async () => {
    fx = await startSinkFixture({ sim: { knobs: { commitThen500Rate: 0.1 }, seed: 11 }, yida: { qps: 1000, concurrency: 16 } });
    stores = await createStores({ url: redis!.url, kind: 'redis' }, { namespace: 'connector' });
    const w = new LedgerWriter({ ledger: stores.ledger, sink: fx.sink, keyField: KEY_FIELD, reconcileDelayMs: 5 });
    const items = products(200);
    await mapLimit(items, 16, (i) => w.write(i));
    const second = await mapLimit(items, 16, (i) => w.write(i));
    expect(second.filter((o) => o.kind === 'failed')).to.have.length(0);
    expectOnePerProduct(fx, 200);
    const other = await createStores({ url: redis!.url, kind: 'redis' }, { namespace: 'connector' });
    const w2 = new LedgerWriter({ ledger: other.ledger, sink: fx.sink, keyField: KEY_FIELD });
    const third = await mapLimit(items, 16, (i) => w2.write(i));
    await other.close();
    expect(tally(third)).to.deep.equal({ unchanged: 200 });
  });
});
