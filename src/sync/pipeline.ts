/**
 * The body of one run: pages → map → ledger-guarded write, streaming. Pages are pulled while earlier writes are still
 * in flight (bounded), so memory stays flat and the writer's pacing, not the reader, sets the speed.
 */
import { redact } from '../redact.js';
import type { Metrics } from '../metrics.js';
import { emptyCounts, keyText } from '../core/index.js';
import type {
  Mapping, MappingContext, ProductPage, ProductWriter, RejectedRecord, RunCounts, RunFailure, WriteOutcome, WriteSession,
} from '../core/index.js';

export const MAX_RECORDED_FAILURES = 500;

/** A product parked (refused for good, skipped until its content changes or a product_nos run names it). */
export interface ParkedProduct { product_no: string; code: string; reason: string; since: string }

export const MAX_RECORDED_PARKED = 100;

export interface PipelineResult {
  counts: RunCounts; failures: RunFailure[]; failuresTotal: number; aborted: boolean;
  /** products this run parked or found parked (first MAX_RECORDED_PARKED), and how many in all */
  parked: ParkedProduct[]; parkedTotal: number;
}

/** Told after every product that settled: counts so far (a copy), the failure just recorded, the read's size. */
export interface PipelineProgress { counts: RunCounts; failure?: RunFailure; total?: number }

export interface PipelineDeps {
  mapping: Mapping;
  writer: ProductWriter;
  /** the run's write session (adoption of existing instances, the run's signal) */
  session: WriteSession;
  metrics: Metrics;
  /** upper bound on writes in flight; the writer paces below it */
  maxInFlight: number;
  /** told of every failed or rejected product (the engine stops the run on failures no later product can escape) */
  onFailure?: (code: string, reason: string) => void;
  /** told as the run progresses (the lifecycle keeps the live run record up to date from it) */
  onProgress?: (progress: PipelineProgress) => void;
}

/** pages read ahead of the writes: the next page loads while this one is written */
export const READ_AHEAD_PAGES = 2;

/**
 * Pull up to `depth` items ahead of the consumer, so that the source's latency (a list page, detail calls) overlaps
 * the writes instead of leaving the writer idle between pages. Memory: `depth` pages.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, depth: number): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  const ahead: Promise<IteratorResult<T>>[] = [];
  const pull = () => {
    const p = it.next();
    // Observed when its turn comes; until then a failure must not count as an unhandled rejection.
    p.catch(() => undefined);
    ahead.push(p);
  };
  let finished = false;
  try {
    for (;;) {
      while (ahead.length < depth) pull();
      const r = await ahead.shift()!;
      if (r.done) { finished = true; return; }
      yield r.value;
    }
  } finally {
    if (!finished) await it.return?.().catch(() => undefined);
  }
}

export { emptyCounts } from '../core/index.js';

/** Read, map and write every product of `pages`; returns what happened (it changes nothing it is given). */
export async function runPipeline(
  pages: AsyncIterable<ProductPage>, ctx: MappingContext, deps: PipelineDeps, signal: AbortSignal,
): Promise<PipelineResult> {
  const counts = emptyCounts();
  const failures: RunFailure[] = [];
  const parked: ParkedProduct[] = [];
  let parkedTotal = 0;
  let failuresTotal = 0;
  let total: number | undefined;
  const inFlight = new Set<Promise<void>>();
  const { writer, session } = deps;
  const progress = (failure?: RunFailure) => deps.onProgress?.({ counts: { ...counts }, failure, total });

  // product number → the product_id first seen with it in this run: a second product claiming the same number is
  // rejected rather than overwriting the first on every run; and one product number is never written twice at once.
  const owners = new Map<string, unknown>();
  const fail = (f: RunFailure) => {
    deps.onFailure?.(f.code, f.reason);
    failuresTotal++;
    if (failures.length >= MAX_RECORDED_FAILURES) return progress();
    const recorded = { ...f, reason: redact(f.reason) };
    failures.push(recorded);
    progress(recorded);
  };
  const reject = (r: RejectedRecord) => {
    counts.rejected++;
    deps.metrics.products.inc({ outcome: 'rejected' });
    fail({ product_no: r.product_no, code: r.code, reason: r.reason });
  };
  const settle = (o: WriteOutcome) => {
    counts[o.kind]++;
    deps.metrics.products.inc({ outcome: o.kind });
    if (o.kind === 'rejected' && o.parked) {
      parkedTotal++;
      if (parked.length < MAX_RECORDED_PARKED) parked.push({ product_no: o.productNo, code: o.code, reason: redact(o.parked.reason), since: o.parked.since });
    }
    if (o.kind === 'failed' || o.kind === 'rejected') fail({ product_no: o.productNo, code: o.code, reason: o.reason });
    else progress();
  };
  // A batching sink holds writes back until told; it is told whenever this loop is about to wait for them.
  const flush = () => writer.flush?.(session).catch(() => undefined);

  try {
    for await (const page of readAhead(pages, READ_AHEAD_PAGES)) {
      if (page.total !== undefined) total = page.total;
      for (const r of page.rejected) { counts.fetched++; reject(r); }
      for (const product of page.items) {
        if (signal.aborted) break;
        counts.fetched++;
        const mapped = deps.mapping.map(product, ctx);
        if (!mapped.ok) { reject(mapped.rejected); continue; }
        const key = mapped.productNo;
        if (owners.has(key)) {
          const first = owners.get(key);
          // The same product delivered twice (it cannot be, but costs nothing to tolerate) is simply skipped.
          if (first === product.product_id) { counts.fetched--; continue; }
          reject({ product_no: key, product_id: product.product_id ?? null, code: 'DUPLICATE_PRODUCT_NO', reason: `product number ${key} is used by OKKI products ${String(first)} and ${String(product.product_id)}; only the first is synced` });
          continue;
        }
        owners.set(key, product.product_id);
        // The ledger and the sink's searches are keyed by what the sink holds in the key field (a transformed key too).
        const held = keyText(mapped.formData[deps.mapping.keyField]);
        if (held === undefined) {
          reject({ product_no: key, product_id: product.product_id ?? null, code: 'MAPPING_REJECTED', reason: `the key field ${deps.mapping.keyField} maps to an empty value` });
          continue;
        }
        const task: Promise<void> = writer.write({ productNo: key, key: held, productId: product.product_id ?? null, formData: mapped.formData, hash: mapped.hash }, session)
          .then(settle, (err: unknown) => settle({ kind: 'failed', productNo: key, code: 'WRITE_FAILED', reason: String((err as Error)?.message ?? err) }))
          .finally(() => { inFlight.delete(task); });
        inFlight.add(task);
        if (inFlight.size >= deps.maxInFlight) await flush();
        while (inFlight.size >= deps.maxInFlight) await Promise.race(inFlight);
      }
      if (signal.aborted) break;
    }
  } finally {
    // In-flight writes always settle, even when aborting or when the source failed: a write cut off mid-way is
    // what makes duplicates.
    if (inFlight.size) await flush();
    await Promise.all(inFlight);
  }
  return { counts, failures, failuresTotal, aborted: signal.aborted, parked, parkedTotal };
}
