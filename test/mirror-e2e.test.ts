/**
 * The mirror end to end on the process target (DESIGN "Mirror"): the real composition root, the real SDK against the
 * DingTalk simulator and the real OKKI client against the OKKI simulator, over loopback sockets. Deleted products
 * (listed with enable_flag 0, gone from the list, reported by push), the sweep and its guard, a short OKKI list, and
 * products that come back.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import {
  FIELDS, instancesByProductNo, liveEnv, robotText, startInProcess, startSims, tempDir, type InProcessService, type Sims,
} from './helpers/e2e.js';
import type { RunRecord } from '../src/core/index.js';

const CATALOGUE = 30;

describe('mirror e2e (process target): gone products, sweep, guard', function () {
  this.timeout(90_000);

  let sims: Sims;
  let svc: InProcessService;
  let tmp: ReturnType<typeof tempDir>;

  before(async () => {
    tmp = tempDir('mirror-e2e-');
    sims = await startSims({ okki: { products: CATALOGUE } });
    svc = await startInProcess(sims, liveEnv(sims, {
      STORE_URL: `sqlite://${join(tmp.dir, 'store.sqlite')}`, SYNC_DELETIONS: 'delete', SYNC_DELETE_MAX: '5',
    }));
  });
  after(async () => { await svc?.close(); await sims?.close(); tmp?.remove(); });

  async function run(body: Record<string, unknown> = {}): Promise<RunRecord> {
    const r = await svc.post({ ...body, wait: true });
    expect(r.status, r.text).to.equal(200);
    return r.json as RunRecord;
  }
  const present = () => instancesByProductNo(sims.dt);
  const liveNos = () => [...sims.okki.catalog.all()].filter((p) => p.enable_flag !== 0).map((p) => p.product_no);
  const lastRobotText = () => robotText(sims.dt.robotMessages().at(-1)?.body);
  const ledger = (no: string) => svc.connector.stores.ledger.get(no);
  const firstDeleted: string[] = [];

  it('backfills the catalogue: one instance per product', async () => {
    const r = await run();
    expect(r.status).to.equal('succeeded');
    expect(present().size).to.equal(CATALOGUE);
  });

  it('a product listed with enable_flag 0 in an incremental run is gone at once: its instance is removed, once', async () => {
    const [a, b] = liveNos();
    firstDeleted.push(a, b);
    sims.okki.catalog.delete([a, b], 'flag');
    const r = await run();
    expect(r.status, JSON.stringify(r)).to.equal('succeeded');
    expect(r.counts.deleted).to.equal(2);
    expect(r.gone?.found).to.deep.include({ count: 2 });
    expect(present().has(a) || present().has(b)).to.equal(false);
    expect(present().size).to.equal(CATALOGUE - 2);
    expect((await ledger(a))).to.include({ state: 'done', gone: 'deleted' });
    expect(lastRobotText()).to.include('删除 **2**');
    // read again (lookback): nothing more to do, no second removal call
    const removals = sims.dt.requests({ api: 'yida.deleteInstance' }).length;
    const again = await run({ mode: 'full' });
    expect(again.counts.deleted ?? 0).to.equal(0);
    expect(sims.dt.requests({ api: 'yida.deleteInstance' }).length).to.equal(removals);
  });

  it('a product removed from the list is found by the sweep, proven by /v1/product/info, and its instance removed', async () => {
    const gone = liveNos().slice(0, 3);
    sims.okki.catalog.delete(gone, 'remove');
    const inc = await run();
    expect(inc.counts.deleted ?? 0, 'an incremental run cannot see a product that left the list').to.equal(0);
    const sweep = await run({ mode: 'sweep' });
    expect(sweep.mode).to.equal('sweep');
    expect(sweep.status, JSON.stringify(sweep)).to.equal('succeeded');
    expect(sweep.sweep).to.deep.include({ complete: true, candidates: 3 });
    expect(sweep.counts.deleted).to.equal(3);
    expect(sweep.gone?.found.product_nos.sort()).to.deep.equal([...gone].sort());
    for (const no of gone) expect(present().has(no), no).to.equal(false);
    expect(sweep.window).to.deep.equal({ start: null, end: null });
    expect(sweep.cursorAfter, 'a sweep leaves the cursor').to.equal(sweep.cursorBefore);
    expect(lastRobotText()).to.include('全量核对');
  });

  it('guard: more gone products than SYNC_DELETE_MAX → nothing removed, partial DELETE_GUARD, the report says how to confirm; confirmDeletes acts', async () => {
    const gone = liveNos().slice(0, 7);
    sims.okki.catalog.delete(gone, 'remove');
    const before = present().size;
    const guarded = await run({ mode: 'sweep' });
    expect(guarded.status).to.equal('partial');
    expect(guarded.failures.map((f) => f.code)).to.include('DELETE_GUARD');
    expect(guarded.gone?.guarded).to.deep.include({ count: 7, max: 5, confirm: '{"mode":"sweep","confirmDeletes":true}' });
    expect(guarded.gone?.guarded?.sampled).to.deep.equal({ checked: 5, stillInOkki: 0 });
    expect(guarded.counts.deleted ?? 0).to.equal(0);
    expect(present().size).to.equal(before);
    const text = lastRobotText();
    expect(text).to.include('删除保护').and.include('**7**').and.include('confirmDeletes');

    const confirmed = await run({ mode: 'sweep', confirmDeletes: true });
    expect(confirmed.status, JSON.stringify(confirmed.failures)).to.equal('succeeded');
    expect(confirmed.counts.deleted).to.equal(7);
    expect(confirmed.options).to.deep.equal({ confirmDeletes: true });
    expect(present().size).to.equal(before - 7);
  });

  it('a short OKKI list that looks complete (60 %, data.count agreeing) deletes nothing, with or without confirmation', async () => {
    const before = present();
    sims.okki.setKnobs({ shortList: { fraction: 0.6, countAs: 'short' } });
    try {
      const guarded = await run({ mode: 'sweep' });
      expect(guarded.sweep?.complete, 'the list looks complete').to.equal(true);
      expect(guarded.status).to.equal('partial');
      expect(guarded.counts.deleted ?? 0).to.equal(0);
      // the guard's sample already shows the list is short
      expect(guarded.gone?.guarded?.sampled?.stillInOkki).to.be.greaterThan(0);
      expect(lastRobotText()).to.include('仍然存在');
      const confirmed = await run({ mode: 'sweep', confirmDeletes: true });
      expect(confirmed.counts.deleted ?? 0).to.equal(0);
      expect(confirmed.failures.map((f) => f.code)).to.include('OKKI_LIST_INCOMPLETE');
      expect(confirmed.sweep?.stillInOkki?.count).to.be.greaterThan(0);
      expect(present()).to.deep.equal(before);
    } finally {
      sims.okki.setKnobs({ shortList: null });
    }
  });

  it('a failing list page ends the sweep before any action (SWEEP_INCOMPLETE)', async () => {
    const doomed = liveNos()[0];
    sims.okki.catalog.delete([doomed], 'remove');
    sims.okki.setKnobs({ failPage: { pages: [1], kind: 'http5xx', times: 0 } });
    try {
      const r = await run({ mode: 'sweep', confirmDeletes: true });
      expect(r.status).to.equal('failed');
      expect(r.error?.code).to.equal('SWEEP_INCOMPLETE');
      expect(r.sweep?.complete).to.equal(false);
      expect(present().has(doomed)).to.equal(true);
    } finally {
      sims.okki.setKnobs({ failPage: null });
    }
    const healed = await run({ mode: 'sweep' });
    expect(healed.counts.deleted).to.equal(1);
    expect(present().has(doomed)).to.equal(false);
  });

  it('a push delete event acts per SYNC_DELETIONS; one for a product OKKI still has only syncs it', async () => {
    const [gone, alive] = liveNos();
    sims.okki.catalog.delete([gone], 'remove');
    const t = await svc.connector.engine.trigger({ trigger: 'push', deletedProductNos: [gone, alive] });
    const r = (await svc.connector.engine.waitForRun(t.runId, 30_000))!;
    expect(r.mode).to.equal('targeted');
    expect(r.status, JSON.stringify(r.failures)).to.equal('succeeded');
    expect(r.counts.deleted).to.equal(1);
    expect(present().has(gone)).to.equal(false);
    expect(present().get(alive)).to.equal(1);
  });

  it('a deleted product that comes back gets a new instance', async () => {
    const back = firstDeleted[0];
    expect(present().has(back)).to.equal(false);
    expect(sims.okki.catalog.restore([back])).to.deep.equal([back]);
    const r = await run();
    expect(r.counts.created).to.equal(1);
    expect(present().get(back)).to.equal(1);
    expect(await ledger(back)).to.include({ state: 'done' }).and.not.have.property('gone');
  });

  it('the key field stays the key: every instance holds a product number OKKI lists alive', () => {
    const alive = new Set(liveNos());
    for (const [no, n] of present()) {
      expect(alive.has(no), `${no} still present`).to.equal(true);
      expect(n, no).to.equal(1);
    }
    expect(FIELDS.productNo).to.be.a('string');
  });
});
