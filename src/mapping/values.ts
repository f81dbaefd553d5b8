/** How template values are judged empty, rendered as text, read as instants and quoted in reasons. */
import { formatDateTime, instantOf, parseWallClock, parseZonedInstant, wallClockOf } from '../time.js';

/** undefined, null, blank text and empty lists all mean "no value": they become `null` everywhere. */
export function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0);
}

export function orNull(v: unknown): unknown {
  return isEmpty(v) ? null : v;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** JSON that never throws (cycles, BigInt): reasons and text fields must always be producible. */
export function safeJson(v: unknown): string {
  try {
    const s = JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
    return s === undefined ? String(v) : s;
  } catch {
    return '[unserializable]';
  }
}

/** Renders a value inside text: dates as wall-clock in `timeZone`, lists of scalars joined with `,`. */
export function toText(v: unknown, timeZone: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return formatDateTime(wallClockOf(v, timeZone));
  if (Array.isArray(v) && v.every((x) => x === null || ['string', 'number', 'boolean'].includes(typeof x))) {
    return v.filter((x) => !isEmpty(x)).map(String).join(',');
  }
  return safeJson(v);
}

/** Numbers below 1e11 are epoch seconds, larger ones epoch milliseconds (1e11 s is the year 5138, 1e11 ms is 1973). */
export function instantFromNumber(n: number): Date | undefined {
  if (!Number.isFinite(n)) return undefined;
  const d = new Date(Math.abs(n) < 1e11 ? n * 1000 : n);
  return Number.isFinite(d.getTime()) ? d : undefined;
}

/** An instant from a Date, an epoch number or text; wall-clock text is read in `timeZone`. */
export function toInstant(v: unknown, timeZone: string): Date | undefined {
  if (v instanceof Date) return Number.isFinite(v.getTime()) ? v : undefined;
  if (typeof v === 'number') return instantFromNumber(v);
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^-?\d+$/.test(t)) return instantFromNumber(Number(t));
    const zoned = parseZonedInstant(t);
    if (zoned) return zoned;
    const parsed = parseWallClock(t);
    return parsed ? instantOf(parsed.wc, timeZone) : undefined;
  }
  return undefined;
}

/** Quotes a value for a rejection reason, cut to `max` characters so one odd product cannot flood a report. */
export function quote(v: unknown, max = 60): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : safeJson(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

// Each piece can match in one way only, so a failing match costs linear time. (`\d+\.?\d*` could split a digit run
// between its two `\d` in n ways and backtracked quadratically: 40,000 digits and a letter took seconds.)
const PLAIN_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const GROUPED_NUMBER = /^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/;
/** Longer text is not a number anyone typed (a double has at most 17 significant digits): it is refused unread. */
export const MAX_NUMBER_TEXT = 400;

/** Numbers as OKKI sends them: `"12.50"`, `" 3 "`, `"1,234.5"`. Anything else is not a number. */
export function numberFromText(text: string): number | undefined {
  const t = text.trim();
  if (t.length > MAX_NUMBER_TEXT) return undefined;
  const plain = GROUPED_NUMBER.test(t) ? t.replace(/,/g, '') : t;
  if (!PLAIN_NUMBER.test(plain)) return undefined;
  const n = Number(plain);
  return Number.isFinite(n) ? n : undefined;
}
