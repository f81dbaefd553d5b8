/**
 * Shift-safe windowed pull. OKKI pages by offset (`start_index`), so a row updated while a window is being read
 * leaves it and every later row moves up: one row slides across a page boundary unseen. Each window is therefore
 * paged in passes, and a pass counts as covering the window only when `data.count` stayed the same on every page
 * and the pass saw that many distinct rows. Otherwise the window is split at the update times the pass saw into
 * pieces of about half a page (a single-page read cannot lose a row), and single-second windows are re-read, up to
 * a bound. Rows already delivered are skipped, so each row is delivered once per pull. Memory: one page plus a
 * map of the ids seen (and, per pass, the update times seen, used to choose split points).
 *
 * Assumption (documented, not checkable): with `end` in the past, rows only leave a window; a row entering it
 * at the same moment another leaves would keep `data.count` unchanged.
 */
import type { Logger } from '../log.js';
import { OkkiWindowUnstableError } from './errors.js';
import { rowKey } from './items.js';

export interface ListPage { count: number; list: unknown[] }

export interface PullPlan {
  /** epoch seconds, inclusive; undefined = no lower bound */
  startS?: number;
  /** epoch seconds, inclusive; undefined = no upper bound (a sweep reads the whole list, without a time window) */
  endS?: number;
  pageSize: number;
  /** re-reads of an unsplittable (single-second) window before giving up */
  maxPasses: number;
  list(startS: number | undefined, endS: number | undefined, startIndex: number, count: number): Promise<ListPage>;
  /** epoch seconds of a row's update_time, when readable */
  updateSeconds(raw: unknown): number | undefined;
  logger: Logger;
  /** called when the server serves fewer rows than asked while more remain (it clamps `count`) */
  onClamp?(served: number): void;
  /** told the window's size (`data.count` of its first page) once, for run progress */
  onTotal?(total: number): void;
}

interface Span { lo?: number; hi?: number }

/** Yields the raw rows of each page not delivered before (possibly empty arrays are skipped). */
export async function* pullWindow(plan: PullPlan): AsyncGenerator<unknown[]> {
  // key → serial of the last pass that saw it; a key present at all = delivered
  const seen = new Map<string | number, number>();
  let pass = 0;
  let pageSize = plan.pageSize;
  const stack: Span[] = [{ lo: plan.startS, hi: plan.endS }];
  if (plan.startS !== undefined && plan.endS !== undefined && plan.startS > plan.endS) return;

  while (stack.length) {
    const span = stack.pop()!;
    for (let tries = 1; ; tries++) {
      pass++;
      const counts: number[] = [];
      const times: number[] = [];
      let distinct = 0;
      let restart = false;
      for (let index = 1; ; index++) {
        const page = await plan.list(span.lo, span.hi, index, pageSize);
        const rows = Array.isArray(page.list) ? page.list : [];
        const total = Number.isFinite(Number(page.count)) ? Number(page.count) : rows.length;
        if (index === 1 && rows.length > 0 && rows.length < pageSize && total > rows.length) {
          // the server clamps `count`: page numbers only mean something at its size, so restart at that size
          pageSize = rows.length;
          plan.onClamp?.(pageSize);
          restart = true;
        }
        counts.push(total);
        if (pass === 1 && index === 1) plan.onTotal?.(total);
        const fresh: unknown[] = [];
        for (const raw of rows) {
          const key = rowKey(raw);
          const last = seen.get(key);
          if (last !== pass) distinct++;
          if (last === undefined) fresh.push(raw);
          seen.set(key, pass);
          const t = plan.updateSeconds(raw);
          if (t !== undefined) times.push(t);
        }
        if (fresh.length) yield fresh;
        if (restart || rows.length < pageSize || index * pageSize >= total) break;
      }
      if (restart) { tries--; continue; }
      const last = counts[counts.length - 1];
      if (counts.every((c) => c === last) && distinct >= last) break;

      const pieces = splitSpan(span, times, Math.max(1, Math.floor(pageSize / 2)));
      plan.logger.info({ window: span, pass, counts: [counts[0], last], distinct, pieces: pieces.length }, 'OKKI window changed while paging; re-reading it in smaller windows');
      if (pieces.length > 1) {
        // newest first, like the list itself
        for (const p of pieces) stack.push(p);
        break;
      }
      if (tries >= plan.maxPasses) {
        throw new OkkiWindowUnstableError(`OKKI kept changing the rows of a one-second window while it was read (${tries} passes); the next run repeats it`, { window: span });
      }
    }
  }
}

/**
 * Split a span at observed update times so each piece holds about `chunk` of the rows seen. Returned oldest first.
 * A span that cannot be split (a single second) comes back whole.
 */
export function splitSpan(span: Span, times: number[], chunk: number): Span[] {
  const hi = span.hi ?? Number.POSITIVE_INFINITY;
  const inside = times.filter((t) => (span.lo === undefined || t >= span.lo) && t <= hi).sort((a, b) => a - b);
  const cuts: number[] = [];
  for (let i = chunk; i < inside.length; i += chunk) {
    const c = inside[i];
    if ((span.lo === undefined || c > span.lo) && c <= hi && (cuts.length === 0 || c > cuts[cuts.length - 1])) cuts.push(c);
  }
  if (!cuts.length) {
    // all rows seen share a second (or none were seen): isolate the span's newest second from the rest
    if (span.lo !== undefined && span.lo >= hi) return [span];
    const newest = inside.length ? inside[inside.length - 1] : hi;
    // an open-ended span with no rows seen has no second to cut at: it is re-read whole
    if (!Number.isFinite(newest)) return [span];
    const c = newest > (span.lo ?? -Infinity) ? newest : hi;
    if (!Number.isFinite(c) || (span.lo !== undefined && c <= span.lo)) return [span];
    cuts.push(c);
  }
  const out: Span[] = [];
  let lo = span.lo;
  for (const c of cuts) { out.push({ lo, hi: c - 1 }); lo = c; }
  out.push({ lo, hi: span.hi });
  return out;
}
