/**
 * Finding plain-form records by their key, with as few searches as possible (each one is a metered call):
 *  - many keys at once: one search with the `in` operator on the key field per 100 keys. Yida documents `eq`/`like` for
 *    text fields, not `in`, so its answer is checked: a record whose key is not one of those asked for means the
 *    operator is not honoured; a refusal means the same. Either way the lookup falls back to one `eq` search per key
 *    (from then on, for this process) — never to a guess;
 *  - every record (the adoption scan before a backfill): searches sliced by creation time, each slice holding at most
 *    5,000 rows, because Yida refuses to page past the 5,000th row of a query (cursorExceedFiveThousand). A slice
 *    whose total changes while it is paged (a record deleted meanwhile shifts the rows) is read again.
 */
import type { Logger } from '../log.js';
import { sinkErrorKind } from '../core/index.js';
import { componentOf } from './sink.js';
import type { FormApi, FormRecord, SearchCondition } from './form-api.js';

const PAGE = 100;
/** rows Yida pages through per query */
export const SEARCH_WINDOW = 5000;
const MAX_SLICE_READS = 5;
const MAX_PAGES_PER_QUERY = SEARCH_WINDOW / PAGE;
/** Yida's refusal to page past its limit */
const PAGING_LIMIT = /cursorExceed/i;

export const keyOf = (record: FormRecord, keyField: string): string | undefined => {
  const v = record.data[keyField];
  if (v === undefined || v === null) return undefined;
  const s = String(v).trim();
  return s === '' ? undefined : s;
};

export class FormLookup {
  /** does Yida honour `in` on the key field? unknown until tried */
  private inOperator: 'unknown' | 'works' | 'unsupported' = 'unknown';
  /** rows a query may page through: Yida's documented 5,000, lowered if Yida refuses earlier */
  private window = SEARCH_WINDOW;

  constructor(private readonly api: FormApi, private readonly logger?: Logger) {}

  private textCondition(keyField: string, operator: string, value: unknown): SearchCondition {
    const { componentName, type } = componentOf(keyField);
    return { key: keyField, value, type, operator, componentName };
  }

  /** every record of an exact condition, all pages (a key's records: normally one) */
  private async all(conditions: SearchCondition[], signal?: AbortSignal): Promise<FormRecord[]> {
    const out: FormRecord[] = [];
    for (let page = 1; page <= MAX_PAGES_PER_QUERY; page++) {
      const p = await this.api.search(conditions, { number: page, size: PAGE }, signal);
      out.push(...p.records);
      if (p.records.length < PAGE || page * PAGE >= p.total) break;
    }
    return out;
  }

  /** the records whose key field equals `key` exactly, values included */
  async recordsEq(keyField: string, key: string, signal?: AbortSignal): Promise<FormRecord[]> {
    const records = await this.all([this.textCondition(keyField, 'eq', key)], signal);
    // the search is exact; checking again costs nothing and guards against a server that is not
    return records.filter((r) => keyOf(r, keyField) === key);
  }

  /** ids of the records whose key field equals `key` exactly */
  async eq(keyField: string, key: string, signal?: AbortSignal): Promise<string[]> {
    return (await this.recordsEq(keyField, key, signal)).map((r) => r.id);
  }

  /** key → ids of its records, for every key asked (absent keys map to []) */
  async lookup(keyField: string, keys: string[], signal?: AbortSignal): Promise<Map<string, string[]>> {
    const found = new Map<string, string[]>(keys.map((k) => [k, []]));
    const unique = [...found.keys()];
    if (unique.length > 1 && this.inOperator !== 'unsupported') {
      try {
        for (let i = 0; i < unique.length; i += PAGE) await this.lookupIn(keyField, unique.slice(i, i + PAGE), found, signal);
        return found;
      } catch (err) {
        if (!(err instanceof InNotHonoured) && sinkErrorKind(err) !== 'rejected') throw err;
        this.inOperator = 'unsupported';
        this.logger?.warn({ reason: err instanceof Error ? err.message : String(err) }, 'Yida does not honour the `in` search on the key field; looking keys up one by one');
        for (const k of unique) found.set(k, []);
      }
    }
    await Promise.all(unique.map(async (k) => { found.set(k, await this.eq(keyField, k, signal)); }));
    return found;
  }

