import { expect } from 'chai';
import { readAhead, runPipeline, type PipelineProgress } from '../src/sync/pipeline.js';
import { createMetrics } from '../src/metrics.js';
import type { Mapping, ProductPage, ProductWriter, WriteOutcome, WriteSession } from '../src/core/index.js';

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

describe('runPipeline (read → map → write, one run)', () => {
  const mapping: Mapping = {
    keyField: 'textField_no',
    referencedProductFields: () => new Set(['product_no']),
    map: (p) => (p.name === 'BAD'
      ? { ok: false, rejected: { product_no: p.product_no ?? null, code: 'MAPPING_REJECTED', reason: 'bad name' } }
      : { ok: true, productNo: p.product_no!, formData: { textField_no: p.product_no }, hash: String(p.product_no) }),
  };
  const ctx = { groups: { name: () => undefined, level1: () => undefined, level2: () => undefined, path: () => [], size: 0 }, now: new Date(), timezone: 'Asia/Shanghai' };
  async function* pages(n: number, total?: number): AsyncIterable<ProductPage> {
    const items = Array.from({ length: n }, (_, i) => ({ product_id: i + 1, product_no: `P-${i + 1}`, name: i === 2 ? 'BAD' : 'ok' }));
    for (let i = 0; i < n; i += 4) yield { index: i / 4 + 1, items: items.slice(i, i + 4), rejected: [], total };
  }
  class Writer implements ProductWriter {
    flushes = 0;
    sessions: WriteSession[] = [];
    held: Array<() => void> = [];
    constructor(private readonly holdUntilFlush = false) {}
    async openSession(o: { adopt: boolean }) { return { adopt: o.adopt }; }
    async write(item: { productNo: string }, session?: WriteSession): Promise<WriteOutcome> {
      this.sessions.push(session!);
      // A batching sink: the write settles only once the batch is sent (flushed).
      if (this.holdUntilFlush) await new Promise<void>((r) => this.held.push(r));
      if (item.productNo === 'P-5') return { kind: 'failed', productNo: item.productNo, code: 'YIDA_REJECTED', reason: 'refused' };
      return { kind: 'created', productNo: item.productNo, instanceId: `i-${item.productNo}` };
    }
    async flush() { this.flushes++; for (const r of this.held.splice(0)) r(); }
  }

  it('returns the counts and failures, hands every write the run\'s session, and reports progress as products settle', async () => {
    const writer = new Writer();
    const session: WriteSession = { adopt: true };
    const progress: PipelineProgress[] = [];
    const result = await runPipeline(pages(8, 8), ctx, { mapping, writer, session, metrics: createMetrics(), maxInFlight: 4, onProgress: (p) => progress.push(p) }, new AbortController().signal);
    expect(result.counts).to.deep.equal({ fetched: 8, created: 6, updated: 0, unchanged: 0, rejected: 1, failed: 1 });
    expect(result.failures.map((f) => f.code).sort()).to.deep.equal(['MAPPING_REJECTED', 'YIDA_REJECTED']);
    expect(result.failuresTotal).to.equal(2);
    expect(writer.sessions.every((s) => s === session), 'one session object for the whole run').to.equal(true);
    expect(progress).to.have.length(8);
    expect(progress.at(-1)).to.deep.include({ counts: result.counts, total: 8 });
    expect(progress.filter((p) => p.failure).map((p) => p.failure!.code).sort()).to.deep.equal(['MAPPING_REJECTED', 'YIDA_REJECTED']);
    // progress carries copies: what a listener keeps does not change under it
    expect(progress[0].counts).to.not.equal(progress[1].counts);
  });

  it('tells a batching writer to send what it holds whenever it is about to wait for its writes', async () => {
    const writer = new Writer(true);
    const result = await runPipeline(pages(10), ctx, { mapping, writer, session: { adopt: false }, metrics: createMetrics(), maxInFlight: 4 }, new AbortController().signal);
    expect(result.counts.created + result.counts.failed).to.equal(9);
    expect(writer.flushes).to.be.greaterThan(1);
  });
});
