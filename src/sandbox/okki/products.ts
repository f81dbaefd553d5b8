/**
 * /v1/product/list, /info and /groups as the reference describes them (window, paging, product_type filter,
 * envelope), with the list knobs: rows shifting while paging, a short list that looks complete, failing pages.
 */
import { parseBeijing } from '../catalog.js';
import type { SimCatalog } from './store.js';
import type { OkkiKnobs, ListScope } from './knobs.js';
import { HttpAnswer, type Envelopes } from './http.js';

export interface ProductRoutesContext {
  store: SimCatalog;
  knobs(): OkkiKnobs;
  random(): number;
  env: Envelopes;
}

/** What the list handler writes into the request log. */
export interface ListRecord { shifted?: string[] }

const FLAG_KEYS = ['enable_flag', 'disable_flag'] as const;

/** A seeded hash of a product id in [0, 1): which rows a short list keeps stays fixed across pages and requests. */
function keepScore(id: number, seed: number): number {
  let h = Math.imul(seed ^ 0x2545f491, 0x9e3779b1) ^ Math.imul(id, 0x85ebca77);
  h ^= h >>> 15; h = Math.imul(h, 0x2c1b3c6d); h ^= h >>> 12; h = Math.imul(h, 0x297a2d39); h ^= h >>> 15;
  return (h >>> 0) / 4294967296;
}

