/**
 * The simulator's product table. Rows keep only ids and times; the product body comes from the seeded generator
 * (by index) unless it was upserted, so 100k products cost a few MB. Queries walk an index sorted the way the
 * list answers (update_time DESC, product_id DESC), rebuilt lazily after writes.
 */
import { FIRST_PRODUCT_ID, productNoFor, formatBeijing, parseBeijing, type GeneratedCatalog, type OkkiGroup, type RawOkkiProduct } from '../catalog.js';

interface Row {
  id: number;
  no: string;
  upd: number;
  cre: number;
  /** index in the generated catalogue, -1 for upserted-only rows */
  gen: number;
  raw?: RawOkkiProduct;
  removed: boolean;
}

export interface WindowQuery {
  timeType: 1 | 2;
  /** epoch seconds, inclusive */
  start?: number;
  end?: number;
}

export class SimCatalog {
  private rows: Row[] = [];
  private byNo = new Map<string, number>();
  private byId = new Map<number, number>();
  private order: Int32Array | undefined;
  groups: OkkiGroup[] = [];

  constructor(private gen?: GeneratedCatalog, initial: RawOkkiProduct[] = [], groups?: OkkiGroup[]) {
    this.load(initial, groups);
  }

  /** Back to the state the simulator started with. */
  load(initial: RawOkkiProduct[] = this.initial, groups?: OkkiGroup[]): void {
    this.initial = initial;
    this.rows = []; this.byNo.clear(); this.byId.clear(); this.order = undefined;
    this.groups = (groups ?? this.initialGroups ?? this.gen?.groups ?? []).map((g) => ({ ...g }));
    this.initialGroups = groups ?? this.initialGroups;
    const gen = this.gen;
    if (gen) {
      for (let i = 0; i < gen.size; i++) {
        const t = gen.timesAt(i);
        this.pushRow({ id: FIRST_PRODUCT_ID + i, no: productNoFor(i), upd: t.updateS, cre: t.createS, gen: i, removed: false });
      }
    }
    if (initial.length) this.upsert(initial);
  }
  private initial: RawOkkiProduct[] = [];
  private initialGroups?: OkkiGroup[];

  private pushRow(row: Row): void {
    const idx = this.rows.length;
    this.rows.push(row);
    this.byNo.set(row.no, idx);
    this.byId.set(row.id, idx);
  }

  get size(): number { return this.sorted().length; }

  /**
   * Insert or replace products by product_no (product_id assigned when absent). Times default to now.
   * A product without a product_no (to test clients' validation) needs a product_id and is served without one.
   */
  upsert(products: readonly Record<string, unknown>[]): RawOkkiProduct[] {
    const out: RawOkkiProduct[] = [];
    const nowS = Math.floor(Date.now() / 1000);
    for (const input of products) {
      const given = input.product_no;
      const hasNo = typeof given === 'string' && given !== '';
      if (!hasNo && (input.product_id === undefined || !Number.isFinite(Number(input.product_id)))) {
        throw new TypeError('upsert: every product needs a product_no string (or, to serve one without it, a product_id)');
      }
      const no = hasNo ? (given as string) : `#${Number(input.product_id)}`;
      const existing = this.byNo.get(no);
      const prev = existing !== undefined ? this.rows[existing] : undefined;
      const base = prev ? this.body(prev) : undefined;
      const id = Number(input.product_id ?? prev?.id ?? this.nextId());
      const upd = typeof input.update_time === 'string' ? parseBeijing(input.update_time) ?? nowS : nowS;
      const cre = typeof input.create_time === 'string' ? parseBeijing(input.create_time) ?? upd : prev?.cre ?? upd;
      const raw = { ...(base ?? {}), ...input } as RawOkkiProduct;
      if (prev) {
        if (prev.id !== id) { this.byId.delete(prev.id); this.byId.set(id, existing!); }
        Object.assign(prev, { id, upd, cre, raw, removed: false });
      } else {
        this.pushRow({ id, no, upd, cre, gen: -1, raw, removed: false });
      }
      this.order = undefined;
      out.push(this.materialise(this.rows[this.byNo.get(no)!]));
    }
    return out;
  }

  private nextId(): number {
    let max = 0;
    for (const r of this.rows) if (r.id > max) max = r.id;
    return max + 1;
  }

