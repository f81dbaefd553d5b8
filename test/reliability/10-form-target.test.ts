/**
 * Scenario 10 — the plain-form target (YIDA_TARGET=form), where one call writes up to 100 records:
 *  a) SIGKILL at seeded random moments while batches are in flight, restart on the same sqlite store, the catalogue
 *     changing between crashes;
 *  b) ambiguous batches: 10 % of batch saves and batch updates commit a prefix of their records (or all of them) and
 *     then answer 500, across repeated runs with changes in between.
 * At the end of each: exactly one form record per product number, holding the product's current values.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { startOkkiSimulator, type OkkiSimulator } from '../../src/sandbox/okki/index.js';
import { startDingtalkSimulator, type DingtalkSimulator } from '../../src/sandbox/dingtalk/index.js';
import {
  crashLines, KEY_FIELD, listMapping, recordFigure, secondsSince, seeded, serviceEnv, sleep, spawnService, tempDir,
  triggerFresh, waitForRunEnd, writeJson, type ServiceProcess,
} from '../helpers/reliability.js';

const MAPPING = listMapping({ field: 'textField_group1', label: '一级分类', value: '{{一级分组}}' });

/** products missing from the form, extra records per product, and records not holding the current values */
function formTally(dt: DingtalkSimulator, okki: OkkiSimulator): { missing: string[]; duplicates: number; duplicated: string[]; stale: string[] } {
  const per = new Map<string, Array<Record<string, unknown>>>();
  for (const r of dt.formInstances()) { const k = String(r.data[KEY_FIELD]); per.set(k, [...(per.get(k) ?? []), r.data]); }
  const missing: string[] = []; const stale: string[] = [];
  for (const p of okki.catalog.all()) {
    const recs = per.get(String(p.product_no));
    if (!recs) { missing.push(String(p.product_no)); continue; }
    if (recs.some((d) => d.textField_name !== p.name || d.textField_model !== p.model)) stale.push(String(p.product_no));
  }
  let duplicates = 0; const duplicated: string[] = [];
  for (const [k, recs] of per) if (recs.length > 1) { duplicates += recs.length - 1; duplicated.push(k); }
  return { missing, duplicates, duplicated, stale };
}

