/** Which update-time window a run reads. */
import type { RunMode, SyncWindow } from '../core/index.js';

/**
 * Incremental: from the cursor minus the lookback overlap (so rows written late at the edge of the last window are
 * read again; the ledger makes that harmless) up to now. Full, or no cursor yet: everything up to now.
 */
export function windowFor(mode: RunMode, cursor: Date | undefined, lookbackSeconds: number, now: Date): SyncWindow {
  if (mode === 'full' || cursor === undefined) return { end: now };
  const start = new Date(cursor.getTime() - lookbackSeconds * 1000);
  return { start: start < now ? start : now, end: now };
}
