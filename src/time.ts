/**
 * Wall-clock time in a named zone. OKKI speaks `YYYY-MM-DD HH:mm:ss` in Beijing time and Yida wants instants
 * (ms); everything between is done on naive wall-clock fields so that MySQL-style arithmetic stays naive too.
 */

/** A naive date-time: calendar fields with no zone. `micro` is 0..999999. */
export interface WallClock {
  year: number; month: number; day: number;
  hour: number; minute: number; second: number; micro: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try { formatter(timeZone); return true; } catch { return false; }
}

/** Offset of `timeZone` from UTC at the instant `ms`, in ms (Asia/Shanghai → +8 h). */
function offsetAt(ms: number, timeZone: string): number {
  const base = Math.floor(ms / 1000) * 1000;
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(base))) {
    if (part.type !== 'literal' && part.type !== 'era') p[part.type] = Number(part.value);
  }
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - base;
}

export function wallClockOf(instant: Date, timeZone: string): WallClock {
  const ms = instant.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('invalid date');
  const shifted = new Date(ms + offsetAt(ms, timeZone));
  return {
    year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate(),
    hour: shifted.getUTCHours(), minute: shifted.getUTCMinutes(), second: shifted.getUTCSeconds(),
    micro: shifted.getUTCMilliseconds() * 1000,
  };
}

/**
 * The instant a wall-clock reading in `timeZone` stands for. In a DST fold (a reading that happens twice) the
 * earlier one; in a gap (a reading that never happens) the reading is moved forward by the gap, as
 * Temporal's "compatible" disambiguation does.
 */
export function instantOf(wc: WallClock, timeZone: string): Date {
  const naive = naiveMs(wc);
  const day = 86_400_000;
  const before = offsetAt(naive - day, timeZone);
  const after = offsetAt(naive + day, timeZone);
  const roundTrips = (ms: number) => naiveMs(wallClockOf(new Date(ms), timeZone)) === naive;
  const candidates = [naive - before, naive - after].filter(roundTrips);
  return new Date(candidates.length > 0 ? Math.min(...candidates) : naive - before);
}

export function naiveMs(wc: WallClock): number {
  const d = new Date(0);
  d.setUTCFullYear(wc.year, wc.month - 1, wc.day);
  d.setUTCHours(wc.hour, wc.minute, wc.second, Math.floor(wc.micro / 1000));
  return d.getTime();
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function formatDate(wc: WallClock): string {
  return `${pad(wc.year, 4)}-${pad(wc.month)}-${pad(wc.day)}`;
}

export function formatDateTime(wc: WallClock): string {
  return `${formatDate(wc)} ${pad(wc.hour)}:${pad(wc.minute)}:${pad(wc.second)}`;
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

const DATE_TIME = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6}))?)?)?$/;

/**
 * Reads `YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]` (also `/` or `.` between date parts, `T` before the time), checking
 * every field's range. `0000-00-00 00:00:00`, which some PHP back ends use for "no date", is not a date.
 */
export function parseWallClock(text: string): { wc: WallClock; decimals: number } | undefined {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const frac = m[7] ?? '';
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  return { wc: { year, month, day, hour, minute, second, micro: Number(frac.padEnd(6, '0')) }, decimals: frac.length };
}

/** Text with an explicit zone (`Z`, `+08:00`): an instant on its own, no wall-clock guessing needed. */
export function parseZonedInstant(text: string): Date | undefined {
  const t = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(t)) return undefined;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}