describe('reliability 10: the plain-form target (batch writes)', function () {
  this.timeout(300_000);
  let okki: OkkiSimulator;
  let dt: DingtalkSimulator;
  const services: ServiceProcess[] = [];
  afterEach(async () => {
    for (const s of services.splice(0)) await s.kill();
    await dt?.close();
    await okki?.close();
  });

  const env = (dir: string, storePath: string, extra: Record<string, string> = {}) => serviceEnv({
    okki, dt, storeUrl: `sqlite://${storePath}`, apiKey: 'form-api-key-0123456789',
    mappingFile: writeJson(dir, 'mapping.json', MAPPING),
    extra: { YIDA_TARGET: 'form', YIDA_BATCH_SIZE: '50', YIDA_QPS: '100', YIDA_CONCURRENCY: '8', OKKI_PAGE_SIZE: '100', ...extra },
  });

  it('a) SIGKILL while batches are in flight: one record per product, current values, nothing lost', async () => {
    const SEED = 10_101; const PRODUCTS = 2000; const KILLS = 8;
    const t0 = Date.now();
    okki = await startOkkiSimulator({ seed: SEED, products: PRODUCTS });
    // a batch save takes 150–400 ms here: the kills are timed to land while one is on the wire
    dt = await startDingtalkSimulator({ seed: SEED, formKind: 'plain', knobs: { latencyMs: [150, 400] } });
    const dir = tempDir('form-crash');
    const storePath = join(dir, 'form.sqlite');
    const rand = seeded(SEED);
    const all = [...okki.catalog.all()].map((p) => String(p.product_no));
    let midBatch = 0; let changed = 0;
    for (let k = 1; k <= KILLS; k++) {
      const svc = await spawnService(`form crash ${k}`, env(dir, storePath));
      services.push(svc);
      const t = await svc.api.trigger({ wait: false });
      expect(t.status).to.equal(202);
      // kill after a seeded number of batch saves of this run were sent, while one is on the wire (answer not sent)
      const sentBefore = dt.requests({ api: 'yida.batchSaveFormData' }).length;
      const killAfter = 1 + Math.floor(rand() * 10);
      for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
        const saves = dt.requests({ api: 'yida.batchSaveFormData' }).slice(sentBefore);
        if (saves.length >= killAfter && saves.some((q) => q.status === 0)) break;
        await sleep(5);
      }
      if (dt.requests({ api: 'yida.batchSaveFormData' }).some((q) => q.status === 0)) midBatch++;
      await svc.kill();
      expect(crashLines(svc)).to.deep.equal([]);
      const picks = new Set<string>();
      while (picks.size < 15) picks.add(all[Math.floor(rand() * all.length)]);
      okki.catalog.upsert([...picks].map((no) => ({ product_no: no, name: `${okki.catalog.get(no)!.name} 改${k}`, model: `MD-F${k}-${Math.floor(rand() * 1000)}` })));
      changed += picks.size;
    }
    const svc = await spawnService('form crash final', env(dir, storePath));
    services.push(svc);
    let last;
    let prev: string | undefined;
    for (let i = 0; i < 3; i++) {
      const t = await triggerFresh(svc, prev);
      prev = t.runId;
      last = await waitForRunEnd(svc, t.runId, 180_000);
      if (last.status === 'succeeded' && last.counts.created + last.counts.updated === 0) break;
    }
    expect(last!.status, JSON.stringify(last!.error ?? last!.failures.slice(0, 3))).to.equal('succeeded');
    const reconciled = services.flatMap((s) => s.logs()).filter((l) => l.msg === 'reconciled pending ledger entry').length;
    const searches = dt.calls().byApi['yida.searchFormDataSecondGeneration']?.calls ?? 0;
    await svc.stop();
    const { missing, duplicates, duplicated, stale } = formTally(dt, okki);
    recordFigure({
      scenario: '10a form target: SIGKILL mid-batch (sqlite)', iterations: `${KILLS} kills (${midBatch} with a batch save on the wire)`, products: PRODUCTS,
      missing: missing.length, duplicates,
      result: missing.length === 0 && duplicates === 0 && stale.length === 0 ? `pass (${changed} changed while down, 0 stale, ${reconciled} pending records reconciled; ${searches} form searches in all, key scans after each restart included)` : `FAIL (${stale.length} stale)`,
      seconds: secondsSince(t0),
    });
    expect(midBatch, 'kills landed while a batch was on the wire').to.be.greaterThan(KILLS / 2);
    expect(missing).to.deep.equal([]);
    expect(duplicated).to.deep.equal([]);
    expect(stale).to.deep.equal([]);
    expect(dt.formInstanceCount()).to.equal(PRODUCTS);
  });

  it('b) 10 % of batches commit a prefix or everything and then answer 500: nothing lost, nothing twice', async () => {
    const SEED = 10_202; const PRODUCTS = 1000; const ROUNDS = 5;
    const t0 = Date.now();
    okki = await startOkkiSimulator({ seed: SEED, products: PRODUCTS });
    dt = await startDingtalkSimulator({
      seed: SEED, formKind: 'plain',
      knobs: {
        latencyMs: [5, 25], batchPrefix: 'random',
        prefixThen500Rates: { 'yida.batchSaveFormData': 0.05, 'yida.batchUpdateFormDataByInstanceMap': 0.05 },
        commitThen500Rates: { 'yida.batchSaveFormData': 0.05, 'yida.batchUpdateFormDataByInstanceMap': 0.05 },
      },
    });
    const dir = tempDir('form-ambiguous');
    const svc = await spawnService('form ambiguous', env(dir, join(dir, 'form.sqlite'), { YIDA_BATCH_SIZE: '20' }));
    services.push(svc);
    const rand = seeded(SEED);
    const all = [...okki.catalog.all()].map((p) => String(p.product_no));
    const statuses: string[] = [];
    let prev: string | undefined;
    const runOnce = async () => {
      const t = await triggerFresh(svc, prev);
      prev = t.runId;
      const r = await waitForRunEnd(svc, t.runId, 120_000);
      statuses.push(r.status);
      return r;
    };
    // rounds of edits (so batch updates meet the faults too), each followed by runs until one succeeds (bounded)
    for (let round = 0; round < ROUNDS; round++) {
      if (round > 0) {
        const picks = new Set<string>();
        while (picks.size < 120) picks.add(all[Math.floor(rand() * all.length)]);
        okki.catalog.upsert([...picks].map((no) => ({ product_no: no, name: `${okki.catalog.get(no)!.name} 第${round}轮`, model: `MD-A${round}-${Math.floor(rand() * 1000)}` })));
      }
      for (let i = 0; i < 6; i++) if ((await runOnce()).status === 'succeeded') break;
    }
    // the faults go on: one more run must find nothing left to do
    const final = await runOnce();
    const ambiguousBatches = ['yida.batchSaveFormData', 'yida.batchUpdateFormDataByInstanceMap']
      .flatMap((api) => dt.requests({ api: api as 'yida.batchSaveFormData' })).filter((q) => q.status === 500 && q.committed).length;
    const faulted = dt.requests().filter((q) => q.api?.startsWith('yida.batch') && q.status === 500).length;
    await svc.stop();
    expect(crashLines(svc)).to.deep.equal([]);
    const { missing, duplicates, duplicated, stale } = formTally(dt, okki);
    recordFigure({
      scenario: '10b form target: 10 % of batches commit a prefix or all, then 500', iterations: `${statuses.length} runs, ${ROUNDS} rounds of edits`, products: PRODUCTS,
      missing: missing.length, duplicates,
      result: missing.length === 0 && duplicates === 0 && stale.length === 0 ? `pass (${faulted} batches answered 500, ${ambiguousBatches} of them after committing records; runs ${statuses.join(' → ')})` : `FAIL (${stale.length} stale)`,
      seconds: secondsSince(t0),
    });
    expect(faulted, 'batches did fail').to.be.greaterThan(3);
    expect(missing).to.deep.equal([]);
    expect(duplicated).to.deep.equal([]);
    expect(stale).to.deep.equal([]);
    expect(final.status, JSON.stringify(final.failures.slice(0, 3))).to.equal('succeeded');
    expect(final.counts.created + final.counts.updated).to.equal(0);
  });
});
