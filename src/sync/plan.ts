/**
 * What a run will do, decided once at its start from the trigger and the cursor: its mode, the window or the product
 * numbers it reads, and whether instances the ledger does not know may exist. A new mode (sweep, audit) is planned
 * here and read in `lifecycle.ts`; a new trigger only needs a `RunTrigger` name.
 */
import type { RunMode, SyncWindow, TriggerRequest } from '../core/index.js';
import { windowFor } from './window.js';

export interface RunPlan {
  runId: string;
  mode: RunMode;
  /** the update-time window read; absent for a targeted run */
  window?: SyncWindow;
  /** the product numbers a targeted run reads */
  targets?: readonly string[];
  /**
   * Targets that are *gone* when OKKI does not have them (not a rejection): the ones OKKI reported deleted, and, in a
   * push run, every target (an event for a product deleted since). Acted on per SYNC_DELETIONS.
   */
  goneIfMissing?: ReadonlySet<string>;
  /** the cursor before the run (LAST_SYNC_TIME); undefined on the first run */
  cursor?: Date;
  /** run start (CURRENT_TIME) */
  now: Date;
  /**
   * No cursor (first run, or a store that lost its ledger): instances may already exist in the sink, so every new
   * product number is looked up before it is created, and a lost ledger never means a second instance.
   */
  adopt: boolean;
  /** stops the run: shutdown, a lost lease, a failure no later product can escape */
  signal: AbortSignal;
  /** the trigger as asked, for what a mode needs beyond the above */
  request: Readonly<TriggerRequest>;
}

/** The mode a trigger asks for: product numbers (changed or deleted) make it targeted. */
export function modeOf(req: Pick<TriggerRequest, 'mode' | 'productNos' | 'deletedProductNos'>): RunMode {
  return req.productNos?.length || req.deletedProductNos?.length ? 'targeted' : req.mode ?? 'incremental';
}

/** Modes that read the whole catalogue and compare (mirror.ts): no window, no cursor move. */
export const isMirrorMode = (mode: RunMode): mode is 'sweep' | 'audit' => mode === 'sweep' || mode === 'audit';

export function planRun(
  req: TriggerRequest, at: { runId: string; cursor?: Date; now: Date; lookbackSeconds: number; signal: AbortSignal },
): RunPlan {
  const mode = modeOf(req);
  const base = { runId: at.runId, mode, cursor: at.cursor, now: at.now, adopt: at.cursor === undefined, signal: at.signal, request: req };
  if (mode === 'targeted') {
    const deleted = req.deletedProductNos ?? [];
    const targets = [...new Set([...(req.productNos ?? []), ...deleted])];
    return { ...base, targets, goneIfMissing: new Set(req.trigger === 'push' ? targets : deleted) };
  }
  if (isMirrorMode(mode)) return base;
  return { ...base, window: windowFor(mode, at.cursor, at.lookbackSeconds, at.now) };
}