  private async lookupIn(keyField: string, keys: string[], into: Map<string, string[]>, signal?: AbortSignal): Promise<void> {
    const asked = new Set(keys);
    const cond = [this.textCondition(keyField, 'in', keys)];
    for (let page = 1; page <= MAX_PAGES_PER_QUERY; page++) {
      const p = await this.api.search(cond, { number: page, size: PAGE }, signal);
      // checked page by page: a server that ignores the operator is caught on the first page, not after reading all
      for (const r of p.records) {
        const k = keyOf(r, keyField);
        if (k === undefined || !asked.has(k)) throw new InNotHonoured(`the \`in\` search answered a record with key ${String(k)}, not one of those asked for`);
        into.set(k, [...(into.get(k) ?? []), r.id]);
      }
      if (p.records.length < PAGE || page * PAGE >= p.total) break;
    }
    this.inOperator = 'works';
  }

  /** Every record's key (key → ids), in creation-time slices of at most 5,000 rows each. */
  async scan(keyField: string, signal?: AbortSignal, now = Date.now()): Promise<Map<string, string[]>> {
    const keys = new Map<string, string[]>();
    for await (const records of this.records(signal, now)) {
      for (const r of records) {
        const k = keyOf(r, keyField);
        if (k !== undefined) keys.set(k, [...(keys.get(k) ?? []), r.id]);
      }
    }
    return keys;
  }

  /** Every record, slice by slice (oldest first); each record once, memory bounded by a slice. */
  async *records(signal?: AbortSignal, now = Date.now()): AsyncGenerator<FormRecord[]> {
    const seen = new Set<string>();
    // a few seconds past now: a clock a little ahead of ours still counts as now
    const slices: Array<[number, number]> = [[0, now + 5_000]];
    while (slices.length) {
      const [from, hi] = slices.pop()!;
      const slice = await this.readSlice(from, hi, signal);
      if ('split' in slice) {
        // Halve the span from its oldest record, not from its lower bound: a form filled over the last hours would
        // otherwise cost some forty probe searches halving the decades before it (each a metered call). The oldest
        // record's time is shown at minute precision (or coarser): a minute before it is a safe lower bound.
        const lo = slice.oldest === undefined ? from : Math.min(hi, Math.max(from, slice.oldest - 60_000));
        if (hi - lo < 1) throw new Error(`more than ${this.window} records were created in one millisecond; they cannot be listed`);
        const mid = Math.floor((lo + hi) / 2);
        slices.push([mid + 1, hi], [lo, mid]);
        continue;
      }
      const fresh = slice.filter((r) => { if (seen.has(r.id)) return false; seen.add(r.id); return true; });
      if (fresh.length) yield fresh;
    }
  }

  /** the records created in [lo, hi], or a split (with the oldest one's creation time) when a query cannot page through them */
  private async readSlice(lo: number, hi: number, signal?: AbortSignal): Promise<FormRecord[] | { split: true; oldest?: number }> {
    const cond: SearchCondition[] = [{ key: 'createTime', value: [lo, hi], type: 'DOUBLE', operator: 'between', componentName: 'DateField' }];
    const order = { gmt_create: '+' };
    for (let read = 1; ; read++) {
      const first = await this.api.search(cond, { number: 1, size: PAGE, order }, signal);
      if (first.total > this.window) {
        const t = Date.parse(first.records[0]?.createdAt ?? '');
        return { split: true, oldest: Number.isFinite(t) ? t : undefined };
      }
      const records = [...first.records];
      let stable = true;
      for (let page = 2; (page - 1) * PAGE < first.total; page++) {
        let p;
        try {
          p = await this.api.search(cond, { number: page, size: PAGE, order }, signal);
        } catch (err) {
          // the paging limit is lower than documented: learn it, and read this slice in smaller pieces
          if (!PAGING_LIMIT.test(String((err as { remoteCode?: unknown }).remoteCode ?? ''))) throw err;
          this.window = Math.max(PAGE, (page - 1) * PAGE);
          this.logger?.warn({ rows: this.window }, 'Yida refused to page further than documented; reading the form in smaller slices');
          return { split: true };
        }
        records.push(...p.records);
        if (p.total !== first.total) { stable = false; break; }
        if (p.records.length < PAGE) break;
      }
      if (stable) return records;
      if (read >= MAX_SLICE_READS) throw new Error(`the form kept changing while it was read (${read} reads of one slice)`);
    }
  }
}

class InNotHonoured extends Error {}
