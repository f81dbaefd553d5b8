/**
 * MySQL's DATETIME/TIME semantics for SUBTIME, ADDTIME and DATE_FORMAT: naive wall-clock arithmetic,
 * `[-][D ]HH:MM:SS[.ffffff]` intervals, `%` format specifiers, and NULL (here: null) for anything invalid.
 */
import { parseWallClock, type WallClock } from '../time.js';

export interface DateTimeValue { kind: 'datetime'; wc: WallClock; decimals: number }
export interface TimeValue { kind: 'time'; micros: number; decimals: number }

/** MySQL TIME range: ±838:59:59. */
const TIME_MAX_MICROS = (838 * 3600 + 59 * 60 + 59) * 1e6;

const TIME = /^([-+])?(?:(\d+)\s+)?(\d+)(?::(\d{1,2})(?::(\d{1,2}))?)?(?:\.(\d{1,6}))?$/;

/**
 * Reads a TIME literal the way MySQL does: `D HH:MM:SS`, `HH:MM:SS`, `HH:MM` (hours and minutes), and
 * colon-less digits read from the right as SS, MMSS or HHMMSS.
 */
export function parseTime(text: string): TimeValue | undefined {
  const m = TIME.exec(text.trim());
  if (!m) return undefined;
  const [, sign, dayPart, first, second, third, frac = ''] = m;
  let h: number; let min: number; let s: number;
  if (second !== undefined) {
    h = Number(first); min = Number(second); s = third === undefined ? 0 : Number(third);
  } else if (dayPart !== undefined) {
    h = Number(first); min = 0; s = 0;
  } else {
    const digits = first.padStart(6, '0');
    h = Number(digits.slice(0, -4)); min = Number(digits.slice(-4, -2)); s = Number(digits.slice(-2));
  }
  if (min > 59 || s > 59) return undefined;
  h += Number(dayPart ?? 0) * 24;
  const micros = (h * 3600 + min * 60 + s) * 1e6 + Number(frac.padEnd(6, '0'));
  return { kind: 'time', micros: sign === '-' ? -micros : micros, decimals: frac.length };
}

export function parseDateTime(text: string): DateTimeValue | undefined {
  const p = parseWallClock(text);
  return p ? { kind: 'datetime', wc: p.wc, decimals: p.decimals } : undefined;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const fraction = (micro: number, decimals: number) => (decimals > 0 ? `.${pad(micro, 6).slice(0, decimals)}` : '');

export function formatDateTimeValue(v: DateTimeValue): string {
  const { wc } = v;
  return `${pad(wc.year, 4)}-${pad(wc.month)}-${pad(wc.day)} ${pad(wc.hour)}:${pad(wc.minute)}:${pad(wc.second)}${fraction(wc.micro, v.decimals)}`;
}

export function formatTimeValue(v: TimeValue): string {
  const abs = Math.min(Math.abs(v.micros), TIME_MAX_MICROS);
  const secs = Math.floor(abs / 1e6);
  return `${v.micros < 0 ? '-' : ''}${pad(Math.floor(secs / 3600))}:${pad(Math.floor(secs / 60) % 60)}:${pad(secs % 60)}${fraction(abs % 1e6, v.decimals)}`;
}

/** datetime ± interval on naive fields; null outside MySQL's 0001..9999 years. */
export function shiftDateTime(v: DateTimeValue, deltaMicros: number, decimals: number): DateTimeValue | undefined {
  const d = new Date(0);
  d.setUTCFullYear(v.wc.year, v.wc.month - 1, v.wc.day);
  d.setUTCHours(v.wc.hour, v.wc.minute, v.wc.second, 0);
  const total = BigInt(d.getTime()) * 1000n + BigInt(v.wc.micro) + BigInt(deltaMicros);
  const micro = ((total % 1000000n) + 1000000n) % 1000000n;
  const r = new Date(Number((total - micro) / 1000n));
  const year = r.getUTCFullYear();
  if (!Number.isFinite(r.getTime()) || year < 1 || year > 9999) return undefined;
  return {
    kind: 'datetime', decimals,
    wc: { year, month: r.getUTCMonth() + 1, day: r.getUTCDate(), hour: r.getUTCHours(), minute: r.getUTCMinutes(), second: r.getUTCSeconds(), micro: Number(micro) },
  };
}

export function shiftTime(v: TimeValue, deltaMicros: number, decimals: number): TimeValue {
  return { kind: 'time', micros: v.micros + deltaMicros, decimals };
}

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function dayNumber(y: number, m: number, d: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d);
  return Math.floor(date.getTime() / 86_400_000);
}

/** 0 = Sunday (sundayFirst) or 0 = Monday; day 0 of the epoch was a Thursday. */
function weekdayOf(dayNr: number, sundayFirst: boolean): number {
  const sundayBased = (((dayNr + 4) % 7) + 7) % 7;
  return sundayFirst ? sundayBased : (sundayBased + 6) % 7;
}

