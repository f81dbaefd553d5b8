/**
 * The plain-form calls of the Yida API, through the official SDK and the gate (gate.ts): batch save and update, one
 * save or update (to learn why a record a batch left out was refused), the exact search, reads by id and delete.
 * Answers are read tolerantly: a record's data may come as `formData` (an object) or `instanceValue` (a JSON string).
 */
import type { Config } from '../config.js';
import { $yida, runtimeOptions } from './sdk.js';
import type { YidaGate } from './gate.js';
import { YidaMalformedAnswer } from './errors.js';

/** One form record as a search or a read by id returns it. */
export interface FormRecord { id: string; data: Record<string, unknown>; createdAt?: string; modifiedAt?: string }

/** One search condition (`searchCondition` entry): exact text, a time range on the built-ins, ... */
export interface SearchCondition { key: string; value: unknown; type?: string; operator: string; componentName?: string }

export interface SearchPage { total: number; records: FormRecord[] }

type Signal = AbortSignal | undefined;

function recordOf(raw: unknown): FormRecord | undefined {
  const r = (raw ?? {}) as { formInstanceId?: unknown; formData?: unknown; instanceValue?: unknown; createTimeGMT?: unknown; modifiedTimeGMT?: unknown };
  if (typeof r.formInstanceId !== 'string' || !r.formInstanceId) return undefined;
  let data: unknown = r.formData;
  if ((data === undefined || data === null) && typeof r.instanceValue === 'string') {
    try { data = JSON.parse(r.instanceValue); } catch { data = undefined; }
  }
  return {
    id: r.formInstanceId,
    data: data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : {},
    createdAt: typeof r.createTimeGMT === 'string' ? r.createTimeGMT : undefined,
    modifiedAt: typeof r.modifiedTimeGMT === 'string' ? r.modifiedTimeGMT : undefined,
  };
}

const ids = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : []);

export class FormApi {
  constructor(private readonly gate: YidaGate, private readonly yida: Config['yida']) {}

  private get target() {
    const { appType, systemToken, userId, formUuid } = this.yida;
    return { appType, systemToken, userId, formUuid };
  }

  /**
   * batchSaveFormData with keepRunningAfterException: a record that breaks a form rule is left out and the others are
   * saved; the answer lists the new ids (in an order Yida does not document). Never repeated on an ambiguous outcome.
   */
  batchSave(jsons: string[], signal: Signal): Promise<string[]> {
    return this.gate.call('batchSaveFormData', 'write', async (token) => {
      const res = await this.gate.client.batchSaveFormDataWithOptions(
        new $yida.BatchSaveFormDataRequest({
          ...this.target, formDataJsonList: jsons, noExecuteExpression: true, asynchronousExecution: false, keepRunningAfterException: true,
        }),
        new $yida.BatchSaveFormDataHeaders({ xAcsDingtalkAccessToken: token }), runtimeOptions(this.gate.timeouts));
      const result = res.body?.result;
      if (!Array.isArray(result)) throw new YidaMalformedAnswer('batchSaveFormData answered without a result list');
      return ids(result);
    }, signal);
  }

  /** saveFormData: one record; its refusal says why (used for a record a batch left out) */
  saveOne(json: string, signal: Signal): Promise<string> {
    return this.gate.call('saveFormData', 'write', async (token) => {
      const res = await this.gate.client.saveFormDataWithOptions(
        new $yida.SaveFormDataRequest({ ...this.target, language: this.yida.language, formDataJson: json }),
        new $yida.SaveFormDataHeaders({ xAcsDingtalkAccessToken: token }), runtimeOptions(this.gate.timeouts));
      const id = res.body?.result;
      if (typeof id !== 'string' || !id) throw new YidaMalformedAnswer('saveFormData answered without a formInstanceId');
      return id;
    }, signal);
  }

  /**
   * batchUpdateFormDataByInstanceMap: merges each record's data; the answer lists the ids updated (idempotent).
   * undefined: the answer had no list at all (then nothing says a record was left out).
   */
  batchUpdate(map: Record<string, string>, signal: Signal): Promise<string[] | undefined> {
    return this.gate.call('batchUpdateFormDataByInstanceMap', 'idempotent', async (token) => {
      const res = await this.gate.client.batchUpdateFormDataByInstanceMapWithOptions(
        new $yida.BatchUpdateFormDataByInstanceMapRequest({
          ...this.target, updateFormDataJsonMap: map, noExecuteExpression: true, asynchronousExecution: false, ignoreEmpty: false,
        }),
        new $yida.BatchUpdateFormDataByInstanceMapHeaders({ xAcsDingtalkAccessToken: token }), runtimeOptions(this.gate.timeouts));
      return Array.isArray(res.body?.result) ? ids(res.body!.result) : undefined;
    }, signal);
  }

