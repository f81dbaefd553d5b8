/**
 * The functions `_function` expressions may call. MySQL semantics: a NULL argument makes the result NULL
 * (except IFNULL/COALESCE), invalid dates and times give NULL rather than an error. Names are case-insensitive.
 */
import { ValueProblem } from './errors.js';
import {
  dateFormat, formatDateTimeValue, formatTimeValue, parseDateTime, parseTime, shiftDateTime, shiftTime,
  type DateTimeValue, type TimeValue,
} from './mysql-time.js';
import { wallClockOf, type WallClock } from '../time.js';
import type { EvalEnv } from './variables.js';
import { numberFromText, quote, toInstant, toText } from './values.js';

export interface FunctionDef {
  name: string;
  minArgs: number;
  maxArgs: number;
  /** signature for messages and docs */
  signature: string;
  call(args: unknown[], env: EvalEnv): unknown;
}

const isNull = (v: unknown) => v === null || v === undefined;

function temporal(v: unknown, env: EvalEnv): DateTimeValue | TimeValue | undefined {
  if (v instanceof Date) return { kind: 'datetime', wc: wallClockOf(v, env.ctx.timezone), decimals: 0 };
  if (typeof v === 'number') return Number.isFinite(v) ? parseTime(String(v)) : undefined;
  if (typeof v === 'string') return parseDateTime(v) ?? parseTime(v);
  return undefined;
}

function interval(v: unknown): TimeValue | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? parseTime(String(v)) : undefined;
  return typeof v === 'string' ? parseTime(v) : undefined;
}

function addTime(a: unknown, b: unknown, sign: 1 | -1, env: EvalEnv): string | null {
  if (isNull(a) || isNull(b)) return null;
  const base = temporal(a, env);
  const delta = interval(b);
  if (!base || !delta) return null;
  const decimals = Math.max(base.decimals, delta.decimals);
  if (base.kind === 'time') return formatTimeValue(shiftTime(base, sign * delta.micros, decimals));
  const shifted = shiftDateTime(base, sign * delta.micros, decimals);
  return shifted ? formatDateTimeValue(shifted) : null;
}

function wallClockFor(v: unknown, env: EvalEnv): WallClock | undefined {
  if (typeof v === 'string') {
    const dt = parseDateTime(v);
    if (dt) return dt.wc;
  }
  const instant = toInstant(v, env.ctx.timezone);
  return instant ? wallClockOf(instant, env.ctx.timezone) : undefined;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return numberFromText(v);
  return undefined;
}

/** Half away from zero on the decimal digits (MySQL's rule for exact values), so ROUND(1.005, 2) is 1.01. */
export function roundHalfAwayFromZero(x: number, digits: number): number {
  const text = String(Math.abs(x));
  if (/e/i.test(text)) {
    const f = 10 ** digits;
    return (Math.sign(x) * Math.round(Math.abs(x) * f)) / f;
  }
  const [int, frac = ''] = text.split('.');
  const scaled = BigInt(int + frac);
  const drop = frac.length - digits;
  if (drop <= 0) return x;
  const divisor = 10n ** BigInt(drop);
  let q = scaled / divisor;
  if ((scaled % divisor) * 2n >= divisor) q += 1n;
  const r = Number(`${q}e${-digits}`);
  return x < 0 && r !== 0 ? -r : r;
}

const text = (v: unknown, env: EvalEnv) => toText(v, env.ctx.timezone);

const FUNCTIONS: readonly FunctionDef[] = [
  { name: 'SUBTIME', minArgs: 2, maxArgs: 2, signature: 'SUBTIME(datetime, interval)', call: ([a, b], env) => addTime(a, b, -1, env) },
  { name: 'ADDTIME', minArgs: 2, maxArgs: 2, signature: 'ADDTIME(datetime, interval)', call: ([a, b], env) => addTime(a, b, 1, env) },
  {
    name: 'DATE_FORMAT', minArgs: 2, maxArgs: 2, signature: 'DATE_FORMAT(date, format)',
    call: ([d, f], env) => {
      if (isNull(d) || isNull(f)) return null;
      const wc = wallClockFor(d, env);
      return wc ? dateFormat(wc, text(f, env)) : null;
    },
  },
  {
    name: 'CONCAT', minArgs: 1, maxArgs: 255, signature: 'CONCAT(text, ...)',
    call: (args, env) => (args.some(isNull) ? null : args.map((a) => text(a, env)).join('')),
  },
  { name: 'IFNULL', minArgs: 2, maxArgs: 2, signature: 'IFNULL(value, fallback)', call: ([a, b]) => (isNull(a) ? b : a) },
  { name: 'COALESCE', minArgs: 1, maxArgs: 255, signature: 'COALESCE(value, ...)', call: (args) => args.find((a) => !isNull(a)) ?? null },
  {
    name: 'REPLACE', minArgs: 3, maxArgs: 3, signature: 'REPLACE(text, from, to)',
    call: ([s, from, to], env) => {
      if (isNull(s) || isNull(from) || isNull(to)) return null;
      const f = text(from, env);
      return f === '' ? text(s, env) : text(s, env).split(f).join(text(to, env));
    },
  },
  { name: 'UPPER', minArgs: 1, maxArgs: 1, signature: 'UPPER(text)', call: ([s], env) => (isNull(s) ? null : text(s, env).toUpperCase()) },
  { name: 'LOWER', minArgs: 1, maxArgs: 1, signature: 'LOWER(text)', call: ([s], env) => (isNull(s) ? null : text(s, env).toLowerCase()) },
  { name: 'TRIM', minArgs: 1, maxArgs: 1, signature: 'TRIM(text)', call: ([s], env) => (isNull(s) ? null : text(s, env).trim()) },
  {
    name: 'ROUND', minArgs: 1, maxArgs: 2, signature: 'ROUND(number[, decimals])',
    call: ([x, d]) => {
      if (isNull(x) || (d !== undefined && isNull(d))) return null;
      const n = toNumber(x);
      if (n === undefined) throw new ValueProblem(`ROUND: ${quote(x)} is not a number`);
      const digits = d === undefined ? 0 : toNumber(d);
      if (digits === undefined || !Number.isInteger(digits) || Math.abs(digits) > 30) throw new ValueProblem(`ROUND: ${quote(d)} is not a whole number of decimals`);
      return roundHalfAwayFromZero(n, digits);
    },
  },
];

export function lookupFunction(name: string): FunctionDef | undefined {
  const upper = name.toUpperCase();
  return FUNCTIONS.find((f) => f.name === upper);
}

export const FUNCTION_NAMES: readonly string[] = FUNCTIONS.map((f) => f.name);
export const FUNCTION_SIGNATURES: readonly string[] = FUNCTIONS.map((f) => f.signature);
