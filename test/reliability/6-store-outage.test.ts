/**
 * Scenario 6 — the Redis store dies mid-run. The run must end cleanly (a status and reasons, no crash, no Yida write
 * without its ledger entry) with the cursor where it was; once Redis is back, the next run must complete with exactly
 * one instance per product.
 */
import { expect } from 'chai';
import { startOkkiSimulator, type OkkiSimulator } from '../../src/sandbox/okki/index.js';
import { startDingtalkSimulator, type DingtalkSimulator } from '../../src/sandbox/dingtalk/index.js';
import type { RunRecord } from '../../src/core/index.js';
import {
  crashLines, recordFigure, secondsSince, serviceEnv, spawnService, tally, triggerFresh, waitFor, waitForRunEnd, type ServiceProcess,
} from '../helpers/reliability.js';
import { redisAvailable, startRedis, type RedisHandle } from '../helpers/redis.js';

const SEED = 8601;
const PRODUCTS = 400;
/** the default mapping's product-number field (manifest/mapping.json) */
const KEY_FIELD = 'textField_lq23ags2';

/** The run's last word, from its log (its record cannot be saved while the store is down). */
function finishedLine(svc: ServiceProcess, runId: string): Record<string, any> | undefined {
  return svc.logs().find((l) => l.runId === runId && l.msg === 'run finished') as Record<string, any> | undefined;
}

interface Outcome { killedAt: number; failedRun: Record<string, any>; storedRecord: RunRecord | undefined; next: { status: string; counts: unknown }; missing: number; duplicates: number; cursorBefore: unknown }

async function outageScenario(okki: OkkiSimulator, dt: DingtalkSimulator, redis: { url: string; kill(): Promise<void>; restart(): Promise<void> }, label: string, services: ServiceProcess[]): Promise<Outcome> {
  const env = serviceEnv({ okki, dt, storeUrl: redis.url, apiKey: 'outage-api-key-0123456789', extra: { YIDA_QPS: '100', YIDA_CONCURRENCY: '8' } });
  const svc = await spawnService(label, env);
  services.push(svc);
  const cursorBefore = await svc.api.statusCursor();
  const trig = await svc.api.trigger({ wait: false });
  expect(trig.status).to.equal(202);
  const runId = trig.body.runId as string;
  await waitFor('a quarter of the products written', () => dt.instanceCount() >= PRODUCTS / 4 || undefined, { timeoutMs: 60_000, intervalMs: 20 });
  await redis.kill();
  const killedAt = dt.instanceCount();
  const failedRun = await waitFor(`run ${runId} to finish without its store`, () => finishedLine(svc, runId), { timeoutMs: 60_000, intervalMs: 200 });
  const aliveDuringOutage = svc.exitInfo === undefined && (await svc.api.healthz()) === 200;
  const readyDuringOutage = (await fetch(`${svc.url}/readyz`)).status;
  expect(aliveDuringOutage, 'service alive while the store is down').to.equal(true);
  expect(readyDuringOutage, 'not ready while the store is down').to.equal(503);

  await redis.restart();
  const stored = await waitFor('the store to answer again', async () => (await fetch(`${svc.url}/readyz`)).status === 200 || undefined, { timeoutMs: 30_000, intervalMs: 200 });
  expect(stored).to.equal(true);
  expect(await svc.api.statusCursor(), 'cursor unchanged by the failed run').to.equal(cursorBefore);
  const storedRecord = await svc.api.run(runId);
  const again = await triggerFresh(svc, runId);
  const next = await waitForRunEnd(svc, again.runId, 90_000);
  const { missing, duplicates } = tally(dt, KEY_FIELD, [...okki.catalog.all()].map((p) => p.product_no));
  await svc.stop();
  expect(crashLines(svc)).to.deep.equal([]);
  return { killedAt, failedRun, storedRecord, next: { status: next.status, counts: next.counts }, missing: missing.length, duplicates, cursorBefore };
}

