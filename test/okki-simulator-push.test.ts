/**
 * The OKKI simulator's push side over real sockets: the webhook and subscription API, and the emitter delivering
 * signed, encrypted product events to a callback with OKKI's retry-then-drop schedule, duplicates, reordering,
 * batching and the biz_data variants. The receiver here checks signatures and decrypts with its own node:crypto
 * code (written from OKKI's docs, not imported from the simulator).
 */
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { startOkkiSimulator, type OkkiSimulator } from '../src/sandbox/okki/index.js';

interface Received {
  at: number;
  raw: string;
  messageId: string;
  timestamp: string;
  signatureOk: boolean;
  /** the decrypted plaintext parsed, or undefined when it did not decrypt */
  plain?: { biz: Array<{ biz_type: string; biz_data: unknown }> };
}

type Behaviour = (r: Received, n: number) => { status: number; body: unknown; delayMs?: number };
const ack: Behaviour = (r) => ({ status: 200, body: { code: 200, data: { message_id: r.messageId } } });

/** A callback endpoint: verifies X-Signature over X-Timestamp + raw body and decrypts AES-256-GCM data. */
async function startReceiver(behaviour: Behaviour = ack) {
  const state = { secret: '', behaviour, received: [] as Received[] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(req.headers['x-timestamp'] ?? '');
      const given = Buffer.from(String(req.headers['x-signature'] ?? ''), 'hex');
      const want = createHmac('sha256', Buffer.from(state.secret, 'utf8')).update(timestamp + raw).digest();
      const signatureOk = given.length === want.length && timingSafeEqual(given, want);
      const body = JSON.parse(raw) as { message_id: string; data: string };
      let plain: Received['plain'];
      try {
        const bytes = Buffer.from(body.data, 'base64');
        const decipher = createDecipheriv('aes-256-gcm', Buffer.from(state.secret, 'base64'), bytes.subarray(0, 12));
        decipher.setAuthTag(bytes.subarray(12, 28));
        plain = JSON.parse(Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8'));
      } catch { plain = undefined; }
      const rec: Received = { at: Date.now(), raw, messageId: body.message_id, timestamp, signatureOk, plain };
      state.received.push(rec);
      const answer = state.behaviour(rec, state.received.length);
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/okki`;
  return { url, state, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('OKKI simulator: push', () => {
  let sim: OkkiSimulator;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let tok: string;
  const call = async (method: string, path: string, body?: unknown, bearer: string | null = tok) => {
    const r = await fetch(`${sim.url}${path}`, {
      method, headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as any };
  };
  const subscribeAll = () => call('POST', '/v1/subscribe', {
    subscribe_type: 'crm.product',
    subscribe_configs: [{ biz_type: 'xiaoman.crm.product.create' }, { biz_type: 'xiaoman.crm.product.update' }, { biz_type: 'xiaoman.crm.product.delete' }],
  });
  /** register the receiver through OKKI's API, as `npm run okki:subscribe` would */
  const register = async () => {
    const created = await call('POST', '/v1/webhook', { callback_url: rx.url });
    rx.state.secret = created.body.data.security_config;
    expect((await subscribeAll()).body.code).to.equal(200);
  };

  beforeEach(async () => {
    sim = await startOkkiSimulator({ seed: 5, products: 30, knobs: { push: { retryDelaysMs: [40, 80, 120] } } });
    rx = await startReceiver();
    const t = await fetch(`${sim.url}/v1/oauth2/access_token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: sim.credentials.clientId, client_secret: sim.credentials.clientSecret, scope: 'product' }) });
    tok = ((await t.json()) as any).access_token;
  });
  afterEach(async () => { await sim.close(); await rx.close(); });

  describe('webhook and subscription API', () => {
    it('creates, reads, changes, re-keys and deletes the callback; needs a token', async () => {
      expect((await call('POST', '/v1/webhook', { callback_url: rx.url }, null)).status).to.equal(401);
      expect((await call('GET', '/v1/webhook')).body.code).to.equal(404);
      const created = await call('POST', '/v1/webhook', { callback_url: rx.url });
      expect(created.status).to.equal(200);
      expect(created.body.code).to.equal(200);
      expect(created.body.data.security_method).to.equal('AES-256-GCM');
      const key = created.body.data.security_config as string;
      expect(key).to.match(/^[A-Za-z0-9+/]+=*$/);
      expect(Buffer.from(key, 'base64')).to.have.length(32);
      expect((await call('GET', '/v1/webhook')).body.data).to.deep.equal({ callback_url: rx.url, callback_verify: '0', security_method: 'AES-256-GCM' });
      const put = await call('PUT', '/v1/webhook', { callback_url: `${rx.url}?v=2` });
      expect(put.body.data).to.deep.equal({ security_method: 'AES-256-GCM', callback_url: `${rx.url}?v=2` });
      expect(sim.push.config!.securityConfig, 'PUT keeps the key').to.equal(key);
      const regen = await call('POST', '/v1/webhook/regenerate-secret');
      expect(regen.body.data.webhook_secret).to.not.equal(key);
      expect(Buffer.from(regen.body.data.webhook_secret, 'base64')).to.have.length(32);
      expect((await call('POST', '/v1/webhook', {})).body.code).to.equal(400);
      sim.setKnobs({ webhookCreateTwice: 'error' });
      expect((await call('POST', '/v1/webhook', { callback_url: rx.url })).body.code).to.equal(400);
      expect((await call('DELETE', '/v1/webhook')).body.code).to.equal(200);
      expect((await call('GET', '/v1/webhook')).body.code).to.equal(404);
      expect(sim.requests.filter((r) => r.endpoint === 'webhook').length).to.be.greaterThan(5);
    });

    it('subscribes one module per call, lists, replaces and deletes subscriptions', async () => {
      const r = await subscribeAll();
      expect(r.body).to.include({ code: 200 });
      expect(r.body.data).to.deep.equal([]);
      expect((await call('GET', '/v1/subscribe')).body.data).to.deep.equal([{ subscribe_type: 'crm.product', subscribe_config: ['xiaoman.crm.product.create', 'xiaoman.crm.product.update', 'xiaoman.crm.product.delete'] }]);
      const mixed = await call('POST', '/v1/subscribe', { subscribe_type: 'crm.product', subscribe_configs: [{ biz_type: 'xiaoman.crm.order.create' }] });
      expect(mixed.body.code).to.equal(400);
      expect((await call('POST', '/v1/subscribe', { subscribe_type: 'crm.product', subscribe_configs: [] })).body.code).to.equal(400);
      await call('PUT', '/v1/subscribe/crm.product', { subscribe_type: 'crm.product', subscribe_configs: [{ biz_type: 'xiaoman.crm.product.delete' }] });
      expect((await call('GET', '/v1/subscribe/crm.product')).body.data).to.deep.equal({ subscribe_type: 'crm.product', subscribe_config: ['xiaoman.crm.product.delete'] });
      expect((await call('DELETE', '/v1/subscribe/crm.product')).body.code).to.equal(200);
      expect((await call('GET', '/v1/subscribe/crm.product')).body.code).to.equal(404);
    });

    it('sends the test event and reports whether the callback answered it with its biz_data', async () => {
      await register();
      rx.state.behaviour = (r) => ({ status: 200, body: { code: 200, data: { message_id: r.messageId, data: r.plain!.biz[0].biz_data } } });
      const ok = await call('POST', '/v1/webhook/test');
      expect(ok.body.code).to.equal(200);
      const got = rx.state.received[0];
      expect(got.signatureOk).to.equal(true);
      expect(got.plain!.biz).to.have.length(1);
      expect(got.plain!.biz[0].biz_type).to.equal('xiaoman.open.callback.test');
      expect((await call('GET', '/v1/webhook')).body.data.callback_verify).to.equal('1');
      rx.state.behaviour = ack; // message_id only: not enough for the test event
      const bad = await call('POST', '/v1/webhook/test');
      expect(bad.body.code).to.equal(400);
      expect(rx.state.received).to.have.length(2);
      expect(sim.push.deliveries.map((d) => [d.test, d.state])).to.deep.equal([[true, 'delivered'], [true, 'dropped']]);
    });
  });

  describe('delivery', () => {
    it('pushes create, update and delete events, signed and encrypted, when products change through /__sim', async () => {
      await register();
      const post = (path: string, body: unknown) => fetch(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
      await post('/__sim/products', [{ product_no: 'NEW-1', name: '新产品' }]);
      await sim.push.settled();
      await post('/__sim/edit', { product_no: 'P-000002', name: '改名', price: 9.9 });
      await sim.push.settled();
      await post('/__sim/delete', { product_nos: ['P-000003'] });
      await sim.push.settled();
      await post('/__sim/discontinue', { product_nos: ['P-000004'] });
      await sim.push.settled();
      const got = rx.state.received;
      expect(got).to.have.length(4);
      const nowS = Math.floor(Date.now() / 1000);
      for (const r of got) {
        expect(r.signatureOk, 'signature').to.equal(true);
        expect(Math.abs(Number(r.timestamp) - nowS)).to.be.at.most(5);
        expect(r.messageId).to.match(/^msg_/);
        expect(r.plain, 'decrypts').to.not.equal(undefined);
      }
      const events = got.map((r) => r.plain!.biz[0]);
      expect(events.map((e) => e.biz_type)).to.deep.equal(['xiaoman.crm.product.create', 'xiaoman.crm.product.update', 'xiaoman.crm.product.delete', 'xiaoman.crm.product.update']);
      expect(events[1].biz_data).to.deep.equal({ product_id: 3_000_002, product_no: 'P-000002' });
      expect((events[0].biz_data as any).product_no).to.equal('NEW-1');
      expect(new Set(got.map((r) => r.messageId)).size).to.equal(4);
      expect(sim.push.deliveries.every((d) => d.state === 'delivered' && d.attempts.length === 1)).to.equal(true);
      const listed = (await (await fetch(`${sim.url}/__sim/push/deliveries?state=delivered`)).json()) as any;
      expect(listed.deliveries).to.have.length(4);
    });

    it('sends nothing without a callback or for an event type not subscribed to', async () => {
      sim.catalog.touch(['P-000001']);
      await call('POST', '/v1/webhook', { callback_url: rx.url }).then((r) => { rx.state.secret = r.body.data.security_config; });
      sim.catalog.touch(['P-000001']); // no subscription yet
      await call('POST', '/v1/subscribe', { subscribe_type: 'crm.product', subscribe_configs: [{ biz_type: 'xiaoman.crm.product.delete' }] });
      sim.catalog.touch(['P-000001']);
      sim.catalog.delete(['P-000001']);
      await sim.push.settled();
      expect(rx.state.received.map((r) => r.plain!.biz[0].biz_type)).to.deep.equal(['xiaoman.crm.product.delete']);
    });

    it('retries a failed delivery after each configured delay, then drops it', async () => {
      await register();
      rx.state.behaviour = () => ({ status: 500, body: { error: 'down' } });
      sim.catalog.touch(['P-000001']);
      await sim.push.settled();
      const got = rx.state.received;
      expect(got).to.have.length(4);
      expect(new Set(got.map((r) => r.messageId)).size, 'same message each time').to.equal(1);
      const gaps = got.slice(1).map((r, i) => r.at - got[i].at);
      [40, 80, 120].forEach((want, i) => expect(gaps[i], `gap ${i}`).to.be.at.least(want - 5).and.below(want + 400));
      expect(got.every((r) => r.signatureOk)).to.equal(true);
      const [d] = sim.push.deliveries;
      expect(d.state).to.equal('dropped');
      expect(d.attempts.map((a) => a.status)).to.deep.equal([500, 500, 500, 500]);
      const summary = (await (await fetch(`${sim.url}/__sim/push`)).json()) as any;
      expect(summary.deliveries).to.include({ dropped: 1, delivered: 0 });
    });

    it('counts an answer without the same data.message_id as a failure, and succeeds on a later retry', async () => {
      await register();
      rx.state.behaviour = (r, n) => (n === 1 ? { status: 200, body: { code: 200, data: { message_id: 'other' } } } : n === 2 ? { status: 200, body: { code: 200 } } : ack(r, n));
      sim.catalog.touch(['P-000001']);
      await sim.push.settled();
      const [d] = sim.push.deliveries;
      expect(d.state).to.equal('delivered');
      expect(d.attempts.map((a) => a.ok)).to.deep.equal([false, false, true]);
    });

    it('gives up on an attempt the callback does not answer within timeoutMs, and retries it', async () => {
      await register();
      sim.setKnobs({ push: { timeoutMs: 100 } });
      rx.state.behaviour = (r, n) => ({ ...ack(r, n), delayMs: n === 1 ? 400 : 0 });
      sim.catalog.touch(['P-000001']);
      await sim.push.settled();
      const [d] = sim.push.deliveries;
      expect(d.state).to.equal('delivered');
      expect(d.attempts[0]).to.include({ ok: false, status: 0 });
      expect(d.attempts[0].error).to.match(/no answer within 100 ms/);
      expect(d.attempts).to.have.length(2);
    });

    it('can deliver a message twice with the same message_id', async () => {
      await register();
      sim.setKnobs({ push: { duplicateRate: 1 } });
      sim.catalog.touch(['P-000006']);
      await sim.push.settled();
      expect(rx.state.received).to.have.length(2);
      expect(rx.state.received[0].messageId).to.equal(rx.state.received[1].messageId);
      expect(rx.state.received[1].plain!.biz).to.deep.equal(rx.state.received[0].plain!.biz);
      expect(sim.push.deliveries.map((d) => d.duplicate ?? false)).to.deep.equal([false, true]);
    });

    it('can deliver out of order: the delete of a product before its earlier update', async () => {
      await register();
      sim.setKnobs({ push: { holdMs: 50, order: 'reverse' } });
      sim.catalog.edit('P-000008', { name: '先改' });
      sim.catalog.delete(['P-000008']);
      await sim.push.settled();
      expect(rx.state.received.map((r) => r.plain!.biz[0].biz_type)).to.deep.equal(['xiaoman.crm.product.delete', 'xiaoman.crm.product.update']);
    });

    it('batches several events in one message, and can send biz_data as a JSON string', async () => {
      await register();
      sim.setKnobs({ push: { holdMs: 50, batchSize: 5, bizDataAs: 'string' } });
      const nos = ['P-000001', 'P-000002', 'P-000003', 'P-000004', 'P-000005', 'P-000006', 'P-000007'];
      sim.catalog.touch(nos);
      await sim.push.settled();
      const sizes = rx.state.received.map((r) => r.plain!.biz.length);
      expect(sizes).to.deep.equal([5, 2]);
      const all = rx.state.received.flatMap((r) => r.plain!.biz);
      expect(all.every((b) => typeof b.biz_data === 'string')).to.equal(true);
      expect(all.map((b) => JSON.parse(b.biz_data as string).product_no)).to.deep.equal(nos);
    });

    it('delivers broken requests on demand: wrong signature, stale timestamp, undecryptable data', async () => {
      await register();
      sim.setKnobs({ push: { corrupt: 'signature', retryDelaysMs: [] } });
      sim.catalog.touch(['P-000001']);
      await sim.push.settled();
      sim.setKnobs({ push: { corrupt: 'timestamp' } });
      sim.catalog.touch(['P-000001']);
      await sim.push.settled();
      sim.setKnobs({ push: { corrupt: 'ciphertext' } });
      sim.catalog.touch(['P-000001']);
      await sim.push.settled();
      const [sig, stale, cipher] = rx.state.received;
      expect(sig.signatureOk).to.equal(false);
      expect(stale.signatureOk).to.equal(true);
      expect(Math.floor(Date.now() / 1000) - Number(stale.timestamp)).to.be.at.least(590);
      expect(cipher.signatureOk).to.equal(true);
      expect(cipher.plain).to.equal(undefined);
    });

    it('loses events on demand (lossRate), and emits an event without a change through /__sim/push/emit', async () => {
      await register();
      sim.setKnobs({ push: { lossRate: 1 } });
      sim.catalog.touch(['P-000001']);
      await sim.push.settled();
      expect(rx.state.received).to.have.length(0);
      const r = await fetch(`${sim.url}/__sim/push/emit`, { method: 'POST', body: JSON.stringify({ product_nos: ['P-000002', 'GHOST-1'], kind: 'delete' }) });
      expect(((await r.json()) as any).queued).to.equal(2);
      await sim.push.settled();
      expect(rx.state.received.map((x) => x.plain!.biz[0].biz_data)).to.deep.equal([{ product_id: 3_000_002, product_no: 'P-000002' }, { product_id: 0, product_no: 'GHOST-1' }]);
    });

    it('pushes from the start when given a callback option; the shift knob pushes the rows it moves; reset keeps the config', async () => {
      await sim.close();
      sim = await startOkkiSimulator({ seed: 5, products: 250, push: { callbackUrl: rx.url } });
      rx.state.secret = sim.push.config!.securityConfig;
      expect(sim.push.subscriptions).to.deep.equal({ 'crm.product': ['xiaoman.crm.product.create', 'xiaoman.crm.product.update', 'xiaoman.crm.product.delete'] });
      const t = await fetch(`${sim.url}/v1/oauth2/access_token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: sim.credentials.clientId, client_secret: sim.credentials.clientSecret, scope: 'product' }) });
      tok = ((await t.json()) as any).access_token;
      sim.setKnobs({ shift: { rows: 2 } });
      await call('GET', '/v1/product/list?count=100&start_index=1');
      await call('GET', '/v1/product/list?count=100&start_index=2');
      await sim.push.settled();
      const shifted = sim.requests.filter((r) => r.endpoint === 'list').flatMap((r) => r.shifted ?? []);
      expect(shifted).to.have.length(2);
      expect(rx.state.received.map((r) => (r.plain!.biz[0].biz_data as any).product_no).sort()).to.deep.equal([...shifted].sort());
      sim.reset();
      expect(sim.push.deliveries).to.have.length(0);
      expect(sim.push.config!.callbackUrl).to.equal(rx.url);
      sim.catalog.touch(['P-000001']);
      await sim.push.settled();
      await until(() => rx.state.received.length === 3);
      expect(rx.state.received[2].signatureOk).to.equal(true);
    });

    it('configures push over /__sim/push/config for the sandbox (curl)', async () => {
      const r = await fetch(`${sim.url}/__sim/push/config`, { method: 'POST', body: JSON.stringify({ callback_url: rx.url }) });
      const body = (await r.json()) as any;
      rx.state.secret = body.config.securityConfig;
      expect(body.subscriptions['crm.product']).to.have.length(3);
      await fetch(`${sim.url}/__sim/edit`, { method: 'POST', body: JSON.stringify({ product_no: 'P-000009', price: 3 }) });
      await sim.push.settled();
      expect(rx.state.received).to.have.length(1);
      expect(rx.state.received[0].signatureOk).to.equal(true);
      await fetch(`${sim.url}/__sim/push/config`, { method: 'DELETE' });
      sim.catalog.touch(['P-000009']);
      await sim.push.settled();
      expect(rx.state.received).to.have.length(1);
    });
  });
});
