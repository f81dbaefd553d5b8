/**
 * The audit end to end on the process target: planted drift (an instance deleted by hand, a duplicate made by
 * someone else, a field edited in Yida, an instance whose key OKKI does not have, a product deleted in OKKI that no
 * run noticed) is reported exactly; `repair` fixes exactly that (keeping the oldest duplicate, which the ledger then
 * holds) and the next audit is clean. Cost: ⌈instances/100⌉ Yida reads, the OKKI list (type passes, no /info).
 */
import { expect } from 'chai';
import { join } from 'node:path';
import {
  FIELDS, instancesByProductNo, liveEnv, robotText, startInProcess, startSims, tempDir, type InProcessService, type Sims,
} from './helpers/e2e.js';
import type { RunRecord } from '../src/core/index.js';

const CATALOGUE = 30;

describe('mirror e2e (process target): audit and repair', function () {
  this.timeout(90_000);

  let sims: Sims;
  let svc: InProcessService;
  let tmp: ReturnType<typeof tempDir>;

  before(async () => {
    tmp = tempDir('mirror-audit-');
    sims = await startSims({ okki: { products: CATALOGUE } });
    svc = await startInProcess(sims, liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 'store.sqlite')}`, SYNC_DELETIONS: 'delete' }));
    const r = await run({});
    expect(r.status).to.equal('succeeded');
  });
  after(async () => { await svc?.close(); await sims?.close(); tmp?.remove(); });

  async function run(body: Record<string, unknown>): Promise<RunRecord> {
    const r = await svc.post({ ...body, wait: true });
    expect(r.status, r.text).to.equal(200);
    return r.json as RunRecord;
  }
  const instanceOf = (no: string) => sims.dt.instances().filter((i) => i.data[FIELDS.productNo] === no);
  const nos = () => [...sims.okki.catalog.all()].map((p) => p.product_no as string);

  it('a clean form audits clean, for ⌈instances/100⌉ Yida calls and the OKKI list without /info calls', async () => {
    const dtBefore = sims.dt.calls().metered;
    sims.okki.clearRequests();
    const r = await run({ mode: 'audit' });
    expect(r.status, JSON.stringify(r.failures)).to.equal('succeeded');
    expect(r.audit).to.deep.include({ instances: CATALOGUE, products: CATALOGUE });
    for (const k of ['missing', 'duplicates', 'stale', 'orphans'] as const) expect(r.audit![k], k).to.deep.equal({ count: 0, product_nos: [] });
    expect(sims.dt.calls().metered - dtBefore).to.equal(Math.ceil(CATALOGUE / 100));
    const okki = sims.okki.requests.filter((q) => q.endpoint !== 'token');
    expect(okki.filter((q) => q.endpoint === 'info')).to.have.length(0);
    expect(okki.filter((q) => q.endpoint === 'list').length).to.be.at.most(6);
    expect(r.cursorAfter).to.equal(r.cursorBefore);
  });

  let planted: { missing: string; duplicate: string; duplicateId: string; originalId: string; stale: string; orphanKey: string; goneInOkki: string };

  it('reports exactly the planted drift', async () => {
    const [m, d, s, o, g] = nos();
    sims.dt.plantDelete(instanceOf(m)[0].processInstanceId);
    const originalId = instanceOf(d)[0].processInstanceId;
    const duplicateId = sims.dt.plantDuplicate(originalId);
    sims.dt.plantEdit(instanceOf(s)[0].processInstanceId, { [FIELDS.name]: '在宜搭里改过' });
    // an instance someone made by hand, with a product number OKKI never had
    const hand = sims.dt.plantDuplicate(instanceOf(o)[0].processInstanceId);
    sims.dt.plantEdit(hand, { [FIELDS.productNo]: 'X-HAND-1' });
    // deleted in OKKI, and no run has noticed yet
    sims.okki.catalog.delete([g], 'remove');
    planted = { missing: m, duplicate: d, duplicateId, originalId, stale: s, orphanKey: 'X-HAND-1', goneInOkki: g };

    const r = await run({ mode: 'audit' });
    expect(r.status).to.equal('succeeded');
    expect(r.audit!.missing).to.deep.equal({ count: 1, product_nos: [m] });
    expect(r.audit!.duplicates).to.deep.equal({ count: 1, product_nos: [d] });
    expect(r.audit!.stale).to.deep.equal({ count: 1, product_nos: [s] });
    expect(r.audit!.orphans.count).to.equal(2);
    expect(r.audit!.orphans.product_nos.sort()).to.deep.equal([g, 'X-HAND-1'].sort());
    expect(r.audit!.repaired).to.equal(undefined);
    // an audit without repair changes nothing
    expect(instanceOf(m)).to.have.length(0);
    expect(instanceOf(d)).to.have.length(2);
    const text = robotText(sims.dt.robotMessages().at(-1)?.body);
    expect(text).to.include('缺失').and.include(m).and.include('孤立').and.include('X-HAND-1').and.include('"repair":true');
  });

  it('repair fixes exactly that; the oldest duplicate stays and the ledger holds it; the next audit is clean', async () => {
    const writesBefore = sims.dt.requests().filter((q) => /start|update|delete/i.test(q.api ?? '')).length;
    const r = await run({ mode: 'audit', repair: true });
    expect(r.status, JSON.stringify(r.failures)).to.equal('succeeded');
    expect(r.audit!.repaired).to.deep.equal({ created: 1, updated: 1, duplicatesRemoved: 1, orphansMarked: 0, orphansDeleted: 2, failed: 0 });
    // one create, one update, three removals: nothing else was written
    const writes = sims.dt.requests().filter((q) => /start|update|delete/i.test(q.api ?? '')).length - writesBefore;
    expect(writes).to.equal(5);
    expect(instanceOf(planted.missing)).to.have.length(1);
    expect(instanceOf(planted.duplicate).map((i) => i.processInstanceId)).to.deep.equal([planted.originalId]);
    expect((await svc.connector.stores.ledger.get(planted.duplicate))?.instanceId).to.equal(planted.originalId);
    expect(instanceOf(planted.stale)[0].data[FIELDS.name]).to.not.equal('在宜搭里改过');
    expect(instanceOf('X-HAND-1')).to.have.length(0);
    expect(instanceOf(planted.goneInOkki)).to.have.length(0);
    expect(await svc.connector.stores.ledger.get(planted.goneInOkki)).to.include({ gone: 'deleted' });

    const again = await run({ mode: 'audit' });
    for (const k of ['missing', 'duplicates', 'stale', 'orphans'] as const) expect(again.audit![k], k).to.deep.equal({ count: 0, product_nos: [] });
    expect([...instancesByProductNo(sims.dt).values()].every((n) => n === 1)).to.equal(true);
    expect(instancesByProductNo(sims.dt).size).to.equal(CATALOGUE - 1);
    // and an ordinary run afterwards has nothing to do
    const inc = await run({ mode: 'full' });
    expect(inc.counts).to.include({ created: 0, updated: 0 });
  });

  it('orphans are treated per SYNC_DELETIONS under the guard: more than SYNC_DELETE_MAX need confirmDeletes', async () => {
    const many = nos().slice(0, 3);
    sims.okki.catalog.delete(many, 'remove');
    // the guard is per service: a second one on the same store with a smaller maximum
    const strict = await startInProcess(sims, liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 'store.sqlite')}`, SYNC_DELETIONS: 'delete', SYNC_DELETE_MAX: '2' }));
    try {
      const post = async (body: Record<string, unknown>) => (await strict.post({ ...body, wait: true })).json as RunRecord;
      const guarded = await post({ mode: 'audit', repair: true });
      expect(guarded.status).to.equal('partial');
      expect(guarded.gone?.guarded).to.deep.include({ count: 3, max: 2, confirm: '{"mode":"audit","repair":true,"confirmDeletes":true}' });
      for (const no of many) expect(instanceOf(no), no).to.have.length(1);
      const confirmed = await post({ mode: 'audit', repair: true, confirmDeletes: true });
      expect(confirmed.status, JSON.stringify(confirmed.failures)).to.equal('succeeded');
      expect(confirmed.audit!.repaired!.orphansDeleted).to.equal(3);
      for (const no of many) expect(instanceOf(no), no).to.have.length(0);
    } finally {
      await strict.close();
    }
  });
});
