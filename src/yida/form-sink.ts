/**
 * A plain Yida form as the writer's sink (YIDA_TARGET=form): the same per-record ProductSink port as the process
 * sink, micro-batched underneath (batcher.ts), so the writer and its ledger rules stay as they are while Yida sees one
 * call per YIDA_BATCH_SIZE records:
 *  - create → batchSaveFormData (keepRunningAfterException: a record that breaks a form rule is left out, the others
 *    are saved). Which new id is which record's: Yida does not document the order of its answer, so the order is
 *    checked by reading the ids back (batchGetFormDataByIdList, one call) until three batches in a row came back in
 *    input order, then on every 20th batch; once it is seen out of order, every batch is read back. A record the batch
 *    left out is saved alone once: that either saves it or answers why not, and only that record is refused.
 *  - update → batchUpdateFormDataByInstanceMap (repeatable); a record it did not update is updated alone once, the same
 *    way;
 *  - a batch refused as a whole (4xx) is split in halves until the refused record stands alone;
 *  - a batch whose answer is lost (timeout, 5xx): every record in it is rejected as ambiguous, and the writer keeps each
 *    `pending` and reconciles it by findByKey before writing it again. Lookups are micro-batched too: the records of one
 *    batch are reconciled by one search (form-lookup.ts), not one per record;
 *  - scanKeys reads every record in creation-time slices of at most 5,000 rows (Yida's paging limit).
 */
import type { Config } from '../config.js';
import { sinkErrorKind, WriteAmbiguousError, type FormData, type ProductSink, type SinkCallOptions, type SinkRecord } from '../core/index.js';
import type { Logger } from '../log.js';
import { MicroBatcher, type BatchEntry } from './batcher.js';
import { FormApi } from './form-api.js';
import { FormLookup, keyOf } from './form-lookup.js';
import { YidaGate, formJson, requireText, type YidaGateDeps } from './gate.js';
import { saysInstanceMissing } from './sink.js';

/** ids per batchRemovalByFormInstanceIdList (Yida: at most 500 with rules off) */
const REMOVE_BATCH = 500;

export interface FormSinkDeps extends YidaGateDeps {
  /**
   * the longest a record waits for its batch to fill (default 1 s): calls are what costs (the monthly quota), a second
   * is not; the pipeline flushes whenever it is about to wait for its writes, so the end of a run never waits for it
   */
  lingerMs?: number;
}

interface SaveIn { key: string; json: string; signal?: AbortSignal }
interface UpdateIn { id: string; json: string; signal?: AbortSignal }
interface LookupIn { keyField: string; key: string; signal?: AbortSignal }

/**
 * A refusal that may be one record's fault (a form rule), worth halving the batch for; a refusal of the target itself
 * (app, token, user, form, permissions) is every record's, and halving would only multiply the calls.
 */
const TARGET_REFUSAL = /^(InvalidParameter\.(AppType|SystemToken|UserId|FormUuid)|Forbidden|NoPermission|MissingParameter|InvalidAuthentication)/i;
function recordLevelRefusal(err: unknown): boolean {
  if (sinkErrorKind(err) !== 'rejected') return false;
  const code = (err as { remoteCode?: unknown }).remoteCode;
  return !(typeof code === 'string' && TARGET_REFUSAL.test(code));
}

/** Whether batch answers list new ids in input order: trusted only after it was seen, and checked now and then. */
class OrderCheck {
  private inOrder = 0;
  private broken = false;
  private sinceCheck = 0;
  constructor(private readonly logger?: Logger, private readonly trustAfter = 3, private readonly checkEvery = 20) {}
  /** must this batch's ids be read back to know which is whose? */
  mustCheck(n: number): boolean {
    if (n <= 1) return false;
    if (this.broken || this.inOrder < this.trustAfter) return true;
    if (++this.sinceCheck < this.checkEvery) return false;
    this.sinceCheck = 0;
    return true;
  }
  observe(inOrder: boolean): void {
    if (inOrder) { this.inOrder++; return; }
    if (!this.broken) this.logger?.warn('Yida answered a batch save with the new ids out of input order: every batch is read back from now on (one more call per batch)');
    this.broken = true;
  }
}

