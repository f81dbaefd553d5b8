/** OKKI's `YYYY-MM-DD HH:mm:ss` wall-clock texts in a configured IANA zone (Asia/Shanghai by default). */
import { formatDateTime, instantOf, parseWallClock as parseFields, wallClockOf } from '../time.js';

/** Wall-clock text of an instant in `timeZone`, truncated to the second. */
export function formatWallClock(instant: Date, timeZone: string): string {
  return formatDateTime(wallClockOf(instant, timeZone));
}

/** The instant a wall-clock text names in `timeZone`; undefined when the text is not `YYYY-MM-DD HH:mm:ss`. */
export function parseWallClock(text: string, timeZone: string): Date | undefined {
  // OKKI's own format only: the general reader also takes dates alone, `/` separators and fractions.
  if (!/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$/.test(text.trim())) return undefined;
  const r = parseFields(text);
  return r ? instantOf(r.wc, timeZone) : undefined;
}
