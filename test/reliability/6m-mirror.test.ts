/**
 * Scenario 9 — the mirror (deletions, sweep, audit), process target.
 *  9a a sweep whose OKKI list comes back short (60 % of the catalogue, looking complete: data.count agrees with the
 *     short list) deletes nothing: not under the guard, not when confirmed, not with the guard set out of the way;
 *     with real deletions mixed in, exactly those are deleted. A list short of its own count is re-read until whole,
 *     a failing page ends the sweep before any action.
 *  9b SIGKILL in the middle of a batch of deletions, several times, with products deleted and restored in OKKI while
 *     the service is down: at the end no product is both deleted and present, none is present twice.
 *  9c the audit after planted drift reports exactly what was planted; after repair the next audit is clean.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { startOkkiSimulator, type OkkiSimulator } from '../../src/sandbox/okki/index.js';
import { startDingtalkSimulator, type DingtalkSimulator } from '../../src/sandbox/dingtalk/index.js';
import type { RunRecord } from '../../src/core/index.js';
import {
  crashLines, instancesByKey, KEY_FIELD, listMapping, recordFigure, secondsSince, seeded, serviceEnv, spawnService,
  tempDir, waitFor, waitForRunEnd, writeJson, type ServiceProcess,
} from '../helpers/reliability.js';

const SEED = 9109;
const MAPPING = listMapping();

describe('reliability 9: the mirror (short lists, SIGKILL during deletions, planted drift)', function () {
  this.timeout(300_000);
  let dir: string;
  const services: ServiceProcess[] = [];
  after(async () => { for (const s of services) await s.kill(); });
  before(() => { dir = tempDir('mirror'); });

  async function start(label: string, okki: OkkiSimulator, dt: DingtalkSimulator, store: string, extra: Record<string, string> = {}): Promise<ServiceProcess> {
    const svc = await spawnService(label, serviceEnv({
      okki, dt, storeUrl: `sqlite://${join(dir, store)}`, apiKey: 'mirror-api-key-0123456789', mappingFile: writeJson(dir, 'mapping.json', MAPPING),
      extra: { SYNC_DELETIONS: 'delete', YIDA_QPS: '150', YIDA_CONCURRENCY: '8', ...extra },
    }));
    services.push(svc);
    return svc;
  }
  async function runTo(svc: ServiceProcess, body: Record<string, unknown>, timeoutMs = 120_000): Promise<RunRecord> {
    const t = await svc.api.trigger({ ...body, wait: false });
    expect(t.status, JSON.stringify(t.body)).to.equal(202);
    return waitForRunEnd(svc, t.body.runId, timeoutMs);
  }
  const deleteCalls = (dt: DingtalkSimulator) => dt.requests({ api: 'yida.deleteInstance' }).length;

  it('9a: a short OKKI list never deletes; real deletions mixed in are the only ones deleted', async () => {
    const t0 = Date.now();
    const PRODUCTS = 1000;
    const okki = await startOkkiSimulator({ seed: SEED, products: PRODUCTS });
    const dt = await startDingtalkSimulator({ seed: SEED });
    try {
      let svc = await start('9a', okki, dt, '9a.sqlite');
      expect((await runTo(svc, {})).status).to.equal('succeeded');
      expect(dt.instanceCount()).to.equal(PRODUCTS);
      const all = [...okki.catalog.all()].map((p) => p.product_no as string);

      okki.setKnobs({ shortList: { fraction: 0.6, countAs: 'short' } });
      const guarded = await runTo(svc, { mode: 'sweep' });
      expect(guarded.sweep?.complete, 'the short list looks complete').to.equal(true);
      expect(guarded.status).to.equal('partial');
      expect(guarded.gone?.guarded?.count).to.be.within(300, 500);
      expect(guarded.gone?.guarded?.sampled?.stillInOkki, 'the guard\'s sample shows the list is short').to.equal(5);
      okki.clearRequests();
      const confirmed = await runTo(svc, { mode: 'sweep', confirmDeletes: true });
      const infoCalls = okki.requests.filter((q) => q.endpoint === 'info').length;
      expect(confirmed.failures.map((f) => f.code)).to.include('OKKI_LIST_INCOMPLETE');
      expect(confirmed.counts.deleted ?? 0).to.equal(0);
      expect(deleteCalls(dt)).to.equal(0);
      await svc.stop();

      // the guard out of the way (an operator set SYNC_DELETE_MAX very high): the per-product proof still holds
      svc = await start('9a no guard', okki, dt, '9a.sqlite', { SYNC_DELETE_MAX: '1000000' });
      const unguarded = await runTo(svc, { mode: 'sweep' });
      expect(unguarded.counts.deleted ?? 0).to.equal(0);
      expect(deleteCalls(dt)).to.equal(0);

      // ten real deletions under the short list: exactly those go
      const real = all.filter((_, i) => i % 97 === 3).slice(0, 10);
      okki.catalog.delete(real, 'remove');
      const mixed = await runTo(svc, { mode: 'sweep' });
      expect(mixed.counts.deleted).to.equal(10);
      expect(mixed.gone?.found.product_nos.filter((no) => real.includes(no)).length).to.equal(10);
      const per = instancesByKey(dt, KEY_FIELD);
      for (const no of all) expect(per.get(no) ?? 0, no).to.equal(real.includes(no) ? 0 : 1);

      // a list short of its own data.count is re-read (windowed) until whole: nothing to delete
      okki.setKnobs({ shortList: { fraction: 0.6, countAs: 'full' } });
      const recount = await runTo(svc, { mode: 'sweep' });
      expect(recount.status, JSON.stringify(recount.failures.slice(0, 2))).to.equal('succeeded');
      expect(recount.sweep).to.deep.include({ complete: true, listed: PRODUCTS - 10, candidates: 0 });
      // a page that keeps failing: the sweep ends before any action
      okki.setKnobs({ shortList: null, failPage: { pages: [4], kind: 'http5xx', times: 0 } });
      const failing = await runTo(svc, { mode: 'sweep', confirmDeletes: true });
      expect(failing.error?.code).to.equal('SWEEP_INCOMPLETE');
      okki.setKnobs({ failPage: null });
      expect(deleteCalls(dt)).to.equal(10);
      await svc.stop();
      expect(crashLines(svc)).to.deep.equal([]);
      recordFigure({
        scenario: '9a short OKKI list (60 %, count agreeing) in a sweep', iterations: '6 sweeps', products: PRODUCTS,
        missing: 0, duplicates: 0,
        result: `pass (${guarded.gone?.guarded?.count} wrongly unlisted: guard held, sample 5/5 still in OKKI; confirmed: ${infoCalls} /info proofs, 0 deleted; 10 real deletions under the short list: exactly 10 deleted)`,
        seconds: secondsSince(t0),
      });
    } finally {
      await dt.close(); await okki.close();
    }
  });

  it('9b: SIGKILL in the middle of a batch of deletions leaves no product both deleted and present, none twice', async () => {
    const t0 = Date.now();
    const PRODUCTS = 600;
    const KILLS = 4;
    const rand = seeded(SEED + 1);
    const okki = await startOkkiSimulator({ seed: SEED + 1, products: PRODUCTS });
    // write latency: the kill lands while removals are in flight
    const dt = await startDingtalkSimulator({ seed: SEED + 1, knobs: { latencyMs: [20, 60] } });
    try {
      const first = await start('9b backfill', okki, dt, '9b.sqlite');
      expect((await runTo(first, {})).status).to.equal('succeeded');
      await first.stop();
      const all = [...okki.catalog.all()].map((p) => p.product_no as string);
      const deleted = new Set(all.filter(() => rand() < 0.5));
      okki.catalog.delete([...deleted], 'remove');
      const kills: number[] = [];
      let restored = 0;
      for (let k = 1; k <= KILLS; k++) {
        const svc = await start(`9b cycle ${k}`, okki, dt, '9b.sqlite');
        const before = deleteCalls(dt);
        const t = await svc.api.trigger({ mode: 'sweep', confirmDeletes: true, wait: false });
        expect(t.status).to.equal(202);
        const after = 5 + Math.floor(rand() * 40);
        await waitFor(`${after} removals`, () => deleteCalls(dt) - before >= after || undefined, { timeoutMs: 60_000, intervalMs: 5 });
        await svc.kill();
        kills.push(deleteCalls(dt) - before);
        expect(crashLines(svc)).to.deep.equal([]);
        // while it is down: some deleted products come back, some more go
        const back = [...deleted].filter(() => rand() < 0.05);
        okki.catalog.restore(back);
        for (const no of back) deleted.delete(no);
        restored += back.length;
        const more = all.filter((no) => !deleted.has(no) && rand() < 0.02);
        okki.catalog.delete(more, 'remove');
        for (const no of more) deleted.add(no);
      }
      const last = await start('9b final', okki, dt, '9b.sqlite');
      const sweep = await runTo(last, { mode: 'sweep', confirmDeletes: true });
      expect(sweep.status, JSON.stringify(sweep.failures.slice(0, 3))).to.equal('succeeded');
      const full = await runTo(last, { mode: 'full' });
      expect(full.status).to.equal('succeeded');
      const audit = await runTo(last, { mode: 'audit' });
      await last.stop();
      const per = instancesByKey(dt, KEY_FIELD);
      const deletedAndPresent = [...deleted].filter((no) => per.has(no));
      const twice = [...per].filter(([, n]) => n > 1).map(([no]) => no);
      const missing = all.filter((no) => !deleted.has(no) && !per.has(no));
      recordFigure({
        scenario: '9b SIGKILL during a batch of deletions (sqlite)', iterations: `${KILLS} kills`, products: `${PRODUCTS} (${deleted.size} deleted)`,
        missing: missing.length, duplicates: twice.length,
        result: deletedAndPresent.length === 0 && twice.length === 0 && missing.length === 0
          ? `pass (kills after ${kills.join('/')} removals; ${restored} restored while down, re-created; 0 deleted-and-present; audit clean)` : `FAIL (${deletedAndPresent.length} deleted but present)`,
        seconds: secondsSince(t0),
      });
      expect(deletedAndPresent, 'deleted in OKKI but still in Yida').to.deep.equal([]);
      expect(twice, 'present twice').to.deep.equal([]);
      expect(missing, 'alive but not in Yida').to.deep.equal([]);
      for (const k of ['missing', 'duplicates', 'stale', 'orphans'] as const) expect(audit.audit![k].count, k).to.equal(0);
    } finally {
      await dt.close(); await okki.close();
    }
  });

  it('9c: the audit reports exactly the planted drift; after repair the next audit is clean', async () => {
    const t0 = Date.now();
    const PRODUCTS = 500;
    const rand = seeded(SEED + 2);
    const okki = await startOkkiSimulator({ seed: SEED + 2, products: PRODUCTS });
    const dt = await startDingtalkSimulator({ seed: SEED + 2 });
    try {
      const svc = await start('9c', okki, dt, '9c.sqlite');
      expect((await runTo(svc, {})).status).to.equal('succeeded');
      const all = [...okki.catalog.all()].map((p) => p.product_no as string);
      const pick = (n: number, taken: Set<string>) => {
        const out: string[] = [];
        while (out.length < n) { const no = all[Math.floor(rand() * all.length)]; if (!taken.has(no)) { taken.add(no); out.push(no); } }
        return out;
      };
      const taken = new Set<string>();
      const idOf = (no: string) => dt.instances().find((i) => i.data[KEY_FIELD] === no)!.processInstanceId;
      const planted = {
        missing: pick(10, taken), duplicates: pick(10, taken), stale: pick(10, taken), goneInOkki: pick(5, taken),
        hand: Array.from({ length: 5 }, (_, i) => `HAND-${i}`),
      };
      for (const no of planted.missing) dt.plantDelete(idOf(no));
      for (const no of planted.duplicates) dt.plantDuplicate(idOf(no));
      for (const no of planted.stale) dt.plantEdit(idOf(no), { textField_model: '宜搭里改的' });
      const templates = pick(5, taken);
      planted.hand.forEach((key, i) => { dt.plantEdit(dt.plantDuplicate(idOf(templates[i])), { [KEY_FIELD]: key }); });
      okki.catalog.delete(planted.goneInOkki, 'remove');
      const dtBefore = dt.calls().metered;
      okki.clearRequests();
      const audit = await runTo(svc, { mode: 'audit' });
      const auditYida = dt.calls().metered - dtBefore;
      const auditOkki = okki.requests.filter((q) => q.endpoint === 'list' || q.endpoint === 'info').length;
      const sorted = (xs: string[]) => [...xs].sort();
      expect(sorted(audit.audit!.missing.product_nos)).to.deep.equal(sorted(planted.missing));
      expect(sorted(audit.audit!.duplicates.product_nos)).to.deep.equal(sorted(planted.duplicates));
      expect(sorted(audit.audit!.stale.product_nos)).to.deep.equal(sorted(planted.stale));
      expect(sorted(audit.audit!.orphans.product_nos)).to.deep.equal(sorted([...planted.goneInOkki, ...planted.hand]));
      expect(auditYida).to.equal(Math.ceil(dt.instanceCount() / 100));

      const repair = await runTo(svc, { mode: 'audit', repair: true });
      expect(repair.status, JSON.stringify(repair.failures.slice(0, 3))).to.equal('succeeded');
      expect(repair.audit!.repaired).to.deep.equal({ created: 10, updated: 10, duplicatesRemoved: 10, orphansMarked: 0, orphansDeleted: 10, failed: 0 });
      const clean = await runTo(svc, { mode: 'audit' });
      const findings = (['missing', 'duplicates', 'stale', 'orphans'] as const).map((k) => clean.audit![k].count);
      await svc.stop();
      expect(crashLines(svc)).to.deep.equal([]);
      const per = instancesByKey(dt, KEY_FIELD);
      const twice = [...per].filter(([, n]) => n > 1).length;
      recordFigure({
        scenario: '9c audit after planted drift, repair, audit again', iterations: '3 audits', products: PRODUCTS,
        missing: all.filter((no) => !planted.goneInOkki.includes(no) && !per.has(no)).length, duplicates: twice,
        result: findings.every((n) => n === 0)
          ? `pass (planted 10 missing, 10 duplicates, 10 stale, 10 orphans: reported exactly; repaired; next audit 0/0/0/0; audit cost ${auditYida} Yida + ${auditOkki} OKKI calls)`
          : `FAIL (after repair ${findings.join('/')})`,
        seconds: secondsSince(t0),
      });
      expect(findings).to.deep.equal([0, 0, 0, 0]);
      expect(twice).to.equal(0);
    } finally {
      await dt.close(); await okki.close();
    }
  });
});
