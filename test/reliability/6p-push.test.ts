/**
 * Scenario 8 — OKKI push (file 6p-…: it runs before 7-secrets, so the secrets audit covers its output too). The OKKI
 * simulator's emitter delivers signed, encrypted product events to spawned service processes (`src/main.ts`,
 * OKKI_WEBHOOK_SECRET set) over loopback, with OKKI's retry-then-drop schedule (shortened):
 *  a. SIGKILL right after the acknowledgements (events queued, not yet drained), on sqlite and on Redis, and SIGKILL in
 *     the middle of a push run (sqlite): after the restart every acknowledged change reaches Yida;
 *  b. every message delivered twice, and deliveries out of order (a product's update after its delete): nothing is
 *     applied twice, nothing deleted comes back;
 *  c. bad signatures, stale timestamps, undecryptable payloads (from the emitter), a 1 MB body and broken JSON: every
 *     one refused with a 4xx, nothing queued, nothing run; what OKKI then dropped is synced by the polling backstop.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { createHmac, randomBytes } from 'node:crypto';
import { startOkkiSimulator, type OkkiSimulator } from '../../src/sandbox/okki/index.js';
import { startDingtalkSimulator, type DingtalkSimulator } from '../../src/sandbox/dingtalk/index.js';
import type { RunRecord } from '../../src/core/index.js';
import {
  crashLines, recordFigure, secondsSince, serviceEnv, spawnService, tally, tempDir, waitFor, waitForRunEnd, type ServiceProcess,
} from '../helpers/reliability.js';
import { redisAvailable, startRedis, type RedisHandle } from '../helpers/redis.js';

const SEED = 8801;
const PRODUCTS = 300;
const KEY_FIELD = 'textField_lq23ags2';
const NAME_FIELD = 'textField_lq0sj9h9';
const API_KEY = 'push-reliability-key-0123456789';

describe('reliability 8: OKKI push (the simulator pushes to service processes)', function () {
  this.timeout(300_000);
  let okki: OkkiSimulator;
  let dt: DingtalkSimulator;
  let dir: string;
  let redis: RedisHandle | undefined;
  const secret = randomBytes(32).toString('base64');
  const services: ServiceProcess[] = [];
  let all: string[];

  before(async () => {
    okki = await startOkkiSimulator({ seed: SEED, products: PRODUCTS });
    dt = await startDingtalkSimulator({ seed: SEED, knobs: { latencyMs: [10, 40] } });
    dir = tempDir('push');
    all = [...okki.catalog.all()].map((p) => String(p.product_no));
  });
  after(async () => {
    for (const s of services) await s.kill();
    await redis?.stop();
    await dt?.close();
    await okki?.close();
  });

  async function start(label: string, storeUrl: string, extra: Record<string, string> = {}): Promise<ServiceProcess> {
    const env = serviceEnv({ okki, dt, storeUrl, apiKey: API_KEY, extra: { OKKI_WEBHOOK_SECRET: secret, YIDA_QPS: '100', ...extra } });
    const svc = await spawnService(label, env, { extraSecrets: () => [secret] });
    services.push(svc);
    // what `npm run okki:subscribe` sets up; after a restart the service listens on a new port: OKKI is told where
    okki.push.configure({ callbackUrl: `${svc.url}/webhooks/okki`, securityConfig: secret });
    return svc;
  }

  const nameInYida = () => new Map(dt.instances().map((i) => [String(i.data[KEY_FIELD]), i.data[NAME_FIELD]]));
  function holding(expected: Map<string, string>): string[] {
    const now = nameInYida();
    return [...expected].filter(([no, name]) => now.get(no) === name).map(([no]) => no);
  }
  async function edit(nos: string[], tag: string): Promise<Map<string, string>> {
    const expected = new Map<string, string>();
    for (const no of nos) { const name = `${tag} ${no}`; expected.set(no, name); okki.catalog.edit(no, { name }); }
    return expected;
  }
  async function quiet(svc: ServiceProcess): Promise<RunRecord[]> {
    return waitFor('runs to finish', async () => { const r = await svc.api.runs(100); return r.every((x) => x.status !== 'running') ? r : undefined; }, { timeoutMs: 60_000, intervalMs: 200 });
  }
  async function backfill(svc: ServiceProcess): Promise<void> {
    const t = await svc.api.trigger({ mode: 'full', wait: false });
    const run = await waitForRunEnd(svc, t.body.runId, 120_000);
    expect(run.status).to.equal('succeeded');
  }

  it('a. SIGKILL right after the acknowledgements, and in the middle of a push run: every acknowledged change lands', async function () {
    const t0 = Date.now();
    okki.setKnobs({ push: { retryDelaysMs: [2000, 4000, 8000], concurrency: 4 } });
    const backends: Array<{ name: string; url: () => string; midRun: boolean }> = [{ name: 'sqlite', url: () => `sqlite://${join(dir, 'a.sqlite')}`, midRun: true }];
    if (redisAvailable()) {
      redis = await startRedis({ persistent: true });
      backends.push({ name: 'redis', url: () => redis!.url, midRun: false });
    }
    const outcomes: string[] = [];
    let changed = 0;
    let cursor = 0;
    for (const b of backends) {
      // 1. acknowledged, then killed before the debounce let a run start
      const first = await start(`push ${b.name} before kill`, b.url(), { PUSH_DEBOUNCE_MS: '8000' });
      await backfill(first);
      okki.push.clearDeliveries();
      const picks = all.slice(cursor, cursor + 40); cursor += 40;
      const expected = await edit(picks, `杀前-${b.name}`);
      await okki.push.settled(30_000);
      expect(okki.push.deliveries.filter((d) => d.state === 'delivered')).to.have.length(40);
      await first.kill();
      const landedBeforeKill = holding(expected).length;
      expect(crashLines(first)).to.deep.equal([]);
      const second = await start(`push ${b.name} after kill`, b.url());
      await waitFor('every acknowledged change in Yida after the restart', () => holding(expected).length === expected.size || undefined, { timeoutMs: 60_000, intervalMs: 200 });
      changed += expected.size;
      outcomes.push(`${b.name}: 40 acked then SIGKILL (${landedBeforeKill} had landed) → 40/40 after restart`);

      // 2. killed while a push run writes (sqlite: its claims are taken back at start-up)
      if (b.midRun) {
        dt.setKnobs({ latencyMs: [40, 80] });
        const many = all.slice(cursor, cursor + 150); cursor += 150;
        const exp2 = await edit(many, `跑中杀-${b.name}`);
        await waitFor('a push run half-way', () => holding(exp2).length >= 30 || undefined, { timeoutMs: 60_000, intervalMs: 20 });
        await second.kill();
        const landed = holding(exp2).length;
        dt.setKnobs({ latencyMs: [10, 40] });
        const third = await start(`push ${b.name} after mid-run kill`, b.url());
        // deliveries that failed while the service was down are OKKI's to retry; they reach the new process
        await waitFor('every change in Yida after the restart', () => holding(exp2).length === exp2.size || undefined, { timeoutMs: 90_000, intervalMs: 200 });
        await okki.push.settled(60_000);
        const lost = okki.push.deliveries.filter((d) => d.state === 'dropped').length;
        expect(lost, 'no delivery dropped').to.equal(0);
        changed += exp2.size;
        outcomes.push(`${b.name}: SIGKILL mid-run at ${landed}/150 → 150/150 after restart`);
        await quiet(third);
        await third.stop();
        expect(crashLines(third)).to.deep.equal([]);
      } else {
        await quiet(second);
        await second.stop();
      }
      expect(crashLines(second)).to.deep.equal([]);
    }
    const { missing, duplicates } = tally(dt, KEY_FIELD, all);
    recordFigure({
      scenario: '8a push: SIGKILL after acks (sqlite, Redis) and mid-run (sqlite)', iterations: `${outcomes.length} kills`, products: `${PRODUCTS} (${changed} changed)`,
      missing: missing.length, duplicates, result: missing.length === 0 && duplicates === 0 ? `pass (${outcomes.join('; ')})` : 'FAIL', seconds: secondsSince(t0),
    });
    expect(missing).to.deep.equal([]);
    expect(duplicates).to.equal(0);
  });

  it('b. duplicate deliveries and out-of-order deliveries: nothing applied twice, nothing deleted comes back', async () => {
    const t0 = Date.now();
    const svc = await start('push duplicates/order', `sqlite://${join(dir, 'b.sqlite')}`);
    await backfill(svc);
    // every message twice
    okki.setKnobs({ push: { duplicateRate: 1, retryDelaysMs: [500, 1000, 2000] } });
    okki.push.clearDeliveries();
    const writesBefore = dt.requests({ api: 'yida.updateInstance' }).length;
    const dups = all.slice(240, 270);
    const expected = await edit(dups, '重复');
    await okki.push.settled(30_000);
    await waitFor('the duplicated changes in Yida', () => holding(expected).length === expected.size || undefined, { timeoutMs: 30_000, intervalMs: 100 });
    await quiet(svc);
    const deliveries = okki.push.deliveries;
    const writes = dt.requests({ api: 'yida.updateInstance' }).length - writesBefore;
    expect(deliveries.filter((d) => d.duplicate)).to.have.length(30);
    expect(deliveries.every((d) => d.state === 'delivered')).to.equal(true);
    expect(writes, 'one write per changed product').to.equal(30);
    okki.setKnobs({ push: { duplicateRate: 0 } });

    // a product's update delivered after its delete
    okki.setKnobs({ push: { holdMs: 300, order: 'reverse' } });
    okki.push.clearDeliveries();
    const doomed = all.slice(270, 280);
    const before = dt.requests().length;
    for (const no of doomed) { okki.catalog.edit(no, { name: `删前 ${no}` }); okki.catalog.delete([no]); }
    await okki.push.settled(30_000);
    // per product, its delete was delivered before its update
    const seq = okki.push.deliveries.map((d) => `${(d.biz[0].biz_data as { product_no: string }).product_no}:${d.biz[0].biz_type.split('.').pop()}`);
    for (const no of doomed) expect(seq.indexOf(`${no}:delete`), `${no}: ${seq.join(',')}`).to.be.below(seq.indexOf(`${no}:update`)).and.at.least(0);
    const runs = await waitFor('the push runs for the deleted products', async () => {
      const r = (await quiet(svc)).filter((x) => x.trigger === 'push');
      const gone = new Set(r.flatMap((x) => x.gone?.found.product_nos ?? []));
      return doomed.every((no) => gone.has(no)) ? r : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    const writesAfter = dt.requests().slice(before).filter((r) => /yida\.(start|update)/.test(r.api ?? ''));
    expect(writesAfter, 'no write for a deleted product').to.deep.equal([]);
    expect(runs.filter((r) => r.gone?.found.count).every((r) => r.counts.rejected === 0 && r.status === 'succeeded')).to.equal(true);
    const stillOne = doomed.every((no) => tally(dt, KEY_FIELD, [no]).missing.length === 0);
    okki.setKnobs({ push: { holdMs: 0, order: 'inOrder' } });
    await svc.stop();
    expect(crashLines(svc)).to.deep.equal([]);
    const { duplicates } = tally(dt, KEY_FIELD, all);
    recordFigure({
      scenario: '8b push: every message twice; update after delete', iterations: '30 duplicated + 10 reversed pairs', products: 40,
      missing: 0, duplicates, result: duplicates === 0 && writes === 30 && stillOne ? `pass (60 deliveries → 30 writes; 10 deletes first → 0 writes, 0 rejections, SYNC_DELETIONS unset: instances kept)` : 'FAIL', seconds: secondsSince(t0),
    });
    expect(duplicates).to.equal(0);
  });

  it('c. bad signatures, stale timestamps, bad ciphertext, a 1 MB body, broken JSON: all 4xx, nothing queued; the backstop syncs what OKKI dropped', async () => {
    const t0 = Date.now();
    const svc = await start('push hostile', `sqlite://${join(dir, 'c.sqlite')}`);
    await backfill(svc);
    const runsBefore = (await svc.api.runs(100)).length;
    okki.setKnobs({ push: { retryDelaysMs: [100, 200, 300], duplicateRate: 0 } });
    const statuses: number[] = [];
    const victims: string[] = [];
    for (const [i, corrupt] of (['signature', 'timestamp', 'ciphertext'] as const).entries()) {
      okki.setKnobs({ push: { corrupt } });
      okki.push.clearDeliveries();
      const no = all[290 + i];
      victims.push(no);
      okki.catalog.edit(no, { name: `坏请求 ${corrupt}` });
      await okki.push.settled(30_000);
      const d = okki.push.deliveries;
      expect(d).to.have.length(1);
      expect(d[0].state, corrupt).to.equal('dropped');
      expect(d[0].attempts, corrupt).to.have.length(4);
      statuses.push(...d[0].attempts.map((a) => a.status));
    }
    okki.setKnobs({ push: { corrupt: 'none' } });
    // what the emitter cannot send: an oversized body (validly signed) and broken JSON (validly signed)
    const ts = String(Math.floor(Date.now() / 1000));
    const sign = (body: string) => createHmac('sha256', secret).update(ts + body).digest('hex');
    for (const body of [JSON.stringify({ message_id: 'msg_big', data: 'A'.repeat(1024 * 1024) }), '{"message_id": "msg_broken", "data": ']) {
      const res = await fetch(`${svc.url}/webhooks/okki`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-timestamp': ts, 'x-signature': sign(body) }, body });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    const bad = statuses.filter((s) => s >= 400 && s < 500).length;
    expect(statuses.every((s) => s >= 400 && s < 500), `every bad request 4xx: ${statuses.join(',')}`).to.equal(true);
    expect(statuses).to.include.members([401, 400, 413]);
    await new Promise((r) => setTimeout(r, 1500)); // a run would have started after the debounce
    expect((await svc.api.runs(100)).length, 'no run started').to.equal(runsBefore);
    const names = nameInYida();
    expect(victims.every((no) => !String(names.get(no)).startsWith('坏请求'))).to.equal(true);
    // OKKI dropped those messages: the polling backstop (an incremental run) brings the products in
    const t = await svc.api.trigger({ wait: false });
    const run = await waitForRunEnd(svc, t.body.runId, 60_000);
    expect(run.status).to.equal('succeeded');
    const after = nameInYida();
    const synced = victims.filter((no) => String(after.get(no)).startsWith('坏请求')).length;
    expect(synced).to.equal(3);
    await svc.stop();
    expect(crashLines(svc)).to.deep.equal([]);
    recordFigure({
      scenario: '8c push: hostile deliveries', iterations: `${statuses.length} requests`, products: 3, missing: 3 - synced, duplicates: 0,
      result: bad === statuses.length ? `pass (all 4xx: ${[...new Set(statuses)].sort().join('/')}; 0 queued, 0 runs; 3 dropped by OKKI → synced by the next poll)` : 'FAIL', seconds: secondsSince(t0),
    });
  });
});
