/**
 * Correctness gaps of issue 12, end to end in one process (buildConnector, the real SDK against the DingTalk
 * simulator, the OKKI simulator, the Koa app): a transformed key field, a poison product, a product number claimed by
 * a second product in a later run, and a targeted trigger during a run. Each block has simulators and a store of its own.
 */
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FIELDS, eventually, finishedRun, skuMapping, instancesByProductNo, liveEnv, robotText, startInProcess, startSims, tempDir,
  type InProcessService, type Sims,
} from './helpers/e2e.js';
import type { RunRecord } from '../src/core/index.js';

const SKU = (no: string) => `SKU-${no}`;

function plainMapping(path: string): string {
  writeFileSync(path, JSON.stringify({
    request: [
      { field: FIELDS.name, label: '产品名称', value: '{name}' },
      { field: FIELDS.productNo, label: '产品编码', value: '{product_no}' },
    ],
  }));
  return path;
}

async function run(svc: InProcessService, body: Record<string, unknown> = {}): Promise<RunRecord> {
  const r = await svc.post({ ...body, wait: true });
  expect(r.status, r.text).to.equal(200);
  return r.json as RunRecord;
}

const hours = (n: number) => new Date(Date.now() - n * 3600_000);
/** OKKI's wall-clock text (Asia/Shanghai) for an instant. */
function okkiTime(d: Date): string {
  return new Date(d.getTime() + 8 * 3600_000).toISOString().replace('T', ' ').slice(0, 19);
}