const daysInYear = (y: number) => ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 366 : 365);

const WEEK_MONDAY_FIRST = 1;
const WEEK_YEAR = 2;
const WEEK_FIRST_WEEKDAY = 4;

/** MySQL's calc_week (sql/sql_time.cc), which %U %u %V %v %X %x are defined by. */
function calcWeek(wc: WallClock, behaviour: number): { week: number; year: number } {
  const dayNr = dayNumber(wc.year, wc.month, wc.day);
  let firstDayNr = dayNumber(wc.year, 1, 1);
  const mondayFirst = (behaviour & WEEK_MONDAY_FIRST) !== 0;
  let weekYear = (behaviour & WEEK_YEAR) !== 0;
  const firstWeekday = (behaviour & WEEK_FIRST_WEEKDAY) !== 0;
  let weekday = weekdayOf(firstDayNr, !mondayFirst);
  let year = wc.year;
  if (wc.month === 1 && wc.day <= 7 - weekday) {
    if (!weekYear && ((firstWeekday && weekday !== 0) || (!firstWeekday && weekday >= 4))) return { week: 0, year };
    weekYear = true;
    year--;
    const days = daysInYear(year);
    firstDayNr -= days;
    weekday = (weekday + 53 * 7 - days) % 7;
  }
  const days = (firstWeekday && weekday !== 0) || (!firstWeekday && weekday >= 4)
    ? dayNr - (firstDayNr + (7 - weekday))
    : dayNr - (firstDayNr - weekday);
  if (weekYear && days >= 52 * 7) {
    weekday = (weekday + daysInYear(year)) % 7;
    if ((!firstWeekday && weekday < 4) || (firstWeekday && weekday === 0)) return { week: 1, year: year + 1 };
  }
  return { week: Math.floor(days / 7) + 1, year };
}

function ordinal(n: number): string {
  if (n % 100 >= 11 && n % 100 <= 13) return `${n}th`;
  return `${n}${['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
}

/** DATE_FORMAT with MySQL's specifiers; `%x` for an unknown x prints x, as MySQL does. */
export function dateFormat(wc: WallClock, format: string): string {
  const dow = weekdayOf(dayNumber(wc.year, wc.month, wc.day), true);
  const hour12 = wc.hour % 12 === 0 ? 12 : wc.hour % 12;
  const ampm = wc.hour < 12 ? 'AM' : 'PM';
  const dayOfYear = dayNumber(wc.year, wc.month, wc.day) - dayNumber(wc.year, 1, 1) + 1;
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== '%' || i === format.length - 1) { out += c; continue; }
    const spec = format[++i];
    switch (spec) {
      case 'a': out += DAY_NAMES[dow].slice(0, 3); break;
      case 'b': out += MONTH_NAMES[wc.month - 1].slice(0, 3); break;
      case 'c': out += String(wc.month); break;
      case 'D': out += ordinal(wc.day); break;
      case 'd': out += pad(wc.day); break;
      case 'e': out += String(wc.day); break;
      case 'f': out += pad(wc.micro, 6); break;
      case 'H': out += pad(wc.hour); break;
      case 'h': case 'I': out += pad(hour12); break;
      case 'i': out += pad(wc.minute); break;
      case 'j': out += pad(dayOfYear, 3); break;
      case 'k': out += String(wc.hour); break;
      case 'l': out += String(hour12); break;
      case 'M': out += MONTH_NAMES[wc.month - 1]; break;
      case 'm': out += pad(wc.month); break;
      case 'p': out += ampm; break;
      case 'r': out += `${pad(hour12)}:${pad(wc.minute)}:${pad(wc.second)} ${ampm}`; break;
      case 'S': case 's': out += pad(wc.second); break;
      case 'T': out += `${pad(wc.hour)}:${pad(wc.minute)}:${pad(wc.second)}`; break;
      case 'U': out += pad(calcWeek(wc, WEEK_FIRST_WEEKDAY).week); break;
      case 'u': out += pad(calcWeek(wc, WEEK_MONDAY_FIRST).week); break;
      case 'V': out += pad(calcWeek(wc, WEEK_YEAR | WEEK_FIRST_WEEKDAY).week); break;
      case 'v': out += pad(calcWeek(wc, WEEK_YEAR | WEEK_MONDAY_FIRST).week); break;
      case 'W': out += DAY_NAMES[dow]; break;
      case 'w': out += String(dow); break;
      case 'X': out += pad(calcWeek(wc, WEEK_YEAR | WEEK_FIRST_WEEKDAY).year, 4); break;
      case 'x': out += pad(calcWeek(wc, WEEK_YEAR | WEEK_MONDAY_FIRST).year, 4); break;
      case 'Y': out += pad(wc.year, 4); break;
      case 'y': out += pad(wc.year % 100); break;
      default: out += spec;
    }
  }
  return out;
}