describe('reliability 6: the Redis store dies mid-run', function () {
  this.timeout(180_000);
  let okki: OkkiSimulator;
  let dt: DingtalkSimulator;
  const services: ServiceProcess[] = [];
  let persistent: RedisHandle | undefined;
  let volatile: RedisHandle | undefined;

  before(function () {
    if (!redisAvailable()) this.skip();
  });
  beforeEach(async () => {
    okki = await startOkkiSimulator({ seed: SEED, products: PRODUCTS });
    dt = await startDingtalkSimulator({ seed: SEED, knobs: { latencyMs: [20, 60] } });
  });
  afterEach(async () => {
    for (const s of services.splice(0)) await s.kill();
    await dt?.close();
    await okki?.close();
    await persistent?.stop().catch(() => undefined);
    persistent = undefined;
    await volatile?.stop().catch(() => undefined);
    volatile = undefined;
  });

  it('a persistent Redis killed mid-run: the run ends without its store, cursor unchanged; after restart the next run completes, no duplicates', async () => {
    const t0 = Date.now();
    persistent = await startRedis({ persistent: true });
    const o = await outageScenario(okki, dt, persistent, 'outage (persistent redis)', services);
    // eslint-disable-next-line no-console
    console.log(`      killed at ${o.killedAt} instances; run during the outage ended ${o.failedRun.status} ${JSON.stringify(o.failedRun.counts)} (stored record after the restart: ${o.storedRecord?.status}); next run ${o.next.status} ${JSON.stringify(o.next.counts)}`);
    recordFigure({
      scenario: '6 store outage (Redis SIGKILL mid-run, AOF on)', iterations: '1 outage', products: PRODUCTS, missing: o.missing, duplicates: o.duplicates,
      result: o.missing === 0 && o.duplicates === 0 && o.next.status === 'succeeded' ? `pass (outage run ${o.failedRun.status}, next run succeeded)` : 'FAIL',
      seconds: secondsSince(t0),
    });
    expect(['failed', 'partial'], 'the run during the outage ends with a status').to.include(o.failedRun.status);
    expect(o.next.status).to.equal('succeeded');
    expect(o.missing).to.equal(0);
    expect(o.duplicates).to.equal(0);
  });

  // Regression (found by this suite): the run used to go on failing product by product, end `partial`, and stay
  // `running` in the store for ever because its final record could not be saved.
  it('a persistent Redis killed mid-run: the run is recorded `failed` with STORE_UNAVAILABLE, never left `running`', async () => {
    persistent = await startRedis({ persistent: true });
    const o = await outageScenario(okki, dt, persistent, 'outage record (persistent redis)', services);
    expect(o.failedRun.status, 'status of the run that lost its store').to.equal('failed');
    expect(o.storedRecord?.status, 'stored record after the restart').to.not.equal('running');
    expect(o.storedRecord?.error?.code).to.equal('STORE_UNAVAILABLE');
  });

  // Regression (found by this suite): a Redis that restarts EMPTY loses the ledger and the cursor; the next run is a
  // backfill, which now looks every product number up before creating it, so nothing is duplicated.
  it('a Redis that comes back empty (no persistence): the next run still creates no duplicates', async () => {
    const t0 = Date.now();
    volatile = await startRedis();
    const o = await outageScenario(okki, dt, volatile, 'outage (volatile redis)', services);
    recordFigure({
      scenario: '6b store outage (Redis restarts empty)', iterations: '1 outage', products: PRODUCTS, missing: o.missing, duplicates: o.duplicates,
      result: o.missing === 0 && o.duplicates === 0 ? 'pass' : `FAIL (${o.duplicates} duplicates)`, seconds: secondsSince(t0),
    });
    expect(o.missing).to.equal(0);
    expect(o.duplicates, 'duplicates after the ledger was lost').to.equal(0);
  });
});
