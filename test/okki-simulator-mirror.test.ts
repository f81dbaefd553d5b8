/**
 * The OKKI simulator's second-stage catalogue behaviour over real sockets: product_type (info only, list filter),
 * deletions (gone from listings or listed with enable_flag 0), discontinued products (disable_flag 0), flag variants,
 * restore, and the list knobs the sweep guard relies on (a short list that looks complete, a failing page).
 */
import { expect } from 'chai';
import { startOkkiSimulator, type OkkiSimulator } from '../src/sandbox/okki/index.js';

async function token(sim: OkkiSimulator): Promise<string> {
  const r = await fetch(`${sim.url}/v1/oauth2/access_token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: sim.credentials.clientId, client_secret: sim.credentials.clientSecret, scope: 'product' }),
  });
  return ((await r.json()) as { access_token: string }).access_token;
}

describe('OKKI simulator: product types, deletions, short lists', () => {
  let sim: OkkiSimulator;
  let tok: string;
  const api = async (path: string) => {
    const r = await fetch(`${sim.url}${path}`, { headers: { authorization: `Bearer ${tok}` } });
    return { status: r.status, body: (await r.json()) as any };
  };
  const simPost = async (path: string, body: unknown) => {
    const r = await fetch(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as any };
  };
  /** every list item of an unwindowed (or given) query, page by page, and the count each page claimed */
  const readAll = async (query = '') => {
    const items: any[] = []; const counts: number[] = [];
    for (let page = 1; ; page++) {
      const r = await api(`/v1/product/list?count=100&start_index=${page}${query}`);
      expect(r.body.code, JSON.stringify(r.body)).to.equal(200);
      counts.push(r.body.data.count);
      items.push(...r.body.data.list);
      if (r.body.data.list.length < 100) break;
    }
    return { items, counts };
  };

  beforeEach(async () => { sim = await startOkkiSimulator({ seed: 21, products: 420 }); tok = await token(sim); });
  afterEach(async () => { await sim.close(); });

  describe('product_type', () => {
    it('every product has one in /info, none in list items, and the list filter counts and pages by it', async () => {
      const all = await readAll();
      expect(all.items).to.have.length(420);
      expect(all.items.some((i) => 'product_type' in i)).to.equal(false);
      const byType = new Map<number, string[]>();
      for (const p of sim.catalog.all()) {
        const info = await api(`/v1/product/info?product_no=${p.product_no}`);
        expect(info.body.data.product_type).to.be.oneOf([1, 2, 3]);
        byType.set(info.body.data.product_type, [...(byType.get(info.body.data.product_type) ?? []), p.product_no]);
      }
      expect([...byType.keys()].sort()).to.deep.equal([1, 2, 3]);
      let total = 0;
      for (const t of [1, 2, 3]) {
        const { items, counts } = await readAll(`&product_type=${t}`);
        expect(counts.every((c) => c === byType.get(t)!.length), `count for type ${t}`).to.equal(true);
        expect(items.map((i) => i.product_no).sort()).to.deep.equal(byType.get(t)!.sort());
        expect(items.some((i) => 'product_type' in i)).to.equal(false);
        total += items.length;
      }
      expect(total).to.equal(420);
    });

    it('defaults an upserted product without a type to 1 and rejects an unknown type filter', async () => {
      sim.catalog.upsert([{ product_no: 'T-plain', name: '无类型' }, { product_no: 'T-combo', name: '组合', product_type: 3 }]);
      expect((await api('/v1/product/info?product_no=T-plain')).body.data.product_type).to.equal(1);
      expect((await api('/v1/product/info?product_no=T-combo')).body.data.product_type).to.equal(3);
      const three = (await readAll('&product_type=3')).items.map((i) => i.product_no);
      expect(three).to.include('T-combo').and.not.include('T-plain');
      const bad = await api('/v1/product/list?product_type=9');
      expect(bad.status).to.equal(200);
      expect(bad.body.code).to.equal(400);
    });
  });

  describe('deletions', () => {
    it('remove mode: gone from listings and counts, /info answers HTTP 200 code 404, restore brings it back', async () => {
      const r = await simPost('/__sim/delete', { product_nos: ['P-000003', 'P-000004', 'NOPE'], mode: 'remove' });
      expect(r.body.deleted).to.deep.equal(['P-000003', 'P-000004']);
      const { items, counts } = await readAll();
      expect(items).to.have.length(418);
      expect(counts.every((c) => c === 418)).to.equal(true);
      expect(items.map((i) => i.product_no)).to.not.include('P-000003');
      const info = await api('/v1/product/info?product_no=P-000003');
      expect(info.status).to.equal(200);
      expect(info.body).to.include({ code: 404, message: 'Not Found Resource' });
      const byId = await api(`/v1/product/info?product_id=${3_000_003}`);
      expect(byId.body.code).to.equal(404);
      expect(sim.catalog.state('P-000003')).to.deep.equal({ deleted: true, listed: false, discontinued: false });

      expect((await simPost('/__sim/restore', { product_nos: ['P-000003'] })).body.restored).to.deep.equal(['P-000003']);
      expect((await api('/v1/product/info?product_no=P-000003')).body.data.enable_flag).to.equal(1);
      expect((await readAll()).items).to.have.length(419);
    });

    it('flag mode: still listed with enable_flag 0 and a fresh update_time, /info 404; the knob sets the default mode', async () => {
      sim.setKnobs({ deleteMode: 'flag' });
      const before = sim.catalog.get('P-000005')!.update_time;
      expect((await simPost('/__sim/delete', { product_nos: ['P-000005'] })).body.deleted).to.deep.equal(['P-000005']);
      const { items, counts } = await readAll();
      expect(items).to.have.length(420);
      expect(counts[0]).to.equal(420);
      const item = items.find((i) => i.product_no === 'P-000005');
      expect(item.enable_flag).to.equal(0);
      expect(item.update_time > before).to.equal(true);
      expect(items[0].product_no, 'newest first: the deletion is an update').to.equal('P-000005');
      expect(items.filter((i) => i.enable_flag === 0)).to.have.length(1);
      expect((await api('/v1/product/info?product_no=P-000005')).body.code).to.equal(404);
      // an incremental window after the deletion sees it
      const since = encodeURIComponent(item.update_time);
      const recent = await api(`/v1/product/list?start_time=${since}&count=100`);
      expect(recent.body.data.list.map((i: any) => i.product_no)).to.deep.equal(['P-000005']);
      // a second delete is a no-op; restore clears the flag
      expect((await simPost('/__sim/delete', { product_nos: ['P-000005'] })).body.deleted).to.deep.equal([]);
      sim.catalog.restore(['P-000005']);
      expect((await readAll()).items.find((i) => i.product_no === 'P-000005').enable_flag).to.equal(1);
    });

    it('an upsert carrying enable_flag 0 makes a listed deleted product', async () => {
      sim.catalog.upsert([{ product_no: 'D-1', name: '已删除', enable_flag: 0 }]);
      const first = (await api('/v1/product/list?count=1')).body.data.list[0];
      expect(first).to.include({ product_no: 'D-1', enable_flag: 0 });
      expect((await api('/v1/product/info?product_no=D-1')).body.code).to.equal(404);
    });
  });

  describe('discontinued products and flag variants', () => {
    it('discontinue sets disable_flag 0 (停售) and keeps the product listed and readable; false puts it back on sale', async () => {
      expect((await simPost('/__sim/discontinue', { product_nos: ['P-000007'] })).body.changed).to.deep.equal(['P-000007']);
      const info = (await api('/v1/product/info?product_no=P-000007')).body;
      expect(info.code).to.equal(200);
      expect(info.data).to.include({ disable_flag: 0, enable_flag: 1 });
      const { items } = await readAll();
      expect(items).to.have.length(420);
      expect(items.filter((i) => i.disable_flag === 0).map((i) => i.product_no)).to.deep.equal(['P-000007']);
      expect(items.filter((i) => i.disable_flag === 1)).to.have.length(419);
      await simPost('/__sim/discontinue', { product_nos: ['P-000007'], discontinued: false });
      expect((await api('/v1/product/info?product_no=P-000007')).body.data.disable_flag).to.equal(1);
    });

    it('omits the flags on normal items (omitNormal), on every other product (mixed), or sends them as strings', async () => {
      sim.catalog.discontinue(['P-000001']);
      sim.catalog.delete(['P-000002'], 'flag');
      sim.setKnobs({ flags: 'omitNormal' });
      let { items } = await readAll();
      const normal = items.filter((i) => !['P-000001', 'P-000002'].includes(i.product_no));
      expect(normal.every((i) => !('enable_flag' in i) && !('disable_flag' in i))).to.equal(true);
      expect(items.find((i) => i.product_no === 'P-000001')).to.include({ disable_flag: 0 }).and.not.have.property('enable_flag');
      expect(items.find((i) => i.product_no === 'P-000002')).to.include({ enable_flag: 0 }).and.not.have.property('disable_flag');
      expect((await api('/v1/product/info?product_no=P-000003')).body.data).to.not.have.property('enable_flag');

      sim.setKnobs({ flags: 'mixed' });
      ({ items } = await readAll());
      const withFlags = items.filter((i) => 'enable_flag' in i).length;
      expect(withFlags).to.be.greaterThan(100).and.lessThan(320);

      sim.setKnobs({ flags: 'always', flagsAsStrings: true });
      ({ items } = await readAll());
      expect(items.find((i) => i.product_no === 'P-000002').enable_flag).to.equal('0');
      expect(items.find((i) => i.product_no === 'P-000009')).to.include({ enable_flag: '1', disable_flag: '1' });
    });
  });

  describe('list knobs for the sweep guard', () => {
    it('shortList: an unwindowed read comes back with 60 % of the rows and a data.count that matches them', async () => {
      await simPost('/__sim/knobs', { shortList: { fraction: 0.6 } });
      const { items, counts } = await readAll();
      expect(items.length).to.be.within(0.5 * 420, 0.7 * 420);
      expect(counts.every((c) => c === items.length), 'count agrees with the short list').to.equal(true);
      expect(new Set(items.map((i) => i.product_no)).size).to.equal(items.length);
      // the same fixed subset each time, and only unwindowed reads are short by default
      expect((await readAll()).items.map((i) => i.product_no)).to.deep.equal(items.map((i) => i.product_no));
      const windowed = await api(`/v1/product/list?count=100&start_time=${encodeURIComponent('2000-01-01 00:00:00')}`);
      expect(windowed.body.data.count).to.equal(420);
      sim.setKnobs({ shortList: { fraction: 0.6, scope: 'all' } });
      expect((await api(`/v1/product/list?count=100&start_time=${encodeURIComponent('2000-01-01 00:00:00')}`)).body.data.count).to.equal(items.length);
      sim.setKnobs({ shortList: { fraction: 0.6, countAs: 'full' } });
      const looksShort = await readAll();
      expect(looksShort.items.map((i) => i.product_no)).to.deep.equal(items.map((i) => i.product_no));
      expect(looksShort.counts.every((c) => c === 420), 'count says the full total').to.equal(true);
      sim.setKnobs({ shortList: null });
      expect((await readAll()).items).to.have.length(420);
    });

    it('failPage: a page fails always, or its first N requests, with the chosen failure', async () => {
      sim.setKnobs({ failPage: { pages: [3] } });
      expect((await api('/v1/product/list?count=100&start_index=2')).status).to.equal(200);
      for (let i = 0; i < 3; i++) expect((await api('/v1/product/list?count=100&start_index=3')).status).to.be.oneOf([502, 503]);
      sim.setKnobs({ failPage: { pages: [2], kind: 'businessError', times: 2 } });
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await api('/v1/product/list?count=100&start_index=2')).body.code);
      expect(codes).to.deep.equal([-1, -1, 200]);
      // windowed reads are untouched by default (scope sweep)
      sim.setKnobs({ failPage: { pages: [1], kind: 'http429' } });
      expect((await api(`/v1/product/list?count=100&start_time=${encodeURIComponent('2000-01-01 00:00:00')}`)).status).to.equal(200);
      expect((await api('/v1/product/list?count=100')).status).to.equal(429);
    });
  });

  describe('edits and inspection', () => {
    it('POST /__sim/edit changes name and price with a fresh update_time; GET /__sim/product shows state', async () => {
      const before = sim.catalog.get('P-000010')!;
      const typeBefore = (await api('/v1/product/info?product_no=P-000010')).body.data.product_type;
      const r = await simPost('/__sim/edit', { product_no: 'P-000010', name: '新名字', price: 12.5 });
      expect(r.status).to.equal(200);
      expect(r.body.product).to.include({ name: '新名字' });
      expect(r.body.product.fob.price_min).to.equal('12.50');
      expect(r.body.product.update_time > before.update_time).to.equal(true);
      const info = (await api('/v1/product/info?product_no=P-000010')).body.data;
      expect(info.name).to.equal('新名字');
      expect(info.product_type, 'an edit keeps the type').to.equal(typeBefore);
      expect(info.group_id).to.equal(before.group_id);
      expect((await simPost('/__sim/edit', { product_no: 'NOPE', name: 'x' })).status).to.equal(404);
      expect((await simPost('/__sim/edit', { product_no: 'P-000010', price: 'abc' })).status).to.equal(400);
      const state = (await (await fetch(`${sim.url}/__sim/product?product_no=P-000010`)).json()) as any;
      expect(state.state).to.deep.equal({ deleted: false, listed: true, discontinued: false });
      await fetch(`${sim.url}/__sim/reset`, { method: 'POST' });
      expect(sim.catalog.get('P-000010')!.name).to.equal(before.name);
    });
  });
});
