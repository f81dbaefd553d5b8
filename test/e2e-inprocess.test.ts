/**
 * End to end, in one process: the composition root (buildConnector) with the real @alicloud/dingtalk SDK, the real
 * Koa app on a loopback socket, and both simulators. The scenarios run in order on one catalogue, the way an
 * operator's day goes: first backfill, nothing changed, a product edited, targeted runs, failures and healing.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  E2E_API_KEY, FIELDS, derivedMapping, eventually, finishedRun, instancesByProductNo, liveEnv, robotText, secretsOf,
  startInProcess, startSims, tempDir, yidaWrites, type InProcessService, type Sims,
} from './helpers/e2e.js';
import { consoleLogin } from './helpers/fake-service.js';
import type { RunRecord } from '../src/core/index.js';

const CATALOGUE = 30;

describe('e2e in-process: webhook → run → Yida instances → robot report', function () {
  this.timeout(60_000);

  let sims: Sims;
  let svc: InProcessService;
  let tmp: ReturnType<typeof tempDir>;
  const seenRuns: RunRecord[] = [];

  before(async () => {
    tmp = tempDir('e2e-inproc-');
    sims = await startSims({ okki: { products: CATALOGUE } });
    // The shipped mapping, with the product name made required: a product without a name is a mapping rejection.
    const mappingFile = derivedMapping(join(tmp.dir, 'mapping.json'), { [FIELDS.name]: { required: true } });
    // ROBOT_REPORT=every: these scenarios check that each run is reported (the quiet default is tested in metering.test.ts)
    svc = await startInProcess(sims, liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 'store.sqlite')}`, MAPPING_FILE: mappingFile, ROBOT_REPORT: 'every' }));
  });

  after(async () => {
    await svc?.close();
    await sims?.close();
    tmp?.remove();
  });

  const catalogueNos = () => [...sims.okki.catalog.all()].map((p) => p.product_no).sort();
  const cursor = async () => (await svc.connector.engine.status()).cursor;
  async function runAndWait(body: Record<string, unknown> = {}): Promise<RunRecord> {
    const r = await svc.post({ ...body, wait: true });
    expect(r.status, r.text).to.equal(200);
    seenRuns.push(r.json);
    return r.json as RunRecord;
  }

  it('a webhook call answers 202 at once and its run creates exactly one Yida instance per product', async () => {
    const r = await svc.post({});
    expect(r.status, r.text).to.equal(202);
    expect(r.json).to.include({ status: 'running', coalesced: false });
    expect(r.json.runId).to.be.a('string').and.not.empty;

    const run = await finishedRun(svc.url, r.json.runId);
    seenRuns.push(run);
    expect(run.status, JSON.stringify(run)).to.equal('succeeded');
    expect(run.trigger).to.equal('webhook');
    expect(run.window.start, 'first run is a full backfill').to.equal(null);
    expect(run.counts).to.deep.equal({ fetched: CATALOGUE, created: CATALOGUE, updated: 0, unchanged: 0, rejected: 0, failed: 0 });

    const perNo = instancesByProductNo(sims.dt);
    expect([...perNo.keys()].sort()).to.deep.equal(catalogueNos());
    expect([...perNo.values()].every((n) => n === 1), 'one instance per product number').to.equal(true);
  });

  it('each instance carries the mapped fields: name, group names from the tree, product_type from the typed list passes', () => {
    const groups = new Map(sims.okki.catalog.groups.map((g) => [g.id, g]));
    let withLevel2 = 0;
    for (const inst of sims.dt.instances()) {
      const no = String(inst.data[FIELDS.productNo]);
      const p = sims.okki.catalog.get(no)!;
      expect(p, no).to.exist;
      const g = groups.get(p.group_id)!;
      const root = g.parent_id === 0 ? g : groups.get(g.parent_id)!;
      expect(inst.data[FIELDS.name], no).to.equal(p.name);
      expect(inst.data[FIELDS.level1], `${no} 一级分类`).to.equal(root.name);
      if (g.parent_id !== 0) {
        withLevel2++;
        expect(inst.data[FIELDS.level2], `${no} 二级分类`).to.equal(g.name);
      } else {
        expect(inst.data[FIELDS.level2] ?? '', `${no} 二级分类 of a root-group product`).to.equal('');
      }
      // product_type is absent from list items: it must have come from the pass of its type
      expect(inst.data[FIELDS.productType], `${no} 产品规格`).to.equal(String(p.product_type ?? 1));
    }
    expect(withLevel2, 'the seeded catalogue has level-2 products').to.be.greaterThan(0);
    // product_type comes from the list read once per type (1, 2, 3), not from one /v1/product/info call per product
    expect(sims.okki.requests.filter((q) => q.endpoint === 'info'), 'no detail read').to.have.length(0);
    expect(new Set(sims.okki.requests.filter((q) => q.endpoint === 'list').map((q) => q.query.product_type).filter(Boolean))).to.deep.equal(new Set(['1', '2', '3']));
  });

  it('the robot received one signed message in Chinese with the counts and the run id', async () => {
    const run = seenRuns[0];
    // The record says finished before the report is sent (a robot failure must never hold a run open): wait for it.
    const msgs = await eventually('the first run\'s report', () => (sims.dt.robotMessages({ all: true }).length ? sims.dt.robotMessages({ all: true }) : undefined), 10_000, 20);
    expect(msgs, JSON.stringify(msgs)).to.have.length(1);
    const [m] = msgs;
    expect(m.accepted, m.errmsg).to.equal(true);
    expect(m.signatureVerified).to.equal(true);
    expect(m.msgUuid).to.equal(run.id);
    const text = robotText(m.body);
    expect(text).to.match(/[\u4e00-\u9fff]/);
    expect(text).to.include('新增 **30**');
    expect(text).to.include('失败 **0**');
    expect(text).to.include(run.id);
  });

  it('GET /runs/:id returns the finished run in the shape the README documents', async () => {
    const r = await svc.get(`/runs/${seenRuns[0].id}`);
    expect(r.status).to.equal(200);
    const run = r.json;
    expect(run).to.include.all.keys('id', 'trigger', 'status', 'window', 'startedAt', 'finishedAt', 'counts', 'failures');
    expect(run.status).to.be.oneOf(['running', 'succeeded', 'partial', 'failed']);
    expect(run.window).to.have.all.keys('start', 'end');
    expect(run.window.end).to.match(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(Date.parse(run.startedAt)).to.be.a('number').and.not.NaN;
    expect(Date.parse(run.finishedAt)).to.be.at.least(Date.parse(run.startedAt));
    expect(run.counts).to.have.all.keys('fetched', 'created', 'updated', 'unchanged', 'rejected', 'failed');
    for (const v of Object.values(run.counts)) expect(v).to.be.a('number');
    expect(run.failures).to.be.an('array');
    expect(run.cursorAfter, 'the cursor moved to the window end').to.equal(run.window.end);
    expect(await cursor()).to.equal(run.window.end);
  });

  it('a second run with nothing changed writes nothing to Yida (incremental and full)', async () => {
    const writesBefore = yidaWrites(sims.dt);
    const inc = await runAndWait();
    expect(inc.status).to.equal('succeeded');
    expect(inc.mode).to.equal('incremental');
    expect(inc.window.start, 'incremental window starts before the cursor (lookback)').to.be.a('string');
    expect(inc.counts.created + inc.counts.updated).to.equal(0);

    const full = await runAndWait({ mode: 'full' });
    expect(full.status).to.equal('succeeded');
    expect(full.mode).to.equal('full');
    expect(full.window.start, 'full mode reads everything').to.equal(null);
    expect(full.counts).to.deep.include({ fetched: CATALOGUE, unchanged: CATALOGUE, created: 0, updated: 0 });
    expect(yidaWrites(sims.dt), 'no start/update calls at all').to.equal(writesBefore);
    expect(sims.dt.instanceCount()).to.equal(CATALOGUE);
  });

  it('an edited product updates its own instance, not a new one', async () => {
    const no = catalogueNos()[3];
    const instanceBefore = sims.dt.instances().find((i) => i.data[FIELDS.productNo] === no)!;
    sims.okki.catalog.upsert([{ product_no: no, name: '改名后的产品 E2E' }]);
    const updatesBefore = sims.dt.requests({ api: 'yida.updateInstance' }).length;

    const run = await runAndWait();
    expect(run.status, JSON.stringify(run.failures)).to.equal('succeeded');
    expect(run.counts.updated).to.equal(1);
    expect(run.counts.created).to.equal(0);
    expect(sims.dt.requests({ api: 'yida.updateInstance' }).length).to.equal(updatesBefore + 1);
    const after = sims.dt.instances().filter((i) => i.data[FIELDS.productNo] === no);
    expect(after).to.have.length(1);
    expect(after[0].processInstanceId).to.equal(instanceBefore.processInstanceId);
    expect(after[0].data[FIELDS.name]).to.equal('改名后的产品 E2E');
  });

  it('a targeted run reads the given product numbers; an unknown number is rejected with a reason and the run is partial', async () => {
    const [known] = catalogueNos();
    const cursorBefore = await cursor();
    const run = await runAndWait({ product_nos: [known, 'P-NO-SUCH-404'] });
    expect(run.mode).to.equal('targeted');
    expect(run.status).to.equal('partial');
    expect(run.counts).to.deep.include({ fetched: 2, unchanged: 1, rejected: 1, failed: 0 });
    const f = run.failures.find((x) => x.product_no === 'P-NO-SUCH-404');
    expect(f, JSON.stringify(run.failures)).to.exist;
    expect(f!.code).to.be.a('string').and.not.empty;
    expect(f!.reason).to.be.a('string').and.not.empty;
    expect(await cursor(), 'a targeted run leaves the incremental cursor alone').to.equal(cursorBefore);
    expect(instancesByProductNo(sims.dt).get('P-NO-SUCH-404')).to.equal(undefined);
  });

  it('GET /runs lists runs newest first as a bare array and honours limit; GET /runs/:id 404s on an unknown id', async () => {
    const r = await svc.get('/runs?limit=100');
    expect(r.status).to.equal(200);
    expect(r.json).to.be.an('array');
    const ids = (r.json as RunRecord[]).map((x) => x.id);
    expect(new Set(ids).size, `a run listed twice: ${ids.join(', ')}`).to.equal(ids.length);
    const expected = [...seenRuns].reverse().map((x) => x.id);
    expect(new Set(expected).size, 'each webhook call of this test got a run of its own').to.equal(expected.length);
    expect(ids).to.deep.equal(expected);
    const starts = (r.json as RunRecord[]).map((x) => Date.parse(x.startedAt));
    for (let i = 1; i < starts.length; i++) expect(starts[i - 1]).to.be.at.least(starts[i]);

    const two = await svc.get('/runs?limit=2');
    expect((two.json as RunRecord[]).map((x) => x.id)).to.deep.equal(expected.slice(0, 2));
    expect((await svc.get('/runs/run-does-not-exist')).status).to.equal(404);
    expect((await svc.get('/runs', {})).status, 'runs need the API key').to.equal(401);
  });

  it('bad webhook calls (no key, wrong key, bad JSON, wrong media type, bad field, too large) are refused and start nothing', async () => {
    const runsBefore = (await svc.get('/runs?limit=100')).json.length;
    const okkiBefore = sims.okki.requests.length;
    const json = { 'content-type': 'application/json' };
    const cases: Array<[string, () => ReturnType<InProcessService['post']>, number, string?]> = [
      ['no key', () => svc.post({}, json), 401],
      ['wrong key', () => svc.post({}, { ...json, 'x-api-key': `${E2E_API_KEY}x` }), 401],
      ['bad JSON', () => svc.post('{"mode":', { 'x-api-key': E2E_API_KEY }), 400],
      ['not JSON', () => svc.post('mode=full', { 'x-api-key': E2E_API_KEY, 'content-type': 'text/plain' }), 415],
      ['wrong field type', () => svc.post({ mode: 'everything' }), 400, 'mode'],
      ['product_nos not an array', () => svc.post({ product_nos: 'P-000001' }), 400, 'product_nos'],
      ['too large', () => svc.post({ product_nos: Array.from({ length: 4000 }, (_, i) => `P-${String(i).padStart(12, '0')}`) }), 413],
    ];
    for (const [name, call, status, field] of cases) {
      const r = await call();
      expect(r.status, `${name}: ${r.text}`).to.equal(status);
      expect(r.json?.error?.code, `${name} answers a coded error`).to.be.a('string');
      if (field) expect(r.json.error.field, name).to.equal(field);
    }
    expect((await svc.get('/runs?limit=100')).json.length, 'no run was recorded').to.equal(runsBefore);
    expect((await svc.connector.engine.status()).runningRunId).to.equal(null);
    expect(sims.okki.requests.length, 'nothing was read from OKKI').to.equal(okkiBefore);
  });

  it('50 concurrent webhook calls make one run: the same runId for all, exactly one not coalesced', async () => {
    // Slow the run's first read so every call lands while it is in progress.
    sims.okki.setKnobs({ endpointLatencyMs: { groups: [4000, 4000] } });
    let answers;
    try {
      answers = await Promise.all(Array.from({ length: 50 }, () => svc.post({})));
    } finally {
      sims.okki.setKnobs({ endpointLatencyMs: {} });
    }
    for (const a of answers) expect(a.status, a.text).to.equal(202);
    const ids = new Set(answers.map((a) => a.json.runId));
    expect(ids.size, [...ids].join(', ')).to.equal(1);
    expect(answers.filter((a) => a.json.coalesced === false)).to.have.length(1);
    const run = await finishedRun(svc.url, [...ids][0]);
    seenRuns.push(run);
    expect(run.status).to.equal('succeeded');
    const all = (await svc.get('/runs?limit=100')).json as RunRecord[];
    expect(all.length).to.equal(seenRuns.length);
  });

  it('failed Yida writes leave the run partial and the cursor where it was; the next run heals and moves it', async () => {
    const fresh = ['P-E2E-FAIL-1', 'P-E2E-FAIL-2', 'P-E2E-FAIL-3'];
    sims.okki.catalog.upsert(fresh.map((no, i) => ({ product_no: no, name: `新产品 ${i}`, group_id: sims.okki.catalog.groups[0].id })));
    const cursorBefore = await cursor();
    sims.dt.setKnobs({ errorRates: { 'yida.startInstance': 1 } });
    let failed: RunRecord;
    try {
      failed = await runAndWait();
    } finally {
      sims.dt.setKnobs({ errorRates: {} });
    }
    expect(failed.status, JSON.stringify(failed)).to.equal('partial');
    expect(failed.counts.failed).to.equal(3);
    expect(failed.failures.map((f) => f.product_no).sort()).to.deep.equal(fresh);
    for (const f of failed.failures) expect(f.code).to.be.a('string').and.not.empty;
    expect(failed.cursorAfter).to.equal(cursorBefore);
    expect(await cursor(), 'cursor unchanged after a failed write').to.equal(cursorBefore);

    const healed = await runAndWait();
    expect(healed.status, JSON.stringify(healed.failures)).to.equal('succeeded');
    expect(healed.counts.created).to.equal(3);
    expect(await cursor()).to.equal(healed.window.end);
    const perNo = instancesByProductNo(sims.dt);
    for (const no of fresh) expect(perNo.get(no), no).to.equal(1);
  });

  it('a write that committed but answered 500 is reconciled by the exact search, never duplicated', async () => {
    const no = 'P-E2E-AMBIGUOUS';
    sims.okki.catalog.upsert([{ product_no: no, name: '模糊写入', group_id: sims.okki.catalog.groups[0].id }]);
    const searchesBefore = sims.dt.requests({ api: 'yida.getInstanceIdList' }).length;
    sims.dt.setKnobs({ commitThen500Rate: 1 });
    let first: RunRecord;
    try {
      first = await runAndWait();
    } finally {
      sims.dt.setKnobs({ commitThen500Rate: 0 });
    }
    // The writer reconciles an ambiguous start by search (in the same call or, failing that, in the next run).
    expect(sims.dt.requests({ api: 'yida.getInstanceIdList' }).length, 'reconciled by search').to.be.greaterThan(searchesBefore);
    const second = await runAndWait();
    expect(second.status, JSON.stringify(second.failures)).to.equal('succeeded');
    expect([first.counts.created + second.counts.created, first.counts.failed]).to.deep.equal([1, 0]);
    expect(instancesByProductNo(sims.dt).get(no), 'one instance, adopted from the committed write').to.equal(1);
    expect(sims.dt.requests({ api: 'yida.startInstance' }).filter((r) => r.committed)).to.have.length(1);
  });

  it('a product the mapping rejects is recorded with its reason, does not stop the others, and the cursor still moves', async () => {
    const [victim] = catalogueNos();
    sims.okki.catalog.upsert([{ product_no: victim, name: '' }, { product_no: 'P-E2E-OK', name: '好产品', group_id: sims.okki.catalog.groups[0].id }]);
    const run = await runAndWait();
    expect(run.status).to.equal('partial');
    expect(run.counts.rejected).to.equal(1);
    expect(run.counts.created).to.equal(1);
    const f = run.failures.find((x) => x.product_no === victim)!;
    expect(f, JSON.stringify(run.failures)).to.exist;
    expect(f.code).to.equal('MAPPING_REJECTED');
    expect(f.reason).to.include(FIELDS.name);
    expect(instancesByProductNo(sims.dt).get('P-E2E-OK')).to.equal(1);
    expect(run.cursorAfter, 'rejected products are parked: the window is done').to.equal(run.window.end);
    const msg = sims.dt.robotMessages().find((m) => m.msgUuid === run.id);
    expect(msg, 'the partial run was reported').to.exist;
    expect(robotText(msg!.body)).to.include(victim);

    // fixed at the source, the product goes through on the next run, into its existing instance
    sims.okki.catalog.upsert([{ product_no: victim, name: '已修正的名称' }]);
    const fixed = await runAndWait();
    expect(fixed.status, JSON.stringify(fixed.failures)).to.equal('succeeded');
    expect(fixed.counts.updated).to.equal(1);
    const inst = sims.dt.instances().filter((i) => i.data[FIELDS.productNo] === victim);
    expect(inst.map((i) => i.data[FIELDS.name])).to.deep.equal(['已修正的名称']);
  });

  it('every run was reported exactly once, signed, and nothing secret reached a run record, a report or a log line', async () => {
    const all = (await svc.get('/runs?limit=100')).json as RunRecord[];
    const reported = sims.dt.robotMessages().map((m) => m.msgUuid);
    for (const run of all) expect(reported.filter((u) => u === run.id), run.id).to.have.length(1);
    expect(sims.dt.robotMessages().every((m) => m.signatureVerified)).to.equal(true);
    const statusPage = (await svc.get('/', await consoleLogin(svc.url, E2E_API_KEY))).text;
    const haystacks = [JSON.stringify(all), ...sims.dt.robotMessages({ all: true }).map((m) => JSON.stringify(m.body)), svc.logs.join(''), statusPage];
    for (const secret of secretsOf(sims)) {
      const tag = createHash('sha256').update(secret).digest('hex').slice(0, 8);
      for (const h of haystacks) expect(h.includes(secret), `secret #${tag} leaked`).to.equal(false);
    }
  });

  it('a robot that refuses the report does not fail the run: the record says the report was not sent', async () => {
    // one message per minute and several already sent: the robot answers 410100 (blocked)
    sims.dt.setKnobs({ robotPerMinute: 1 });
    let run: RunRecord;
    try {
      run = await runAndWait();
    } finally {
      sims.dt.setKnobs({ robotPerMinute: 1000 });
      sims.dt.unblockRobots();
    }
    expect(run.status).to.equal('succeeded');
    expect(run.report?.sent).to.equal(false);
    expect(run.report?.error, 'the reason is recorded').to.be.a('string').and.not.empty;
    const stored = (await svc.get(`/runs/${run.id}`)).json as RunRecord;
    expect(stored.report?.sent).to.equal(false);
    expect(sims.dt.robotMessages().some((m) => m.msgUuid === run.id), 'no accepted message for it').to.equal(false);
  });

  it('/metrics shows runs by status and products by outcome; /readyz and /healthz answer ok', async () => {
    const m = await svc.get('/metrics', {});
    expect(m.status).to.equal(200);
    const value = (re: RegExp) => Number(re.exec(m.text)?.[1] ?? NaN);
    expect(value(/^connector_runs_total\{status="succeeded",trigger="webhook"\} (\d+)$/m)).to.be.greaterThan(0);
    expect(value(/^connector_runs_total\{status="partial",trigger="webhook"\} (\d+)$/m)).to.be.greaterThan(0);
    for (const outcome of ['created', 'updated', 'unchanged', 'rejected', 'failed']) {
      expect(value(new RegExp(`^connector_products_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm')), outcome).to.be.greaterThan(0);
    }
    expect(m.text).to.match(/^connector_api_calls_total\{/m);
    const ready = await svc.get('/readyz', {});
    expect(ready.status, ready.text).to.equal(200);
    expect(ready.json.status).to.equal('ready');
    expect((await svc.get('/healthz', {})).json).to.deep.equal({ status: 'ok' });
    const page = await svc.get('/', await consoleLogin(svc.url, E2E_API_KEY));
    expect(page.status).to.equal(200);
    expect(page.text).to.include(seenRuns[seenRuns.length - 1].id);
    expect(page.text, 'the status page shows the cursor').to.include((await cursor())!);
    await eventually('nothing running', async () => ((await svc.connector.engine.status()).runningRunId === null ? true : undefined), 5_000);
  });

  it('once shutdown begins, webhook calls answer 503 and start nothing; /readyz turns not ready', async () => {
    const runsBefore = (await svc.get('/runs?limit=100')).json.length;
    await svc.connector.engine.shutdown();
    const r = await svc.post({});
    expect(r.status, r.text).to.equal(503);
    expect(r.json.error.code).to.equal('SERVICE_SHUTTING_DOWN');
    expect((await svc.get('/readyz', {})).status).to.equal(503);
    expect((await svc.get('/runs?limit=100')).json.length).to.equal(runsBefore);
  });
});
