/**
 * A run's AbortSignal lives as long as the run: requests must not leave listeners on it, or every answer stays in
 * memory until the run ends (found by the benchmark: 500 MB for a 100k pull instead of 150 MB).
 */
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { pullAll, sourceFor, withSim } from './helpers/okki.js';

describe('OKKI source and the run signal', () => {
  it('leaves no listener on the run signal after hundreds of requests, with retries and detail calls', async () => {
    await withSim({ seed: 3, products: 600, knobs: { errorRates: { http5xx: 0.1 } } }, async (sim) => {
      const source = sourceFor(sim);
      const run = new AbortController();
      const { nos } = await pullAll(source, { end: new Date() }, { signal: run.signal, detailFields: ['product_type'] });
      expect(nos).to.have.length(600);
      expect(sim.requests.filter((r) => r.outcome === 'injected-5xx').length, 'retries happened').to.be.greaterThan(0);
      expect(getEventListeners(run.signal, 'abort')).to.have.length(0);
    });
  });

  it('a run stopped mid-pull ends its requests with the run\'s reason', async () => {
    await withSim({ seed: 3, products: 600, knobs: { latencyMs: [30, 30] } }, async (sim) => {
      const run = new AbortController();
      const pulling = pullAll(sourceFor(sim), { end: new Date() }, { signal: run.signal, detailFields: ['product_type'] });
      setTimeout(() => run.abort(new Error('stopped by the test')), 100);
      let err: unknown;
      try { await pulling; } catch (e) { err = e; }
      expect((err as Error)?.message).to.equal('stopped by the test');
      expect(getEventListeners(run.signal, 'abort')).to.have.length(0);
    });
  });
});
