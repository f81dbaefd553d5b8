/**
 * Reading `product_type` without one `/v1/product/info` call per product. List items lack it, but
 * `/v1/product/list` takes a `product_type` filter (1 无规格, 2 多规格, 3 组合): a window read once per type tells
 * every product's type from the pass it came in. Each pass is an ordinary shift-safe pull (pull.ts).
 *
 * Safeguards, because the filter's behaviour is not documented beyond its name:
 *  - the window's unfiltered total is read first (that read is also the first page of an unfiltered pull, so it is
 *    never wasted); each type's first page is read before anything is delivered. Rows only leave a window while it is
 *    read, so the three filtered totals can never add up to more than the unfiltered one: if they do, the server
 *    ignores the filter, and the window (and every later one) is read the old way, with detail calls;
 *  - products of no known type would be in no pass: when fewer rows were delivered than the window holds (re-counted
 *    after the passes, since rows may have left meanwhile), the window is read once more unfiltered and the rows not
 *    yet delivered get detail calls. (Not provable: a typeless row hidden by a delivered row that left the window at
 *    the same time. OKKI documents only the three types.)
 *  - a tiny window (a quiet incremental run) is cheaper with detail calls than with three extra list calls.
 */
import type { Logger } from '../log.js';
import { rowKey } from './items.js';
import { pullWindow, type ListPage } from './pull.js';

export const PRODUCT_TYPES = [1, 2, 3] as const;
/** at most this many rows: detail calls (≤ 3) cost no more than the three typed first pages */
const SMALL_WINDOW = 3;

export interface TypedPullPlan {
  startS?: number;
  /** undefined = no upper bound (the whole catalogue) */
  endS?: number;
  pageSize: number;
  maxPasses: number;
  logger: Logger;
  /** one list call; `productType` undefined = unfiltered */
  list(productType: number | undefined, startS: number | undefined, endS: number | undefined, startIndex: number, count: number): Promise<ListPage>;
  updateSeconds(raw: unknown): number | undefined;
  onClamp?(served: number): void;
  /** told the window's unfiltered size once, for run progress */
  onTotal?(total: number): void;
  /** shared across pulls of one source: once the filter is seen ignored, later windows skip the probe */
  state: { filter: 'unknown' | 'works' | 'ignored' };
}

/** Rows of one page, with the type their pass proves; `productType` undefined = the rows need detail calls. */
export interface TypedRows { rows: unknown[]; productType?: number }

const totalOf = (p: ListPage) => {
  const n = Number(p?.count);
  return Number.isFinite(n) ? n : Array.isArray(p?.list) ? p.list.length : 0;
};

export async function* pullByType(plan: TypedPullPlan): AsyncGenerator<TypedRows> {
  const { startS, endS, pageSize } = plan;
  if (startS !== undefined && endS !== undefined && startS > endS) return;
  // first pages read ahead of their pull, handed to it once (a re-read of the same page goes to the server again)
  const memo = new Map<string, ListPage>();
  const key = (t: number | undefined, lo: number | undefined, hi: number | undefined, i: number, c: number) => `${t ?? ''}|${lo ?? ''}|${hi ?? ''}|${i}|${c}`;
  const firstPage = async (t: number | undefined) => {
    const page = await plan.list(t, startS, endS, 1, pageSize);
    memo.set(key(t, startS, endS, 1, pageSize), page);
    return totalOf(page);
  };
  const delivered = new Set<string | number>();
  async function* pass(t: number | undefined): AsyncGenerator<TypedRows> {
    const rows = pullWindow({
      startS, endS, pageSize, maxPasses: plan.maxPasses, logger: plan.logger, updateSeconds: plan.updateSeconds, onClamp: plan.onClamp,
      list: (lo, hi, i, c) => {
        const k = key(t, lo, hi, i, c);
        const m = memo.get(k);
        if (m) { memo.delete(k); return Promise.resolve(m); }
        return plan.list(t, lo, hi, i, c);
      },
    });
    for await (const page of rows) {
      const fresh = page.filter((r) => { const k = rowKey(r); if (delivered.has(k)) return false; delivered.add(k); return true; });
      if (fresh.length) yield { rows: fresh, productType: t };
    }
  }

  const total = await firstPage(undefined);
  plan.onTotal?.(total);
  if (total === 0) return;
  if (total <= SMALL_WINDOW || plan.state.filter === 'ignored') { yield* pass(undefined); return; }

  const typed: number[] = [];
  for (const t of PRODUCT_TYPES) typed.push(await firstPage(t));
  const sum = typed.reduce((a, b) => a + b, 0);
  if (sum > total) {
    plan.state.filter = 'ignored';
    plan.logger.warn({ total, byType: typed }, 'OKKI /v1/product/list seems to ignore the product_type filter; reading product_type from /v1/product/info instead');
    for (const t of PRODUCT_TYPES) memo.delete(key(t, startS, endS, 1, pageSize));
    yield* pass(undefined);
    return;
  }
  plan.state.filter = 'works';
  // the unfiltered first page is stale by now: a completion pass below reads afresh
  memo.delete(key(undefined, startS, endS, 1, pageSize));
  for (let i = 0; i < PRODUCT_TYPES.length; i++) if (typed[i] > 0) yield* pass(PRODUCT_TYPES[i]);

  if (delivered.size >= total) return;
  const now = totalOf(await plan.list(undefined, startS, endS, 1, 1));
  if (delivered.size >= now) return;
  plan.logger.warn({ delivered: delivered.size, total: now }, 'some OKKI products are in no product_type pass; reading the window once more and asking /v1/product/info for the rest');
  yield* pass(undefined);
}