  /** Bump update_time of the given products (to `atS`, default now). Returns the numbers that exist. */
  touch(productNos: readonly string[], atS = Math.floor(Date.now() / 1000)): string[] {
    const hit: string[] = [];
    for (const no of productNos) {
      const idx = this.byNo.get(no);
      if (idx === undefined || this.rows[idx].removed) continue;
      this.rows[idx].upd = atS;
      hit.push(no);
    }
    if (hit.length) this.order = undefined;
    return hit;
  }

  /** Bump by row position handle (used by the shift knob). */
  touchRows(rowIdx: readonly number[], atS: number): void {
    for (const i of rowIdx) this.rows[i].upd = atS;
    if (rowIdx.length) this.order = undefined;
  }

  remove(productNos: readonly string[]): string[] {
    const hit: string[] = [];
    for (const no of productNos) {
      const idx = this.byNo.get(no);
      if (idx === undefined || this.rows[idx].removed) continue;
      this.rows[idx].removed = true;
      hit.push(no);
    }
    if (hit.length) this.order = undefined;
    return hit;
  }

  private sorted(): Int32Array {
    if (this.order) return this.order;
    const live: number[] = [];
    for (let i = 0; i < this.rows.length; i++) if (!this.rows[i].removed) live.push(i);
    const rows = this.rows;
    live.sort((a, b) => rows[b].upd - rows[a].upd || rows[b].id - rows[a].id);
    this.order = Int32Array.from(live);
    return this.order;
  }

  /** Row handles matching the window, in list order (update_time DESC, product_id DESC). */
  window(q: WindowQuery): Int32Array {
    const order = this.sorted();
    const rows = this.rows;
    if (q.timeType === 2) {
      const hit: number[] = [];
      for (const i of order) {
        const c = rows[i].cre;
        if ((q.start === undefined || c >= q.start) && (q.end === undefined || c <= q.end)) hit.push(i);
      }
      return Int32Array.from(hit);
    }
    // order is DESC by upd: first position with upd <= end, first position with upd < start
    const lowerBound = (pred: (upd: number) => boolean) => {
      let lo = 0, hi = order.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (pred(rows[order[mid]].upd)) hi = mid; else lo = mid + 1; }
      return lo;
    };
    const from = q.end === undefined ? 0 : lowerBound((u) => u <= q.end!);
    const to = q.start === undefined ? order.length : lowerBound((u) => u < q.start!);
    return order.subarray(from, Math.max(from, to));
  }

  rowByNo(no: string): number | undefined {
    const i = this.byNo.get(no);
    return i === undefined || this.rows[i].removed ? undefined : i;
  }
  rowById(id: number): number | undefined {
    const i = this.byId.get(id);
    return i === undefined || this.rows[i].removed ? undefined : i;
  }
  updateTimeOf(row: number): number { return this.rows[row].upd; }

  private body(row: Row): RawOkkiProduct {
    return row.raw ?? this.gen!.productAt(row.gen);
  }

  /** The full stored record with its current ids and times. */
  materialise(row: Row | number): RawOkkiProduct {
    const r = typeof row === 'number' ? this.rows[row] : row;
    const body = this.body(r);
    // upserted oddities (string ids, no product_no) are served as given: clients must cope with them
    return {
      ...body,
      product_id: typeof body.product_id === 'string' ? body.product_id : r.id,
      product_no: r.no.startsWith('#') ? body.product_no : r.no,
      update_time: formatBeijing(r.upd), create_time: formatBeijing(r.cre),
    } as RawOkkiProduct;
  }

  /** As /v1/product/list shows it: no product_type, no sku_items. */
  listItem(row: number): Record<string, unknown> {
    const { product_type: _t, sku_items: _s, ...item } = this.materialise(row);
    return item;
  }

  /** As /v1/product/info shows it: with product_type and sku_items. */
  infoItem(row: number): Record<string, unknown> {
    const p = this.materialise(row);
    return { ...p, product_type: p.product_type ?? 1, sku_items: Array.isArray(p.sku_items) ? p.sku_items : [] };
  }

  /** Every live product in list order (a generator: cheap for large catalogues). */
  *all(): Generator<RawOkkiProduct> {
    for (const i of this.sorted()) yield this.materialise(i);
  }
}