describe('e2e correctness (issue 12)', function () {
  this.timeout(180_000);

  describe('1: a transformed key field (SKU-{product_no})', () => {
    let sims: Sims;
    let svc: InProcessService;
    const tmp = tempDir('e2e-key-');
    before(async () => {
      sims = await startSims({ okki: { products: 12 } });
    });
    after(async () => { await svc?.close(); await sims?.close(); tmp.remove(); });

    it('ambiguous starts (committed, then 500) are reconciled by searching the value Yida holds: one instance per key', async () => {
      const env = liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 'a.sqlite')}`, MAPPING_FILE: skuMapping(join(tmp.dir, 'sku.json')) });
      svc = await startInProcess(sims, env);
      sims.dt.setKnobs({ commitThen500Rate: 1 });
      let first: RunRecord;
      try { first = await run(svc); } finally { sims.dt.setKnobs({ commitThen500Rate: 0 }); }
      const second = await run(svc);
      const third = await run(svc, { mode: 'full' });
      const perKey = instancesByProductNo(sims.dt);
      const nos = [...sims.okki.catalog.all()].map((p) => p.product_no);
      expect([...perKey.keys()].sort()).to.deep.equal(nos.map(SKU).sort());
      expect([...perKey.values()].every((n) => n === 1), `instances per key: ${JSON.stringify([...perKey])}`).to.equal(true);
      expect(first.counts.failed, JSON.stringify(first.failures.slice(0, 3))).to.equal(0);
      expect(second.status).to.equal('succeeded');
      expect(third.counts.unchanged, 'the ledger is keyed by the value Yida holds').to.equal(nos.length);
      // keyed by SKU-…, the entry still says which product number it is (a sweep needs it)
      expect(await svc.connector.stores.ledger.get(SKU(nos[0]))).to.include({ productNo: nos[0], state: 'done' });
      expect(await svc.connector.stores.ledger.get(nos[0]), 'nothing under the bare product number').to.equal(undefined);
    });

    it('a lost ledger: the backfill scan is matched by the value Yida holds, so every instance is adopted, none created', async () => {
      await svc.close();
      const startsBefore = sims.dt.requests({ api: 'yida.startInstance' }).length;
      svc = await startInProcess(sims, liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 'lost.sqlite')}`, MAPPING_FILE: join(tmp.dir, 'sku.json') }));
      const r = await run(svc);
      expect(r.counts.created).to.equal(0);
      expect(sims.dt.requests({ api: 'yida.startInstance' }).length).to.equal(startsBefore);
      expect([...instancesByProductNo(sims.dt).values()].every((n) => n === 1)).to.equal(true);
    });
  });

  describe('2: a product Yida refuses every time is parked; the cursor moves', () => {
    let sims: Sims;
    let svc: InProcessService;
    const tmp = tempDir('e2e-poison-');
    const POISON = 'P-POISON-1';
    before(async () => {
      sims = await startSims({ okki: { products: 6 } });
      svc = await startInProcess(sims, liveEnv(sims, {
        STORE_URL: `sqlite://${join(tmp.dir, 's.sqlite')}`, MAPPING_FILE: plainMapping(join(tmp.dir, 'm.json')), SYNC_CURSOR_MAX_AGE: '2',
      }));
      await run(svc); // the catalogue as it is
      sims.dt.setKnobs({ fieldMaxLength: { [FIELDS.name]: 20 } });
    });
    after(async () => { await svc?.close(); await sims?.close(); tmp.remove(); });

    // only the poison breaks the form rule: its refused starts are the starts answered exceedLengthLimit
    const startsFor = (_no: string) => sims.dt.requests({ api: 'yida.startInstance' }).filter((r) => r.code === 'exceedLengthLimit').length;

    it('a refused product is rejected with Yida\'s reason and parked; the run is partial and the cursor moves to the window end', async () => {
      sims.okki.catalog.upsert([{ product_no: POISON, name: '这是一个名字太长以至于宜搭表单规则拒绝保存的产品名称' }]);
      const r = await run(svc);
      expect(r.status).to.equal('partial');
      expect(r.counts).to.include({ rejected: 1, failed: 0 });
      expect(r.failures.map((f) => [f.product_no, f.code])).to.deep.equal([[POISON, 'YIDA_REJECTED']]);
      expect(r.cursorAfter, 'the cursor moved').to.equal(r.window.end);
      expect(r.parked?.map((p) => p.product_no)).to.deep.equal([POISON]);
      const msg = await eventually('the report', () => sims.dt.robotMessages().find((m) => m.msgUuid === r.id));
      expect(robotText(msg.body)).to.include('已搁置');
    });

    it('unchanged, it is skipped without a call in later runs (still listed as parked); the cursor keeps moving', async () => {
      const before = startsFor(POISON);
      const r = await run(svc); // the lookback overlap reads it again
      expect(r.failures.map((f) => f.product_no)).to.include(POISON);
      expect(r.parked?.[0]).to.include({ product_no: POISON, code: 'YIDA_REJECTED' });
      expect(startsFor(POISON), 'no second start for unchanged content').to.equal(before);
      expect(r.cursorAfter).to.equal(r.window.end);
      expect(r.cursorStale, 'the cursor is fresh').to.equal(undefined);
    });

    it('a product_nos run naming it tries it again', async () => {
      const before = startsFor(POISON);
      const r = await run(svc, { product_nos: [POISON] });
      expect(r.counts.rejected).to.equal(1);
      expect(startsFor(POISON)).to.equal(before + 1);
    });

    it('changed content is tried again, and syncs', async () => {
      sims.okki.catalog.upsert([{ product_no: POISON, name: '短名称' }]);
      const r = await run(svc);
      expect(r.status, JSON.stringify(r.failures)).to.equal('succeeded');
      expect(r.counts.created).to.equal(1);
      expect(r.parked).to.equal(undefined);
      expect(instancesByProductNo(sims.dt).get(POISON)).to.equal(1);
    });

    it('transient failures still hold the cursor, and a cursor older than SYNC_CURSOR_MAX_AGE raises an alert', async () => {
      sims.okki.catalog.upsert([{ product_no: 'P-TRANSIENT-1', name: '暂时失败' }]);
      sims.dt.setKnobs({ errorRates: { 'yida.startInstance': 1 } });
      try {
        const held = await run(svc);
        expect(held.counts.failed).to.equal(1);
        expect(held.cursorAfter).to.equal(held.cursorBefore);
        await new Promise((r) => setTimeout(r, 2_500));
        const stale = await run(svc);
        expect(stale.cursorStale?.maxAgeSeconds).to.equal(2);
        expect(stale.cursorStale?.ageSeconds).to.be.greaterThan(2);
        const msg = await eventually('the report', () => sims.dt.robotMessages().find((m) => m.msgUuid === stale.id));
        expect(robotText(msg.body)).to.match(/告警：同步游标已 .* 未前进/);
      } finally { sims.dt.setKnobs({ errorRates: {} }); }
    });
  });

  describe('6: a product number held by one OKKI product is refused to another, in a later run', () => {
    let sims: Sims;
    let svc: InProcessService;
    const tmp = tempDir('e2e-dupno-');
    after(async () => { await svc?.close(); await sims?.close(); tmp.remove(); });

    it('the second product (another product_id, same number once trimmed) is rejected DUPLICATE_PRODUCT_NO; the first keeps its instance', async () => {
      sims = await startSims({ okki: { products: 3 } });
      // The holder was last changed two hours ago: the next incremental window does not read it again.
      sims.okki.catalog.upsert([{ product_no: 'X-DUP', name: '原产品', update_time: okkiTime(hours(2)) }]);
      svc = await startInProcess(sims, liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 's.sqlite')}`, MAPPING_FILE: plainMapping(join(tmp.dir, 'm.json')) }));
      const first = await run(svc);
      expect(first.counts.failed).to.equal(0);
      const holder = sims.dt.instances().find((i) => i.data[FIELDS.productNo] === 'X-DUP')!;
      expect(holder.data[FIELDS.name]).to.equal('原产品');

      sims.okki.catalog.upsert([{ product_no: 'X-DUP ', name: '冒名产品' }]);
      const second = await run(svc);
      const f = second.failures.find((x) => x.product_no === 'X-DUP');
      expect(f?.code, JSON.stringify(second.failures)).to.equal('DUPLICATE_PRODUCT_NO');
      expect(second.counts).to.include({ rejected: 1, failed: 0 });
      const after = sims.dt.instances().filter((i) => i.data[FIELDS.productNo] === 'X-DUP');
      expect(after).to.have.length(1);
      expect(after[0].data[FIELDS.name], 'the holder\'s instance was not overwritten').to.equal('原产品');
    });
  });

  describe('7: a targeted trigger during a run', () => {
    let sims: Sims;
    let svc: InProcessService;
    const tmp = tempDir('e2e-followup-');
    after(async () => { await svc?.close(); await sims?.close(); tmp.remove(); });

    it('is queued as a follow-up run, the answer says so, and the follow-up runs once the run is over', async () => {
      sims = await startSims({ okki: { products: 5 } });
      svc = await startInProcess(sims, liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 's.sqlite')}`, MAPPING_FILE: plainMapping(join(tmp.dir, 'm.json')) }));
      await run(svc);
      const target = [...sims.okki.catalog.all()][2].product_no;
      sims.okki.setKnobs({ endpointLatencyMs: { groups: [1500, 1500] } });
      let running;
      let targeted;
      let full;
      try {
        running = await svc.post({});
        expect(running.json.coalesced).to.equal(false);
        targeted = await svc.post({ product_nos: [target] });
        full = await svc.post({ mode: 'full', wait: true });
      } finally { sims.okki.setKnobs({ endpointLatencyMs: {} }); }
      expect(targeted.status).to.equal(202);
      expect(targeted.json).to.deep.equal({ runId: running.json.runId, status: 'running', coalesced: true, queued: true, followUp: { mode: 'targeted', productNos: [target] } });
      expect(full.status, 'a queued call answers at once, even with wait:true').to.equal(202);
      expect(full.json).to.include({ runId: running.json.runId, queued: true });
      expect(full.json.followUp).to.deep.equal({ mode: 'full' });
      // the plain incremental trigger still simply joins
      await finishedRun(svc.url, running.json.runId);
      const runs = await eventually('both follow-up runs to finish', async () => {
        const all = (await svc.get('/runs?limit=20')).json as RunRecord[];
        const t = all.find((r) => r.mode === 'targeted');
        const f = all.find((r) => r.mode === 'full');
        return t && f && t.status !== 'running' && f.status !== 'running' ? { t, f } : undefined;
      }, 60_000, 200);
      expect(runs.t.productNos).to.deep.equal([target]);
      expect(runs.t.counts.fetched).to.equal(1);
      expect(Date.parse(runs.t.startedAt)).to.be.at.least(Date.parse((await svc.get(`/runs/${running.json.runId}`)).json.finishedAt));
      expect(runs.f.counts.fetched).to.equal([...sims.okki.catalog.all()].length);
    });

    it('a plain incremental trigger during a run still just joins it', async () => {
      sims.okki.setKnobs({ endpointLatencyMs: { groups: [800, 800] } });
      try {
        const first = await svc.post({});
        const second = await svc.post({ mode: 'incremental' });
        expect(second.json).to.deep.equal({ runId: first.json.runId, status: 'running', coalesced: true });
      } finally { sims.okki.setKnobs({ endpointLatencyMs: {} }); }
    });
  });
});
