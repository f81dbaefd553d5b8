/**
 * manifest/connector.openapi.json is what a Yida HTTP connector is created from, so it must describe what the
 * service really does: every route it lists is served, every real answer validates against its schema (ajv; OpenAPI
 * 3.0 `nullable` is understood by ajv natively), and the request schema agrees with the server on what it accepts.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import AjvModule from 'ajv';
import type { RunCounts, RunFailure, RunRecord } from '../src/core/index.js';
import {
  FakeSyncService, postWebhook, request, sampleRun, startFakeServiceApp, TEST_API_KEY, type TestApp, type TestResponse,
} from './helpers/fake-service.js';

const Ajv = ((AjvModule as any).default ?? AjvModule) as typeof AjvModule.default;
const manifest = JSON.parse(readFileSync(new URL('../manifest/connector.openapi.json', import.meta.url), 'utf8'));
const MANIFEST_ID = 'connector.openapi.json';

// Exhaustive over the TypeScript types (tsc fails when a field is added to or removed from them without this list).
const RUN_RECORD_FIELDS: Record<keyof RunRecord, true> = {
  id: true, trigger: true, requestedBy: true, mode: true, status: true, window: true, startedAt: true, finishedAt: true,
  durationMs: true, counts: true, failures: true, failuresTotal: true, error: true, productNos: true, deletedProductNos: true, gone: true, cursorBefore: true,
  cursorAfter: true, parked: true, parkedTotal: true, cursorStale: true, report: true, calls: true, sweep: true, audit: true, options: true, groups: true,
};
const RUN_COUNTS_FIELDS: Record<keyof RunCounts, true> = { fetched: true, created: true, updated: true, unchanged: true, rejected: true, failed: true, deleted: true, marked: true };
const RUN_FAILURE_FIELDS: Record<keyof RunFailure, true> = { product_no: true, code: true, reason: true, group_id: true };

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)) && /^\d{4}-\d{2}-\d{2}T/.test(s));
ajv.addSchema(manifest, MANIFEST_ID);

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

function validatorAt(...parts: string[]) {
  return ajv.compile({ $ref: `${MANIFEST_ID}#/${pointer(...parts)}` });
}

type Operation = { path: string; method: string; op: any };
const operations: Operation[] = Object.entries(manifest.paths as Record<string, Record<string, any>>)
  .flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

/** Validates a real answer against the schema the manifest declares for its operation, status and media type. */
function expectDescribed(operationId: string, res: TestResponse): void {
  const found = operations.find((o) => o.op.operationId === operationId);
  expect(found, operationId).to.exist;
  const { path, method, op } = found!;
  const declared = op.responses[String(res.status)];
  expect(declared, `${operationId}: status ${res.status} is not in the manifest`).to.exist;
  expect(res.headers['content-type']).to.match(/^application\/json/);
  const validate = validatorAt('paths', path, method, 'responses', String(res.status), 'content', 'application/json', 'schema');
  const ok = validate(res.json);
  expect(ok, `${operationId} ${res.status}: ${JSON.stringify(validate.errors)}\n${res.text}`).to.equal(true);
  if (declared['x-error-codes']) expect(declared['x-error-codes'], `${operationId} ${res.status}`).to.include(res.json.error.code);
}

const auth = { 'x-api-key': TEST_API_KEY };