export class FormSink implements ProductSink {
  private readonly gate: YidaGate;
  private readonly api: FormApi;
  private readonly lookups: FormLookup;
  private readonly saves: MicroBatcher<SaveIn, string>;
  private readonly updates: MicroBatcher<UpdateIn, void>;
  private readonly finds: MicroBatcher<LookupIn, string[]>;
  private readonly order: OrderCheck;

  constructor(cfg: { dingtalk: Config['dingtalk']; yida: Config['yida'] }, private readonly keyField: string, private readonly deps: FormSinkDeps = {}) {
    requireText('keyField', keyField);
    this.gate = new YidaGate(cfg, deps);
    this.api = new FormApi(this.gate, cfg.yida);
    this.lookups = new FormLookup(this.api, deps.logger);
    this.order = new OrderCheck(deps.logger);
    const size = cfg.yida.batchSize;
    const lingerMs = deps.lingerMs ?? 1000;
    this.saves = new MicroBatcher({ size, lingerMs, send: (b) => this.sendSaves(b) });
    this.updates = new MicroBatcher({ size, lingerMs, send: (b) => this.sendUpdates(b), conflicts: (a, b) => a.id === b.id });
    // lookups gather too: pending records of a run (or of an ambiguous batch) are looked up 100 per search
    this.finds = new MicroBatcher({ size: 100, lingerMs, send: (b) => this.sendLookups(b) });
  }

  rates(): Record<string, number> { return this.gate.rates(); }

  create(formData: FormData, opts: SinkCallOptions = {}): Promise<string> {
    const key = opts.key ?? (formData?.[this.keyField] === undefined ? undefined : String(formData[this.keyField]).trim());
    requireText('key (the key field value of the record)', key);
    return this.saves.add({ key: key!, json: formJson(formData, { dropEmpty: true }), signal: opts.signal });
  }

  update(instanceId: string, formData: FormData, opts: SinkCallOptions = {}): Promise<void> {
    requireText('instanceId', instanceId);
    return this.updates.add({ id: instanceId, json: formJson(formData), signal: opts.signal });
  }

  findByKey(keyField: string, value: string, opts: SinkCallOptions = {}): Promise<string[]> {
    requireText('keyField', keyField);
    requireText('value', value);
    return this.finds.add({ keyField, key: value, signal: opts.signal });
  }

  scanKeys(keyField: string, opts: SinkCallOptions = {}): Promise<Map<string, string[]>> {
    return this.lookups.scan(keyField, opts.signal);
  }

  /** deleteFormData; a record already gone counts as removed, an answer still lost after retries is ambiguous */
  async remove(instanceId: string, opts: SinkCallOptions = {}): Promise<void> {
    requireText('instanceId', instanceId);
    try {
      await this.api.remove(instanceId, opts.signal);
    } catch (err) {
      if (sinkErrorKind(err) === 'rejected' && saysInstanceMissing(err)) return;
      if (sinkErrorKind(err) === 'unavailable') throw new WriteAmbiguousError(`deleteFormData ${instanceId}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      throw err;
    }
  }

  /** batchRemovalByFormInstanceIdList, 500 ids per call (ids already gone are skipped by Yida) */
  async removeMany(instanceIds: readonly string[], opts: SinkCallOptions = {}): Promise<void> {
    for (let i = 0; i < instanceIds.length; i += REMOVE_BATCH) {
      try {
        await this.api.batchRemove(instanceIds.slice(i, i + REMOVE_BATCH), opts.signal);
      } catch (err) {
        if (sinkErrorKind(err) === 'unavailable') throw new WriteAmbiguousError(`batchRemovalByFormInstanceIdList: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        throw err;
      }
    }
  }

  /** every record with its key and field values (an audit), in creation-time slices under the paging limit */
  async *scanRecords(keyField: string, opts: SinkCallOptions & { fields?: readonly string[] } = {}): AsyncGenerator<SinkRecord[]> {
    const keep = opts.fields ? new Set([...opts.fields, keyField]) : undefined;
    for await (const records of this.lookups.records(opts.signal)) {
      yield records.map((r) => {
        const created = Date.parse(r.createdAt ?? '');
        return {
          instanceId: r.id, key: keyOf(r, keyField) ?? '',
          data: keep ? Object.fromEntries(Object.entries(r.data).filter(([k]) => keep.has(k))) : r.data,
          createdAt: Number.isFinite(created) ? created : undefined,
        };
      });
    }
  }

