/** OKKI's `YYYY-MM-DD HH:mm:ss` wall-clock texts in a configured IANA zone (Asia/Shanghai by default). */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function fields(instantMs: number, timeZone: string): number[] {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instantMs))) parts[p.type] = p.value;
  return [+parts.year, +parts.month, +parts.day, +parts.hour, +parts.minute, +parts.second];
}

/** Wall-clock text of an instant in `timeZone`, truncated to the second. */
export function formatWallClock(instant: Date, timeZone: string): string {
  const [y, mo, d, h, mi, s] = fields(instant.getTime(), timeZone);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${String(y).padStart(4, '0')}-${p(mo)}-${p(d)} ${p(h)}:${p(mi)}:${p(s)}`;
}

/** The instant a wall-clock text names in `timeZone`; undefined when the text is not `YYYY-MM-DD HH:mm:ss`. */
export function parseWallClock(text: string, timeZone: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
  // offset at the guess, then once more at the corrected instant (DST edges)
  let t = asUtc - offsetMs(asUtc, timeZone);
  t = asUtc - offsetMs(t, timeZone);
  return new Date(t);
}

function offsetMs(instantMs: number, timeZone: string): number {
  const [y, mo, d, h, mi, s] = fields(instantMs, timeZone);
  return Date.UTC(y, mo - 1, d, h, mi, s) - Math.floor(instantMs / 1000) * 1000;
}
