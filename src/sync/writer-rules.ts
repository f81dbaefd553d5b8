/**
 * The writer's rules that are not calls: what a product is keyed by, which refusals are for good (parked), and who
 * holds a product number. Kept apart from the write sequence in writer.ts.
 */
import { ConnectorError, errorCode, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { productIdText, sinkErrorKind, type ParkedInfo, type WriteItem, type WriteOutcome } from '../core/index.js';
import type { LedgerEntry } from '../store/types.js';

/** The ledger/search key: the value the sink holds in its key field, else the product number. */
export function keyOf(item: WriteItem): string {
  return typeof item.key === 'string' && item.key !== '' ? item.key : item.productNo;
}

/** The OKKI product id as the ledger keeps it (ids arrive as numbers or text). */
export function productIdOf(item: WriteItem): string | undefined {
  return productIdText(item.productId);
}

/**
 * The entry with the product it belongs to: the OKKI product id, and the product number when the key field holds
 * something else (`SKU-P-001`): the mirror proves a gone product by asking OKKI for it, never for the key.
 */
export function ownedEntry(entry: LedgerEntry, key: string, productNo: string, productId: string | undefined): LedgerEntry {
  const e: LedgerEntry = { ...entry };
  delete e.productId;
  delete e.productNo;
  if (productId !== undefined) e.productId = productId;
  if (key !== productNo) e.productNo = productNo;
  return e;
}

/**
 * Refusals that trying again cannot fix while the data stays the same: the sink refused the data (a value too long, a
 * form rule), or more than one instance holds the key (a human decides which stays). Throttling, 5xx and timeouts are
 * not among them: those hold the cursor.
 */
export function isForGood(err: unknown): boolean {
  const kind = sinkErrorKind(err);
  return kind === 'rejected' || kind === 'duplicate';
}

export function parkedInfo(err: unknown, hash: string, now: Date, scope: string | undefined): ParkedInfo {
  const e = err as { code?: string; message?: string };
  const info: ParkedInfo = { code: String(e?.code ?? 'YIDA_REJECTED'), reason: String(e?.message ?? err), hash, since: now.toISOString() };
  if (scope) info.scope = scope;
  return info;
}

/**
 * Is the product still parked for this write? Same content, refused by the same target (a refusal that came from a
 * misconfigured form is not held against the product once the configuration changes), and not a run that retries.
 */
export function isStillParked(parked: ParkedInfo | undefined, hash: string, scope: string | undefined, retry: boolean): parked is ParkedInfo {
  return Boolean(parked) && !retry && parked!.hash === hash && (parked!.scope ?? '') === (scope ?? '');
}

/** The outcome of a product skipped because it is parked with this very content. */
export function stillParked(item: WriteItem, parked: ParkedInfo): WriteOutcome {
  return { kind: 'rejected', productNo: item.productNo, code: parked.code, reason: `parked since ${parked.since} (content unchanged): ${parked.reason}`, parked };
}

/**
 * A second OKKI product claims a product number the ledger says another product holds. Outside a product_nos run
 * that names it (an operator's decision), it is rejected: the holder keeps its instance.
 */
export function heldByAnother(item: WriteItem, entry: LedgerEntry | undefined, named: boolean): WriteOutcome | undefined {
  const claimant = productIdOf(item);
  if (!entry?.productId || !claimant || entry.productId === claimant || entry.gone || named) return undefined;
  return {
    kind: 'rejected', productNo: item.productNo, code: 'DUPLICATE_PRODUCT_NO',
    reason: `product number ${item.productNo} is held by OKKI product ${entry.productId}; product ${claimant} claims it too, so only ${entry.productId} is synced (a product_nos run naming ${item.productNo} hands it to the product OKKI returns for it)`,
  };
}

/** A pending write is too young for an empty search to prove it never happened: it is left for a later run. */
export class PendingTooRecentError extends ConnectorError {
  constructor(productNo: string, ageMs: number) {
    super('LEDGER_PENDING_RECENT', `a write of ${productNo} began ${Math.round(ageMs / 1000)} s ago and is not visible in Yida's search yet; it is left for a later run (YIDA_SEARCH_LAG)`);
  }
}

/** Another writer (a second process or replica) changed the product's ledger entry between our read and our claim. */
export class LedgerConflictError extends ConnectorError {
  constructor(productNo: string) {
    super('LEDGER_CONFLICT', `another run changed the ledger entry of ${productNo} at the same moment; nothing was written, the next run checks it again`);
  }
}

/** A write that failed: its stable code and reason (a stopped run's writes say so: the next run finishes them). */
export function failedOutcome(item: WriteItem, err: unknown, signal: AbortSignal | undefined, logger?: Logger): WriteOutcome {
  const code = signal?.aborted === true && errorCode(err) !== 'SYNC_FENCE_STALE' ? 'SYNC_ABORTED' : errorCode(err);
  // Stopped mid-way, the write may or may not have reached Yida: the ledger says pending when it might have, and the
  // next run's search settles it either way.
  const reason = code === 'SYNC_ABORTED' ? 'the run was stopped before this product\'s write was confirmed; the next run checks Yida and finishes it' : errorMessage(err);
  // debug: a failure storm would be one line per product per run; the run's end summarises them (finish.ts).
  logger?.debug({ productNo: item?.productNo, code, reason }, 'product not written');
  return { kind: 'failed', productNo: item?.productNo ?? '', code, reason };
}
