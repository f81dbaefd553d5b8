/**
 * The OKKI simulator answers the way the reference describes the real API (token, window, paging, envelope),
 * and its knobs and inspection API do what tests and the benchmark rely on.
 */
import { expect } from 'chai';
import { startOkkiSimulator, type OkkiSimulator } from '../src/sandbox/okki/index.js';
import { generateCatalog, formatBeijing, parseBeijing } from '../src/sandbox/catalog.js';

async function token(sim: OkkiSimulator): Promise<string> {
  const r = await fetch(`${sim.url}/v1/oauth2/access_token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: sim.credentials.clientId, client_secret: sim.credentials.clientSecret, scope: 'product' }),
  });
  return ((await r.json()) as { access_token: string }).access_token;
}

async function api(sim: OkkiSimulator, path: string, tok?: string): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await fetch(`${sim.url}${path}`, { headers: tok ? { authorization: `Bearer ${tok}` } : {} });
  return { status: r.status, body: await r.json(), headers: r.headers };
}

describe('OKKI simulator', () => {
  let sim: OkkiSimulator;
  let tok: string;
  beforeEach(async () => { sim = await startOkkiSimulator({ seed: 11, products: 250 }); tok = await token(sim); });
  afterEach(async () => { await sim.close(); });

  describe('catalogue generator', () => {
    it('is deterministic for a seed and differs between seeds', () => {
      const now = new Date('2025-03-01T00:00:00Z');
      const a = generateCatalog({ seed: 5, products: 50, now });
      const b = generateCatalog({ seed: 5, products: 50, now });
      const c = generateCatalog({ seed: 6, products: 50, now });
      expect(a.productAt(17)).to.deep.equal(b.productAt(17));
      expect(a.groups).to.deep.equal(b.groups);
      expect(a.productAt(17)).to.not.deep.equal(c.productAt(17));
      expect(a.timesAt(17).updateS).to.equal(parseBeijing(a.productAt(17).update_time));
    });

    it('builds a two-level tree with Chinese names and products shaped like the real payload', () => {
      const cat = generateCatalog({ seed: 1, products: 200, groups: 30 });
      expect(cat.groups).to.have.length(30);
      const ids = new Set(cat.groups.map((g) => g.id));
      for (const g of cat.groups) {
        if (g.layer === 1) expect(g.parent_id).to.equal(0);
        else { expect(g.layer).to.equal(2); expect(ids.has(g.parent_id)).to.equal(true); }
        expect(g.name).to.match(/[\u4e00-\u9fff]/);
      }
      const p = cat.productAt(0);
      expect(p.product_no).to.equal('P-000001');
      expect(p.product_id).to.be.a('number');
      expect(p.name).to.match(/[\u4e00-\u9fff]/);
      expect((p.cost_with_tax as any).cost).to.match(/^\d+\.\d\d$/);
      expect((p.fob as any).price_min).to.match(/^\d+\.\d\d$/);
      const onLevel2 = cat.products.filter((x) => cat.groups.find((g) => g.id === x.group_id)!.layer === 2).length;
      expect(onLevel2).to.be.greaterThan(120).and.lessThan(200);
    });
  });

  describe('token endpoint', () => {
    it('accepts a form-urlencoded body as well as JSON', async () => {
      const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: sim.credentials.clientId, client_secret: sim.credentials.clientSecret, scope: 'product' });
      const r = await fetch(`${sim.url}/v1/oauth2/access_token`, { method: 'POST', body });
      const json = await r.json() as any;
      expect(r.status).to.equal(200);
      expect(json).to.include({ token_type: 'Bearer', expires_in: 28800 });
      expect(json.access_token).to.be.a('string');
    });

    it('refuses a wrong secret with invalid_client and a missing product scope with "no permission product scopes"', async () => {
      const post = (body: object) => fetch(`${sim.url}/v1/oauth2/access_token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const bad = await post({ grant_type: 'client_credentials', client_id: sim.credentials.clientId, client_secret: 'wrong', scope: 'product' });
      expect(bad.status).to.equal(401);
      expect(await bad.json()).to.include({ error: 'invalid_client' });
      const scope = await post({ grant_type: 'client_credentials', client_id: sim.credentials.clientId, client_secret: sim.credentials.clientSecret, scope: 'customer' });
      expect(scope.status).to.equal(400);
      expect(((await scope.json()) as any).message).to.equal('no permission product scopes');
      const noScope = await post({ grant_type: 'client_credentials', client_id: sim.credentials.clientId, client_secret: sim.credentials.clientSecret });
      expect(noScope.status).to.equal(400);
    });

    it('does not extend a token when it is requested again, and can omit expires_in', async () => {
      expect(await token(sim)).to.equal(tok);
      sim.setKnobs({ omitExpiresIn: true });
      sim.revokeTokens();
      const r = await fetch(`${sim.url}/v1/oauth2/access_token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: sim.credentials.clientId, client_secret: sim.credentials.clientSecret, scope: 'product' }) });
      const json = await r.json() as any;
      expect(json).to.not.have.property('expires_in');
      expect(json.access_token).to.not.equal(tok);
    });
  });

  describe('Bearer auth', () => {
    it('answers 401 access_denied without a token, with an unknown one and after revocation', async () => {
      expect((await api(sim, '/v1/product/groups')).status).to.equal(401);
      expect((await api(sim, '/v1/product/groups', 'nope')).body).to.include({ error: 'access_denied' });
      sim.revokeTokens();
      expect((await api(sim, '/v1/product/groups', tok)).status).to.equal(401);
    });

    it('can answer a rejected token with HTTP 200 and an access_denied body instead', async () => {
      sim.setKnobs({ authFailure: 'body200' });
      const r = await api(sim, '/v1/product/list', 'nope');
      expect(r.status).to.equal(200);
      expect(r.body.error).to.equal('access_denied');
    });

    it('expires tokens after their lifetime', async () => {
      sim.setKnobs({ tokenTtlSeconds: 1 });
      sim.revokeTokens();
      const short = await token(sim);
      expect((await api(sim, '/v1/product/groups', short)).status).to.equal(200);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await api(sim, '/v1/product/groups', short)).status).to.equal(401);
    });
  });

  describe('GET /v1/product/list', () => {
    it('pages 1-based, newest update first (product_id DESC on ties), with data.count the total', async () => {
      const all: any[] = [];
      for (let page = 1; page <= 3; page++) {
        const r = await api(sim, `/v1/product/list?start_index=${page}&count=100`, tok);
        expect(r.body.code).to.equal(200);
        expect(r.body.data.count).to.equal(250);
        all.push(...r.body.data.list);
      }
      expect(all).to.have.length(250);
      expect(new Set(all.map((p) => p.product_no)).size).to.equal(250);
      for (let i = 1; i < all.length; i++) {
        const a = parseBeijing(all[i - 1].update_time)!; const b = parseBeijing(all[i].update_time)!;
        expect(a > b || (a === b && all[i - 1].product_id > all[i].product_id), `order at ${i}`).to.equal(true);
      }
    });

    it('keeps ids as ints, decimals as strings, extra fields, and leaves product_type out', async () => {
      const item = (await api(sim, '/v1/product/list?count=1', tok)).body.data.list[0];
      expect(item.product_id).to.be.a('number');
      expect(item.group_id).to.be.a('number');
      expect(item.fob.price_min).to.be.a('string');
      expect(item).to.have.property('ext_attr_v2');
      expect(item).to.not.have.property('product_type');
      expect(item.update_time).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    });

    it('filters on update_time with both bounds inclusive, in UTC+8 wall-clock time', async () => {
      const t = parseBeijing('2030-05-05 10:00:00')!;
      sim.catalog.upsert([
        { product_no: 'B-before', update_time: formatBeijing(t - 1) },
        { product_no: 'B-start', update_time: formatBeijing(t) },
        { product_no: 'B-end', update_time: formatBeijing(t + 60) },
        { product_no: 'B-after', update_time: formatBeijing(t + 61) },
      ]);
      const q = new URLSearchParams({ time_type: '1', start_time: '2030-05-05 10:00:00', end_time: '2030-05-05 10:01:00', start_index: '1', count: '100' });
      const r = await api(sim, `/v1/product/list?${q}`, tok);
      expect(r.body.data.list.map((p: any) => p.product_no)).to.deep.equal(['B-end', 'B-start']);
      expect(r.body.data.count).to.equal(2);
      expect(formatBeijing(Date.UTC(2030, 4, 5, 2, 0, 0) / 1000)).to.equal('2030-05-05 10:00:00');
    });

    it('clamps count above 100 by default, or answers code 400 when asked to', async () => {
      expect((await api(sim, '/v1/product/list?count=500', tok)).body.data.list).to.have.length(100);
      sim.setKnobs({ overCount: 'error' });
      const r = await api(sim, '/v1/product/list?count=500', tok);
      expect(r.status).to.equal(200);
      expect(r.body.code).to.equal(400);
    });

    it('answers a malformed time with an HTTP 200 error code', async () => {
      const r = await api(sim, '/v1/product/list?start_time=2024-01-01', tok);
      expect(r.status).to.equal(200);
      expect(r.body.code).to.equal(400);
    });
  });

  describe('GET /v1/product/info and /v1/product/groups', () => {
    it('returns the full record with product_type and sku_items, by number or id', async () => {
      const byNo = (await api(sim, '/v1/product/info?product_no=P-000002', tok)).body;
      expect(byNo.data.product_type).to.be.oneOf([1, 2, 3]);
      expect(byNo.data.sku_items).to.be.an('array');
      const byId = (await api(sim, `/v1/product/info?product_id=${byNo.data.product_id}`, tok)).body;
      expect(byId.data.product_no).to.equal('P-000002');
    });

    it('answers an unknown product with HTTP 200 and code 404 "Not Found Resource"', async () => {
      const r = await api(sim, '/v1/product/info?product_no=NOPE', tok);
      expect(r.status).to.equal(200);
      expect(r.body).to.include({ code: 404, message: 'Not Found Resource' });
    });

    it('lists groups as a flat array with parent_id 0 for roots', async () => {
      const r = await api(sim, '/v1/product/groups', tok);
      expect(r.body.data).to.be.an('array');
      expect(r.body.data.some((g: any) => g.parent_id === 0 && g.layer === 1)).to.equal(true);
      expect(r.body.data.every((g: any) => !('children' in g))).to.equal(true);
    });
  });

  describe('knobs', () => {
    it('switches the envelope to code 0 and msg', async () => {
      sim.setKnobs({ successCode: 0, messageKey: 'msg' });
      const r = await api(sim, '/v1/product/groups', tok);
      expect(r.body.code).to.equal(0);
      expect(r.body).to.have.property('msg');
      expect(r.body).to.not.have.property('message');
    });

    it('limits an endpoint per second, answering 429 with or without Retry-After or HTTP 200 with a code', async () => {
      sim.setKnobs({ qps: { groups: 2 }, retryAfterSeconds: 3 });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push(await api(sim, '/v1/product/groups', tok));
      expect(statuses.map((s) => s.status)).to.deep.equal([200, 200, 429]);
      expect(statuses[2].headers.get('retry-after')).to.equal('3');
      sim.setKnobs({ throttleVariant: 'no-retry-after' });
      const bare = await api(sim, '/v1/product/groups', tok);
      expect(bare.status).to.equal(429);
      expect(bare.headers.get('retry-after')).to.equal(null);
      sim.setKnobs({ throttleVariant: 'code' });
      const coded = await api(sim, '/v1/product/groups', tok);
      expect(coded.status).to.equal(200);
      expect(coded.body.code).to.equal(429);
    });

    it('injects business errors as HTTP 200 with code -1', async () => {
      sim.setKnobs({ errorRates: { businessError: 1 } });
      const r = await api(sim, '/v1/product/groups', tok);
      expect(r.status).to.equal(200);
      expect(r.body.code).to.equal(-1);
    });

    it('hangs a request past the client timeout when injecting timeouts', async () => {
      sim.setKnobs({ errorRates: { timeout: 1 }, hangMs: 5000 });
      const err = await fetch(`${sim.url}/v1/product/groups`, { headers: { authorization: `Bearer ${tok}` }, signal: AbortSignal.timeout(200) }).then(() => null, (e) => e);
      expect(err?.name).to.equal('TimeoutError');
      expect(sim.requests.at(-1)!.outcome).to.equal('injected-timeout');
    });

    it('moves rows already served off the window when a later page is requested', async () => {
      sim.setKnobs({ shift: { rows: 2 } });
      const q = (page: number) => `/v1/product/list?time_type=1&end_time=${encodeURIComponent(formatBeijing(Math.floor(Date.now() / 1000)))}&start_index=${page}&count=50`;
      const first = (await api(sim, q(1), tok)).body.data;
      const second = (await api(sim, q(2), tok)).body.data;
      expect(second.count).to.equal(first.count - 2);
      const shifted = sim.requests.at(-1)!.shifted!;
      expect(shifted).to.have.length(2);
      expect(first.list.map((p: any) => p.product_no)).to.include.members(shifted);
    });

    it('validates knobs and accepts them over HTTP', async () => {
      expect(() => sim.setKnobs({ errorRates: { http5xx: 2 } })).to.throw(/errorRates.http5xx/);
      const r = await fetch(`${sim.url}/__sim/knobs`, { method: 'POST', body: JSON.stringify({ latencyMs: [1, 2], bogus: 1 }) });
      expect(r.status).to.equal(400);
      const ok = await fetch(`${sim.url}/__sim/knobs`, { method: 'POST', body: JSON.stringify({ latencyMs: [1, 2] }) });
      expect(ok.status).to.equal(200);
      expect(sim.knobs.latencyMs).to.deep.equal([1, 2]);
    });
  });

  describe('inspection API', () => {
    it('upserts, touches, lists and resets products, and logs requests without the token', async () => {
      let r = await fetch(`${sim.url}/__sim/products`, { method: 'POST', body: JSON.stringify([{ product_no: 'X-1', name: '测试', update_time: '2020-01-01 00:00:00' }]) });
      expect(((await r.json()) as any).upserted).to.equal(1);
      expect(sim.catalog.get('X-1')!.update_time).to.equal('2020-01-01 00:00:00');
      r = await fetch(`${sim.url}/__sim/touch`, { method: 'POST', body: JSON.stringify({ product_nos: ['X-1', 'missing'] }) });
      expect(((await r.json()) as any).touched).to.deep.equal(['X-1']);
      expect(sim.catalog.get('X-1')!.update_time).to.not.equal('2020-01-01 00:00:00');
      const listed = (await (await fetch(`${sim.url}/__sim/products?limit=5`)).json()) as any;
      expect(listed.total).to.equal(251);
      expect(listed.products[0].product_no).to.equal('X-1');
      await api(sim, '/v1/product/groups', tok);
      const log = (await (await fetch(`${sim.url}/__sim/requests`)).json()) as any;
      expect(log.requests.some((x: any) => x.path === '/v1/product/groups')).to.equal(true);
      expect(JSON.stringify(log)).to.not.include(tok);
      await fetch(`${sim.url}/__sim/reset`, { method: 'POST' });
      expect(sim.catalog.get('X-1')).to.equal(undefined);
      expect(sim.catalog.size).to.equal(250);
    });
  });
});
