/**
 * POST /webhooks/okki over a real socket, against a real sqlite queue: what is refused (and that a refusal queues
 * nothing), what is answered and how, dedupe by message_id, both biz_data shapes and both GCM layouts, the test event.
 * Deliveries are built by test/helpers/okki-push.ts from OKKI's documentation, not by the receiver's own codec.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../src/http/app.js';
import { startHttpServer, type HttpServerHandle } from '../src/http/server.js';
import { createMetrics } from '../src/metrics.js';
import { createLogger } from '../src/log.js';
import { createStores } from '../src/store/index.js';
import type { Stores } from '../src/store/types.js';
import type { PushEvent } from '../src/core/index.js';
import { FakeSyncService, request, testConfig } from './helpers/fake-service.js';
import { deliver, delivery, encrypt, newSecurityConfig, product, PUSH_PATH, sign } from './helpers/okki-push.js';

interface PushApp { url: string; stores: Stores; queued: number; logs: string[]; handle: HttpServerHandle; close(): Promise<void> }

async function startPushApp(secret: string | undefined, dir: string, opts: { enqueue?: () => Promise<never> } = {}): Promise<PushApp> {
  const p = join(dir, `s${Math.random().toString(36).slice(2)}.sqlite`);
  const stores = await createStores({ url: `sqlite://${p}`, kind: 'sqlite', sqlitePath: p });
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', stream: new Writable({ write(c, _e, cb) { logs.push(String(c)); cb(); } }) });
  const service = new FakeSyncService();
  const state = { queued: 0 };
  const queue = opts.enqueue ? { enqueue: opts.enqueue } : stores.pushQueue;
  const app = createApp({
    config: testConfig(), service, metrics: createMetrics(), logger,
    ...(secret ? { push: { secret, queue, onQueued: () => { state.queued++; } } } : {}),
  });
  const handle = await startHttpServer(app, { port: 0, host: '127.0.0.1' });
  return {
    url: handle.url, stores, logs, handle,
    get queued() { return state.queued; },
    async close() { service.dispose(); await handle.close({ graceMs: 200 }); await stores.close(); },
  } as PushApp;
}

async function queuedEvents(stores: Stores): Promise<PushEvent[]> {
  const got = await stores.pushQueue.claim('probe', 1000, 1, Date.now() + 10_000);
  await stores.pushQueue.release('probe', got.map((e) => e.productNo), 0, 0);
  return got.map((e) => ({ productNo: e.productNo, kind: e.kind, ...(e.productId ? { productId: e.productId } : {}) }));
}

describe('POST /webhooks/okki', function () {
  const dir = mkdtempSync(join(tmpdir(), 'okki-push-http-'));
  const secret = newSecurityConfig();
  let app: PushApp;
  beforeEach(async () => { app = await startPushApp(secret, dir); });
  afterEach(async () => { await app.close(); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is 404 when OKKI_WEBHOOK_SECRET is not set', async () => {
    const off = await startPushApp(undefined, dir);
    try {
      const r = await deliver(off.url, delivery(secret, [product('update', 'P-1')]));
      expect(r.status).to.equal(404);
    } finally { await off.close(); }
  });

  it('queues the events durably, then answers 200 in OKKI\'s shape with the same message_id', async () => {
    const d = delivery(secret, [product('create', 'P-1', 11), product('update', 'P-2', 12), product('delete', 'P-3', 13)]);
    const r = await deliver(app.url, d);
    expect(r.status).to.equal(200);
    expect(r.json).to.deep.equal({ code: 200, data: { message_id: d.messageId } });
    expect(app.queued).to.equal(1);
    expect(await queuedEvents(app.stores)).to.deep.equal([
      { productNo: 'P-1', kind: 'upsert', productId: 11 }, { productNo: 'P-2', kind: 'upsert', productId: 12 }, { productNo: 'P-3', kind: 'delete', productId: 13 },
    ]);
  });

  it('a repeated message_id (OKKI\'s retry, or a replay) is acknowledged and queues nothing new', async () => {
    const d = delivery(secret, [product('update', 'P-1')]);
    expect((await deliver(app.url, d)).status).to.equal(200);
    const got = await app.stores.pushQueue.claim('run', 10, 60_000);
    await app.stores.pushQueue.ack('run', got.map((e) => e.productNo)); // drained and done
    const again = await deliver(app.url, d); // the very same request
    expect(again.status).to.equal(200);
    expect(again.json.data.message_id).to.equal(d.messageId);
    const retried = delivery(secret, [product('update', 'P-1')], { messageId: d.messageId }); // re-signed later
    expect((await deliver(app.url, retried)).status).to.equal(200);
    expect(app.queued).to.equal(1);
    expect(await queuedEvents(app.stores)).to.deep.equal([]);
  });

  it('accepts biz_data as a JSON string, a signature in capitals, and the tag after the ciphertext', async () => {
    const biz = [{ biz_type: 'xiaoman.crm.product.update', biz_data: JSON.stringify({ product_id: 7, product_no: 'P-7' }) }];
    const d = delivery(secret, biz, { layout: 'iv-ct-tag' });
    d.headers['x-signature'] = d.headers['x-signature'].toUpperCase();
    expect((await deliver(app.url, d)).status).to.equal(200);
    expect(await queuedEvents(app.stores)).to.deep.equal([{ productNo: 'P-7', kind: 'upsert', productId: 7 }]);
  });

  it('answers the test event with its decrypted biz_data, in both shapes, and queues nothing', async () => {
    for (const bizData of [{ hello: 'okki', n: 1 }, JSON.stringify({ hello: 'okki' })]) {
      const d = delivery(secret, [{ biz_type: 'xiaoman.open.callback.test', biz_data: bizData }]);
      const r = await deliver(app.url, d);
      expect(r.status).to.equal(200);
      expect(r.json).to.deep.equal({ code: 200, data: { message_id: d.messageId, data: bizData } });
    }
    expect(app.queued).to.equal(0);
  });

  it('events of other modules and entries without a product number are acknowledged and ignored', async () => {
    const d = delivery(secret, [{ biz_type: 'xiaoman.crm.company.update', biz_data: { company_id: 1 } }, { biz_type: 'xiaoman.crm.product.update', biz_data: { product_id: 5 } }]);
    const r = await deliver(app.url, d);
    expect(r.status).to.equal(200);
    expect(await queuedEvents(app.stores)).to.deep.equal([]);
  });

  describe('refusals: 4xx and nothing queued', () => {
    afterEach(async () => {
      expect(app.queued).to.equal(0);
      expect(await queuedEvents(app.stores)).to.deep.equal([]);
    });
    const ok = () => delivery(secret, [product('update', 'P-1')]);

    it('401 without X-Signature or X-Timestamp', async () => {
      for (const drop of ['x-signature', 'x-timestamp']) {
        const d = ok(); delete d.headers[drop];
        const r = await deliver(app.url, d);
        expect(r.status, drop).to.equal(401);
        expect(r.json.error.code).to.equal('PUSH_UNAUTHORIZED');
      }
    });

    it('401 for a signature made with another key, over another body, or in another form', async () => {
      const wrongKey = delivery(secret, [product('update', 'P-1')], { signWith: newSecurityConfig() });
      const tampered = ok(); tampered.body = tampered.body.replace('"msg_', '"msg_x');
      const garbage = ok(); garbage.headers['x-signature'] = 'not-a-signature';
      for (const d of [wrongKey, tampered, garbage]) expect((await deliver(app.url, d)).status).to.equal(401);
    });

    it('401 for a timestamp more than 300 s away, either way (signature valid)', async () => {
      const now = Math.floor(Date.now() / 1000);
      for (const ts of [now - 301, now + 301]) {
        const r = await deliver(app.url, delivery(secret, [product('update', 'P-1')], { timestamp: ts }));
        expect(r.status, String(ts - now)).to.equal(401);
      }
      // inside the window is fine (and is queued: checked by the other tests)
    });

    it('413 for a 1 MB body, before its signature is even looked at', async () => {
      const big = JSON.stringify({ message_id: 'msg_big', data: 'A'.repeat(1024 * 1024) });
      const ts = String(Math.floor(Date.now() / 1000));
      const r = await request(app.url, { method: 'POST', path: PUSH_PATH, headers: { 'content-type': 'application/json', 'x-timestamp': ts, 'x-signature': sign(secret, ts, big) }, body: big });
      expect(r.status).to.equal(413);
    });

    it('400 for a signed body that is not JSON, lacks message_id or data, or whose data does not decrypt', async () => {
      const ts = String(Math.floor(Date.now() / 1000));
      const signed = (body: string) => ({ body, headers: { 'content-type': 'application/json', 'x-timestamp': ts, 'x-signature': sign(secret, ts, body) } });
      const bodies = [
        '{not json',
        JSON.stringify({ data: encrypt(secret, '{"biz":[]}') }),
        JSON.stringify({ message_id: 'msg_1' }),
        JSON.stringify({ message_id: 'msg_2', data: 'bm90IGNpcGhlcnRleHQ=' }), // too short
        JSON.stringify({ message_id: 'msg_3', data: encrypt(newSecurityConfig(), JSON.stringify({ biz: [product('update', 'P-1')] })) }), // other key
        JSON.stringify({ message_id: 'msg_4', data: '%%%not base64%%%' }),
        JSON.stringify({ message_id: 'msg_5', data: encrypt(secret, 'not json inside') }),
      ];
      const flipped = Buffer.from(encrypt(secret, JSON.stringify({ biz: [product('update', 'P-1')] })), 'base64');
      flipped[flipped.length - 1] ^= 1;
      bodies.push(JSON.stringify({ message_id: 'msg_6', data: flipped.toString('base64') }));
      for (const b of bodies) {
        const r = await deliver(app.url, signed(b));
        expect(r.status, b.slice(0, 60)).to.equal(400);
        expect(r.json.error.code).to.equal('PUSH_MALFORMED');
      }
    });
  });

  it('503 when the queue does not take the message (OKKI delivers it again later)', async () => {
    const down = await startPushApp(secret, dir, { enqueue: () => Promise.reject(new Error('store down')) });
    try {
      const r = await deliver(down.url, delivery(secret, [product('update', 'P-1')]));
      expect(r.status).to.equal(503);
      expect(r.json.error.code).to.equal('PUSH_QUEUE_UNAVAILABLE');
    } finally { await down.close(); }
  });

  it('never logs the secret', async () => {
    await deliver(app.url, delivery(secret, [product('update', 'P-1')], { signWith: newSecurityConfig() }));
    await deliver(app.url, delivery(secret, [product('update', 'P-1')]));
    expect(app.logs.join('\n')).not.to.include(secret);
  });
});
