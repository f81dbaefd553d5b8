/**
 * Turns an evaluated (non-empty) value into what the Yida component expects. Each field has one of four
 * types; `componentName` (or, failing that, the Yida field id's prefix) picks the type when none is given.
 */
import { wallClockOf, formatDateTime, parseWallClock } from '../time.js';
import { isEmpty, isPlainObject, numberFromText, quote, safeJson, toInstant } from './values.js';

export const FIELD_TYPES = ['string', 'number', 'date', 'array'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** Yida components the connector knows how to fill, and the value type each takes. */
export const COMPONENT_TYPES: Readonly<Record<string, FieldType>> = {
  TextField: 'string',
  TextareaField: 'string',
  SelectField: 'string',
  RadioField: 'string',
  NumberField: 'number',
  RateField: 'number',
  DateField: 'date',
  CheckboxField: 'array',
  MultiSelectField: 'array',
  EmployeeField: 'array',
  DepartmentSelectField: 'array',
};

/** `numberField_lq0sj9h9` → NumberField: Yida derives field ids from the component, so the prefix is reliable. */
export function componentFromFieldId(fieldId: string): string | undefined {
  const m = /^([a-z][A-Za-z]*Field)_/.exec(fieldId);
  if (!m) return undefined;
  const name = m[1][0].toUpperCase() + m[1].slice(1);
  return name in COMPONENT_TYPES ? name : undefined;
}

export type Coerced = { ok: true; value: unknown } | { ok: false; problem: string };

/** List items are separated by ASCII or full-width commas/semicolons, 、 or new lines. */
const LIST_SEPARATOR = /[,，;；、\n]/;

function asString(v: unknown, timeZone: string): Coerced {
  if (typeof v === 'string') return { ok: true, value: v };
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return { ok: true, value: String(v) };
  if (v instanceof Date) return { ok: true, value: formatDateTime(wallClockOf(v, timeZone)) };
  if (Array.isArray(v) && v.every((x) => x === null || ['string', 'number', 'boolean'].includes(typeof x))) {
    return { ok: true, value: v.filter((x) => !isEmpty(x)).map(String).join(',') };
  }
  return { ok: true, value: safeJson(v) };
}

function asNumber(v: unknown): Coerced {
  const n = typeof v === 'number' ? (Number.isFinite(v) ? v : undefined) : typeof v === 'string' ? numberFromText(v) : undefined;
  return n === undefined ? { ok: false, problem: `${quote(v)} is not a number` } : { ok: true, value: n };
}

/** `0000-00-00 00:00:00` is how PHP back ends say "no date": empty, not invalid. */
const ZERO_DATE = /^0000-00-00( 00:00:00)?$/;

function asDate(v: unknown, timeZone: string): Coerced {
  if (typeof v === 'string' && ZERO_DATE.test(v.trim())) return { ok: true, value: null };
  const d = toInstant(v, timeZone);
  if (!d) {
    const hint = typeof v === 'string' && !parseWallClock(v) ? ' (expected YYYY-MM-DD HH:mm:ss, YYYY-MM-DD, ISO 8601 or epoch ms)' : '';
    return { ok: false, problem: `${quote(v)} is not a date${hint}` };
  }
  return { ok: true, value: d.getTime() };
}

function asArray(v: unknown, timeZone: string): Coerced {
  let items: unknown[];
  if (Array.isArray(v)) items = v;
  else if (typeof v === 'string') items = v.split(LIST_SEPARATOR);
  else if (typeof v === 'number' || typeof v === 'boolean') items = [v];
  else return { ok: false, problem: `${quote(v)} is not a list` };
  const out: unknown[] = [];
  for (const item of items) {
    if (isEmpty(item)) continue;
    if (typeof item === 'string') out.push(item.trim());
    else if (typeof item === 'number' || typeof item === 'boolean') out.push(String(item));
    else if (item instanceof Date) out.push(formatDateTime(wallClockOf(item, timeZone)));
    else if (isPlainObject(item)) out.push(item);
    else return { ok: false, problem: `${quote(v)} is not a list of values` };
  }
  return { ok: true, value: out.length > 0 ? out : null };
}

/** A non-empty value → the field's type. `value: null` means it turned out empty (e.g. a zero date). */
export function coerce(v: unknown, type: FieldType, timeZone: string): Coerced {
  switch (type) {
    case 'string': return asString(v, timeZone);
    case 'number': return asNumber(v);
    case 'date': return asDate(v, timeZone);
    case 'array': return asArray(v, timeZone);
  }
}
