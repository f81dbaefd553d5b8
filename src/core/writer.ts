/** The writer port: what a run asks of the ledger-guarded writer (`sync/writer.ts`). */

/** One mapped product, ready to write. */
export interface WriteItem { productNo: string; formData: Record<string, unknown>; hash: string }

/** What writing one mapped product ended as. */
export type WriteOutcome =
  | { kind: 'created' | 'updated' | 'unchanged'; productNo: string; instanceId: string }
  | { kind: 'failed'; productNo: string; code: string; reason: string };

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
}

export interface OpenSessionOptions {
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
