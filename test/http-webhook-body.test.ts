/**
 * The webhook body contract and its limits: media type, size, read deadline, JSON, schema — every refusal is a 4xx
 * with a stable code, and on every 4xx the service saw no trigger. Then the happy paths: 202, coalescing, wait:true.
 */
import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import {
  FakeSyncService, postWebhook, request, sampleRun, startFakeServiceApp, TEST_API_KEY, type TestApp,
} from './helpers/fake-service.js';

const PATH = '/webhooks/yida/sync';
const BODY_TIMEOUT_MS = 300;

/** Headers, then the body one byte at a time; stops as soon as the server answers. Bounded by `maxBytes`. */
function slowLoris(url: string, opts: { chunked?: boolean; maxBytes: number; intervalMs: number }): Promise<{ statusLine: string; bytesSent: number }> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname);
    let bytesSent = 0;
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    const finish = () => { clearInterval(timer); sock.destroy(); resolve({ statusLine: answer.split('\r\n')[0] ?? '', bytesSent }); };
    sock.on('connect', () => {
      const framing = opts.chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${opts.maxBytes + 10}`;
      sock.write(`POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-API-Key: ${TEST_API_KEY}\r\n${framing}\r\n\r\n`);
      timer = setInterval(() => {
        if (bytesSent >= opts.maxBytes) { clearInterval(timer); return; }
        bytesSent++;
        sock.write(opts.chunked ? '1\r\n \r\n' : ' ');
      }, opts.intervalMs);
    });
    sock.on('data', (d) => { answer += d.toString('latin1'); if (answer.includes('\r\n')) finish(); });
    sock.on('end', finish);
    sock.on('error', (err) => (answer ? finish() : reject(err)));
  });
}

/** Streams a chunked body in 16 KiB pieces until the server answers (at most `maxChunks`). */
function streamUntilAnswered(url: string, maxChunks: number): Promise<{ status: number; json: any; chunksSent: number }> {
  return new Promise((resolve, reject) => {
    let chunksSent = 0;
    let answered = false;
    const req = http.request(new URL(PATH, url), {
      method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY, 'transfer-encoding': 'chunked' },
    }, (res) => {
      answered = true;
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text), chunksSent }));
    });
    req.on('error', (err) => { if (!answered) reject(err); });
    const piece = '['.padEnd(16 * 1024, ' ');
    const pump = () => {
      if (answered || chunksSent >= maxChunks) { if (!answered) req.end(); return; }
      chunksSent++;
      req.write(piece, () => setTimeout(pump, 5));
    };
    pump();
  });
}

describe('HTTP webhook body', () => {
  let t: TestApp;
  beforeEach(async () => { t = await startFakeServiceApp({ options: { bodyTimeoutMs: BODY_TIMEOUT_MS, waitTimeoutMs: 400 } }); });
  afterEach(async () => { await t.close(); });

  async function expectRefused(res: { status: number; json: any }, status: number, code: string, field?: string) {
    expect(res.status, JSON.stringify(res.json)).to.equal(status);
    expect(res.json.error.code).to.equal(code);
    expect(res.json.error.message).to.be.a('string').and.not.be.empty;
    if (field !== undefined) expect(res.json.error.field).to.equal(field);
    expect(t.service.triggers, 'no run may start on a 4xx').to.have.length(0);
    expect((await request(t.url, { path: '/healthz' })).status, 'service healthy after').to.equal(200);
  }

  describe('refusals', () => {
    it('415 for a body that is not declared JSON', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp', 'application/json; charset=latin1']) {
        const res = await postWebhook(t.url, '{}', { 'x-api-key': TEST_API_KEY, 'content-type': type });
        await expectRefused(res, 415, 'WEBHOOK_UNSUPPORTED_MEDIA_TYPE');
      }
      const none = await request(t.url, { method: 'POST', path: PATH, headers: { 'x-api-key': TEST_API_KEY, 'content-length': '2' }, body: '{}' });
      await expectRefused(none, 415, 'WEBHOOK_UNSUPPORTED_MEDIA_TYPE');
      const gzipped = await postWebhook(t.url, '{}', { 'x-api-key': TEST_API_KEY, 'content-encoding': 'gzip' });
      await expectRefused(gzipped, 415, 'WEBHOOK_UNSUPPORTED_MEDIA_TYPE');
    });

    it('accepts application/json with a utf-8 charset', async () => {
      const res = await postWebhook(t.url, '{}', { 'x-api-key': TEST_API_KEY, 'content-type': 'Application/JSON; Charset=UTF-8' });
      expect(res.status).to.equal(202);
    });

    it('413 when Content-Length says more than 64 KiB, before the body is read', async () => {
      const res = await postWebhook(t.url, JSON.stringify({ product_nos: ['x'.repeat(70_000)] }));
      await expectRefused(res, 413, 'WEBHOOK_BODY_TOO_LARGE');
    });

    it('413 when a chunked body grows past 64 KiB while streaming', async () => {
      const res = await streamUntilAnswered(t.url, 16);
      await expectRefused(res, 413, 'WEBHOOK_BODY_TOO_LARGE');
      expect(res.chunksSent, 'answered before the sender finished').to.be.lessThan(16);
    });

    it('408 for a slow-loris body, answered while the sender is still trickling', async () => {
      const res = await slowLoris(t.url, { maxBytes: 200, intervalMs: 20 });
      expect(res.statusLine).to.match(/^HTTP\/1\.1 408 /);
      expect(res.bytesSent).to.be.lessThan(200);
      expect(t.service.triggers).to.have.length(0);
      expect((await request(t.url, { path: '/healthz' })).status).to.equal(200);
    });

    it('408 for a chunked slow-loris body too', async () => {
      const res = await slowLoris(t.url, { chunked: true, maxBytes: 200, intervalMs: 20 });
      expect(res.statusLine).to.match(/^HTTP\/1\.1 408 /);
      expect(res.bytesSent).to.be.lessThan(200);
      expect(t.service.triggers).to.have.length(0);
    });

    it('400 WEBHOOK_BAD_JSON for malformed JSON', async () => {
      for (const text of ['{', '{"mode":}', "{'mode':'full'}", 'undefined', '{"a":1}}', '  ', '['.repeat(30_000)]) {
        await expectRefused(await postWebhook(t.url, text), 400, 'WEBHOOK_BAD_JSON');
      }
    });

    it('400 WEBHOOK_INVALID_BODY naming the field for wrong types and values', async () => {
      const cases: Array<[unknown, string]> = [
        [{ mode: 'everything' }, 'mode'],
        [{ mode: 1 }, 'mode'],
        [{ wait: 'true' }, 'wait'],
        [{ product_nos: 'P-001' }, 'product_nos'],
        [{ product_nos: ['P-001', 42] }, 'product_nos[1]'],
        [{ product_nos: ['P-001', '   '] }, 'product_nos[1]'],
        [{ product_nos: ['x'.repeat(65)] }, 'product_nos[0]'],
        [{ product_nos: [null] }, 'product_nos[0]'],
      ];
      for (const [body, field] of cases) await expectRefused(await postWebhook(t.url, body), 400, 'WEBHOOK_INVALID_BODY', field);
    });

    it('400 for a body that is not an object', async () => {
      for (const body of ['[]', 'null', '"full"', '42', 'true']) {
        await expectRefused(await postWebhook(t.url, body), 400, 'WEBHOOK_INVALID_BODY');
      }
    });

    it('400 for unknown keys, naming the key (including __proto__)', async () => {
      await expectRefused(await postWebhook(t.url, { productNos: ['P-001'] }), 400, 'WEBHOOK_INVALID_BODY', 'productNos');
      await expectRefused(await postWebhook(t.url, '{"__proto__":{"mode":"full"}}'), 400, 'WEBHOOK_INVALID_BODY', '__proto__');
      await expectRefused(await postWebhook(t.url, { mode: 'full', requestedBy: 'me' }), 400, 'WEBHOOK_INVALID_BODY', 'requestedBy');
    });

    it('400 for 10,000 product numbers (limit 500)', async () => {
      const nos = Array.from({ length: 10_000 }, (_, i) => i.toString(36)); // short, so the body stays under 64 KiB
      const res = await postWebhook(t.url, { product_nos: nos });
      await expectRefused(res, 400, 'WEBHOOK_INVALID_BODY', 'product_nos');
      expect(res.json.error.message).to.include('500');
    });

    it('400 for deeply nested JSON, without falling over', async () => {
      const depth = 20_000;
      const nestedArray = `{"product_nos":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      await expectRefused(await postWebhook(t.url, nestedArray), 400, 'WEBHOOK_INVALID_BODY', 'product_nos[0]');
      const nestedObject = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;
      await expectRefused(await postWebhook(t.url, nestedObject), 400, 'WEBHOOK_INVALID_BODY', 'a');
    });

    it('503 SERVICE_SHUTTING_DOWN once the service stops accepting', async () => {
      t.service.accepting = false;
      const res = await postWebhook(t.url, {});
      expect(res.status).to.equal(503);
      expect(res.json.error.code).to.equal('SERVICE_SHUTTING_DOWN');
      expect(t.service.triggers).to.have.length(0);
    });

    it('500 without internals when the service throws something unexpected', async () => {
      t.service.triggerError = new Error('db password=hunter2 at /srv/x.ts:12');
      const res = await postWebhook(t.url, {});
      expect(res.status).to.equal(500);
      expect(res.json).to.deep.equal({ error: { code: 'INTERNAL_ERROR', message: 'internal error' } });
    });
  });

  describe('accepted calls', () => {
    it('an empty body (Content-Length 0) means {} and answers 202 {runId, status, coalesced}', async () => {
      const res = await request(t.url, { method: 'POST', path: PATH, headers: { 'x-api-key': TEST_API_KEY, 'content-length': '0' } });
      expect(res.status).to.equal(202);
      expect(res.json).to.deep.equal({ runId: 'run-0001', status: 'running', coalesced: false });
      expect(t.service.triggers).to.deep.equal([{ trigger: 'webhook' }]);
    });

    it('passes mode and trimmed, de-duplicated product numbers to the service', async () => {
      const res = await postWebhook(t.url, { mode: 'full', product_nos: [' P-001 ', 'P-002', 'P-001'], wait: false });
      expect(res.status).to.equal(202);
      expect(t.service.triggers).to.deep.equal([{ trigger: 'webhook', mode: 'full', productNos: ['P-001', 'P-002'] }]);
    });

    it('an empty product_nos list (an empty field in a Yida flow) starts a normal, untargeted sync', async () => {
      const res = await postWebhook(t.url, { product_nos: [] });
      expect(res.status).to.equal(202);
      expect(t.service.triggers).to.deep.equal([{ trigger: 'webhook' }]);
    });

    it('a trigger during a run answers 202 with that run and coalesced:true', async () => {
      const first = await postWebhook(t.url, {});
      const second = await postWebhook(t.url, { mode: 'full' });
      expect(second.status).to.equal(202);
      expect(second.json).to.deep.equal({ runId: first.json.runId, status: 'running', coalesced: true });
    });

    it('wait:true answers 200 with the finished run record', async () => {
      const service = new FakeSyncService({ finishAfterMs: 50 });
      const t2 = await startFakeServiceApp({ service });
      try {
        const res = await postWebhook(t2.url, { wait: true, product_nos: ['P-001'] });
        expect(res.status).to.equal(200);
        expect(res.json.id).to.equal('run-0001');
        expect(res.json.status).to.equal('succeeded');
        expect(res.json.counts).to.deep.equal({ fetched: 3, created: 1, updated: 1, unchanged: 1, rejected: 0, failed: 0 });
        expect(res.json.productNos).to.deep.equal(['P-001']);
      } finally { await t2.close(); }
    });

    it('wait:true answers 202 with the running state when the run outlasts the wait', async () => {
      const res = await postWebhook(t.url, { wait: true });
      expect(res.status).to.equal(202);
      expect(res.json).to.deep.equal({ runId: 'run-0001', status: 'running', coalesced: false });
    });

    it('passes X-Yida-User as requestedBy (percent-encoded Chinese names too, control characters dropped)', async () => {
      await postWebhook(t.url, {}, { 'x-api-key': TEST_API_KEY, 'x-yida-user': encodeURIComponent('张三') });
      t.service.finish('run-0001');
      await postWebhook(t.url, {}, { 'x-api-key': TEST_API_KEY, 'x-yida-user': 'ops\tbot' });
      expect(t.service.triggers.map((r) => r.requestedBy)).to.deep.equal(['张三', 'opsbot']);
    });

    it('counts webhook answers by status in metrics', async () => {
      await postWebhook(t.url, {});
      await postWebhook(t.url, {}, {});
      await postWebhook(t.url, '{');
      const text = await t.metrics.registry.metrics();
      expect(text).to.match(/connector_webhook_requests_total\{status="202"\} 1/);
      expect(text).to.match(/connector_webhook_requests_total\{status="401"\} 1/);
      expect(text).to.match(/connector_webhook_requests_total\{status="400"\} 1/);
    });

    it('a finished run record from the service is served as-is by wait:true', async () => {
      const service = new FakeSyncService();
      const t2 = await startFakeServiceApp({ service });
      try {
        service.trigger = async (req) => { service.triggers.push(req); service.addRun(sampleRun({ id: 'r-x' })); return { runId: 'r-x', status: 'running', coalesced: false }; };
        const res = await postWebhook(t2.url, { wait: true });
        expect(res.status).to.equal(200);
        expect(res.json).to.deep.equal(sampleRun({ id: 'r-x' }));
      } finally { await t2.close(); }
    });
  });
});
