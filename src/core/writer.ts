/** The writer port: what the run pipeline asks of the ledger-guarded writer (`sync/writer.ts`). */

/** One mapped product, ready to write. */
export interface WriteItem { productNo: string; formData: Record<string, unknown>; hash: string }

/** What writing one mapped product ended as. */
export type WriteOutcome =
  | { kind: 'created' | 'updated' | 'unchanged'; productNo: string; instanceId: string }
  | { kind: 'failed'; productNo: string; code: string; reason: string };

/** Ledger-guarded writer: one sink instance per product number, whatever fails. */
export interface ProductWriter {
  /** `searchFirst`: look a product number without a ledger entry up in the sink before creating it (adopt what exists) */
  write(item: WriteItem, opts?: { signal?: AbortSignal; searchFirst?: boolean }): Promise<WriteOutcome>;
  /** before a backfill: learn in bulk which product numbers already have instances (optional) */
  preloadExisting?(signal?: AbortSignal): Promise<number | undefined>;
  dropExisting?(): void;
}
