/**
 * End to end as a separate process: `npm start` / `node --import tsx src/main.ts` with a hermetic environment, against
 * simulators this test starts (or the built-in sandbox). Everything is observed from outside: logs, HTTP, the
 * simulators' records. Waits poll state with generous bounds; nothing asserts on speed.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  E2E_API_KEY, WEBHOOK, eventually, finishedRun, instancesByProductNo, liveEnv, robotText, secretsOf, startSims, tempDir, type Sims,
} from './helpers/e2e.js';
import { allOutput, killAllStarted, spawnService } from './helpers/service-process.js';
import { request } from './helpers/fake-service.js';
import { redisAvailable, startRedis } from './helpers/redis.js';
import type { RunRecord } from '../src/core/index.js';

const CATALOGUE = 30;
const auth = { 'x-api-key': E2E_API_KEY };

async function listRuns(url: string, headers: Record<string, string> = auth): Promise<RunRecord[]> {
  const r = await request(url, { path: '/runs?limit=100', headers });
  if (r.status !== 200) throw new Error(`GET /runs answered ${r.status}: ${r.text}`);
  return r.json as RunRecord[];
}

function postWebhook(url: string, body: unknown) {
  return request(url, { method: 'POST', path: WEBHOOK, headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify(body) });
}

describe('e2e process: the service as `npm start` runs it', function () {
  this.timeout(90_000);

  const tmp = tempDir('e2e-proc-');
  const allSims: Sims[] = [];
  /** every secret value handed to any service in this file, checked against all output at the end */
  const secrets = new Set<string>();
  /** every run record and robot message seen, checked for secrets at the end */
  const records: unknown[] = [];

  async function sims(): Promise<Sims> {
    const s = await startSims({ okki: { products: CATALOGUE } });
    allSims.push(s);
    for (const v of secretsOf(s)) secrets.add(v);
    return s;
  }

  after(async () => {
    await killAllStarted();
    await Promise.allSettled(allSims.map((s) => s.close()));
    tmp.remove();
  });

  it('(a) sandbox: with no credentials it logs the SANDBOX banner, serves /healthz and its start-up run succeeds', async () => {
    // no HOST: the sandbox's open webhook must stay on this machine
    const svc = spawnService({
      PORT: '0', STORE_URL: `sqlite://${join(tmp.dir, 'sandbox.sqlite')}`,
      YIDA_QPS: '200', OKKI_QPS: '500', SYNC_CRON: '0 0 1 1 *',
    }, { npmStart: true });
    try {
      const url = await svc.url();
      await eventually('the SANDBOX banner', () => (svc.stderr.some((l) => l.includes('SANDBOX MODE')) ? true : undefined), 15_000);
      expect(svc.logs().some((l) => l.sandbox === true && String(l.msg).includes('SANDBOX MODE'))).to.equal(true);
      const health = await request(url, { path: '/healthz' });
      expect(health.status).to.equal(200);
      expect(health.json).to.deep.equal({ status: 'ok' });
      const listening = svc.logs().find((l) => l.msg === 'okki-yida-connector listening')!;
      expect(listening.host, 'sandbox mode listens on loopback only unless HOST is set').to.equal('127.0.0.1');
      expect((await request(url, { path: '/readyz' })).json.sandbox, '/readyz says sandbox').to.equal(true);

      // sandbox without WEBHOOK_API_KEY: the runs routes are open
      const run = await eventually('the start-up run to finish', async () => {
        const runs = await listRuns(url, {});
        const r = runs.find((x) => x.trigger === 'startup');
        // finished, and reported: the record is saved as finished before the report goes out
        return r && r.status !== 'running' && r.report ? r : undefined;
      }, 60_000, 250);
      records.push(run);
      expect(run.status, JSON.stringify(run)).to.equal('succeeded');
      expect(run.counts.fetched).to.be.greaterThan(0);
      expect(run.counts.created).to.equal(run.counts.fetched);
      expect(run.report?.sent, 'the sandbox robot got the report').to.equal(true);
    } finally {
      // The whole process group gets the signal (npm → sh → tsx → node, as a terminal's Ctrl-C would). npm ends by
      // the signal at once without waiting for the service, so graceful shutdown is judged by what the service
      // logged before its output closed.
      await svc.stop('SIGTERM');
      const said = svc.logs().map((l) => l.msg);
      expect(said, svc.stderr.join('\n')).to.include('stopped');
      expect(said).to.not.include('second signal: exiting now');
    }
  });

  it('(b) live mode: webhook → run → one Yida instance per product → a signed robot message', async () => {
    const s = await sims();
    const svc = spawnService(liveEnv(s, { STORE_URL: `sqlite://${join(tmp.dir, 'live.sqlite')}` }));
    try {
      const url = await svc.url();
      expect(svc.logs().some((l) => l.sandbox === true && String(l.msg).includes('SANDBOX')), 'live mode is not the sandbox').to.equal(false);
      const r = await postWebhook(url, { wait: true });
      expect(r.status, r.text).to.equal(200);
      const run = r.json as RunRecord;
      records.push(run);
      expect(run.status, JSON.stringify(run)).to.equal('succeeded');
      expect(run.counts).to.deep.include({ fetched: CATALOGUE, created: CATALOGUE, failed: 0 });
      const perNo = instancesByProductNo(s.dt);
      expect(perNo.size).to.equal(CATALOGUE);
      expect([...perNo.values()].every((n) => n === 1)).to.equal(true);
      const msgs = s.dt.robotMessages({ all: true });
      expect(msgs).to.have.length(1);
      expect(msgs[0].accepted && msgs[0].signatureVerified, msgs[0].errmsg).to.equal(true);
      expect(msgs[0].msgUuid).to.equal(run.id);
      expect(robotText(msgs[0].body)).to.include(`新增 **${CATALOGUE}**`);
      records.push(...msgs.map((m) => m.body));
      const ready = await request(url, { path: '/readyz' });
      expect(ready.status).to.equal(200);
      expect(ready.json.sandbox).to.equal(false);
    } finally {
      expect((await svc.stop('SIGTERM')).code).to.equal(0);
    }
  });

  it('(c) a bad setting stops start-up with a non-zero exit naming the variable, never echoing a secret', async () => {
    const s = await sims();
    const svc = spawnService(liveEnv(s, { OKKI_QPS: 'abc', STORE_URL: `sqlite://${join(tmp.dir, 'never.sqlite')}` }));
    const exit = await Promise.race([svc.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 45_000))]);
    expect(exit, 'the process exits by itself').to.not.equal('timeout');
    expect((exit as { code: number }).code).to.not.equal(0);
    const out = [...svc.stdout, ...svc.stderr].join('\n');
    expect(out).to.include('OKKI_QPS');
    expect(out).to.not.include('abc', 'not even the bad value is echoed');
    for (const secret of secretsOf(s)) expect(out.includes(secret), 'a secret was echoed').to.equal(false);
  });

  it('(d) a broken MAPPING_FILE stops start-up and lists the problems', async () => {
    const s = await sims();
    const mapping = join(tmp.dir, 'broken-mapping.json');
    writeFileSync(mapping, JSON.stringify({
      request: [
        { field: 'textField_name', label: '产品名称', type: 'string', value: '{name' },
        { field: 'textField_x', label: '奇怪', type: 'colour', value: '{product_no}' },
      ],
    }));
    const svc = spawnService(liveEnv(s, { MAPPING_FILE: mapping, STORE_URL: `sqlite://${join(tmp.dir, 'never2.sqlite')}` }));
    const exit = await Promise.race([svc.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 45_000))]);
    expect(exit, 'the process exits by itself').to.not.equal('timeout');
    expect((exit as { code: number }).code).to.not.equal(0);
    const err = svc.stderr.join('\n');
    expect(err, err).to.match(/mapping/i);
    expect(err, 'the unclosed template is named').to.include('textField_name');
    expect(err, 'the unknown type is named').to.include('colour');
    expect(svc.logs().some((l) => l.msg === 'okki-yida-connector listening'), 'it never started listening').to.equal(false);
    expect(s.dt.instanceCount()).to.equal(0);
  });

  it('(e) the schedule fires with a seconds cron: two scheduled runs appear', async () => {
    const s = await sims();
    const svc = spawnService(liveEnv(s, { SYNC_CRON: '*/2 * * * * *', STORE_URL: `sqlite://${join(tmp.dir, 'cron.sqlite')}` }));
    try {
      const url = await svc.url();
      const runs = await eventually('two finished scheduled runs', async () => {
        const list = (await listRuns(url)).filter((r) => r.trigger === 'schedule' && r.status !== 'running');
        return list.length >= 2 ? list : undefined;
      }, 60_000, 250);
      records.push(...runs);
      for (const r of runs) expect(r.status, JSON.stringify(r.failures)).to.equal('succeeded');
      expect(runs.reduce((n, r) => n + r.counts.created, 0), 'the backfill happened once').to.equal(CATALOGUE);
      expect([...instancesByProductNo(s.dt).values()].every((n) => n === 1)).to.equal(true);
    } finally {
      expect((await svc.stop('SIGTERM')).code).to.equal(0);
    }
  });

  it('(f) SIGTERM mid-run: exit 0, the run recorded as stopped, and after a restart one instance per product', async () => {
    const s = await sims();
    const store = `sqlite://${join(tmp.dir, 'sigterm.sqlite')}`;
    // slow DingTalk and one write at a time: the run lasts long enough to be interrupted with writes in flight
    s.dt.setKnobs({ latencyMs: [300, 300] });
    const first = spawnService(liveEnv(s, { STORE_URL: store, YIDA_CONCURRENCY: '1' }));
    const url = await first.url();
    const started = await postWebhook(url, {});
    expect(started.status, started.text).to.equal(202);
    const runId = started.json.runId as string;
    await eventually('a few instances written', () => (s.dt.instanceCount() >= 3 ? true : undefined), 45_000);
    expect(s.dt.instanceCount(), 'interrupted before the end').to.be.lessThan(CATALOGUE);
    const exit = await first.stop('SIGTERM', 45_000);
    expect(exit.code, first.stderr.join('\n')).to.equal(0);
    expect(first.logs().some((l) => l.msg === 'stopped')).to.equal(true);
    const writtenBeforeStop = s.dt.instanceCount();

    s.dt.setKnobs({ latencyMs: [0, 0] });
    const second = spawnService(liveEnv(s, { STORE_URL: store }));
    try {
      const url2 = await second.url();
      const stopped = (await request(url2, { path: `/runs/${runId}`, headers: auth })).json as RunRecord;
      records.push(stopped);
      expect(stopped.status, 'the interrupted run is not left "running"').to.not.equal('running');
      expect(stopped.status).to.be.oneOf(['failed', 'partial']);
      expect(stopped.cursorAfter ?? null, 'the cursor did not move').to.equal(null);

      const r = await postWebhook(url2, { wait: true });
      expect(r.status, r.text).to.equal(200);
      const healed = r.json as RunRecord;
      records.push(healed);
      expect(healed.status, JSON.stringify(healed.failures)).to.equal('succeeded');
      expect(healed.counts.created + healed.counts.unchanged + healed.counts.updated).to.equal(CATALOGUE);
      expect(healed.counts.created).to.be.at.most(CATALOGUE - writtenBeforeStop + 1);
      const perNo = instancesByProductNo(s.dt);
      expect(perNo.size).to.equal(CATALOGUE);
      const dupes = [...perNo].filter(([, n]) => n !== 1);
      expect(dupes, 'product numbers with more than one instance').to.deep.equal([]);
    } finally {
      expect((await second.stop('SIGTERM')).code).to.equal(0);
    }
  });

  it('(f2) SIGTERM while Yida writes hang past the client timeout: bounded exit 0, and a restart adopts what was committed', async () => {
    const s = await sims();
    const store = `sqlite://${join(tmp.dir, 'sigterm-hang.sqlite')}`;
    // every start commits on the Yida side and answers only after two minutes: the worst case for duplicates
    s.dt.setKnobs({ hangRate: 1, hangMs: 120_000 });
    const first = spawnService(liveEnv(s, { STORE_URL: store }));
    const started = await postWebhook(await first.url(), {});
    expect(started.status, started.text).to.equal(202);
    await eventually('writes hanging', () => (s.dt.instanceCount() >= 1 ? true : undefined), 45_000);
    const exit = await first.stop('SIGTERM', 60_000);
    expect(exit.code, first.stderr.join('\n')).to.equal(0);
    const committed = s.dt.instanceCount();

    s.dt.setKnobs({ hangRate: 0 });
    const second = spawnService(liveEnv(s, { STORE_URL: store }));
    try {
      const r = await postWebhook(await second.url(), { wait: true });
      expect(r.status, r.text).to.equal(200);
      const healed = r.json as RunRecord;
      records.push(healed);
      expect(healed.status, JSON.stringify(healed.failures)).to.equal('succeeded');
      const perNo = instancesByProductNo(s.dt);
      expect(perNo.size).to.equal(CATALOGUE);
      expect([...perNo].filter(([, n]) => n !== 1), 'product numbers with more than one instance').to.deep.equal([]);
      expect(s.dt.instanceCount() - committed, 'only the missing ones were started').to.equal(CATALOGUE - committed);
    } finally {
      expect((await second.stop('SIGTERM')).code).to.equal(0);
    }
  });

  it('(g) two replicas on one Redis with a seconds cron: each tick runs once, no product gets two instances', async function () {
    if (!redisAvailable()) this.skip();
    const redis = await startRedis();
    try {
      const s = await sims();
      const env = liveEnv(s, { STORE_URL: redis.url, SYNC_CRON: '*/2 * * * * *' });
      const replicas = [spawnService(env), spawnService(env)];
      let runs: RunRecord[] = [];
      try {
        const [urlA, urlB] = await Promise.all(replicas.map((r) => r.url()));
        runs = await eventually('three finished scheduled runs', async () => {
          const list = (await listRuns(urlA)).filter((r) => r.status !== 'running');
          return list.length >= 3 ? list : undefined;
        }, 60_000, 250);
        const seenByB = new Set((await listRuns(urlB)).map((r) => r.id));
        for (const r of runs) expect(seenByB.has(r.id), 'both replicas read the same run records').to.equal(true);

        // Webhook calls to both replicas at once share one run: the lease lock is in Redis. A run ending in the few
        // ms between the two calls would legitimately give two ids, so a bounded number of attempts is allowed.
        s.okki.setKnobs({ endpointLatencyMs: { groups: [1500, 1500] } });
        let shared: { ids: string[]; waited: RunRecord } | undefined;
        try {
          for (let attempt = 0; attempt < 3 && !shared; attempt++) {
            const [a, b] = await Promise.all([postWebhook(urlA, {}), postWebhook(urlB, { wait: true })]);
            expect(a.status, a.text).to.be.oneOf([200, 202]);
            expect(b.status, b.text).to.equal(200);
            const ids = [a.json.runId ?? a.json.id, b.json.id];
            if (ids[0] === ids[1]) shared = { ids, waited: b.json };
          }
        } finally {
          s.okki.setKnobs({ endpointLatencyMs: {} });
        }
        expect(shared, 'two replicas answered with different runs in every attempt').to.not.equal(undefined);
        expect(shared!.waited.status, 'wait:true on the other replica follows the shared run to its end').to.not.equal('running');
      } finally {
        for (const r of replicas) expect((await r.stop('SIGTERM')).code, r.stderr.join('\n')).to.equal(0);
      }
      records.push(...runs);
      for (const r of runs) {
        expect(r.trigger).to.equal('schedule');
        expect(r.status, JSON.stringify(r.failures)).to.equal('succeeded');
      }

      // node-cron's tick time is on every tick line: a tick handled by both replicas would show up twice.
      const tickLines = replicas.flatMap((r, i) => r.logs()
        .filter((l) => l.msg === 'scheduled run started' || l.msg === 'scheduled tick joined the run in progress')
        .map((l) => ({ replica: i, tick: String(l.tick), runId: String(l.runId), joined: l.msg !== 'scheduled run started' })));
      const perTick = new Map<string, number>();
      for (const t of tickLines) perTick.set(t.tick, (perTick.get(t.tick) ?? 0) + 1);
      const doubled = [...perTick].filter(([, n]) => n > 1);
      expect(doubled, `ticks handled by more than one replica: ${JSON.stringify(tickLines)}`).to.deep.equal([]);
      const startedIds = tickLines.filter((t) => !t.joined).map((t) => t.runId);
      expect(new Set(startedIds).size, 'one run per started tick').to.equal(startedIds.length);
      for (const r of runs) expect(startedIds, `run ${r.id} came from a tick`).to.include(r.id);

      const perNo = instancesByProductNo(s.dt);
      expect(perNo.size).to.equal(CATALOGUE);
      expect([...perNo].filter(([, n]) => n !== 1), 'product numbers with more than one instance').to.deep.equal([]);
    } finally {
      await redis.stop();
    }
  });

  it('(h) no secret value appears in any output line, run record or robot message', async () => {
    for (const s of allSims) records.push(...s.dt.robotMessages({ all: true }).map((m) => m.body));
    const output = allOutput();
    expect(output.length, 'output was captured').to.be.greaterThan(10);
    const recordText = JSON.stringify(records);
    // the built-in sandbox's OKKI secret is a known default: it must be redacted too
    for (const secret of [...secrets, 'sandbox-secret']) {
      const tag = createHash('sha256').update(secret).digest('hex').slice(0, 8);
      const line = output.findIndex((l) => l.includes(secret));
      expect(line, `secret #${tag} in output line ${line}`).to.equal(-1);
      expect(recordText.includes(secret), `secret #${tag} in a run record or robot message`).to.equal(false);
    }
  });
});
