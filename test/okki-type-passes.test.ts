/**
 * product_type without one /v1/product/info call per product: the window is read once per product_type (1, 2, 3)
 * with the list filter, each pass shift-safe, and the type is taken from the pass. Against the OKKI simulator over
 * real sockets: exactly once, the right type, the calls it costs, and the safeguards (a server that ignores the
 * filter, a tiny window, rows moving while paging).
 */
import { expect } from 'chai';
import { startOkkiSimulator, type OkkiSimulator } from '../src/sandbox/okki/index.js';
import type { OkkiProduct } from '../src/core/index.js';
import { sourceFor, pullAll, expectedNos, memoryLogger } from './helpers/okki.js';
import { UsageMeter } from '../src/metering/usage.js';
import type { UsageStore } from '../src/store/types.js';

const TYPE_ONLY = { detailFields: ['product_type'] as const };

/** the type /v1/product/info reports for a product, by the simulator's own catalogue */
function trueType(sim: OkkiSimulator, no: string): number {
  const t = Number(sim.catalog.get(no)?.product_type);
  return t === 1 || t === 2 || t === 3 ? t : 1;
}

function expectTypes(sim: OkkiSimulator, items: OkkiProduct[]): void {
  const wrong = items.filter((i) => i.product_type !== trueType(sim, i.product_no!)).map((i) => i.product_no);
  expect(wrong, 'products with a wrong product_type').to.deep.equal([]);
}

const memoryUsage = (): UsageStore => {
  const m = new Map<string, number>();
  return {
    async add(month, d) { for (const [k, v] of Object.entries(d)) m.set(`${month}|${k}`, (m.get(`${month}|${k}`) ?? 0) + v); },
    async get(month) { return Object.fromEntries([...m].filter(([k]) => k.startsWith(`${month}|`)).map(([k, v]) => [k.split('|')[1], v])); },
  };
};

