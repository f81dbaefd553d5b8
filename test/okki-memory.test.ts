/**
 * A large pull streams: heap use stays bounded by a page plus the ids seen, not by the catalogue.
 * Measures memory, never time.
 */
import { expect } from 'chai';
import { startOkkiSimulator, type OkkiSimulator } from '../src/sandbox/okki/index.js';
import { sourceFor } from './helpers/okki.js';

describe('OKKI pull memory', () => {
  let sim: OkkiSimulator;
  after(async () => { await sim?.close(); });

  it('pulls 50k products with heap growth well under 150 MB', async function () {
    this.timeout(120_000);
    sim = await startOkkiSimulator({ seed: 50, products: 50_000 });
    const source = sourceFor(sim, { qps: 1000, pageSize: 100, timeoutMs: 10_000 });
    (globalThis as { gc?: () => void }).gc?.();
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    let count = 0;
    const seen = new Set<string>();
    for await (const page of source.pages({ end: new Date() }, { detailFields: ['name'] })) {
      count += page.items.length;
      for (const item of page.items) seen.add(item.product_no!);
      if (page.index % 20 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    expect(count).to.equal(50_000);
    expect(seen.size).to.equal(50_000);
    const growthMb = (peak - baseline) / 1024 / 1024;
    expect(growthMb, `heap grew ${growthMb.toFixed(1)} MB`).to.be.lessThan(150);
  });
});
