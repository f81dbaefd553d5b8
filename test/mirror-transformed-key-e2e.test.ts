/**
 * The mirror with a transformed key field (`SKU-{product_no}`), on both targets, end to end: the real composition
 * root, the real SDK against the DingTalk simulator and the real OKKI client against the OKKI simulator, over loopback
 * sockets. The ledger and Yida hold `SKU-…`, OKKI knows `…`: a sweep, a gone product, a push delete and an audit must
 * each ask OKKI about the product a key stands for, never about the key itself (OKKI answering "not found" for a key
 * would otherwise delete every product of a small catalogue).
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { FIELDS, liveEnv, robotText, skuMapping, startInProcess, startSims, tempDir, type InProcessService, type Sims } from './helpers/e2e.js';
import type { RunRecord } from '../src/core/index.js';

const CATALOGUE = 12;
const SKU = (no: string) => `SKU-${no}`;

for (const target of ['process', 'form'] as const) {
  describe(`mirror e2e with a transformed key field (SKU-{product_no}), ${target} target`, function () {
    this.timeout(120_000);

    let sims: Sims;
    let svc: InProcessService;
    let tmp: ReturnType<typeof tempDir>;

    before(async () => {
      tmp = tempDir('mirror-sku-');
      sims = await startSims({ okki: { products: CATALOGUE }, ...(target === 'form' ? { dt: { formKind: 'plain' as const } } : {}) });
      svc = await startInProcess(sims, liveEnv(sims, {
        STORE_URL: `sqlite://${join(tmp.dir, 'store.sqlite')}`, MAPPING_FILE: skuMapping(join(tmp.dir, 'sku.json')),
        SYNC_DELETIONS: 'delete', ...(target === 'form' ? { YIDA_TARGET: 'form' } : {}),
      }));
      const first = await run({});
      expect(first.status, JSON.stringify(first.failures)).to.equal('succeeded');
      expect(first.counts.created).to.equal(CATALOGUE);
    });
    after(async () => { await svc?.close(); await sims?.close(); tmp?.remove(); });

    async function run(body: Record<string, unknown>): Promise<RunRecord> {
      const r = await svc.post({ ...body, wait: true });
      expect(r.status, r.text).to.equal(200);
      return r.json as RunRecord;
    }
    const instances = () => (target === 'form'
      ? sims.dt.formInstances().map((r) => ({ id: r.formInstanceId, key: String(r.data[FIELDS.productNo]) }))
      : sims.dt.instances().map((i) => ({ id: i.processInstanceId, key: String(i.data[FIELDS.productNo]) })));
    const keys = () => instances().map((i) => i.key).sort();
    const idOf = (key: string) => instances().find((i) => i.key === key)!.id;
    const liveNos = () => [...sims.okki.catalog.all()].filter((p) => p.enable_flag !== 0).map((p) => String(p.product_no));
    const ledger = () => svc.connector.stores.ledger;

    it('the ledger keeps, under each SKU key, the product number and OKKI id it stands for', async () => {
      const [no] = liveNos();
      const entry = await ledger().get(SKU(no));
      const product = [...sims.okki.catalog.all()].find((p) => p.product_no === no)!;
      expect(entry).to.include({ state: 'done', productNo: no, productId: String(product.product_id) });
      expect(await ledger().get(no), 'nothing is held under the bare number').to.equal(undefined);
    });

    it('a sweep of an unchanged catalogue finds nothing gone and deletes nothing (a key is no product number)', async () => {
      sims.okki.clearRequests();
      const r = await run({ mode: 'sweep' });
      expect(r.status, JSON.stringify(r.failures)).to.equal('succeeded');
      expect(r.sweep).to.deep.include({ complete: true, candidates: 0 });
      expect(r.counts.deleted ?? 0).to.equal(0);
      expect(keys()).to.deep.equal(liveNos().map(SKU).sort());
      expect(sims.okki.requests.filter((q) => q.endpoint === 'info'), 'no product needed proof').to.have.length(0);
    });

    it('products removed from the list are proven gone by their numbers, and exactly their SKU instances removed', async () => {
      const gone = liveNos().slice(0, 2);
      sims.okki.catalog.delete(gone, 'remove');
      sims.okki.clearRequests();
      const r = await run({ mode: 'sweep' });
      expect(r.status, JSON.stringify(r.failures)).to.equal('succeeded');
      expect(r.sweep).to.deep.include({ complete: true, candidates: 2 });
      expect(r.counts.deleted).to.equal(2);
      expect(r.gone?.found.product_nos.sort(), 'reports name product numbers').to.deep.equal([...gone].sort());
      const asked = sims.okki.requests.filter((q) => q.endpoint === 'info').map((q) => q.query?.product_no).sort();
      expect(asked, 'OKKI is asked about the numbers, not the keys').to.deep.equal([...gone].sort());
      expect(keys()).to.deep.equal(liveNos().map(SKU).sort());
      for (const no of gone) expect(await ledger().get(SKU(no))).to.include({ state: 'done', gone: 'deleted', productNo: no });
    });

    it('a product listed with enable_flag 0 is gone at once in an ordinary run: its SKU instance is removed', async () => {
      const [flagged] = liveNos();
      sims.okki.catalog.delete([flagged], 'flag');
      const r = await run({});
      expect(r.status, JSON.stringify(r.failures)).to.equal('succeeded');
      expect(r.counts.deleted).to.equal(1);
      expect(keys()).to.not.include(SKU(flagged));
      expect(keys()).to.deep.equal(liveNos().map(SKU).sort());
    });

    it('a push delete removes the SKU instance; one for a product OKKI still has only syncs it', async () => {
      const [gone, alive] = liveNos();
      sims.okki.catalog.delete([gone], 'remove');
      const t = await svc.connector.engine.trigger({ trigger: 'push', deletedProductNos: [gone, alive] });
      const r = (await svc.connector.engine.waitForRun(t.runId, 30_000))!;
      expect(r.status, JSON.stringify(r.failures)).to.equal('succeeded');
      expect(r.counts.deleted).to.equal(1);
      expect(keys()).to.deep.equal(liveNos().map(SKU).sort());
    });

    it('a short OKKI list that looks complete deletes nothing, even confirmed', async () => {
      const before = keys();
      sims.okki.setKnobs({ shortList: { fraction: 0.6, countAs: 'short' } });
      try {
        const r = await run({ mode: 'sweep', confirmDeletes: true });
        expect(r.status).to.equal('partial');
        expect(r.failures.map((f) => f.code)).to.include('OKKI_LIST_INCOMPLETE');
        expect(r.counts.deleted ?? 0).to.equal(0);
      } finally {
        sims.okki.setKnobs({ shortList: null });
      }
      expect(keys()).to.deep.equal(before);
    });

    it('an entry that kept only the OKKI product id (an older ledger) is proven by the id; one that kept neither is left alone', async () => {
      const [byId, neither] = liveNos();
      const strip = async (no: string, drop: Array<'productNo' | 'productId'>) => {
        const e = { ...(await ledger().get(SKU(no)))! };
        for (const f of drop) delete e[f];
        await ledger().set(SKU(no), e);
      };
      const idOfById = String([...sims.okki.catalog.all()].find((p) => p.product_no === byId)!.product_id);
      await strip(byId, ['productNo']);
      await strip(neither, ['productNo', 'productId']);
      sims.okki.catalog.delete([byId, neither], 'remove');
      sims.okki.clearRequests();
      const r = await run({ mode: 'sweep' });
      expect(r.status).to.equal('partial');
      expect(r.counts.deleted).to.equal(1);
      expect(keys()).to.not.include(SKU(byId));
      expect(keys(), 'nothing proves it gone: it stays').to.include(SKU(neither));
      const unproven = r.failures.filter((f) => f.code === 'GONE_UNPROVEN');
      expect(unproven.map((f) => f.product_no)).to.deep.equal([SKU(neither)]);
      expect(sims.okki.requests.filter((q) => q.endpoint === 'info').map((q) => q.query?.product_id ?? q.query?.product_no))
        .to.deep.equal([idOfById]);
      // it comes back; a full run teaches the ledger its number again, and sweeps are clean from then on
      sims.okki.catalog.restore([neither]);
      const full = await run({ mode: 'full' });
      expect(full.counts.created, 'its instance is still there: no duplicate').to.equal(0);
      expect(await ledger().get(SKU(neither))).to.include({ productNo: neither });
      const clean = await run({ mode: 'sweep' });
      expect(clean.status, JSON.stringify(clean.failures)).to.equal('succeeded');
      expect(clean.sweep).to.deep.include({ candidates: 0 });
    });

    it('audit and repair work on SKU keys: planted drift is reported and repaired, a hand-made SKU instance is left alone', async () => {
      const clean = await run({ mode: 'audit' });
      expect(clean.status, JSON.stringify(clean.failures)).to.equal('succeeded');
      for (const k of ['missing', 'duplicates', 'stale', 'orphans'] as const) expect(clean.audit![k].count, k).to.equal(0);

      const [m, s, g, d] = liveNos();
      sims.dt.plantDelete(idOf(SKU(m)));
      sims.dt.plantEdit(idOf(SKU(s)), { [FIELDS.name]: '在宜搭里改过' });
      sims.dt.plantDuplicate(idOf(SKU(d)));
      const hand = sims.dt.plantDuplicate(idOf(SKU(s)));
      sims.dt.plantEdit(hand, { [FIELDS.productNo]: 'SKU-HAND-1' });
      sims.okki.catalog.delete([g], 'remove');

      const found = await run({ mode: 'audit' });
      expect(found.audit!.missing.product_nos).to.deep.equal([m]);
      expect(found.audit!.stale.product_nos).to.deep.equal([s]);
      expect(found.audit!.duplicates.product_nos).to.deep.equal([d]);
      expect(found.audit!.orphans.product_nos.sort()).to.deep.equal([SKU(g), 'SKU-HAND-1'].sort());

      const repaired = await run({ mode: 'audit', repair: true });
      expect(repaired.audit!.repaired).to.deep.include({ created: 1, updated: 1, duplicatesRemoved: 1, orphansDeleted: 1 });
      expect(repaired.failures.filter((f) => f.code === 'GONE_UNPROVEN').map((f) => f.product_no)).to.deep.equal(['SKU-HAND-1']);
      expect(keys()).to.deep.equal([...liveNos().map(SKU), 'SKU-HAND-1'].sort());
      expect(await ledger().get(SKU(m))).to.include({ state: 'done', productNo: m });

      const after = await run({ mode: 'audit' });
      for (const k of ['missing', 'duplicates', 'stale'] as const) expect(after.audit![k].count, k).to.equal(0);
      expect(after.audit!.orphans.product_nos).to.deep.equal(['SKU-HAND-1']);
      const full = await run({ mode: 'full' });
      expect(full.counts, 'the repaired ledger is the one ordinary runs use').to.include({ created: 0, updated: 0, unchanged: liveNos().length });
      expect(robotText(sims.dt.robotMessages().at(-1)?.body)).to.not.include('SKU-SKU-');
    });

    it('the key template changes (SKU- → PRD-): the audit finds the old instances orphaned, proves them by their products\' keys today, and repair removes them', async () => {
      await svc.close();
      svc = await startInProcess(sims, liveEnv(sims, {
        STORE_URL: `sqlite://${join(tmp.dir, 'store.sqlite')}`, MAPPING_FILE: skuMapping(join(tmp.dir, 'prd.json'), 'PRD-'),
        SYNC_DELETIONS: 'delete', ...(target === 'form' ? { YIDA_TARGET: 'form' } : {}),
      }));
      const live = liveNos();
      const full = await run({ mode: 'full' });
      expect(full.counts.created, 'each product under its new key').to.equal(live.length);
      const sweep = await run({ mode: 'sweep' });
      expect(sweep.counts.deleted ?? 0, 'a sweep compares product numbers: OKKI still lists them all').to.equal(0);

      const audit = await run({ mode: 'audit' });
      expect(audit.audit!.missing.count).to.equal(0);
      expect(audit.audit!.orphans.product_nos.sort()).to.deep.equal([...live.map(SKU), 'SKU-HAND-1'].sort());
      sims.okki.clearRequests();
      const repaired = await run({ mode: 'audit', repair: true });
      expect(repaired.audit!.repaired).to.deep.include({ orphansDeleted: live.length });
      expect(repaired.failures.map((f) => [f.product_no, f.code])).to.deep.equal([['SKU-HAND-1', 'GONE_UNPROVEN']]);
      expect(sims.okki.requests.filter((q) => q.endpoint === 'info').map((q) => q.query.product_no).sort(), 'each old key proven by its product number').to.deep.equal([...live].sort());
      expect(keys()).to.deep.equal([...live.map((no) => `PRD-${no}`), 'SKU-HAND-1'].sort());
      const after = await run({ mode: 'full' });
      expect(after.counts).to.include({ created: 0, updated: 0, unchanged: live.length });
    });
  });
}
