/**
 * The windowed product pull: the window the source asks for, every row delivered exactly once whatever the API does
 * meanwhile (failures, throttling, rows moving between pages), item validation, details and targeted pulls.
 */
import { expect } from 'chai';
import { startOkkiSimulator, type OkkiSimulator } from '../src/sandbox/okki/index.js';
import { formatBeijing, parseBeijing } from '../src/sandbox/catalog.js';
import { formatWallClock, parseWallClock } from '../src/okki/index.js';
import { sourceFor, pullAll, expectedNos, memoryLogger, FAST_RETRY } from './helpers/okki.js';

function expectExactlyOnce(delivered: string[], expected: string[]): void {
  const dupes = delivered.filter((n, i) => delivered.indexOf(n) !== i);
  expect(dupes, 'delivered twice').to.deep.equal([]);
  expect([...delivered].sort()).to.deep.equal([...expected].sort());
}

describe('OKKI windowed pull', () => {
  let sim: OkkiSimulator;
  afterEach(async () => { await sim?.close(); });

  it('reads everything on a first run (no start), each product once', async () => {
    sim = await startOkkiSimulator({ seed: 4, products: 530 });
    const source = sourceFor(sim);
    const end = new Date();
    const { pages, nos } = await pullAll(source, { end });
    expectExactlyOnce(nos, expectedNos(sim, source, { end }));
    expect(nos).to.have.length(530);
    expect(pages.map((p) => p.index)).to.deep.equal(pages.map((_, i) => i + 1));
    const first = sim.requests.find((r) => r.endpoint === 'list')!;
    expect(first.query).to.include({ time_type: '1', start_index: '1', count: '100' });
    expect(first.query).to.not.have.property('start_time');
  });

  it('includes rows exactly on both bounds and nothing outside them', async () => {
    sim = await startOkkiSimulator({ seed: 4, products: 50, spanDays: 1 });
    const t = parseBeijing('2031-02-03 04:05:06')!;
    sim.catalog.upsert([
      { product_no: 'W-before', update_time: formatBeijing(t - 1) },
      { product_no: 'W-start', update_time: formatBeijing(t) },
      { product_no: 'W-mid', update_time: formatBeijing(t + 30) },
      { product_no: 'W-end', update_time: formatBeijing(t + 60) },
      { product_no: 'W-after', update_time: formatBeijing(t + 61) },
    ]);
    const source = sourceFor(sim);
    const window = { start: new Date(t * 1000), end: new Date((t + 60) * 1000) };
    const { nos } = await pullAll(source, window);
    expect(nos.sort()).to.deep.equal(['W-end', 'W-mid', 'W-start']);
    const q = sim.requests.find((r) => r.endpoint === 'list')!.query;
    expect(q.start_time).to.equal('2031-02-03 04:05:06');
    expect(q.end_time).to.equal('2031-02-03 04:06:06');
  });

  describe('time zone', () => {
    it('formats instants as wall-clock text in the configured zone, and parses it back', () => {
      const instant = new Date('2024-01-01T00:00:00Z');
      expect(formatWallClock(instant, 'Asia/Shanghai')).to.equal('2024-01-01 08:00:00');
      expect(formatWallClock(instant, 'UTC')).to.equal('2024-01-01 00:00:00');
      expect(formatWallClock(new Date('2024-07-01T12:00:00Z'), 'America/New_York')).to.equal('2024-07-01 08:00:00');
      expect(parseWallClock('2024-01-01 08:00:00', 'Asia/Shanghai')!.toISOString()).to.equal('2024-01-01T00:00:00.000Z');
      expect(parseWallClock('2024-07-01 08:00:00', 'America/New_York')!.toISOString()).to.equal('2024-07-01T12:00:00.000Z');
      expect(parseWallClock('2024-13-01 00:00:00', 'UTC')).to.equal(undefined);
    });

    it('sends the window in SYNC_TIMEZONE wall-clock time', async () => {
      sim = await startOkkiSimulator({ seed: 1, products: 5 });
      const window = { start: new Date('2024-03-01T00:00:00Z'), end: new Date('2024-03-01T10:30:15.900Z') };
      await pullAll(sourceFor(sim), window);
      await pullAll(sourceFor(sim, { timezone: 'UTC' }), window);
      const [shanghai, utc] = sim.requests.filter((r) => r.endpoint === 'list').map((r) => r.query);
      expect(shanghai).to.include({ start_time: '2024-03-01 08:00:00', end_time: '2024-03-01 18:30:15' });
      expect(utc).to.include({ start_time: '2024-03-01 00:00:00', end_time: '2024-03-01 10:30:15' });
      expect(sourceFor(sim).formatTime(window.end)).to.equal('2024-03-01 18:30:15');
    });
  });

  describe('failures injected at 20%', () => {
    const variants = [
      { name: 'HTTP 5xx', knobs: { errorRates: { http5xx: 0.2 } } },
      { name: '429 with Retry-After', knobs: { errorRates: { http429: 0.2 }, throttleVariant: 'retry-after' as const, retryAfterSeconds: 0 } },
      { name: '429 without Retry-After', knobs: { errorRates: { http429: 0.2 }, throttleVariant: 'no-retry-after' as const } },
      { name: 'throttle code in an HTTP 200', knobs: { errorRates: { http429: 0.2 }, throttleVariant: 'code' as const } },
      { name: 'timeouts', knobs: { errorRates: { timeout: 0.2 }, hangMs: 3000 } },
      { name: 'all of them at once', knobs: { errorRates: { http5xx: 0.2, http429: 0.2, timeout: 0.2 }, hangMs: 3000, retryAfterSeconds: 0 } },
    ];
    for (const v of variants) {
      it(`completes an exact pull despite ${v.name}`, async () => {
        sim = await startOkkiSimulator({ seed: 9, products: 400, knobs: { ...v.knobs, errorEndpoints: ['token', 'list', 'groups', 'info'], seed: 17 } });
        const source = sourceFor(sim, { pageSize: 20, timeoutMs: 150 }, { retry: { ...FAST_RETRY, limit: 19, throttleLimit: 19 } });
        const end = new Date();
        const { nos } = await pullAll(source, { end });
        expectExactlyOnce(nos, expectedNos(sim, source, { end }));
        const injected = sim.requests.filter((r) => r.outcome.startsWith('injected'));
        expect(injected.length, 'failures were injected').to.be.greaterThan(0);
      });
    }
  });

  describe('rows shifting while paging', () => {
    /** A pager that trusts offsets: what the shift-safe pull has to beat. */
    async function naivePull(sim: OkkiSimulator, end: Date): Promise<Set<string>> {
      const source = sourceFor(sim);
      const seen = new Set<string>();
      for (let page = 1; page < 1000; page++) {
        const data = await source.client.get<{ count: number; list: any[] }>('/v1/product/list', { time_type: 1, end_time: source.formatTime(end), start_index: page, count: 25 });
        data.list.forEach((p) => seen.add(p.product_no));
        if (data.list.length < 25) break;
      }
      return seen;
    }

    it('makes a naive offset pager lose rows (the hazard is real)', async () => {
      sim = await startOkkiSimulator({ seed: 1, products: 300, knobs: { shift: { rows: 2 } } });
      const end = new Date();
      const expected = expectedNos(sim, sourceFor(sim), { end });
      const seen = await naivePull(sim, end);
      expect(seen.size).to.be.lessThan(expected.length);
    });

    for (let seed = 1; seed <= 30; seed++) {
      const mode = seed % 3 === 0 ? 'now' : 'afterWindow';
      const rows = 1 + (seed % 4);
      const ties = seed % 5 === 0;
      it(`delivers every row exactly once (seed ${seed}, ${rows} rows/page moved ${mode}${ties ? ', 120 rows in one second' : ''})`, async () => {
        sim = await startOkkiSimulator({ seed, products: 250 + seed * 7, knobs: { seed } });
        if (ties) {
          const t = formatBeijing(Math.floor(Date.now() / 1000) - 3600);
          sim.catalog.upsert(Array.from({ length: 120 }, (_, i) => ({ product_no: `TIE-${i}`, name: '同秒', update_time: t, group_id: 1001 })));
        }
        const source = sourceFor(sim, { pageSize: 25 });
        const end = new Date(Date.now() - 1000);
        const window = { start: seed % 2 ? undefined : new Date(end.getTime() - 20 * 86400_000), end };
        const expected = expectedNos(sim, source, window);
        sim.setKnobs({ shift: { rows, mode } });
        const { nos } = await pullAll(source, window);
        expectExactlyOnce(nos, expected);
        expect(sim.requests.some((r) => r.shifted?.length), 'rows were shifted').to.equal(true);
      });
    }

    it('gives up with OKKI_WINDOW_UNSTABLE when a one-second window keeps changing past the re-read budget', async () => {
      sim = await startOkkiSimulator({ seed: 1, products: 0 });
      const t = Math.floor(Date.now() / 1000) - 100;
      sim.catalog.upsert(Array.from({ length: 80 }, (_, i) => ({ product_no: `S-${i}`, update_time: formatBeijing(t) })));
      sim.setKnobs({ shift: { rows: 1, mode: 'afterWindow' } });
      const source = sourceFor(sim, { pageSize: 10, maxWindowPasses: 3 });
      const nos: string[] = [];
      let err: any;
      try {
        for await (const p of source.pages({ start: new Date(t * 1000), end: new Date(t * 1000) })) nos.push(...p.items.map((i) => i.product_no!));
      } catch (e) { err = e; }
      expect(err?.code).to.equal('OKKI_WINDOW_UNSTABLE');
      expect(new Set(nos).size).to.equal(nos.length);
    });

    it('settles a one-second window with more rows than a page once it stops changing', async () => {
      sim = await startOkkiSimulator({ seed: 1, products: 0 });
      const t = Math.floor(Date.now() / 1000) - 100;
      sim.catalog.upsert(Array.from({ length: 80 }, (_, i) => ({ product_no: `S-${i}`, update_time: formatBeijing(t) })));
      sim.setKnobs({ shift: { rows: 1, mode: 'afterWindow' } });
      const source = sourceFor(sim, { pageSize: 10, maxWindowPasses: 50 });
      const { nos } = await pullAll(source, { start: new Date(t * 1000), end: new Date(t * 1000) });
      expectExactlyOnce(nos, Array.from({ length: 80 }, (_, i) => `S-${i}`));
    });
  });

  it('pages at the server\'s size when it clamps count, warning once', async () => {
    sim = await startOkkiSimulator({ seed: 5, products: 450 });
    const { logger, lines } = memoryLogger();
    const source = sourceFor(sim, { pageSize: 150 }, { logger });
    const end = new Date();
    const { nos } = await pullAll(source, { end });
    expectExactlyOnce(nos, expectedNos(sim, source, { end }));
    expect(lines().filter((l) => /fewer rows per page/.test(String(l.msg)))).to.have.length(1);
  });

  describe('items', () => {
    it('tolerates numbers as strings and unknown fields, and rejects rows without product_no with a reason', async () => {
      sim = await startOkkiSimulator({ seed: 1, products: 10 });
      sim.catalog.upsert([
        { product_id: '900001', product_no: 'S-1', group_id: '1008', name: '字符串数字', brand_new_field: { x: 1 } },
        { product_id: 900002, product_no: '', name: '空编号' },
        { product_id: 900003, name: '无编号' },
      ]);
      const { pages, nos } = await pullAll(sourceFor(sim), { end: new Date(Date.now() + 5000) });
      expect(nos).to.have.length(11);
      const s1 = pages.flatMap((p) => p.items).find((i) => i.product_no === 'S-1')!;
      expect(s1.product_id).to.equal(900001);
      expect(s1.group_id).to.equal(1008);
      expect(s1.brand_new_field).to.deep.equal({ x: 1 });
      const rejected = pages.flatMap((p) => p.rejected);
      expect(rejected.map((r) => [r.product_id, r.code, r.reason]).sort()).to.deep.equal([
        [900002, 'OKKI_ITEM_INVALID', 'product_no is empty'],
        [900003, 'OKKI_ITEM_INVALID', 'product_no is missing'],
      ]);
    });
  });

  describe('details', () => {
    it('fetches /v1/product/info only for fields list items lack, and caches it', async () => {
      sim = await startOkkiSimulator({ seed: 3, products: 40 });
      const source = sourceFor(sim);
      const end = new Date();
      const info = () => sim.requests.filter((r) => r.endpoint === 'info').length;

      const present = await pullAll(source, { end }, { detailFields: ['name', 'fob'] });
      expect(present.nos).to.have.length(40);
      expect(info()).to.equal(0);

      const needed = await pullAll(source, { end }, { detailFields: ['product_type', 'name'] });
      expect(info()).to.equal(40);
      const items = needed.pages.flatMap((p) => p.items);
      expect(items.every((i) => [1, 2, 3].includes(i.product_type as number))).to.equal(true);
      expect(items.every((i) => !('sku_items' in i))).to.equal(true);

      await pullAll(source, { end }, { detailFields: ['product_type', 'name'] });
      expect(info(), 'second pull served from the cache').to.equal(40);
    });

    it('rejects a listed product that /info no longer knows, and goes on', async () => {
      sim = await startOkkiSimulator({ seed: 3, products: 5 });
      const source = sourceFor(sim);
      const end = new Date();
      const gone = 'P-000003';
      sim.setKnobs({ endpointLatencyMs: { info: [300, 300] } });
      // sku_items too: no list pass gives it, so every product needs its detail call (product_type alone: type-passes)
      const pulling = pullAll(source, { end }, { detailFields: ['product_type', 'sku_items'] });
      // the list has answered (it still had the product); the detail calls are in flight: the product goes now
      while (!sim.requests.some((r) => r.endpoint === 'list')) await new Promise((r) => setImmediate(r));
      sim.catalog.remove([gone]);
      const { pages } = await pulling;
      expect(pages).to.have.length(1);
      const page = pages[0];
      expect(page.items).to.have.length(4);
      expect(page.rejected).to.have.length(1);
      expect(page.rejected[0]).to.include({ product_no: gone, code: 'OKKI_NOT_FOUND' });
    });
  });

  describe('targeted pull by product number', () => {
    it('returns found products and not-found numbers as rejected records', async () => {
      sim = await startOkkiSimulator({ seed: 3, products: 20 });
      const pages = [];
      for await (const p of sourceFor(sim).byProductNos(['P-000001', 'NOPE', 'P-000002', 'P-000001'])) pages.push(p);
      const items = pages.flatMap((p) => p.items);
      expect(items.map((i) => i.product_no)).to.deep.equal(['P-000001', 'P-000002']);
      expect(items[0]).to.have.property('product_type');
      expect(pages.flatMap((p) => p.rejected)).to.deep.equal([{ product_no: 'NOPE', code: 'OKKI_NOT_FOUND', reason: 'OKKI has no product product_no NOPE' }]);
    });
  });
});
