/**
 * The mirror on a plain Yida form, composed by hand around the engine (no HTTP): the form target's batching sink
 * (`yida/form-sink.ts`: batchSave, batch updates, batchRemovalByFormInstanceIdList, searchFormDataSecondGeneration
 * under the simulator's 5,000-row paging cap) and the real OKKI client, over real sockets. Deletions remove form
 * records in batches, a short list deletes nothing, and an audit of a form larger than the search window (5,200
 * records, read in creation-time slices) reports exactly the planted drift and is clean after repair.
 * (`mirror-form-target-e2e.test.ts` drives the same through the composition root and the webhook.)
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOkkiSimulator, type OkkiSimulator } from '../src/sandbox/okki/index.js';
import { startDingtalkSimulator, type DingtalkSimulator } from '../src/sandbox/dingtalk/index.js';
import { createStores } from '../src/store/index.js';
import type { Stores } from '../src/store/types.js';
import { parseMapping } from '../src/mapping/index.js';
import { createOkkiSource } from '../src/okki/index.js';
import { createFormSink } from '../src/yida/form-sink.js';
import { LedgerWriter } from '../src/sync/writer.js';
import { SyncEngine } from '../src/sync/engine.js';
import { GoneActor } from '../src/sync/gone.js';
import { buildGroupTree } from '../src/okki/groups.js';
import { createMetrics } from '../src/metrics.js';
import { silentLogger } from '../src/log.js';
import type { MirrorPolicy, RunRecord, TriggerRequest } from '../src/core/index.js';

const KEY = 'textField_no';
const MAPPING = parseMapping({
  request: [
    { field: 'textField_name', label: '产品名称', value: '{name}' },
    { field: KEY, label: '产品编码', value: '{product_no}' },
    { field: 'textField_model', label: '型号', value: '{model}' },
  ],
});
const TZ = 'Asia/Shanghai';

interface Rig { okki: OkkiSimulator; dt: DingtalkSimulator; stores: Stores; engine: SyncEngine; dir: string; close(): Promise<void> }

async function rig(products: number, policy: Partial<MirrorPolicy> = {}): Promise<Rig> {
  const okki = await startOkkiSimulator({ seed: 31, products });
  const dt = await startDingtalkSimulator({ formKind: 'plain' });
  const dir = mkdtempSync(join(tmpdir(), 'mirror-form-'));
  const stores = await createStores({ url: `sqlite://${join(dir, 's.sqlite')}`, kind: 'sqlite', sqlitePath: join(dir, 's.sqlite') });
  const source = createOkkiSource({
    baseUrl: okki.url, clientId: okki.credentials.clientId, clientSecret: okki.credentials.clientSecret, scope: 'product', pageSize: 100, qps: 500, timezone: TZ,
  });
  const sink = createFormSink({
    dingtalk: { ...dt.credentials, endpoint: dt.endpoint, protocol: 'http' },
    yida: { ...dt.yida, language: 'zh_CN', qps: 500, concurrency: 8, searchLagSeconds: 0, target: 'form', batchSize: 100 },
  }, KEY, { lingerMs: 20 });
  const writer = new LedgerWriter({ ledger: stores.ledger, sink, keyField: KEY, searchLagMs: 0, reconcileDelayMs: 5 });
  const actor = new GoneActor({ ledger: stores.ledger, sink, mapping: MAPPING, keyField: KEY, policy: { deletions: 'delete', discontinued: 'keep', deleteMax: 20, ...policy } });
  const engine = new SyncEngine(
    { source, mapping: MAPPING, writer, stores, metrics: createMetrics(), logger: silentLogger, mirror: { actor, sink, ledger: stores.ledger, scanLedger: stores.scanLedger } },
    { lookbackSeconds: 1801, timezone: TZ, maxInFlight: 16 },
  );
  return {
    okki, dt, stores, engine, dir,
    async close() { await engine.shutdown(); await stores.close(); await dt.close(); await okki.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

async function run(r: Rig, req: Partial<TriggerRequest> = {}): Promise<RunRecord> {
  const t = await r.engine.trigger({ trigger: 'cli', ...req });
  return (await r.engine.waitForRun(t.runId, 120_000))!;
}
const records = (dt: DingtalkSimulator) => dt.formInstances({ formUuid: dt.yida.formUuid });
const perKey = (dt: DingtalkSimulator) => {
  const m = new Map<string, number>();
  for (const i of records(dt)) { const k = String(i.data[KEY]); m.set(k, (m.get(k) ?? 0) + 1); }
  return m;
};
const liveNos = (okki: OkkiSimulator) => [...okki.catalog.all()].filter((p) => p.enable_flag !== 0).map((p) => String(p.product_no));

describe('mirror on a plain form (batch removals, sliced form searches)', function () {
  this.timeout(180_000);

  describe('deletions and the sweep', () => {
    let r: Rig;
    before(async () => { r = await rig(40, { deleteMax: 5 }); expect((await run(r)).status).to.equal('succeeded'); });
    after(async () => { await r?.close(); });

    it('a flagged product in an incremental run, and an unlisted one in a sweep, lose their form records (batch removal)', async () => {
      expect(records(r.dt)).to.have.length(40);
      const [flagged, unlisted] = liveNos(r.okki);
      r.okki.catalog.delete([flagged], 'flag');
      r.okki.catalog.delete([unlisted], 'remove');
      const inc = await run(r);
      expect(inc.counts.deleted).to.equal(1);
      const sweep = await run(r, { mode: 'sweep' });
      expect(sweep.status, JSON.stringify(sweep.failures)).to.equal('succeeded');
      expect(sweep.counts.deleted).to.equal(1);
      expect(perKey(r.dt).has(flagged) || perKey(r.dt).has(unlisted)).to.equal(false);
      expect(r.dt.requests({ api: 'yida.batchRemovalByFormInstanceIdList' })).to.have.length(2);
    });

    it('a short list (60 %, looking complete) deletes nothing, guarded or confirmed', async () => {
      const before = records(r.dt).length;
      r.okki.setKnobs({ shortList: { fraction: 0.6, countAs: 'short' } });
      try {
        const guarded = await run(r, { mode: 'sweep' });
        expect(guarded.gone?.guarded?.sampled?.stillInOkki).to.be.greaterThan(0);
        const confirmed = await run(r, { mode: 'sweep', confirmDeletes: true });
        expect(confirmed.failures.map((f) => f.code)).to.include('OKKI_LIST_INCOMPLETE');
        expect(confirmed.counts.deleted ?? 0).to.equal(0);
      } finally { r.okki.setKnobs({ shortList: null }); }
      expect(records(r.dt)).to.have.length(before);
    });
  });

  describe('audit of a form larger than the search window', () => {
    const N = 5200;
    let r: Rig;
    let planted: { missing: string[]; duplicates: string[]; stale: string[]; orphans: string[] };
    before(async () => {
      r = await rig(N, { deleteMax: 10 });
      // The form already holds every product (filled before the connector, one second apart): seeded without API calls.
      const ctx = { groups: buildGroupTree([]), now: new Date(), timezone: TZ };
      const base = Date.now() - N * 1000 - 3600_000;
      const seeds = [...r.okki.catalog.all()].map((p, i) => {
        const m = MAPPING.map(p, ctx);
        if (!m.ok) throw new Error('mapping');
        return { data: m.formData, createTime: base + i * 1000 };
      });
      const ids = r.dt.seedFormInstances(r.dt.yida.formUuid, seeds);
      const byNo = new Map(seeds.map((s, i) => [String(s.data[KEY]), ids[i]]));
      const nos = liveNos(r.okki);
      const pick = (from: number) => nos.slice(from, from + 3);
      planted = { missing: pick(100), duplicates: pick(2000), stale: pick(4000), orphans: [] };
      for (const no of planted.missing) r.dt.plantDelete(byNo.get(no)!);
      for (const no of planted.duplicates) r.dt.plantDuplicate(byNo.get(no)!);
      for (const no of planted.stale) r.dt.plantEdit(byNo.get(no)!, { textField_model: '宜搭里改的' });
      r.dt.plantEdit(r.dt.plantDuplicate(byNo.get(nos[5100])!), { [KEY]: 'HAND-1' });
      const gone = nos.slice(5150, 5152);
      r.okki.catalog.delete(gone, 'remove');
      planted.orphans = ['HAND-1', ...gone];
    });
    after(async () => { await r?.close(); });

    it('reports exactly the planted drift, reading the form in slices of at most 5,000 rows', async () => {
      const searches = () => r.dt.requests({ api: 'yida.searchFormDataSecondGeneration' });
      const before = searches().length;
      const audit = await run(r, { mode: 'audit' });
      expect(audit.status, JSON.stringify(audit.error ?? audit.failures.slice(0, 2))).to.equal('succeeded');
      const sorted = (x: string[]) => [...x].sort();
      expect(sorted(audit.audit!.missing.product_nos)).to.deep.equal(sorted(planted.missing));
      expect(sorted(audit.audit!.duplicates.product_nos)).to.deep.equal(sorted(planted.duplicates));
      expect(sorted(audit.audit!.stale.product_nos)).to.deep.equal(sorted(planted.stale));
      expect(sorted(audit.audit!.orphans.product_nos)).to.deep.equal(sorted(planted.orphans));
      expect(audit.audit!.instances).to.equal(records(r.dt).length);
      const calls = searches().slice(before);
      expect(calls.every((c) => c.status === 200), 'no search refused for paging past 5,000').to.equal(true);
      // ⌈5,203/100⌉ pages, plus a few for the slicing (each slice's first page, its count)
      expect(calls.length).to.be.within(Math.ceil(audit.audit!.instances / 100), Math.ceil(audit.audit!.instances / 100) + 6);
    });

    it('repair fixes exactly that (extra duplicates and orphans removed in batches); the next audit is clean', async () => {
      const repair = await run(r, { mode: 'audit', repair: true });
      expect(repair.status, JSON.stringify(repair.failures.slice(0, 3))).to.equal('succeeded');
      expect(repair.audit!.repaired).to.deep.equal({ created: 3, updated: 3, duplicatesRemoved: 3, orphansMarked: 0, orphansDeleted: 3, failed: 0 });
      const clean = await run(r, { mode: 'audit' });
      for (const k of ['missing', 'duplicates', 'stale', 'orphans'] as const) expect(clean.audit![k], k).to.deep.equal({ count: 0, product_nos: [] });
      expect([...perKey(r.dt).values()].every((n) => n === 1)).to.equal(true);
    });
  });
});
