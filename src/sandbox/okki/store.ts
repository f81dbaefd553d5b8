/**
 * The simulator's product table. Rows keep only ids, times and state; the product body comes from the seeded
 * generator (by index) unless it was upserted, so 100k products cost a few MB. Queries walk an index sorted the way
 * the list answers (update_time DESC, product_id DESC), rebuilt lazily after writes.
 *
 * A product is live, deleted (OKKI's `enable_flag` 0: either gone from listings or still listed with the flag,
 * `/v1/product/info` answers 404 either way) or discontinued (`disable_flag` 0: listed and readable as usual).
 * Every write reports a create/update/delete change to the listener, which is what the push emitter sends.
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
  /** not in listings (deleted the "remove" way) */
  removed: boolean;
  /** enable_flag 0: info answers 404; listed only when not `removed` */
  deleted: boolean;
  /** disable_flag 0 (停售) */
  discontinued: boolean;
  /** product_type, cached on first need (the filter would otherwise build every product per page) */
  type?: number;
}

export interface WindowQuery {
  timeType: 1 | 2;
  /** epoch seconds, inclusive */
  start?: number;
  end?: number;
}

export type ChangeKind = 'create' | 'update' | 'delete';
export type ChangeListener = (kind: ChangeKind, product: { product_id: number | string; product_no: string }) => void;

/** How deletions look: gone from listings (`remove`) or listed with enable_flag 0 (`flag`). */
export type DeleteMode = 'remove' | 'flag';

const flagOff = (v: unknown) => v === 0 || v === '0';
const flagOn = (v: unknown) => v === 1 || v === '1';

export class SimCatalog {
  private rows: Row[] = [];
  private byNo = new Map<string, number>();
  private byId = new Map<number, number>();
  private order: Int32Array | undefined;
  groups: OkkiGroup[] = [];
  onChange: ChangeListener | undefined;

  constructor(private gen?: GeneratedCatalog, initial: RawOkkiProduct[] = [], groups?: OkkiGroup[]) {
    this.load(initial, groups);
  }

  /** Back to the state the simulator started with (silently: a reset is not a change in OKKI). */
  load(initial: RawOkkiProduct[] = this.initial, groups?: OkkiGroup[]): void {
    this.initial = initial;
    this.rows = []; this.byNo.clear(); this.byId.clear(); this.order = undefined;
    this.groups = (groups ?? this.initialGroups ?? this.gen?.groups ?? []).map((g) => ({ ...g }));
    this.initialGroups = groups ?? this.initialGroups;
    const gen = this.gen;
    if (gen) {
      for (let i = 0; i < gen.size; i++) {
        const t = gen.timesAt(i);
        this.pushRow({ id: FIRST_PRODUCT_ID + i, no: productNoFor(i), upd: t.updateS, cre: t.createS, gen: i, removed: false, deleted: false, discontinued: false });
      }
    }
    const listener = this.onChange;
    this.onChange = undefined;
    try { if (initial.length) this.upsert(initial); } finally { this.onChange = listener; }
  }
  private initial: RawOkkiProduct[] = [];
  private initialGroups?: OkkiGroup[];

  private pushRow(row: Row): void {
    const idx = this.rows.length;
    this.rows.push(row);
    this.byNo.set(row.no, idx);
    this.byId.set(row.id, idx);
  }

  private emit(kind: ChangeKind, row: Row): void {
    if (!this.onChange) return;
    const body = this.body(row);
    this.onChange(kind, { product_id: typeof body.product_id === 'string' ? body.product_id : row.id, product_no: row.no.startsWith('#') ? String(body.product_no ?? '') : row.no });
  }

  /** Listed products (deleted-but-flagged ones included): what an unwindowed list counts. */
  get size(): number { return this.sorted().length; }

  /**
   * Insert or replace products by product_no (product_id assigned when absent). Times default to now. An upsert
   * makes the product live unless it carries `enable_flag` 0 (deleted, still listed) or `disable_flag` 0.
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
      const deleted = flagOff(input.enable_flag);
      const discontinued = flagOff(input.disable_flag) ? true : flagOn(input.disable_flag) ? false : prev?.discontinued ?? false;
      const wasLive = prev !== undefined && !prev.removed && !prev.deleted;
      if (prev) {
        if (prev.id !== id) { this.byId.delete(prev.id); this.byId.set(id, existing!); }
        Object.assign(prev, { id, upd, cre, raw, removed: false, deleted, discontinued, type: undefined });
      } else {
        this.pushRow({ id, no, upd, cre, gen: -1, raw, removed: false, deleted, discontinued });
      }
      this.order = undefined;
      const row = this.rows[this.byNo.get(no)!];
      this.emit(deleted ? 'delete' : wasLive ? 'update' : 'create', row);
      out.push(this.materialise(row));
    }
    return out;
  }

  private nextId(): number {
    let max = 0;
    for (const r of this.rows) if (r.id > max) max = r.id;
    return max + 1;
  }

  /** Live rows of these numbers (unknown and deleted ones skipped). */
  private liveRows(productNos: readonly string[]): Row[] {
    const out: Row[] = [];
    for (const no of productNos) {
      const idx = this.byNo.get(no);
      if (idx !== undefined && !this.rows[idx].removed && !this.rows[idx].deleted) out.push(this.rows[idx]);
    }
    return out;
  }

