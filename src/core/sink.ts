/**
 * The sink port: where mapped products are written (today Yida process instances; a plain Yida form next). The
 * ledger-guarded writer (`sync/writer.ts`) depends on this interface only, so a new sink plugs in without touching it.
 *
 * Contract for every implementation:
 *  - `create` resolves with the new instance's id, or throws a sink error (`core/sink-errors.ts`) saying what is known:
 *    WriteAmbiguousError when the instance may or may not exist (timeout, 5xx, lost answer): the writer then keeps the
 *    ledger entry `pending` and reconciles by `findByKey` before writing that key again; ThrottledError / AuthError
 *    when the call was provably not executed; RejectedError when the sink refused the data.
 *  - A sink may buffer writes and send them in batches: each call's promise settles when its record's fate is known.
 *    A batch whose answer is lost may reject every record in it as ambiguous, or settle them itself first (for example
 *    by one search over the batch's keys, `opts.key` says which record is which); `flush` sends what is buffered.
 *  - `update` merges data into an existing instance and may be repeated (idempotent).
 *  - `findByKey` is an EXACT match on the key field (a substring match would adopt the wrong instance).
 */

export type FormData = Record<string, unknown>;

/** One instance as an audit reads it. */
export interface SinkRecord {
  instanceId: string;
  /** the key field's value ('' when the instance has none) */
  key: string;
  /** the instance's values of the fields asked for */
  data: FormData;
  /** creation time (epoch ms) when the sink says; the oldest of duplicates is kept */
  createdAt?: number;
}

export interface SinkCallOptions {
  signal?: AbortSignal;
  /** the product number the record is written for (the key field's value): lets a batching sink tell records apart */
  key?: string;
}

export interface ProductSink {
  /** create one instance; resolves with its id */
  create(formData: FormData, opts?: SinkCallOptions): Promise<string>;
  /** merge `formData` into an existing instance (also how a deletion is *marked*) */
  update(instanceId: string, formData: FormData, opts?: SinkCallOptions): Promise<void>;
  /** ids of every instance whose `keyField` equals `value` exactly (all pages) */
  findByKey(keyField: string, value: string, opts?: SinkCallOptions): Promise<string[]>;
  /** every instance: key field value → instance ids (a backfill's lookups in bulk); absent = look each key up */
  scanKeys?(keyField: string, opts?: SinkCallOptions): Promise<Map<string, string[]>>;
  /**
   * delete one instance (SYNC_DELETIONS=delete, an audit removing duplicates); absent = the sink cannot delete.
   * An instance that no longer exists counts as removed (a repeated removal after a crash is harmless). An answer
   * that is lost throws WriteAmbiguousError: the caller finds out by `findByKey`.
   */
  remove?(instanceId: string, opts?: SinkCallOptions): Promise<void>;
  /** delete many instances in as few calls as the sink can (a batch sink); absent = `remove` one by one */
  removeMany?(instanceIds: readonly string[], opts?: SinkCallOptions): Promise<void>;
  /**
   * Every instance of the form with its key and field values, page by page (an audit): a sink slices its reads so that
   * no search pages past a cap. `fields` limits the values delivered (memory). Absent = the sink cannot be audited.
   */
  scanRecords?(keyField: string, opts?: SinkCallOptions & { fields?: readonly string[] }): AsyncIterable<SinkRecord[]>;
  /** send whatever a batching sink holds back now (called when the caller is about to wait for its writes) */
  flush?(opts?: SinkCallOptions): Promise<void>;
  /** current paced rate per API, requests per second (for logs and the benchmark) */
  rates?(): Record<string, number>;
}
