/**
 * The OKKI `ProductSource` the sync engine uses: groups, shift-safe windowed pages, targeted pulls by product number,
 * and detail fetches for fields list items lack. Built on one `OkkiClient`, so all of it shares one pacing limiter.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { productNoList, type GroupTree, type OkkiProduct, type ProductPage, type ProductSource, type PullOptions, type RejectedRecord, type SyncWindow } from '../core/index.js';
import { OkkiClient } from './client.js';
import { OkkiApiError, OkkiNotFoundError } from './errors.js';
import { buildGroupTree, type GroupWarning } from './groups.js';
import { checkItem, type ItemCheck } from './items.js';
import { pullWindow, type ListPage } from './pull.js';
import { pullByType, type TypedPullPlan } from './type-passes.js';
import { noMeter, type CallMeter } from '../core/metering.js';
import type { RetryPolicy } from '../outbound/index.js';
import { formatWallClock, parseWallClock } from './time.js';

export type InfoResult = { ok: true; product: OkkiProduct } | { ok: false; error: OkkiNotFoundError };

export interface OkkiSource extends ProductSource {
  catalogue(opts?: PullOptions): AsyncIterable<ProductPage>;
  /** the underlying client, for raw calls (`client.get(path, query)`) */
  readonly client: OkkiClient;
  /** one product's full record by product_no (or `{product_id}`); not found is a result, not an exception */
  info(ref: string | { product_no?: string; product_id?: number }, opts?: { signal?: AbortSignal }): Promise<InfoResult>;
  /** the instant an OKKI wall-clock text names (SYNC_TIMEZONE) */
  parseTime(text: string): Date | undefined;
}

export type OkkiSourceConfig = Config['okki'] & {
  timezone: string;
  /** per-request timeout (default 60 s, as documented) */
  timeoutMs?: number;
  /** product details kept for detail merges (default 500) */
  detailCacheSize?: number;
  /** re-reads of a one-second window that keeps changing before the pull fails (default 20) */
  maxWindowPasses?: number;
};

export interface OkkiSourceDeps {
  logger?: Logger; metrics?: Metrics; retry?: Partial<RetryPolicy>; random?: () => number;
  /** ticked once per OKKI API request made through the source */
  meter?: CallMeter;
}

const LIST_PATH = '/v1/product/list';
const INFO_PATH = '/v1/product/info';
const GROUPS_PATH = '/v1/product/groups';

