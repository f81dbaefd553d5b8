/**
 * Metering, budgets and quiet reports, end to end: the real composition root with the real SDK against both
 * simulators over loopback sockets. What the connector says it spent is checked against what the simulators saw.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import {
  eventually, liveEnv, robotText, startInProcess, startSims, tempDir, type InProcessService, type Sims,
} from './helpers/e2e.js';
import { startSchedule } from '../src/schedule.js';
import { silentLogger } from '../src/log.js';
import { monthOf } from '../src/metering/usage.js';
import type { RunRecord } from '../src/core/index.js';

const okkiApiCalls = (s: Sims) => s.okki.requests.filter((r) => ['list', 'info', 'groups'].includes(r.endpoint)).length;

describe('metering, budgets and quiet reports (e2e)', function () {
  this.timeout(90_000);

  let sims: Sims | undefined;
  let svc: InProcessService | undefined;
  let tmp: ReturnType<typeof tempDir>;
  const store = () => `sqlite://${join(tmp.dir, 'store.sqlite')}`;

  beforeEach(async () => { tmp = tempDir('metering-'); });
  afterEach(async () => {
    await svc?.close();
    svc = undefined;
    await sims?.close();
    sims = undefined;
    tmp?.remove();
  });

  async function start(products: number, env: Record<string, string> = {}): Promise<InProcessService> {
    sims ??= await startSims({ okki: { products } });
    svc = await startInProcess(sims, liveEnv(sims, { STORE_URL: store(), ...env }));
    return svc;
  }
  /** the simulators of the test (started by the test or by start()) */
  const sim = () => sims!;
  async function runAndWait(s: InProcessService, body: Record<string, unknown> = {}): Promise<RunRecord> {
    const r = await s.post({ ...body, wait: true });
    expect(r.status, r.text).to.equal(200);
    return r.json as RunRecord;
  }
  /** the stored record once the report is settled (the report is sent after the first save) */
  async function settled(s: InProcessService, id: string): Promise<RunRecord> {
    return eventually(`run ${id} reported`, async () => {
      const r = (await s.get(`/runs/${id}`)).json as RunRecord;
      return r.report ? r : undefined;
    });
  }

  it('run records carry the calls the simulators saw: metered DingTalk calls without tokens and throttled refusals, OKKI requests, robot messages', async () => {
    sims = await startSims({ okki: { products: 60 } });
    // throttle startInstance hard so that refusals happen: DingTalk does not bill them, nor may we count them
    sim().dt.setKnobs({ qpsLimits: { 'yida.startInstance': 8 } });
    const s = await start(60, { ROBOT_REPORT: 'every' });
    const run = await settled(s, (await runAndWait(s)).id);
    expect(run.counts.created).to.equal(60);
    const seen = sim().dt.calls();
    expect(seen.throttled, 'throttled refusals happened').to.be.greaterThan(0);
    expect(seen.token).to.be.greaterThan(0);
    expect(run.calls?.dingtalk).to.equal(seen.metered);
    expect(run.calls?.okki).to.equal(okkiApiCalls(sim()));
    expect(run.calls?.robot).to.equal(1);
    expect(seen.robot).to.equal(1);

    // an unchanged run costs no DingTalk call at all (a list read only)
    const before = sim().dt.calls().metered;
    const quiet = await settled(s, (await runAndWait(s, { mode: 'full' })).id);
    expect(quiet.counts.unchanged).to.equal(60);
    expect(quiet.calls?.dingtalk).to.equal(0);
    expect(sim().dt.calls().metered).to.equal(before);

    // Prometheus counts the same
    const metrics = (await s.get('/metrics', {})).text;
    const dt = /connector_metered_calls_total\{target="dingtalk"\} (\d+)/.exec(metrics);
    expect(Number(dt?.[1])).to.equal(seen.metered);
    expect(metrics).to.match(/connector_metered_calls_total\{target="robot"\} 2/);
  });

  it('GET /usage answers the month to date from the store: behind the API key, across a restart, shared by two services on one store', async () => {
    const s = await start(25);
    expect((await s.get('/usage', {})).status).to.equal(401);
    await runAndWait(s);
    const u1 = await s.get('/usage');
    expect(u1.status).to.equal(200);
    expect(u1.json).to.deep.equal({
      month: monthOf(new Date(), 'Asia/Shanghai'),
      dingtalk: { calls: sim().dt.calls().metered, budget: 5000 },
      robot: { messages: sim().dt.calls().robot, budget: 3000 },
    });
    expect(u1.json.dingtalk.calls).to.be.greaterThan(25);

    // a second service on the same store (another process would do the same: the counters are in the store)
    const other = await startInProcess(sim(), liveEnv(sim(), { STORE_URL: store(), DINGTALK_MONTHLY_CALL_BUDGET: '0' }));
    try {
      expect((await other.get('/usage')).json.dingtalk).to.deep.equal({ calls: u1.json.dingtalk.calls, budget: 0 });
    } finally { await other.close(); }

    // restart: the month's counts are still there, and grow from there
    await s.close();
    svc = await startInProcess(sim(), liveEnv(sim(), { STORE_URL: store() }));
    expect((await svc.get('/usage')).json.dingtalk.calls).to.equal(u1.json.dingtalk.calls);
    sim().okki.catalog.edit('P-000001', { name: '改个名字' });
    await runAndWait(svc);
    expect((await svc.get('/usage')).json.dingtalk.calls).to.equal(sim().dt.calls().metered);
  });

  it('DingTalk budget: 80 % is said in the report, at 100 % scheduled runs are skipped (BUDGET_EXHAUSTED) while webhook runs still run', async () => {
    sims = await startSims({ okki: { products: 40 } });
    // the backfill spends about 41 calls (a key scan and one start per product): budget 50 → just over 80 %
    const s = await start(40, { DINGTALK_MONTHLY_CALL_BUDGET: '50' });
    const backfill = await settled(s, (await runAndWait(s)).id);
    const used = sim().dt.calls().metered;
    expect(used).to.be.within(40, 49);
    const warn = robotText(sim().dt.robotMessages().find((m) => m.msgUuid === backfill.id)!.body);
    expect(warn).to.include(`钉钉 API 调用本月已用 ${Math.floor((used / 50) * 100)}%`);

    // edits that spend the rest: the report of the run that crosses 100 % announces it
    for (let i = 1; i <= 12; i++) sim().okki.catalog.edit(`P-${String(i).padStart(6, '0')}`, { name: `改名 ${i}` });
    const crossing = await settled(s, (await runAndWait(s)).id);
    expect(crossing.status).to.equal('succeeded');
    expect(sim().dt.calls().metered).to.be.at.least(50);
    expect(robotText(sim().dt.robotMessages().find((m) => m.msgUuid === crossing.id)!.body)).to.include('钉钉 API 调用本月额度已用尽');

    // a scheduled tick now: skipped, recorded, nothing called
    const meteredBefore = sim().dt.calls().metered;
    const okkiBefore = okkiApiCalls(sim());
    sim().okki.catalog.edit('P-000020', { name: '预算用尽后的修改' });
    const t = await s.connector.engine.trigger({ trigger: 'schedule', requestedBy: 'test tick' });
    expect(t.status).to.equal('skipped');
    const skipped = (await s.get(`/runs/${t.runId}`)).json as RunRecord;
    expect(skipped).to.include({ status: 'skipped', trigger: 'schedule' });
    expect(skipped.error?.code).to.equal('BUDGET_EXHAUSTED');
    expect(skipped.calls).to.deep.equal({ dingtalk: 0, okki: 0, robot: 0 });
    // already announced by the run that crossed: the skip itself is quiet
    expect(skipped.report?.sent).to.equal(false);
    expect(skipped.report?.skipped).to.match(/ROBOT_REPORT=changes/);
    expect(sim().dt.calls().metered).to.equal(meteredBefore);
    expect(okkiApiCalls(sim())).to.equal(okkiBefore);
    expect((await s.get('/runs?limit=1')).json[0].id).to.equal(t.runId);

    // the real schedule does the same
    const task = startSchedule(s.connector.engine, { cron: '* * * * * *', timezone: 'Asia/Shanghai' }, silentLogger);
    try {
      await eventually('a skipped scheduled run from the cron task', async () => {
        const runs = (await s.get('/runs?limit=5')).json as RunRecord[];
        return runs.find((r) => r.id !== t.runId && r.status === 'skipped' && r.requestedBy?.startsWith('cron')) ?? undefined;
      }, 5000);
    } finally { await task.stop(); }
    expect(sim().dt.calls().metered).to.equal(meteredBefore);

    // a tick being skipped at the moment a person presses the button does not swallow the button's run
    const [tick, button] = await Promise.all([
      s.connector.engine.trigger({ trigger: 'schedule' }), s.connector.engine.trigger({ trigger: 'webhook' }),
    ]);
    expect(button).to.include({ status: 'running', coalesced: false });
    // the tick is skipped, or (when the button's claim got there first) joins the button's run: never the reverse
    if (tick.status !== 'skipped') expect(tick).to.include({ runId: button.runId, coalesced: true });
    const pressed = await s.connector.engine.waitForRun(button.runId, 20_000);
    expect(pressed?.status).to.equal('succeeded');
    expect(pressed?.counts.updated).to.equal(1);

    // and the button through the webhook
    sim().okki.catalog.edit('P-000021', { name: '按钮触发' });
    const manual = await runAndWait(s);
    expect(manual.status).to.equal('succeeded');
    expect(manual.counts.updated).to.equal(1);
    expect(sim().dt.calls().metered).to.be.greaterThan(meteredBefore);
  });

  it('quiet reports: ROBOT_REPORT=changes (default) sends nothing for a run that changed nothing, and says so in the record', async () => {
    const s = await start(20);
    await settled(s, (await runAndWait(s)).id);
    expect(sim().dt.robotMessages()).to.have.length(1);
    const idle = await settled(s, (await runAndWait(s, { mode: 'full' })).id);
    expect(idle.counts.unchanged).to.equal(20);
    expect(idle.report).to.deep.include({ sent: false });
    expect(idle.report?.skipped).to.match(/ROBOT_REPORT=changes/);
    expect(idle.calls?.robot).to.equal(0);
    expect(sim().dt.robotMessages()).to.have.length(1);
    sim().okki.catalog.edit('P-000003', { name: '有变化' });
    const changed = await settled(s, (await runAndWait(s)).id);
    expect(changed.report?.sent).to.equal(true);
    expect(sim().dt.robotMessages()).to.have.length(2);
    expect(robotText(sim().dt.robotMessages()[1].body)).to.include('更新 **1**');
    // a day of unchanged scheduled runs: no message at all
    for (let i = 0; i < 5; i++) await s.connector.engine.waitForRun((await s.connector.engine.trigger({ trigger: 'schedule' })).runId, 20_000);
    expect(sim().dt.robotMessages()).to.have.length(2);
  });

  it('ROBOT_REPORT=failures reports only partial and failed runs', async () => {
    const s = await start(15, { ROBOT_REPORT: 'failures' });
    const ok = await settled(s, (await runAndWait(s)).id);
    expect(ok.counts.created).to.equal(15);
    expect(ok.report?.skipped).to.match(/ROBOT_REPORT=failures/);
    expect(sim().dt.robotMessages()).to.have.length(0);
    const partial = await settled(s, (await runAndWait(s, { product_nos: ['NO-SUCH-PRODUCT'] })).id);
    expect(partial.status).to.equal('partial');
    expect(partial.report?.sent).to.equal(true);
    expect(sim().dt.robotMessages()).to.have.length(1);
  });

  it('robot budget: 80 % is announced even by a quiet run, the last message says it is the last, then reports stop and the record says why', async () => {
    const s = await start(10, { ROBOT_MONTHLY_MESSAGE_BUDGET: '5' });
    for (let i = 0; i < 4; i++) {
      sim().okki.catalog.edit('P-000001', { name: `第 ${i} 次修改` });
      await settled(s, (await runAndWait(s)).id);
    }
    expect(sim().dt.robotMessages()).to.have.length(4);
    // nothing changed, but 4 of 5 messages are used: the 80 % notice goes out once, and it is the last message
    const fifth = await settled(s, (await runAndWait(s, { mode: 'full' })).id);
    expect(fifth.counts.unchanged).to.equal(10);
    expect(fifth.report?.sent).to.equal(true);
    const text = robotText(sim().dt.robotMessages()[4].body);
    expect(text).to.include('机器人消息本月已用 80%');
    expect(text).to.include('本条为第 5 / 5 条');
    // exhausted: even a run with changes sends nothing, and its record says why
    sim().okki.catalog.edit('P-000002', { name: '额度用尽后' });
    const after = await settled(s, (await runAndWait(s)).id);
    expect(after.counts.updated).to.equal(1);
    expect(after.report?.sent).to.equal(false);
    expect(after.report?.skipped).to.match(/^ROBOT_MONTHLY_BUDGET_EXHAUSTED/);
    expect(sim().dt.robotMessages()).to.have.length(5);
    expect((await s.get('/usage')).json.robot).to.deep.equal({ messages: 5, budget: 5 });
  });
});
