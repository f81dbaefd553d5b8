import { expect } from 'chai';
import { readAhead } from '../src/sync/pipeline.js';

describe('readAhead (pages load while earlier ones are written)', () => {
  it('asks the source for the next page before the consumer is done with the current one', async () => {
    const requested: number[] = [];
    async function* source() { for (let i = 1; i <= 4; i++) { requested.push(i); yield i; } }
    const seen: Array<[number, number[]]> = [];
    for await (const page of readAhead(source(), 2)) {
      await new Promise((r) => setTimeout(r, 5));
      seen.push([page, [...requested]]);
    }
    expect(seen.map(([p]) => p)).to.deep.equal([1, 2, 3, 4]);
    expect(seen[0][1], 'page 2 was requested while page 1 was being handled').to.include(2);
  });

  it('delivers a source failure in its place, after the pages before it, without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      async function* source() { yield 1; throw new Error('OKKI went away'); }
      const got: number[] = [];
      let error: unknown;
      try {
        for await (const page of readAhead(source(), 3)) { await new Promise((r) => setTimeout(r, 20)); got.push(page); }
      } catch (err) { error = err; }
      await new Promise((r) => setTimeout(r, 20));
      expect(got).to.deep.equal([1]);
      expect((error as Error).message).to.equal('OKKI went away');
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('closes the source when the consumer stops early', async () => {
    let closed = false;
    async function* source() { try { for (let i = 1; ; i++) yield i; } finally { closed = true; } }
    for await (const page of readAhead(source(), 2)) if (page === 3) break;
    expect(closed).to.equal(true);
  });
});