/** A tiny LRU: Map keeps insertion order, so re-inserting on read makes the first key the least recently used. */
class Lru<K, V> {
  private map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) { this.map.delete(k); this.map.set(k, v); }
    return v;
  }
  set(k: K, v: V): void {
    this.map.delete(k); this.map.set(k, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
}

/** enable_flag 0 (number or string): OKKI lists the product as deleted */
const listedDeleted = (item: OkkiProduct) => item.enable_flag === 0 || (typeof item.enable_flag === 'string' && item.enable_flag.trim() === '0');

/** products per delivered page when each needs a /v1/product/info call */
const DETAIL_SLICE = 25;

export function createOkkiSource(cfg: OkkiSourceConfig, deps: OkkiSourceDeps = {}): OkkiSource {
  const logger = deps.logger ?? silentLogger;
  const tz = cfg.timezone;
  // cfg comes from the validated Config (timezone, page size, qps ...): trusted, not checked again here
  const maxPasses = cfg.maxWindowPasses ?? 20;
  const cacheSize = cfg.detailCacheSize ?? 500;

  const client = new OkkiClient({
    baseUrl: cfg.baseUrl, clientId: cfg.clientId, clientSecret: cfg.clientSecret, scope: cfg.scope, qps: cfg.qps,
    timeoutMs: cfg.timeoutMs, retry: deps.retry, logger, metrics: deps.metrics, random: deps.random,
  });
  const meter = deps.meter ?? noMeter;
  // every request of the source goes through here, so each is metered once (retries inside the client are not)
  const get = <T>(path: string, query: Record<string, string | number | undefined>, opts: { signal?: AbortSignal } = {}) => {
    meter.tick('okki');
    return client.get<T>(path, query, opts);
  };
  const typeFilter: TypedPullPlan['state'] = { filter: 'unknown' };
  const details = new Lru<string, OkkiProduct>(Math.max(1, cacheSize));
  const warned = new Set<string>();
  let clampWarned = false;

  const formatTime = (instant: Date) => formatWallClock(instant, tz);
  const parseTime = (text: string) => parseWallClock(text, tz);
  const fmtS = (s: number) => formatTime(new Date(s * 1000));

  async function info(ref: string | { product_no?: string; product_id?: number }, opts: { signal?: AbortSignal } = {}): Promise<InfoResult> {
    const query = typeof ref === 'string' ? { product_no: ref } : ref.product_no ? { product_no: ref.product_no } : { product_id: ref.product_id };
    const what = query.product_no !== undefined ? `product_no ${query.product_no}` : `product_id ${query.product_id}`;
    try {
      const data = await get<unknown>(INFO_PATH, query, opts);
      if (!data || typeof data !== 'object') return { ok: false, error: new OkkiNotFoundError(what) };
      return { ok: true, product: data as OkkiProduct };
    } catch (err) {
      if (err instanceof OkkiApiError && String(err.apiCode) === '404') return { ok: false, error: new OkkiNotFoundError(what) };
      throw err;
    }
  }

  /** Fill `fields` an item lacks from /v1/product/info (cached per product and update time). */
  async function withDetails(item: OkkiProduct, fields: readonly string[], signal?: AbortSignal): Promise<ItemCheck> {
    const missing = fields.filter((f) => !(f in item));
    if (!missing.length) return { ok: true, item };
    const key = `${item.product_no}@${item.update_time ?? ''}`;
    let full = details.get(key);
    if (!full) {
      const r = await info(item.product_no ? { product_no: item.product_no } : { product_id: item.product_id }, { signal });
      if (!r.ok) return { ok: false, rejected: { product_no: item.product_no ?? null, product_id: item.product_id ?? null, code: r.error.code, reason: `${r.error.message} (listed, but /v1/product/info does not know it)` } };
      full = r.product;
      if (cacheSize > 0) details.set(key, full);
    }
    const merged: OkkiProduct = { ...item };
    for (const f of missing) if (f in full) merged[f] = full[f];
    return { ok: true, item: merged };
  }

  async function toPage(index: number, raws: readonly unknown[], opts: PullOptions): Promise<ProductPage> {
    const items: OkkiProduct[] = [];
    const rejected: RejectedRecord[] = [];
    const fields = opts.detailFields ?? [];
    // `only` drops items before any detail call (a re-read of some groups' products reads the list, not every product).
    const checked = raws.map(checkItem).filter((c) => !opts.only || (c.ok && opts.only(c.item)));
    // A product listed as deleted (enable_flag 0) is not known to /v1/product/info: it needs no details, it is gone.
    const done = await Promise.all(checked.map((c) => (c.ok && fields.length && !listedDeleted(c.item) ? withDetails(c.item, fields, opts.signal) : c)));
    for (const d of done) {
      if (d.ok) items.push(d.item); else rejected.push(d.rejected);
    }
    return { index, items, rejected };
  }

  const listPage = (opts: PullOptions, productType?: number) => (lo: number | undefined, hi: number | undefined, startIndex: number, count: number) =>
    get<ListPage>(LIST_PATH, {
      time_type: 1, start_time: lo === undefined ? undefined : fmtS(lo), end_time: hi === undefined ? undefined : fmtS(hi), start_index: startIndex, count, product_type: productType,
    }, { signal: opts.signal }).then((d) => (d && typeof d === 'object' ? d : { count: 0, list: [] }));
  const updateSeconds = (raw: unknown) => {
    const t = (raw as { update_time?: unknown })?.update_time;
    const d = typeof t === 'string' ? parseTime(t) : undefined;
    return d ? d.getTime() / 1000 : undefined;
  };
  const onClamp = (served: number) => {
    if (clampWarned) return;
    clampWarned = true;
    logger.warn({ asked: cfg.pageSize, served }, 'OKKI serves fewer rows per page than OKKI_PAGE_SIZE; paging at its size');
  };

  function pages(window: SyncWindow, opts: PullOptions = {}): AsyncGenerator<ProductPage> {
    const endS = Math.floor(window.end.getTime() / 1000);
    const startS = window.start ? Math.floor(window.start.getTime() / 1000) : undefined;
    logger.info({ start: startS === undefined ? null : fmtS(startS), end: fmtS(endS) }, 'OKKI pull started');
    return read(startS, endS, opts);
  }

  /** The whole list without a time window (a sweep, an audit): no start_time, no end_time. */
  function catalogue(opts: PullOptions = {}): AsyncGenerator<ProductPage> {
    logger.info('OKKI catalogue read started (no time window)');
    return read(undefined, undefined, opts);
  }

  async function* read(startS: number | undefined, endS: number | undefined, opts: PullOptions): AsyncGenerator<ProductPage> {
    const fields = opts.detailFields ?? [];
    let index = 0;
    // the window's size as OKKI's first page counts it: every page carries it, for run progress
    let total: number | undefined;
    const onTotal = (n: number) => { total ??= n; };
    const withTotal = (p: ProductPage): ProductPage => (total === undefined ? p : { ...p, total });
    // With detail calls a page is handed on in slices: the first writes start after a slice's calls, not a page's.
    const sliced = async function* (raws: unknown[], o: PullOptions) {
      const slice = o.detailFields?.length ? DETAIL_SLICE : Number.POSITIVE_INFINITY;
      for (let i = 0; i < raws.length; i += slice) yield withTotal(await toPage(++index, raws.slice(i, i + slice), o));
    };
    if (fields.length && fields.every((f) => f === 'product_type')) {
      // product_type is all the mapping lacks: one list pass per type tells it (type-passes.ts)
      const typed = pullByType({
        startS, endS, pageSize: cfg.pageSize, maxPasses, logger, updateSeconds, onClamp, onTotal, state: typeFilter,
        list: (t, lo, hi, i, c) => listPage(opts, t)(lo, hi, i, c),
      });
      for await (const { rows, productType } of typed) {
        if (productType === undefined) { yield* sliced(rows, opts); continue; }
        const page = await toPage(++index, rows, { ...opts, detailFields: [] });
        for (const item of page.items) if (!('product_type' in item)) item.product_type = productType;
        yield withTotal(page);
      }
      return;
    }
    const rows = pullWindow({ startS, endS, pageSize: cfg.pageSize, maxPasses, logger, list: listPage(opts), updateSeconds, onClamp, onTotal });
    for await (const raws of rows) yield* sliced(raws, opts);
  }

  /**
   * One /v1/product/info call per product, handed on in slices: the first writes start after a slice's calls, not a
   * page's (a push run's latency), and the pipeline's read-ahead keeps the next slices' calls in flight meanwhile.
   */
  async function* detailSlices<R>(refs: readonly R[], ask: (ref: R) => Parameters<typeof info>[0], named: (ref: R) => Pick<RejectedRecord, 'product_no' | 'product_id'>, opts: PullOptions): AsyncGenerator<ProductPage> {
    let index = 0;
    const slice = Math.min(cfg.pageSize, DETAIL_SLICE);
    for (let i = 0; i < refs.length; i += slice) {
      const chunk = refs.slice(i, i + slice);
      const results = await Promise.all(chunk.map((ref) => info(ask(ref), { signal: opts.signal })));
      const items: OkkiProduct[] = [];
      const rejected: RejectedRecord[] = [];
      results.forEach((r, k) => {
        const who = named(chunk[k]);
        if (!r.ok) { rejected.push({ ...who, code: r.error.code, reason: r.error.message }); return; }
        const c = checkItem(r.product);
        if (c.ok) items.push(c.item); else rejected.push({ ...c.rejected, product_no: c.rejected.product_no ?? who.product_no });
      });
      yield { index: ++index, items, rejected, total: refs.length };
    }
  }

  function byProductNos(productNos: readonly string[], opts: PullOptions = {}): AsyncGenerator<ProductPage> {
    return detailSlices(productNoList(productNos), (no) => no, (no) => ({ product_no: no }), opts);
  }

  function byProductIds(productIds: readonly number[], opts: PullOptions = {}): AsyncGenerator<ProductPage> {
    const unique = [...new Set(productIds.filter((id) => Number.isSafeInteger(id) && id > 0))];
    return detailSlices(unique, (id) => ({ product_id: id }), (id) => ({ product_no: null, product_id: id }), opts);
  }

  async function groups(opts: { signal?: AbortSignal } = {}): Promise<GroupTree> {
    const data = await get<unknown>(GROUPS_PATH, {}, opts);
    const list = Array.isArray(data) ? data : Array.isArray((data as { list?: unknown })?.list) ? (data as { list: unknown[] }).list : [];
    return buildGroupTree(list, (w: GroupWarning) => {
      const key = `${w.kind}:${String(w.groupId)}:${String(w.parentId)}`;
      if (warned.has(key)) return;
      warned.add(key);
      const text = {
        missing_parent: 'OKKI group has a parent that does not exist; treating it as a root',
        cycle: 'OKKI groups form a parent cycle; treating this group as a root',
        invalid_group: 'OKKI group without a usable id; ignored',
        duplicate_id: 'OKKI group id listed twice; the last one wins',
      }[w.kind];
      logger.warn({ groupId: w.groupId, parentId: w.parentId }, text);
    });
  }

  /** `/v1/product/groups?group_id=`: does OKKI still answer for this group? (the groups mirror's proof of a deletion) */
  async function groupListed(groupId: number, opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    const data = await client.get<unknown>(GROUPS_PATH, { group_id: groupId }, opts);
    const list = Array.isArray(data) ? data : Array.isArray((data as { list?: unknown })?.list) ? (data as { list: unknown[] }).list : [];
    return list.some((g) => String((g as { id?: unknown; group_id?: unknown })?.id ?? (g as { group_id?: unknown })?.group_id) === String(groupId));
  }

  return { client, info, pages, catalogue, byProductNos, byProductIds, groups, groupListed, formatTime, parseTime };
}