  /** Bump update_time of the given products (to `atS`, default now). Returns the numbers that exist. */
  touch(productNos: readonly string[], atS = Math.floor(Date.now() / 1000)): string[] {
    const rows = this.liveRows(productNos);
    for (const r of rows) { r.upd = atS; this.emit('update', r); }
    if (rows.length) this.order = undefined;
    return rows.map((r) => r.no);
  }

  /** Bump by row position handle (used by the shift knob: someone edits rows while a reader pages). */
  touchRows(rowIdx: readonly number[], atS: number): void {
    for (const i of rowIdx) { this.rows[i].upd = atS; if (!this.rows[i].deleted) this.emit('update', this.rows[i]); }
    if (rowIdx.length) this.order = undefined;
  }

  /** Delete products: gone from listings (`remove`) or kept listed with enable_flag 0 and a fresh update_time (`flag`). */
  delete(productNos: readonly string[], mode: DeleteMode = 'remove', atS = Math.floor(Date.now() / 1000)): string[] {
    const rows = this.liveRows(productNos);
    for (const r of rows) {
      r.deleted = true; r.removed = mode === 'remove'; r.upd = atS;
      this.emit('delete', r);
    }
    if (rows.length) this.order = undefined;
    return rows.map((r) => r.no);
  }

  remove(productNos: readonly string[]): string[] { return this.delete(productNos, 'remove'); }

  /** Undelete (OKKI's recycle bin): live and listed again, with a fresh update_time. */
  restore(productNos: readonly string[], atS = Math.floor(Date.now() / 1000)): string[] {
    const hit: string[] = [];
    for (const no of productNos) {
      const idx = this.byNo.get(no);
      if (idx === undefined) continue;
      const r = this.rows[idx];
      if (!r.removed && !r.deleted) continue;
      r.removed = false; r.deleted = false; r.upd = atS;
      this.emit('create', r);
      hit.push(no);
    }
    if (hit.length) this.order = undefined;
    return hit;
  }

  /** Discontinue (停售, disable_flag 0) or put back on sale; an edit like any other (update_time now). */
  setDiscontinued(productNos: readonly string[], discontinued: boolean, atS = Math.floor(Date.now() / 1000)): string[] {
    const rows = this.liveRows(productNos).filter((r) => r.discontinued !== discontinued);
    for (const r of rows) { r.discontinued = discontinued; r.upd = atS; this.emit('update', r); }
    if (rows.length) this.order = undefined;
    return rows.map((r) => r.no);
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

  /** A readable product's row (not deleted): what /v1/product/info finds. */
  rowByNo(no: string): number | undefined {
    const i = this.byNo.get(no);
    return i === undefined || this.rows[i].deleted || this.rows[i].removed ? undefined : i;
  }
  rowById(id: number): number | undefined {
    const i = this.byId.get(id);
    return i === undefined || this.rows[i].deleted || this.rows[i].removed ? undefined : i;
  }
  /** Any known row, deleted or not (for inspection). */
  anyRowByNo(no: string): number | undefined { return this.byNo.get(no); }
  updateTimeOf(row: number): number { return this.rows[row].upd; }
  idOf(row: number): number { return this.rows[row].id; }
  stateOf(row: number): { deleted: boolean; removed: boolean; discontinued: boolean } {
    const r = this.rows[row];
    return { deleted: r.deleted, removed: r.removed, discontinued: r.discontinued };
  }

  /** product_type (1 无规格, 2 多规格, 3 组合); 1 when a product was upserted without one. */
  typeOf(row: number): number {
    const r = this.rows[row];
    if (r.type === undefined) {
      const t = Number(this.body(r).product_type);
      r.type = t === 1 || t === 2 || t === 3 ? t : 1;
    }
    return r.type;
  }

  private body(row: Row): RawOkkiProduct {
    return row.raw ?? this.gen!.productAt(row.gen);
  }

  /** The full stored record with its current ids, times and both flags. */
  materialise(row: Row | number): RawOkkiProduct {
    const r = typeof row === 'number' ? this.rows[row] : row;
    const body = this.body(r);
    // upserted oddities (string ids, no product_no) are served as given: clients must cope with them
    return {
      ...body,
      product_id: typeof body.product_id === 'string' ? body.product_id : r.id,
      product_no: r.no.startsWith('#') ? body.product_no : r.no,
      update_time: formatBeijing(r.upd), create_time: formatBeijing(r.cre),
      enable_flag: r.deleted ? 0 : 1, disable_flag: r.discontinued ? 0 : 1,
    } as RawOkkiProduct;
  }

  /** Every listed product in list order (a generator: cheap for large catalogues). */
  *all(): Generator<RawOkkiProduct> {
    for (const i of this.sorted()) yield this.materialise(i);
  }
}