  /** updateFormData: one record; its refusal says why (used for a record a batch left out) */
  updateOne(id: string, json: string, signal: Signal): Promise<void> {
    return this.gate.call('updateFormData', 'idempotent', async (token) => {
      await this.gate.client.updateFormDataWithOptions(
        new $yida.UpdateFormDataRequest({
          appType: this.yida.appType, systemToken: this.yida.systemToken, userId: this.yida.userId, language: this.yida.language,
          formInstanceId: id, updateFormDataJson: json, useLatestVersion: true,
        }),
        new $yida.UpdateFormDataHeaders({ xAcsDingtalkAccessToken: token }), runtimeOptions(this.gate.timeouts));
    }, signal);
  }

  /** searchFormDataSecondGeneration: one page (≤ 100) of the records matching every condition */
  search(conditions: SearchCondition[], page: { number: number; size: number; order?: Record<string, string> }, signal: Signal): Promise<SearchPage> {
    return this.gate.call('searchFormDataSecondGeneration', 'read', async (token) => {
      const res = await this.gate.client.searchFormDataSecondGenerationWithOptions(
        new $yida.SearchFormDataSecondGenerationRequest({
          ...this.target, pageNumber: page.number, pageSize: page.size,
          searchCondition: conditions.length ? JSON.stringify(conditions) : undefined,
          orderConfigJson: page.order ? JSON.stringify(page.order) : undefined,
        }),
        new $yida.SearchFormDataSecondGenerationHeaders({ xAcsDingtalkAccessToken: token }), runtimeOptions(this.gate.timeouts));
      const data = Array.isArray(res.body?.data) ? res.body!.data! : [];
      const records = data.map(recordOf).filter((r): r is FormRecord => !!r);
      const total = Number(res.body?.totalCount);
      return { total: Number.isFinite(total) ? total : records.length, records };
    }, signal);
  }

  /** batchGetFormDataByIdList: the records of these ids (≤ 100), never lagged behind writes */
  batchGet(list: string[], signal: Signal): Promise<FormRecord[]> {
    return this.gate.call('batchGetFormDataByIdList', 'read', async (token) => {
      const res = await this.gate.client.batchGetFormDataByIdListWithOptions(
        new $yida.BatchGetFormDataByIdListRequest({ ...this.target, formInstanceIdList: list, needFormInstanceValue: true }),
        new $yida.BatchGetFormDataByIdListHeaders({ xAcsDingtalkAccessToken: token }), runtimeOptions(this.gate.timeouts));
      const result = Array.isArray(res.body?.result) ? res.body!.result! : [];
      return result.map(recordOf).filter((r): r is FormRecord => !!r);
    }, signal);
  }

  /** batchRemovalByFormInstanceIdList: up to 500 records; ids that no longer exist are skipped (no per-id answer) */
  batchRemove(list: string[], signal: Signal): Promise<void> {
    return this.gate.call('batchRemovalByFormInstanceIdList', 'idempotent', async (token) => {
      await this.gate.client.batchRemovalByFormInstanceIdListWithOptions(
        new $yida.BatchRemovalByFormInstanceIdListRequest({ ...this.target, formInstanceIdList: list, asynchronousExecution: false, executeExpression: false }),
        new $yida.BatchRemovalByFormInstanceIdListHeaders({ xAcsDingtalkAccessToken: token }), runtimeOptions(this.gate.timeouts));
    }, signal);
  }

  /** deleteFormData: one record */
  remove(id: string, signal: Signal): Promise<void> {
    return this.gate.call('deleteFormData', 'idempotent', async (token) => {
      await this.gate.client.deleteFormDataWithOptions(
        new $yida.DeleteFormDataRequest({ appType: this.yida.appType, systemToken: this.yida.systemToken, userId: this.yida.userId, language: this.yida.language, formInstanceId: id }),
        new $yida.DeleteFormDataHeaders({ xAcsDingtalkAccessToken: token }), runtimeOptions(this.gate.timeouts));
    }, signal);
  }
}
