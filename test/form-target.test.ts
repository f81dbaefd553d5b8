/**
 * YIDA_TARGET=form end to end: the real composition root and the real SDK against the DingTalk simulator serving a
 * plain form, over loopback sockets. Batches, their cost in metered calls, ids matched to records whatever order
 * Yida answers in, a refused record parked alone, ambiguous batches reconciled without duplicates, adoption of a form
 * already full of records (sliced under the 5,000-row paging limit).
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { FIELDS, liveEnv, startInProcess, startSims, tempDir, type InProcessService, type Sims } from './helpers/e2e.js';
import type { RunRecord } from '../src/core/index.js';
import { loadConfig } from '../src/config.js';

const KEY = FIELDS.productNo;

describe('form target (YIDA_TARGET=form), e2e', function () {
  this.timeout(120_000);

  let sims: Sims | undefined;
  let svc: InProcessService | undefined;
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => { tmp = tempDir('form-target-'); });
  afterEach(async () => {
    await svc?.close();
    svc = undefined;
    await sims?.close();
    sims = undefined;
    tmp.remove();
  });

  async function start(products: number, env: Record<string, string> = {}, knobs: Record<string, unknown> = {}): Promise<{ s: InProcessService; sim: Sims }> {
    sims = await startSims({ okki: { products }, dt: { formKind: 'plain', knobs } });
    svc = await startInProcess(sims, liveEnv(sims, {
      STORE_URL: `sqlite://${join(tmp.dir, 'store.sqlite')}`, YIDA_TARGET: 'form', ROBOT_REPORT: 'every', ...env,
    }));
    return { s: svc, sim: sims };
  }
  async function run(s: InProcessService, body: Record<string, unknown> = {}): Promise<RunRecord> {
    const r = await s.post({ ...body, wait: true });
    expect(r.status, r.text).to.equal(200);
    return r.json as RunRecord;
  }
  /** form records by key: how many hold each product number, and the data of each */
  function byKey(sim: Sims): Map<string, Array<Record<string, unknown>>> {
    const m = new Map<string, Array<Record<string, unknown>>>();
    for (const r of sim.dt.formInstances()) { const k = String(r.data[KEY]); m.set(k, [...(m.get(k) ?? []), r.data]); }
    return m;
  }
  function expectOnePerProduct(sim: Sims): void {
    const m = byKey(sim);
    const nos = [...sim.okki.catalog.all()].map((p) => String(p.product_no)).sort();
    expect([...m.keys()].sort(), 'one record per product, no stranger').to.deep.equal(nos);
    const dupes = [...m].filter(([, v]) => v.length > 1).map(([k]) => k);
    expect(dupes, 'duplicated product numbers').to.deep.equal([]);
  }
  const apiCalls = (sim: Sims, api: string) => sim.dt.calls().byApi[api as keyof ReturnType<Sims['dt']['calls']>['byApi']]?.calls ?? 0;

  it('backfills in batches of YIDA_BATCH_SIZE, a handful of metered calls, then an unchanged run costs none', async () => {
    const { s, sim } = await start(250);
    const first = await run(s);
    expect(first.status, JSON.stringify(first.failures)).to.equal('succeeded');
    expect(first.counts.created).to.equal(250);
    expectOnePerProduct(sim);
    // the data is the mapping's
    for (const [no, [data]] of byKey(sim)) expect(data[FIELDS.name], no).to.equal(sim.okki.catalog.get(no)!.name);
    expect(apiCalls(sim, 'yida.batchSaveFormData')).to.equal(3);
    expect(apiCalls(sim, 'yida.startInstance')).to.equal(0);
    // a scan of the (empty) form before the backfill, three batches, the new ids read back until their order is trusted
    expect(sim.dt.calls().metered).to.be.at.most(1 + 3 + 3);
    expect(first.calls?.dingtalk).to.equal(sim.dt.calls().metered);

    const before = sim.dt.calls().metered;
    const idle = await run(s, { mode: 'full' });
    expect(idle.counts.unchanged).to.equal(250);
    expect(sim.dt.calls().metered - before).to.equal(0);
  });

  it('writes changes in one batch update, each to its own record', async () => {
    const { s, sim } = await start(60, { YIDA_BATCH_SIZE: '50' });
    await run(s);
    expect(apiCalls(sim, 'yida.batchSaveFormData')).to.equal(2);
    const edited = ['P-000003', 'P-000010', 'P-000042'];
    for (const no of edited) sim.okki.catalog.edit(no, { name: `改过的 ${no}` });
    const r = await run(s);
    expect(r.counts.updated).to.equal(3);
    expect(apiCalls(sim, 'yida.batchUpdateFormDataByInstanceMap')).to.equal(1);
    const m = byKey(sim);
    for (const no of edited) expect(m.get(no)![0][FIELDS.name]).to.equal(`改过的 ${no}`);
    expectOnePerProduct(sim);
  });

  it('matches new ids to their records when Yida answers a batch out of order', async () => {
    const { s, sim } = await start(230, {}, { batchResultOrder: 'shuffled' });
    await run(s);
    expectOnePerProduct(sim);
    // every ledger entry points at the record that holds its product: an update of each lands on its own record
    for (const p of sim.okki.catalog.all()) sim.okki.catalog.edit(String(p.product_no), { name: `新名 ${p.product_no}` });
    const r = await run(s);
    expect(r.counts.updated).to.equal(230);
    for (const [no, [data]] of byKey(sim)) expect(data[FIELDS.name], no).to.equal(`新名 ${no}`);
    // out of order is noticed: every batch is read back
    expect(apiCalls(sim, 'yida.batchGetFormDataByIdList')).to.equal(3);
  });

  it('a record that breaks a form rule is refused alone, with its reason; the rest of its batch is saved', async () => {
    const { s, sim } = await start(40, {}, { fieldMaxLength: { [FIELDS.name]: 30 } });
    sim.okki.catalog.edit('P-000007', { name: '很长的名字'.repeat(10) });
    const r = await run(s);
    expect(r.counts.created).to.equal(39);
    // refused for good: parked and counted as rejected (issue 12 item 2), so it does not hold the cursor
    expect(r.counts).to.include({ rejected: 1, failed: 0 });
    expect(r.parked?.map((p) => p.product_no)).to.deep.equal(['P-000007']);
    expect(r.failures).to.have.length(1);
    expect(r.failures[0]).to.include({ product_no: 'P-000007', code: 'YIDA_REJECTED' });
    expect(r.failures[0].reason).to.include('exceedLengthLimit');
    expect(apiCalls(sim, 'yida.batchSaveFormData')).to.equal(1);
    expect(apiCalls(sim, 'yida.saveFormData'), 'only the refused record is tried alone').to.equal(1);
    expect(byKey(sim).has('P-000007')).to.equal(false);
    const again = await run(s); // incremental: a full run started by a person tries parked products again
    expect(again.counts.rejected).to.equal(1);
    expect(apiCalls(sim, 'yida.saveFormData') + apiCalls(sim, 'yida.batchSaveFormData'), 'the parked record costs no call').to.equal(2);
    expect(byKey(sim).size).to.equal(39);
  });

  const searches = (sim: Sims) => apiCalls(sim, 'yida.searchFormDataSecondGeneration');

  it('a batch that commits a prefix and answers 500: the committed records are found by one search, the rest finished by the next run; nothing lost, nothing twice', async () => {
    const { s, sim } = await start(120, { YIDA_BATCH_SIZE: '50', YIDA_SEARCH_LAG: '0' },
      { prefixThen500Rates: { 'yida.batchSaveFormData': 1 }, batchPrefix: 'half' });
    const first = await run(s);
    // three batches (50, 50, 20), each committed half and answered 500
    expect(apiCalls(sim, 'yida.batchSaveFormData')).to.equal(3);
    expect(sim.dt.formInstanceCount()).to.equal(60);
    expect(first.counts.created).to.equal(60);
    expect(first.counts.failed).to.equal(60);
    expect(new Set(first.failures.map((f) => f.code))).to.deep.equal(new Set(['YIDA_WRITE_AMBIGUOUS']));
    // reconciled in bulk: the key scan before the backfill, then one search per ambiguous batch (not one per record)
    expect(searches(sim)).to.be.at.most(1 + 3);
    expect(first.status).to.equal('partial');

    sim.dt.setKnobs({ prefixThen500Rates: {} });
    const before = searches(sim);
    const second = await run(s);
    expect(second.status, JSON.stringify(second.failures)).to.equal('succeeded');
    expect(second.counts.created).to.equal(60);
    // no cursor yet (the first run did not finish): the key scan again, then the 60 still pending looked up together
    expect(searches(sim) - before).to.equal(1 + 1);
    expectOnePerProduct(sim);
  });

  for (const variant of ['apply', 'refuse', 'ignore'] as const) {
    it(`a batch whose answer is lost after it committed is settled by search, never saved twice (\`in\` search ${variant})`, async () => {
      const { s, sim } = await start(70, { YIDA_SEARCH_LAG: '0' }, { resetRates: { 'yida.batchSaveFormData': 1 }, searchInOperator: variant });
      // records of no product: a search that ignores `in` answers them too, which is how it is caught
      sim.dt.seedFormInstances(sim.dt.yida.formUuid, Array.from({ length: 5 }, (_, i) => ({ data: { [KEY]: `OLD-${i}` } })));
      const r = await run(s);
      expect(r.status, JSON.stringify(r.failures.slice(0, 3))).to.equal('succeeded');
      expect(r.counts.created).to.equal(70);
      // one batch (two when a slow machine let the batch's linger run out before the list was read)
      const batches = apiCalls(sim, 'yida.batchSaveFormData');
      expect(batches).to.be.within(1, 2);
      const m = byKey(sim);
      expect(m.size).to.equal(75);
      expect([...m.values()].every((v) => v.length === 1), 'nothing saved twice').to.equal(true);
      // the key scan, then one bulk search per lost batch when `in` works; otherwise (refused, or ignored and noticed
      // on its first page) one failed bulk search and one search per key
      if (variant === 'apply') expect(searches(sim)).to.be.within(2, 1 + batches);
      else expect(searches(sim)).to.equal(1 + 1 + 70);
    });
  }

  it('adopts the records a form already holds: a key scan sliced under the paging limit, no duplicates', async () => {
    // a query pages through 200 rows at most here (Yida: 5,000); the form holds 250
    const { s, sim } = await start(120, {}, { searchWindow: 200 });
    const t0 = Date.now() - 30 * 86400_000;
    // 90 of the products are already there (an earlier tool filled the form), plus 160 records of no product
    const seeded = [...sim.okki.catalog.all()].slice(0, 90).map((p, i) => ({ data: { [KEY]: String(p.product_no), [FIELDS.name]: '旧名' }, createTime: t0 + i * 3_600_000 }));
    const strangers = Array.from({ length: 160 }, (_, i) => ({ data: { [KEY]: `OLD-${i}`, [FIELDS.name]: '别的' }, createTime: t0 + i * 60_000 }));
    sim.dt.seedFormInstances(sim.dt.yida.formUuid, [...seeded, ...strangers]);
    const r = await run(s);
    expect(r.status, JSON.stringify(r.failures.slice(0, 3))).to.equal('succeeded');
    expect(r.counts.created).to.equal(30);
    expect(r.counts.updated).to.equal(90);
    const m = byKey(sim);
    expect(m.size).to.equal(280);
    expect([...m.values()].every((v) => v.length === 1)).to.equal(true);
    expect(m.get('P-000001')![0][FIELDS.name]).to.equal(sim.okki.catalog.get('P-000001')!.name);
    // Yida documents 5,000; this form refuses past 200: the first refusal is learnt from, the slice read in halves
    const refused = sim.dt.requests({ api: 'yida.searchFormDataSecondGeneration' }).filter((q) => q.status !== 200);
    expect(refused.length, 'at most one refused page').to.be.at.most(1);
    expect(searches(sim), 'the scan took several slices').to.be.greaterThan(4);
  });

  it('YIDA_TARGET and YIDA_BATCH_SIZE are validated, naming the variable', () => {
    const base = { SANDBOX: '1' };
    expect(loadConfig(base).yida).to.include({ target: 'process', batchSize: 100 });
    expect(loadConfig({ ...base, YIDA_TARGET: 'Form', YIDA_BATCH_SIZE: '25' }).yida).to.include({ target: 'form', batchSize: 25 });
    for (const [name, value] of [['YIDA_TARGET', 'table'], ['YIDA_BATCH_SIZE', '0'], ['YIDA_BATCH_SIZE', '101'], ['YIDA_BATCH_SIZE', 'ten']]) {
      let err: any;
      try { loadConfig({ ...base, [name]: value }); } catch (e) { err = e; }
      expect(err?.code, `${name}=${value}`).to.equal('CONFIG_INVALID');
      expect(err.message).to.include(name).and.not.include(`=${value}`);
    }
  });
});
