/** The read routes: runs (authenticated, validated limit), health, readiness, metrics, the status page, and JSON 404s. */
import { expect } from 'chai';
import { consoleLogin, request, sampleRun, startFakeServiceApp, testConfig, TEST_API_KEY, type TestApp } from './helpers/fake-service.js';
import type { RunRecord } from '../src/core/index.js';

const auth = { 'x-api-key': TEST_API_KEY };

function runAt(i: number, patch: Partial<RunRecord> = {}): RunRecord {
  return sampleRun({ id: `run-${i}`, startedAt: new Date(Date.UTC(2024, 4, 1, 0, i)).toISOString(), ...patch });
}

describe('HTTP read routes', () => {
  let t: TestApp;
  beforeEach(async () => { t = await startFakeServiceApp(); });
  afterEach(async () => { await t.close(); });

  describe('GET /runs', () => {
    it('needs the API key', async () => {
      expect((await request(t.url, { path: '/runs' })).status).to.equal(401);
      expect((await request(t.url, { path: '/runs', headers: { 'x-api-key': 'wrong' } })).status).to.equal(401);
      expect((await request(t.url, { path: '/runs/run-1' })).status).to.equal(401);
    });

    it('lists runs newest first, 20 by default', async () => {
      for (let i = 0; i < 25; i++) t.service.addRun(runAt(i));
      const res = await request(t.url, { path: '/runs', headers: auth });
      expect(res.status).to.equal(200);
      expect(res.json).to.have.length(20);
      expect(res.json[0].id).to.equal('run-24');
      expect(res.json[19].id).to.equal('run-5');
    });

    it('honours limit from 1 to 100', async () => {
      for (let i = 0; i < 3; i++) t.service.addRun(runAt(i));
      expect((await request(t.url, { path: '/runs?limit=1', headers: auth })).json.map((r: RunRecord) => r.id)).to.deep.equal(['run-2']);
      expect((await request(t.url, { path: '/runs?limit=100', headers: auth })).json).to.have.length(3);
    });

    it('answers 400 INVALID_QUERY for a bad limit', async () => {
      for (const q of ['0', '101', '-1', '1.5', 'ten', '', '1e2', '1&limit=2']) {
        const res = await request(t.url, { path: `/runs?limit=${q}`, headers: auth });
        expect(res.status, q).to.equal(400);
        expect(res.json.error).to.include({ code: 'INVALID_QUERY', field: 'limit' });
      }
    });
  });

  describe('GET /runs/:id', () => {
    it('returns the run record', async () => {
      t.service.addRun(runAt(7));
      const res = await request(t.url, { path: '/runs/run-7', headers: auth });
      expect(res.status).to.equal(200);
      expect(res.json).to.deep.equal(runAt(7));
    });

    it('answers 404 RUN_NOT_FOUND for an unknown id', async () => {
      const res = await request(t.url, { path: '/runs/nope', headers: auth });
      expect(res.status).to.equal(404);
      expect(res.json.error.code).to.equal('RUN_NOT_FOUND');
      const long = await request(t.url, { path: `/runs/${'x'.repeat(300)}`, headers: auth });
      expect(long.status).to.equal(404);
    });
  });

  describe('health, readiness, metrics', () => {
    it('GET /healthz answers 200 {status:"ok"} without credentials', async () => {
      const res = await request(t.url, { path: '/healthz' });
      expect(res.status).to.equal(200);
      expect(res.json).to.deep.equal({ status: 'ok' });
    });

    it('GET /readyz follows service.ready() and shutdown', async () => {
      let res = await request(t.url, { path: '/readyz' });
      expect(res.status).to.equal(200);
      expect(res.json).to.deep.equal({ status: 'ready', sandbox: false, checks: { store: true, config: true, mapping: true, accepting: true } });

      t.service.readiness = { ok: false, checks: { store: false, config: true, mapping: true } };
      res = await request(t.url, { path: '/readyz' });
      expect(res.status).to.equal(503);
      expect(res.json.status).to.equal('not_ready');
      expect(res.json.checks.store).to.equal(false);

      t.service.readiness = { ok: true, checks: { store: true } };
      t.service.accepting = false;
      res = await request(t.url, { path: '/readyz' });
      expect(res.status).to.equal(503);
      expect(res.json.checks.accepting).to.equal(false);
    });

    it('GET /readyz answers 503 when the readiness check throws', async () => {
      t.service.ready = async () => { throw new Error('store exploded'); };
      const res = await request(t.url, { path: '/readyz' });
      expect(res.status).to.equal(503);
      expect(res.text).to.not.include('exploded');
    });

    it('GET /metrics serves Prometheus text with its content type', async () => {
      t.metrics.runs.inc({ status: 'succeeded', trigger: 'webhook' });
      const res = await request(t.url, { path: '/metrics' });
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.equal(t.metrics.registry.contentType);
      expect(res.text).to.include('# TYPE connector_runs_total counter');
      expect(res.text).to.include('connector_runs_total{status="succeeded",trigger="webhook"} 1');
    });
  });

  describe('GET / status page', () => {
    let headers: Record<string, string>;
    beforeEach(async () => { headers = await consoleLogin(t.url); });

    it('answers 200 for an uptime check but shows no run data to someone not logged in', async () => {
      t.service.addRun(runAt(1, { status: 'succeeded', counts: { fetched: 111, created: 22, updated: 33, unchanged: 44, rejected: 5, failed: 6 } }));
      const res = await request(t.url, { path: '/' });
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.match(/^text\/html; charset=utf-8/);
      expect(res.text).to.include('The service is up').and.include('/console');
      for (const text of ['run-1', '<td>111</td>', '2024-05-01 08:00:00', 'Recent runs']) expect(res.text).to.not.include(text);
      // a forged or stale cookie is no session
      const forged = await request(t.url, { path: '/', headers: { cookie: 'oyc_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
      expect(forged.text).to.not.include('run-1');
    });

    it('shows recent runs with status and counts, the cursor and the next scheduled run', async () => {
      t.service.addRun(runAt(1, { status: 'succeeded', counts: { fetched: 111, created: 22, updated: 33, unchanged: 44, rejected: 5, failed: 6 } }));
      t.service.addRun(runAt(2, { status: 'failed' }));
      const res = await request(t.url, { path: '/', headers });
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.match(/^text\/html; charset=utf-8/);
      expect(res.headers['content-security-policy']).to.include("default-src 'none'");
      for (const text of ['run-1', 'run-2', '成功 succeeded', '失败 failed', '<td>111</td>', '<td>22</td>', '<td>33</td>', '<td>44</td>', '2024-05-01 08:00:00', '2024-05-01 08:10:00']) {
        expect(res.text).to.include(text);
      }
    });

    it('shows no failure reasons, product numbers, requesters or secrets', async () => {
      t.service.addRun(runAt(1));
      const res = await request(t.url, { path: '/', headers });
      for (const text of ['secret-ish failure reason', 'P-009', 'P-001', 'replica-a', 'robot down', TEST_API_KEY, 'okki-secret-value']) {
        expect(res.text).to.not.include(text);
      }
    });

    it('escapes HTML in everything it shows', async () => {
      t.service.addRun(runAt(1, { id: '<script>alert(1)</script>', trigger: '"><img src=x onerror=alert(2)>' }));
      t.service.statusValue = { ...t.service.statusValue, cursor: '<b>cursor</b>' };
      const res = await request(t.url, { path: '/', headers });
      expect(res.text).to.not.include('<script>alert');
      expect(res.text).to.not.include('<img');
      expect(res.text).to.not.include('<b>cursor');
      expect(res.text).to.include('&#60;script&#62;alert(1)&#60;/script&#62;');
    });

    it('shows a sandbox banner in sandbox mode only', async () => {
      expect((await request(t.url, { path: '/', headers })).text).to.not.include('Sandbox mode');
      const sandboxed = await startFakeServiceApp({ config: testConfig({ sandbox: true }) });
      try {
        const res = await request(sandboxed.url, { path: '/' });
        expect(res.text).to.include('沙箱模式').and.include('Sandbox mode');
      } finally { await sandboxed.close(); }
    });

    it('says so when there are no runs yet', async () => {
      t.service.statusValue = { ...t.service.statusValue, cursor: null };
      t.nextRun = null;
      const res = await request(t.url, { path: '/', headers });
      expect(res.text).to.include('no runs yet').and.include('no successful run yet').and.include('not scheduled');
    });
  });

  describe('unknown routes and methods', () => {
    it('answer JSON 404 NOT_FOUND', async () => {
      const res = await request(t.url, { path: '/nope' });
      expect(res.status).to.equal(404);
      expect(res.json).to.deep.equal({ error: { code: 'NOT_FOUND', message: 'no such route' } });
    });

    it('answer JSON 405 for a known path with the wrong method', async () => {
      const res = await request(t.url, { path: '/webhooks/yida/sync' });
      expect(res.status).to.equal(405);
      expect(res.headers.allow).to.include('POST');
      expect(res.json.error.code).to.equal('METHOD_NOT_ALLOWED');
      expect(t.service.triggers).to.have.length(0);
    });

    it('every answer carries a request id (a sane incoming one is kept)', async () => {
      const mine = await request(t.url, { path: '/healthz', headers: { 'x-request-id': 'abc-123' } });
      expect(mine.headers['x-request-id']).to.equal('abc-123');
      const bogus = await request(t.url, { path: '/healthz', headers: { 'x-request-id': '<bad id>' } });
      expect(bogus.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
      const line = t.logs.map((l) => JSON.parse(l)).find((l) => l.reqId === 'abc-123');
      expect(line).to.include({ method: 'GET', path: '/healthz', status: 200 });
    });
  });
});
