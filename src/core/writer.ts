/** The writer port: what a run asks of the ledger-guarded writer (`sync/writer.ts`). */

/** One mapped product, ready to write. */
export interface WriteItem {
  productNo: string;
  formData: Record<string, unknown>;
  hash: string;
  /**
   * The value the sink holds in its key field (the mapping's output for the key field, e.g. `SKU-P-001` for
   * `SKU-{product_no}`): the ledger, the exact searches and the bulk scan are keyed by it. Absent: the product number.
   */
  key?: string;
  /** the OKKI product_id: a product number is held by one product, across runs (DUPLICATE_PRODUCT_NO) */
  productId?: string | number | null;
}

/** A lease held with a fencing token: ledger transitions carrying it are refused once the lease is not the run's. */
export interface Fence { lock: string; owner: string; token: number }

/** A product refused for a reason that will not go away by trying again, parked until its content changes. */
export interface ParkedInfo {
  code: string; reason: string; hash: string; since: string;
  /** the sink target it was refused by (form, app): a product parked under another target is tried again */
  scope?: string;
}

/** What writing one mapped product ended as. */
export type WriteOutcome =
  | { kind: 'created' | 'updated' | 'unchanged'; productNo: string; instanceId: string }
  | { kind: 'failed'; productNo: string; code: string; reason: string }
  /**
   * refused for good (the sink refused the data, more than one instance holds the key, another product holds the
   * number): counted as rejected, the cursor moves; `parked` when it is remembered and skipped until its content
   * changes or a product_nos run names it
   */
  | { kind: 'rejected'; productNo: string; code: string; reason: string; parked?: ParkedInfo };

/**
 * What one run tells the writer about all its writes: opened at the start of the run, handed to every write, dropped
 * with the run (so nothing learnt in one run leaks into the next). Per-run facts the writer needs go here.
 */
export interface WriteSession {
  /** the run's signal: a stopped run stops waiting (writes already sent settle) */
  readonly signal?: AbortSignal;
  /**
   * Adopt instances the ledger does not know: a product number without a ledger entry is looked up in the sink before
   * it is created (no cursor yet: a first sync onto a form that may hold instances, or a store that lost its ledger).
   */
  readonly adopt: boolean;
  /** with `adopt`: every instance's key read in bulk at the start (key → ids); absent = look each key up instead */
  readonly existing?: ReadonlyMap<string, readonly string[]>;
  /**
   * A run that names its products (a product_nos run): parked products are tried again, and a product number held by
   * another OKKI product passes to the product the run read.
   */
  readonly named?: boolean;
  /** parked products are tried again whatever their content (a product_nos run, or a full run an operator asked for) */
  readonly retryParked?: boolean;
  /** the run's lease: every ledger transition checks it, and a stale one stops the run (SYNC_FENCE_STALE) */
  readonly fence?: Fence;
}

export interface OpenSessionOptions {
  named?: boolean;
  retryParked?: boolean;
  fence?: Fence;
  adopt: boolean;
  /** with `adopt`: read every key in bulk up front (worth it for a backfill; a targeted run looks its few up) */
  bulk?: boolean;
  signal?: AbortSignal;
}

/** Ledger-guarded writer: one sink instance per product number, whatever fails. */
export interface ProductWriter {
  /** open the run's session; with `adopt` the sink's keys are read in bulk when the sink can (never throws) */
  openSession(opts: OpenSessionOptions): Promise<WriteSession>;
  /** never throws: every failure is a `failed` outcome with a stable code (no session = no adoption, no signal) */
  write(item: WriteItem, session?: WriteSession): Promise<WriteOutcome>;
  /** send what a batching sink holds back; called before the caller waits for its writes (optional) */
  flush?(session?: WriteSession): Promise<void>;
}