describe('manifest/connector.openapi.json', () => {
  describe('as a document', () => {
    it('is OpenAPI 3.0 with an X-API-Key header scheme applied to every operation', () => {
      expect(manifest.openapi).to.match(/^3\.0\.\d+$/);
      expect(manifest.components.securitySchemes.ApiKeyAuth).to.include({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
      expect(manifest.servers[0].url).to.include('{host}');
      expect(operations.map((o) => `${o.method.toUpperCase()} ${o.path}`).sort()).to.deep.equal(['GET /runs', 'GET /runs/{id}', 'GET /usage', 'POST /webhooks/yida/sync']);
      for (const { op } of operations) {
        expect(op.operationId).to.be.a('string');
        expect(op.security).to.deep.equal([{ ApiKeyAuth: [] }]);
        expect(op.summary, op.operationId).to.match(/[\u4e00-\u9fff]/).and.match(/[A-Za-z]/);
        expect(op['x-description-zh']).to.match(/[\u4e00-\u9fff]/);
        expect(op['x-description-en']).to.be.a('string');
        expect(op.responses['401']).to.exist;
      }
    });

    it('every $ref resolves', () => {
      const refs: string[] = [];
      (function walk(v: unknown) {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (k === '$ref' ? refs.push(x as string) : walk(x));
      })(manifest);
      expect(refs.length).to.be.greaterThan(5);
      for (const ref of refs) {
        const target = ref.replace(/^#\//, '').split('/').reduce((o: any, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], manifest);
        expect(target, ref).to.exist;
      }
    });

    it('its RunRecord has exactly the fields of the RunRecord type', () => {
      const s = manifest.components.schemas;
      expect(Object.keys(s.RunRecord.properties).sort()).to.deep.equal(Object.keys(RUN_RECORD_FIELDS).sort());
      expect(Object.keys(s.RunCounts.properties).sort()).to.deep.equal(Object.keys(RUN_COUNTS_FIELDS).sort());
      expect(Object.keys(s.RunFailure.properties).sort()).to.deep.equal(Object.keys(RUN_FAILURE_FIELDS).sort());
      expect(s.RunRecord.required).to.have.members(['id', 'trigger', 'mode', 'status', 'window', 'startedAt', 'finishedAt', 'counts', 'failures']);
    });

    it('its RunRecord schema can fail: a record missing counts or with a bad status is refused', () => {
      const validate = validatorAt('components', 'schemas', 'RunRecord');
      expect(validate(sampleRun())).to.equal(true);
      const { counts: _c, ...noCounts } = sampleRun();
      expect(validate(noCounts)).to.equal(false);
      expect(validate({ ...sampleRun(), status: 'done' })).to.equal(false);
      expect(validate({ ...sampleRun(), finishedAt: null, window: { start: null, end: null } })).to.equal(true);
    });
  });

  describe('against the running service', () => {
    let t: TestApp;
    beforeEach(async () => { t = await startFakeServiceApp({ options: { bodyTimeoutMs: 300, waitTimeoutMs: 200 } }); });
    afterEach(async () => { await t.close(); });

    it('serves every route it lists, with the API key', async () => {
      t.service.addRun(sampleRun({ id: 'run-x' }));
      for (const { path, method, op } of operations) {
        const res = await request(t.url, {
          method: method.toUpperCase(), path: path.replace('{id}', 'run-x'), headers: { ...auth, 'content-type': 'application/json' },
          body: method === 'post' ? '{}' : undefined,
        });
        expect(res.status, `${method} ${path}`).to.be.oneOf([200, 202]);
        expectDescribed(op.operationId, res);
      }
    });

    it('describes the webhook answers: 202, coalesced 202, 200 with a run, and every error', async () => {
      expectDescribed('triggerSync', await postWebhook(t.url, {}));
      expectDescribed('triggerSync', await postWebhook(t.url, { mode: 'full' })); // coalesced
      t.service.finish('run-0001', { status: 'failed', error: { code: 'OKKI_AUTH', message: 'token refused' }, failures: [], failuresTotal: 0 });
      expectDescribed('triggerSync', await postWebhook(t.url, { wait: true })); // 202: run-0002 outlasts the wait

      const finished = new FakeSyncService({ autoFinish: 'partial' });
      const t2 = await startFakeServiceApp({ service: finished });
      try {
        const res = await postWebhook(t2.url, { wait: true, product_nos: ['P-1'] }, { ...auth, 'x-yida-user': 'ops' });
        expect(res.status).to.equal(200);
        expectDescribed('triggerSync', res);
      } finally { await t2.close(); }

      expectDescribed('triggerSync', await postWebhook(t.url, '{'));
      expectDescribed('triggerSync', await postWebhook(t.url, { product_nos: [1] }));
      expectDescribed('triggerSync', await postWebhook(t.url, {}, {}));
      expectDescribed('triggerSync', await postWebhook(t.url, 'x'.repeat(70_000)));
      expectDescribed('triggerSync', await postWebhook(t.url, '{}', { ...auth, 'content-type': 'text/plain' }));
      t.service.accepting = false;
      expectDescribed('triggerSync', await postWebhook(t.url, {}));
    });

    it('describes the runs answers: list, one run, 400, 401, 404', async () => {
      t.service.addRun(sampleRun({ id: 'a' }));
      t.service.addRun(sampleRun({ id: 'b', status: 'running', finishedAt: null, window: { start: null, end: null }, failures: [] }));
      expectDescribed('listRuns', await request(t.url, { path: '/runs?limit=5', headers: auth }));
      expectDescribed('listRuns', await request(t.url, { path: '/runs?limit=500', headers: auth }));
      expectDescribed('listRuns', await request(t.url, { path: '/runs' }));
      expectDescribed('getRun', await request(t.url, { path: '/runs/b', headers: auth }));
      expectDescribed('getRun', await request(t.url, { path: '/runs/zzz', headers: auth }));
      expectDescribed('getRun', await request(t.url, { path: '/runs/a' }));
    });

    it('its request examples are valid and accepted', async () => {
      const validate = validatorAt('components', 'schemas', 'SyncRequest');
      const examples = manifest.paths['/webhooks/yida/sync'].post.requestBody.content['application/json'].examples;
      for (const [name, { value }] of Object.entries(examples as Record<string, { value: unknown }>)) {
        expect(validate(value), name).to.equal(true);
        const res = await postWebhook(t.url, { ...(value as object), wait: false });
        expect(res.status, name).to.equal(202);
      }
    });

    it('its request schema and the server agree on which bodies are acceptable', async () => {
      const validate = validatorAt('components', 'schemas', 'SyncRequest');
      const bodies: unknown[] = [
        {}, { mode: 'incremental' }, { mode: 'full', wait: true }, { product_nos: ['P-1'] }, { product_nos: Array(500).fill('P') },
        { mode: 'fast' }, { mode: null }, { wait: 1 }, { product_nos: [] }, { product_nos: Array(501).fill('P') },
        { product_nos: [''] }, { product_nos: ['   '] }, { product_nos: ['x'.repeat(65)] }, { product_nos: [7] },
        { extra: 1 }, [], 'full', null,
        { mode: 'sweep' }, { mode: 'audit' }, { mode: 'sweep', confirmDeletes: true }, { mode: 'audit', repair: true },
        { mode: 'audit', repair: true, confirmDeletes: true }, { mode: 'sweep', confirmDeletes: false }, { mode: 'audit', repair: false },
        { confirmDeletes: true }, { mode: 'full', confirmDeletes: true }, { mode: 'audit', confirmDeletes: true }, { repair: true },
        { mode: 'sweep', repair: true }, { mode: 'sweep', product_nos: ['P-1'] }, { mode: 'audit', product_nos: ['P-1'] },
        { mode: 'sweep', product_nos: [] }, { mode: 'sweep', confirmDeletes: 'yes' }, { mode: 'audit', repair: 1 },
      ];
      for (const body of bodies) {
        const res = await postWebhook(t.url, body);
        const accepted = res.status === 202;
        expect(accepted, `${JSON.stringify(body)} → ${res.status}`).to.equal(validate(body));
        if (!accepted) expect(res.status).to.equal(400);
      }
    });
  });
});