export function productRoutes(ctx: ProductRoutesContext) {
  const { store, env } = ctx;
  /** per list query (window), the rows already answered: what the shift knob may move */
  const servedRows = new Map<string, Set<number>>();
  /** per failing page, how many times it has failed */
  const pageFailures = new Map<number, number>();

  /** enable_flag / disable_flag as the flags knobs want them on an item */
  function styleFlags(item: Record<string, unknown>, row: number): Record<string, unknown> {
    const k = ctx.knobs();
    for (const key of FLAG_KEYS) {
      const v = item[key] as number;
      const keep = k.flags === 'always' || v === 0 || (k.flags === 'mixed' && store.idOf(row) % 2 === 0);
      if (!keep) delete item[key];
      else if (k.flagsAsStrings) item[key] = String(v);
    }
    return item;
  }

  /** As /v1/product/list shows it: no product_type, no sku_items. */
  function listItem(row: number): Record<string, unknown> {
    const { product_type: _t, sku_items: _s, ...item } = store.materialise(row);
    return styleFlags(item, row);
  }

  /** As /v1/product/info shows it: with product_type and sku_items. */
  function infoItem(row: number): Record<string, unknown> {
    const p = store.materialise(row);
    return styleFlags({ ...p, product_type: store.typeOf(row), sku_items: Array.isArray(p.sku_items) ? p.sku_items : [] }, row);
  }

  const inScope = (scope: ListScope, start: number | undefined) => scope === 'all' || start === undefined;

  function parseTime(q: URLSearchParams, name: string): number | undefined | null {
    const v = q.get(name);
    if (v === null || v === '') return undefined;
    return parseBeijing(v) ?? null;
  }

  function failure(kind: NonNullable<OkkiKnobs['failPage']>['kind']): HttpAnswer | 'hang' {
    if (kind === 'timeout') return 'hang';
    if (kind === 'http429') return env.throttled('injected-429');
    if (kind === 'businessError') return env.apiError(-1, '系统繁忙，请稍后再试', 'business-error');
    return env.unavailable(ctx.random);
  }

  function list(q: URLSearchParams, rec: ListRecord): HttpAnswer | 'hang' {
    const knobs = ctx.knobs();
    const timeType = q.get('time_type') ?? '1';
    if (timeType !== '1' && timeType !== '2') return env.apiError(400, 'time_type must be 1 or 2');
    const start = parseTime(q, 'start_time'); const end = parseTime(q, 'end_time');
    if (start === null) return env.apiError(400, 'start_time format error, expected YYYY-MM-DD HH:mm:ss');
    if (end === null) return env.apiError(400, 'end_time format error, expected YYYY-MM-DD HH:mm:ss');
    const startIndex = Number(q.get('start_index') ?? '1');
    let count = Number(q.get('count') ?? '20');
    if (!Number.isInteger(startIndex) || startIndex < 1) return env.apiError(400, 'start_index must be an integer ≥ 1');
    if (!Number.isInteger(count) || count < 1) return env.apiError(400, 'count must be an integer ≥ 1');
    if (count > knobs.maxCount) {
      if (knobs.overCount === 'error') return env.apiError(400, `count must be ≤ ${knobs.maxCount}`);
      count = knobs.maxCount;
    }
    const productType = q.get('product_type');
    if (productType !== null && productType !== '' && !['1', '2', '3'].includes(productType)) return env.apiError(400, 'product_type must be 1, 2 or 3');
    const fail = knobs.failPage;
    if (fail && fail.pages.includes(startIndex) && inScope(fail.scope, start)) {
      const n = pageFailures.get(startIndex) ?? 0;
      if (fail.times === 0 || n < fail.times) { pageFailures.set(startIndex, n + 1); return failure(fail.kind); }
    }
    const query = { timeType: Number(timeType) as 1 | 2, start, end };
    let win = store.window(query);
    const queryKey = `${timeType}|${start ?? ''}|${end ?? ''}|${productType ?? ''}`;
    if (knobs.shift && knobs.shift.rows > 0 && startIndex > 1) {
      // only rows this window's reader has really been served, from the pages before the one asked for
      const served = servedRows.get(queryKey);
      const candidates = Array.from(win.subarray(0, Math.min((startIndex - 1) * count, win.length))).filter((r) => served?.has(r));
      const picks = new Set<number>();
      const want = Math.min(knobs.shift.rows, candidates.length);
      while (picks.size < want) picks.add(candidates[Math.floor(ctx.random() * candidates.length)]);
      const nowS = Math.floor(Date.now() / 1000);
      const at = knobs.shift.mode === 'now' ? nowS : Math.max(nowS, (end ?? nowS) + 1);
      const rows = [...picks];
      rec.shifted = rows.map((r) => String(store.materialise(r).product_no));
      store.touchRows(rows, at);
      win = store.window(query);
    }
    let rows: ArrayLike<number> = win;
    // productTypeFilter 'ignore': the parameter is accepted and has no effect (a server a client must survive)
    const ofType = (xs: ArrayLike<number>) => (productType && knobs.productTypeFilter === 'apply' ? Array.from(xs).filter((r) => store.typeOf(r) === Number(productType)) : xs);
    const short = knobs.shortList;
    let total: number | undefined;
    if (short && inScope(short.scope, start)) {
      if (short.countAs === 'full') total = ofType(rows).length;
      rows = Array.from(rows).filter((r) => keepScore(store.idOf(r), knobs.seed) < short.fraction);
    }
    rows = ofType(rows);
    const from = (startIndex - 1) * count;
    const out: Record<string, unknown>[] = [];
    let served = servedRows.get(queryKey);
    if (knobs.shift && !served) servedRows.set(queryKey, served = new Set());
    for (let i = from; i < Math.min(rows.length, from + count); i++) {
      out.push(listItem(rows[i]));
      served?.add(rows[i]);
    }
    return env.ok({ count: total ?? rows.length, list: out });
  }

  function info(q: URLSearchParams): HttpAnswer {
    const no = q.get('product_no'); const id = q.get('product_id');
    if (!no && !id) return env.apiError(400, 'product_id or product_no is required');
    const row = no ? store.rowByNo(no) : store.rowById(Number(id));
    if (row === undefined) return env.apiError(404, 'Not Found Resource', 'not-found');
    return env.ok(infoItem(row));
  }

  function groups(q: URLSearchParams): HttpAnswer {
    const gid = q.get('group_id'); const gname = q.get('group_name');
    let out = store.groups;
    const fraction = ctx.knobs().groupListFraction;
    if (!gid && !gname && fraction < 1) out = out.slice(0, Math.ceil(out.length * fraction));
    if (gid) out = out.filter((g) => String(g.id) === gid);
    if (gname) out = out.filter((g) => g.name.includes(gname));
    return env.ok(out.map((g) => ({ ...g })));
  }

  return {
    list, info, groups, infoItem,
    /** forget per-reader state (after a reset, or when the list knobs change) */
    resetState(): void { servedRows.clear(); pageFailures.clear(); },
    resetPageFailures(): void { pageFailures.clear(); },
  };
}
export type ProductRoutes = ReturnType<typeof productRoutes>;