  async flush(): Promise<void> {
    await Promise.all([this.saves.flush(), this.updates.flush(), this.finds.flush()]);
  }

  private async sendSaves(batch: BatchEntry<SaveIn, string>[]): Promise<void> {
    const signal = batch[0]?.input.signal;
    let ids: string[];
    try {
      ids = await this.api.batchSave(batch.map((e) => e.input.json), signal);
    } catch (err) {
      // refused as a whole: nothing was saved; halve it until the refused record stands alone
      if (recordLevelRefusal(err) && batch.length > 1) return this.halves(batch, (b) => this.sendSaves(b));
      for (const e of batch) e.reject(err);
      return;
    }
    if (batch.length === 1 && ids.length === 1) return batch[0].resolve(ids[0]);
    let byKey: Map<string, string>;
    if (ids.length === batch.length && !this.order.mustCheck(batch.length)) {
      byKey = new Map(batch.map((e, i) => [e.input.key, ids[i]]));
    } else {
      try {
        byKey = await this.readBack(ids, signal);
      } catch (err) {
        // saved, but which id is whose is not known: the writer finds each by its key
        for (const e of batch) e.reject(new WriteAmbiguousError(`batch saved, but its ids could not be read back: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
        return;
      }
      if (ids.length === batch.length && ids.length > 1) this.order.observe(batch.every((e, i) => byKey.get(e.input.key) === ids[i]));
    }
    await Promise.all(batch.map(async (e) => {
      const id = byKey.get(e.input.key);
      if (id) return e.resolve(id);
      // left out by the batch (a form rule): alone, it is either saved or refused with Yida's reason
      try { e.resolve(await this.api.saveOne(e.input.json, e.input.signal)); } catch (err) { e.reject(err); }
    }));
  }

  /** new ids → the key each record holds (one call per 100 ids) */
  private async readBack(ids: string[], signal?: AbortSignal): Promise<Map<string, string>> {
    const byKey = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 100) {
      for (const r of await this.api.batchGet(ids.slice(i, i + 100), signal)) {
        const k = keyOf(r, this.keyField);
        if (k !== undefined) byKey.set(k, r.id);
      }
    }
    return byKey;
  }

  private async sendUpdates(batch: BatchEntry<UpdateIn, void>[]): Promise<void> {
    const signal = batch[0]?.input.signal;
    let updated: string[] | undefined;
    try {
      updated = await this.api.batchUpdate(Object.fromEntries(batch.map((e) => [e.input.id, e.input.json])), signal);
    } catch (err) {
      if (recordLevelRefusal(err) && batch.length > 1) return this.halves(batch, (b) => this.sendUpdates(b));
      for (const e of batch) e.reject(err);
      return;
    }
    if (updated === undefined) { for (const e of batch) e.resolve(); return; }
    const done = new Set(updated);
    await Promise.all(batch.map(async (e) => {
      if (done.has(e.input.id)) return e.resolve();
      // not updated by the batch (gone, or a form rule): alone, it is either updated or refused with Yida's reason
      try { await this.api.updateOne(e.input.id, e.input.json, e.input.signal); e.resolve(); } catch (err) { e.reject(err); }
    }));
  }

  private async sendLookups(batch: BatchEntry<LookupIn, string[]>[]): Promise<void> {
    const byField = new Map<string, BatchEntry<LookupIn, string[]>[]>();
    for (const e of batch) byField.set(e.input.keyField, [...(byField.get(e.input.keyField) ?? []), e]);
    await Promise.all([...byField].map(async ([keyField, entries]) => {
      try {
        const found = await this.lookups.lookup(keyField, entries.map((e) => e.input.key), entries[0]?.input.signal);
        for (const e of entries) e.resolve(found.get(e.input.key) ?? []);
      } catch (err) {
        for (const e of entries) e.reject(err);
      }
    }));
  }

  private async halves<In, Out>(batch: BatchEntry<In, Out>[], send: (b: BatchEntry<In, Out>[]) => Promise<void>): Promise<void> {
    const mid = Math.ceil(batch.length / 2);
    await Promise.all([send(batch.slice(0, mid)), send(batch.slice(mid))]);
  }
}

export function createFormSink(cfg: { dingtalk: Config['dingtalk']; yida: Config['yida'] }, keyField: string, deps: FormSinkDeps = {}): FormSink {
  return new FormSink(cfg, keyField, deps);
}
