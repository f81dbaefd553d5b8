/**
 * Yida's exact form-data filter (`searchCondition` of searchFormDataSecondGeneration): a JSON array of
 * `{key, value, type, operator, componentName}`. Text: eq/ne/like/contains/in; numbers and dates: gt ge lt le between;
 * the built-ins createTime/modifiedTime take ranges (ms numbers or date strings). A JSON map is the old fuzzy form.
 */
export class SearchError extends Error {}

/** what a condition is evaluated against: the version of a record a search can see */
export interface SearchView { data: Record<string, unknown>; createdAt: number; modifiedAt: number; creatorUserId: string }
export type Predicate = (v: SearchView) => boolean;

export const text = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

const CREATE_KEYS = new Set(['createTime', 'gmt_create', 'gmtCreate', 'createTimeGMT']);
const MODIFIED_KEYS = new Set(['modifiedTime', 'gmt_modified', 'gmtModified', 'modifiedTimeGMT']);

const NAIVE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/**
 * A time as ms: a number (ms since epoch), a numeric string, an ISO string with a zone, or a zone-less
 * "yyyy-MM-dd[ HH:mm[:ss]]" read at `offsetMinutes` east of UTC. `endOfDay` makes a bare date mean its last ms.
 */
export function parseTime(v: unknown, offsetMinutes: number, endOfDay = false): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v !== 'string' || v.trim() === '') return NaN;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const m = NAIVE.exec(s);
  if (m) {
    const [, y, mo, d, h, mi, sec] = m;
    const utc = Date.UTC(+y, +mo - 1, +d, +(h ?? 0), +(mi ?? 0), +(sec ?? 0)) - offsetMinutes * 60_000;
    return h === undefined && endOfDay ? utc + 86_400_000 - 1 : utc;
  }
  return Date.parse(s);
}

function fuzzyMap(parsed: Record<string, unknown>): Predicate {
  // Yida's map form matches text by substring: P-001 also finds P-0012.
  const entries = Object.entries(parsed).map(([k, v]) => [k, text(v)] as const);
  return (v) => entries.every(([k, want]) => text(v.data[k]).includes(want));
}

const num = (x: unknown): number => (typeof x === 'number' ? x : typeof x === 'string' && x.trim() !== '' ? Number(x) : NaN);

function compare(a: unknown, b: unknown): number {
  const x = num(a); const y = num(b);
  if (Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0;
}

function condition(c: unknown, i: number, offset: number): Predicate {
  if (!c || typeof c !== 'object' || typeof (c as { key?: unknown }).key !== 'string') throw new SearchError(`searchCondition[${i}].key is required`);
  const { key, value, operator = 'eq' } = c as { key: string; value?: unknown; operator?: string };
  const isTime = CREATE_KEYS.has(key) || MODIFIED_KEYS.has(key);
  const get = (v: SearchView): unknown => (CREATE_KEYS.has(key) ? v.createdAt : MODIFIED_KEYS.has(key) ? v.modifiedAt : v.data[key]);
  const bound = (x: unknown, end = false): unknown => {
    if (!isTime) return x;
    const t = parseTime(x, offset, end);
    if (!Number.isFinite(t)) throw new SearchError(`searchCondition[${i}]: ${JSON.stringify(x)} is not a time`);
    return t;
  };
  const pair = (): [unknown, unknown] => {
    if (!Array.isArray(value) || value.length !== 2) throw new SearchError(`searchCondition[${i}]: ${operator} needs a value [from, to]`);
    return [bound(value[0]), bound(value[1], true)];
  };
  switch (operator) {
    case 'eq': { const w = bound(value); return isTime ? (v) => get(v) === w : (v) => text(get(v)) === text(w); }
    case 'ne': { const w = bound(value); return isTime ? (v) => get(v) !== w : (v) => text(get(v)) !== text(w); }
    case 'like': case 'contains': {
      const w = text(value);
      return (v) => { const d = get(v); return Array.isArray(d) ? d.some((x) => text(x) === w) : text(d).includes(w); };
    }
    case 'in': {
      if (!Array.isArray(value)) throw new SearchError(`searchCondition[${i}]: in needs an array value`);
      const set = new Set(value.map((x) => text(bound(x))));
      return (v) => set.has(text(get(v)));
    }
    case 'gt': { const w = bound(value); return (v) => compare(get(v), w) > 0; }
    case 'ge': { const w = bound(value); return (v) => compare(get(v), w) >= 0; }
    case 'lt': { const w = bound(value, true); return (v) => compare(get(v), w) < 0; }
    case 'le': { const w = bound(value, true); return (v) => compare(get(v), w) <= 0; }
    case 'between': { const [lo, hi] = pair(); return (v) => compare(get(v), lo) >= 0 && compare(get(v), hi) <= 0; }
    default: throw new SearchError(`searchCondition[${i}].operator ${JSON.stringify(operator)} is not supported`);
  }
}

/** Parse a searchCondition / searchFieldJson string into a predicate; throws SearchError with the reason. */
export function parseCondition(json: string | undefined, offsetMinutes: number, field = 'searchCondition'): Predicate {
  if (json === undefined || json.trim() === '') return () => true;
  let parsed: unknown;
  try { parsed = JSON.parse(json); } catch { throw new SearchError(`${field} is not valid JSON`); }
  if (Array.isArray(parsed)) {
    const conds = parsed.map((c, i) => condition(c, i, offsetMinutes));
    return (v) => conds.every((c) => c(v));
  }
  if (parsed && typeof parsed === 'object') return fuzzyMap(parsed as Record<string, unknown>);
  throw new SearchError(`${field} must be a JSON array or object`);
}

export type Order = (a: SearchView & { seq: number }, b: SearchView & { seq: number }) => number;

/**
 * orderConfigJson: `{"gmt_create":"+"}` ascending, "-" descending (also "asc"/"desc"); keys are the built-ins or field
 * ids. Default (and tie-break): newest first, like Yida's lists.
 */
export function parseOrder(json: string | undefined): Order {
  const newest: Order = (a, b) => b.createdAt - a.createdAt || b.seq - a.seq;
  if (json === undefined || json.trim() === '') return newest;
  let parsed: unknown;
  try { parsed = JSON.parse(json); } catch { throw new SearchError('orderConfigJson is not valid JSON'); }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SearchError('orderConfigJson must be a JSON object');
  const keys = Object.entries(parsed as Record<string, unknown>).map(([k, dir]) => {
    const d = String(dir).toLowerCase();
    if (!['+', '-', 'asc', 'desc'].includes(d)) throw new SearchError(`orderConfigJson.${k}: expected "+" or "-"`);
    const sign = d === '+' || d === 'asc' ? 1 : -1;
    const get = (v: SearchView): unknown => (CREATE_KEYS.has(k) ? v.createdAt : MODIFIED_KEYS.has(k) ? v.modifiedAt : v.data[k]);
    return { get, sign };
  });
  return (a, b) => {
    for (const { get, sign } of keys) { const c = compare(get(a), get(b)); if (c) return sign * c; }
    const asc = keys.length ? keys[0].sign : -1;
    return asc * (a.seq - b.seq);
  };
}