describe('OKKI product_type from list passes', () => {
  let sim: OkkiSimulator;
  afterEach(async () => { await sim?.close(); });

  const calls = (endpoint: string) => sim.requests.filter((r) => r.endpoint === endpoint);

  it('reads 1,000 products with no detail call: three typed passes, every product once with its type', async () => {
    sim = await startOkkiSimulator({ seed: 11, products: 1000 });
    const meter = new UsageMeter({ store: memoryUsage(), timezone: 'Asia/Shanghai', budgets: { dingtalkCalls: 0, robotMessages: 0 } });
    const source = sourceFor(sim, {}, { meter });
    const end = new Date();
    const { pages, nos } = await pullAll(source, { end }, TYPE_ONLY);
    expect(nos).to.have.length(1000);
    expect(new Set(nos).size).to.equal(1000);
    expect([...nos].sort()).to.deep.equal(expectedNos(sim, source, { end }).sort());
    const items = pages.flatMap((p) => p.items);
    expectTypes(sim, items);
    expect(new Set(items.map((i) => i.product_type))).to.deep.equal(new Set([1, 2, 3]));

    expect(calls('info'), 'no /v1/product/info call').to.have.length(0);
    const lists = calls('list');
    const perType = [1, 2, 3].map((t) => items.filter((i) => i.product_type === t).length);
    // the unfiltered total, then each type's pages
    expect(lists).to.have.length(1 + perType.reduce((n, k) => n + Math.ceil(k / 100), 0));
    expect(lists.filter((r) => r.query.product_type === undefined)).to.have.length(1);
    // the source meters every OKKI request it makes (the token is the client's own business)
    expect(meter.totals().okki).to.equal(sim.requests.filter((r) => r.endpoint === 'list' || r.endpoint === 'info' || r.endpoint === 'groups').length);
    expect(meter.totals().okki).to.be.at.most(40);
  });

  for (const seed of [1, 2, 3, 4]) {
    it(`every pass is shift-safe: rows moving while paging are still delivered once, with their type (seed ${seed})`, async () => {
      sim = await startOkkiSimulator({ seed, products: 400 + seed * 13, knobs: { seed } });
      const source = sourceFor(sim, { pageSize: 25 });
      const end = new Date(Date.now() - 1000);
      const window = { start: seed % 2 ? undefined : new Date(end.getTime() - 20 * 86400_000), end };
      sim.setKnobs({ shift: { rows: 1 + (seed % 3), mode: seed % 2 ? 'afterWindow' : 'now' } });
      const { pages, nos } = await pullAll(source, window, TYPE_ONLY);
      expect(sim.requests.some((r) => r.shifted?.length && r.query.product_type), 'rows shifted inside typed passes').to.equal(true);
      expect(new Set(nos).size, 'no product twice').to.equal(nos.length);
      // rows moved out of the window while it was read are the next run's business; every row still in it came
      const missing = expectedNos(sim, source, window).filter((n) => !nos.includes(n));
      expect(missing).to.deep.equal([]);
      expectTypes(sim, pages.flatMap((p) => p.items));
      expect(calls('info')).to.have.length(0);
    });
  }

  it('a quiet window of a few products costs no typed probes: detail calls are cheaper there', async () => {
    sim = await startOkkiSimulator({ seed: 5, products: 200 });
    const source = sourceFor(sim);
    const end = new Date();
    const newest = [...sim.catalog.all()].map((p) => Date.parse(`${p.update_time.replace(' ', 'T')}+08:00`)).sort((a, b) => b - a);
    const start = new Date(newest[1]); // the two newest products
    const { pages, nos } = await pullAll(source, { start, end }, TYPE_ONLY);
    expect(nos.length).to.be.within(2, 3);
    expectTypes(sim, pages.flatMap((p) => p.items));
    expect(calls('list')).to.have.length(1);
    expect(calls('info')).to.have.length(nos.length);
  });

  it('an empty window costs one list call', async () => {
    sim = await startOkkiSimulator({ seed: 5, products: 50 });
    const source = sourceFor(sim);
    const end = new Date();
    const { nos } = await pullAll(source, { start: new Date(end.getTime() - 1000), end }, TYPE_ONLY);
    expect(nos).to.have.length(0);
    expect(calls('list')).to.have.length(1);
  });

  it('notices a server that ignores the filter, and reads product_type from /v1/product/info instead (then and later)', async () => {
    sim = await startOkkiSimulator({ seed: 6, products: 150, knobs: { productTypeFilter: 'ignore' } });
    const log = memoryLogger();
    const source = sourceFor(sim, {}, { logger: log.logger });
    const end = new Date();
    const first = await pullAll(source, { end }, TYPE_ONLY);
    expect(first.nos).to.have.length(150);
    expect(new Set(first.nos).size).to.equal(150);
    expectTypes(sim, first.pages.flatMap((p) => p.items));
    expect(calls('info')).to.have.length(150);
    expect(log.text()).to.include('ignore the product_type filter');

    // the next pull does not probe the filter again
    const typedBefore = calls('list').filter((r) => r.query.product_type).length;
    const second = await pullAll(source, { end }, { detailFields: ['product_type'] });
    expect(second.nos).to.have.length(150);
    expect(calls('list').filter((r) => r.query.product_type).length).to.equal(typedBefore);
  });

  it('still uses detail calls when the mapping needs a field no list pass gives', async () => {
    sim = await startOkkiSimulator({ seed: 7, products: 30 });
    const source = sourceFor(sim);
    const { pages } = await pullAll(source, { end: new Date() }, { detailFields: ['product_type', 'sku_items'] });
    const items = pages.flatMap((p) => p.items);
    expect(items).to.have.length(30);
    expect(items.every((i) => Array.isArray(i.sku_items))).to.equal(true);
    expectTypes(sim, items);
    expect(calls('info')).to.have.length(30);
    expect(calls('list').filter((r) => r.query.product_type)).to.have.length(0);
  });
});
