/**
 * The mirror with YIDA_TARGET=form end to end: the real composition root (the batching form sink) and the real SDK
 * against the DingTalk simulator serving a plain form, over loopback sockets. Gone products' records are removed in
 * batches (batchRemovalByFormInstanceIdList), marked with the batch update, a batch removal whose answer is lost
 * (a prefix committed, then 500) is settled by the next sweep, and the audit repairs planted drift.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { FIELDS, liveEnv, startInProcess, startSims, tempDir, type InProcessService, type Sims } from './helpers/e2e.js';
import type { RunRecord } from '../src/core/index.js';

const KEY = FIELDS.productNo;

describe('mirror e2e on the form target (YIDA_TARGET=form)', function () {
  this.timeout(120_000);

  let sims: Sims | undefined;
  let svc: InProcessService | undefined;
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => { tmp = tempDir('mirror-form-target-'); });
  afterEach(async () => { await svc?.close(); svc = undefined; await sims?.close(); sims = undefined; tmp.remove(); });

  async function start(products: number, env: Record<string, string> = {}): Promise<{ s: InProcessService; sim: Sims }> {
    sims = await startSims({ okki: { products }, dt: { formKind: 'plain' } });
    svc = await startInProcess(sims, liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 'store.sqlite')}`, YIDA_TARGET: 'form', SYNC_DELETIONS: 'delete', ...env }));
    const first = await run(svc, {});
    expect(first.status, JSON.stringify(first.failures)).to.equal('succeeded');
    return { s: svc, sim: sims };
  }
  async function run(s: InProcessService, body: Record<string, unknown>): Promise<RunRecord> {
    const r = await s.post({ ...body, wait: true });
    expect(r.status, r.text).to.equal(200);
    return r.json as RunRecord;
  }
  const perKey = (sim: Sims) => {
    const m = new Map<string, number>();
    for (const r of sim.dt.formInstances()) { const k = String(r.data[KEY]); m.set(k, (m.get(k) ?? 0) + 1); }
    return m;
  };
  const live = (sim: Sims) => [...sim.okki.catalog.all()].filter((p) => p.enable_flag !== 0).map((p) => String(p.product_no));
  const calls = (sim: Sims, api: string) => sim.dt.requests({ api: api as never }).length;

  it('gone products\' records are removed in one batch call per run; the guard and a short list delete nothing', async () => {
    const { s, sim } = await start(60, { SYNC_DELETE_MAX: '8' });
    const nos = live(sim);
    sim.okki.catalog.delete(nos.slice(0, 3), 'flag');
    sim.okki.catalog.delete(nos.slice(3, 7), 'remove');
    const inc = await run(s, {});
    expect(inc.counts.deleted).to.equal(3);
    const sweep = await run(s, { mode: 'sweep' });
    expect(sweep.counts.deleted).to.equal(4);
    expect(calls(sim, 'yida.batchRemovalByFormInstanceIdList'), 'one batch removal per run').to.equal(2);
    expect(calls(sim, 'yida.deleteFormData')).to.equal(0);
    for (const no of nos.slice(0, 7)) expect(perKey(sim).has(no), no).to.equal(false);
    expect(sim.dt.formInstances()).to.have.length(53);

    sim.okki.catalog.delete(nos.slice(7, 17), 'remove');
    const guarded = await run(s, { mode: 'sweep' });
    expect(guarded.gone?.guarded?.count).to.equal(10);
    expect(sim.dt.formInstances()).to.have.length(53);
    sim.okki.setKnobs({ shortList: { fraction: 0.6, countAs: 'short' } });
    const short = await run(s, { mode: 'sweep', confirmDeletes: true });
    sim.okki.setKnobs({ shortList: null });
    // only the 10 really deleted are proven gone; the products the short list left out are all still in OKKI
    expect(short.failures.map((f) => f.code)).to.include('OKKI_LIST_INCOMPLETE');
    expect(short.counts.deleted).to.equal(10);
    expect(sim.dt.formInstances()).to.have.length(43);
    expect([...perKey(sim).keys()].sort()).to.deep.equal(live(sim).sort());
  });

  it('a batch removal whose answer is lost (a prefix committed, then 500) is settled by the next sweep: none deleted-and-present', async () => {
    const { s, sim } = await start(40, { SYNC_DELETE_MAX: '20' });
    const gone = live(sim).slice(0, 12);
    sim.okki.catalog.delete(gone, 'remove');
    sim.dt.setKnobs({ prefixThen500Rates: { 'yida.batchRemovalByFormInstanceIdList': 1 }, batchPrefix: 'half' });
    const lost = await run(s, { mode: 'sweep' });
    sim.dt.setKnobs({ prefixThen500Rates: {} });
    expect(lost.status).to.equal('partial');
    expect(lost.counts.failed, 'every product of the lost batch failed').to.equal(gone.length);
    expect(lost.counts.deleted ?? 0).to.equal(0);
    const left = gone.filter((no) => perKey(sim).has(no));
    expect(left.length, 'part of the batch committed before the 500').to.be.below(gone.length);
    for (const no of gone) {
      const e = await s.connector.stores.ledger.get(no);
      expect(e?.state === 'pending' && e.op === 'remove', `${no} left pending`).to.equal(true);
    }
    const settled = await run(s, { mode: 'sweep' });
    expect(settled.status, JSON.stringify(settled.failures)).to.equal('succeeded');
    for (const no of gone) {
      expect(perKey(sim).has(no), no).to.equal(false);
      expect(await s.connector.stores.ledger.get(no)).to.include({ state: 'done', gone: 'deleted' });
    }
    expect([...perKey(sim).values()].every((n) => n === 1)).to.equal(true);
  });

  it('mark: onDelete written by the batch update; audit + repair on the form (extra duplicates removed in one batch)', async () => {
    const spec = JSON.parse(readFileSync(resolve(import.meta.dirname, '..', 'manifest', 'mapping.json'), 'utf8'));
    spec.onDelete = [{ field: 'selectField_status', label: '状态', value: '已停用' }];
    const mappingFile = join(tmp.dir, 'mapping.json');
    writeFileSync(mappingFile, JSON.stringify(spec));
    const { s, sim } = await start(30, { SYNC_DELETIONS: 'mark', MAPPING_FILE: mappingFile });
    const nos = live(sim);
    sim.okki.catalog.delete(nos.slice(0, 2), 'flag');
    const updatesBefore = calls(sim, 'yida.batchUpdateFormDataByInstanceMap');
    const inc = await run(s, {});
    expect(inc.counts.marked).to.equal(2);
    expect(calls(sim, 'yida.batchUpdateFormDataByInstanceMap') - updatesBefore, 'marks go in one batch update').to.equal(1);
    for (const no of nos.slice(0, 2)) expect(sim.dt.formInstances().find((r) => r.data[KEY] === no)!.data.selectField_status).to.equal('已停用');

    const idOf = (no: string) => sim.dt.formInstances().find((r) => r.data[KEY] === no)!.formInstanceId;
    sim.dt.plantDelete(idOf(nos[5]));
    for (const no of nos.slice(6, 9)) sim.dt.plantDuplicate(idOf(no));
    sim.dt.plantEdit(idOf(nos[10]), { [FIELDS.name]: '改过' });
    const audit = await run(s, { mode: 'audit' });
    expect(audit.audit).to.deep.include({
      missing: { count: 1, product_nos: [nos[5]] }, stale: { count: 1, product_nos: [nos[10]] }, orphans: { count: 0, product_nos: [] },
    });
    expect(audit.audit!.duplicates.product_nos.sort()).to.deep.equal(nos.slice(6, 9).sort());
    const removalsBefore = calls(sim, 'yida.batchRemovalByFormInstanceIdList');
    const repair = await run(s, { mode: 'audit', repair: true });
    expect(repair.audit!.repaired).to.deep.include({ created: 1, updated: 1, duplicatesRemoved: 3, failed: 0 });
    expect(calls(sim, 'yida.batchRemovalByFormInstanceIdList') - removalsBefore).to.equal(1);
    const clean = await run(s, { mode: 'audit' });
    for (const k of ['missing', 'duplicates', 'stale', 'orphans'] as const) expect(clean.audit![k].count, k).to.equal(0);
  });
});
