/**
 * Yida process instances through the official SDK: start, update, and the exact-match lookup by key field. Every call
 * passes through the gate (gate.ts: concurrency, adaptive pace, token, metering, one failure policy): `startInstance`
 * is a write never repeated on an ambiguous outcome, `updateInstance` may be (it merges the same data again).
 */
import type { Config } from '../config.js';
import type { FormData, ProductSink, SinkCallOptions, SinkRecord } from '../core/index.js';
import { $yida, runtimeOptions } from './sdk.js';
import { YidaGate, formJson, requireText, type YidaGateDeps } from './gate.js';
import { YidaMalformedAnswer, YidaError, YidaRejectedError, YidaUnavailableError, YidaWriteAmbiguousError } from './errors.js';

export type { FormData } from '../core/index.js';
export type CallOptions = SinkCallOptions;

/** Yida process instances as the writer's sink (the ProductSink port; its errors are sink errors, yida/errors.ts). */
export type YidaSink = ProductSink;

export interface YidaSinkDeps extends YidaGateDeps {
  /** page size of key lookups (Yida's maximum is 100) */
  searchPageSize?: number;
}

type Api = 'startInstance' | 'updateInstance' | 'getInstanceIdList' | 'getInstances' | 'deleteInstance';

/**
 * How Yida says an instance does not exist (the simulator: 400 InvalidParameter.ProcessInstanceId 流程实例 … 不存在; the
 * real code is undocumented): a removal answered so was done before (a repeat after a lost answer or a crash).
 */
export function saysInstanceMissing(err: unknown): boolean {
  const e = err as { remoteCode?: unknown; message?: unknown };
  return /InstanceId|NotFound|not.?exist/i.test(String(e?.remoteCode ?? '')) || /不存在|not exist|not found/i.test(String(e?.message ?? ''));
}


const MAX_SEARCH_PAGES = 10_000;

/** `textField_abc` → TextField: the componentName Yida's exact search conditions carry. */
export function componentOf(keyField: string): { componentName: string; type: string } {
  const prefix = /^([a-z][A-Za-z]*?)Field_/.exec(keyField)?.[1] ?? 'text';
  const componentName = `${prefix[0].toUpperCase()}${prefix.slice(1)}Field`;
  return { componentName, type: prefix === 'number' ? 'DOUBLE' : 'TEXT' };
}

/** The exact `eq` filter; the map form (`{"field":"P-001"}`) is a substring match and must never be used for dedupe. */
export function exactSearchJson(keyField: string, value: string): string {
  const { componentName, type } = componentOf(keyField);
  return JSON.stringify([{ key: keyField, value, type, operator: 'eq', componentName }]);
}

class SdkYidaSink implements YidaSink {
  private readonly pageSize: number;
  private readonly gate: YidaGate;

  constructor(private readonly cfg: { dingtalk: Config['dingtalk']; yida: Config['yida'] }, deps: YidaSinkDeps) {
    this.pageSize = deps.searchPageSize ?? 100;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1 || this.pageSize > 100) throw new TypeError('searchPageSize: expected a whole number from 1 to 100');
    this.gate = new YidaGate(cfg, deps);
  }

  private get client() { return this.gate.client; }
  private get timeouts() { return this.gate.timeouts; }
  rates(): Record<string, number> { return this.gate.rates(); }
  private call<T>(api: Api, kind: 'read' | 'idempotent' | 'write', fn: (token: string) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.gate.call(api, kind, fn, signal);
  }

  async create(formData: FormData, opts: CallOptions = {}): Promise<string> {
    const { yida } = this.cfg;
    const formDataJson = formJson(formData, { dropEmpty: true });
    return this.call('startInstance', 'write', async (token) => {
      const res = await this.client.startInstanceWithOptions(
        new $yida.StartInstanceRequest({
          appType: yida.appType, systemToken: yida.systemToken, userId: yida.userId, language: yida.language,
          formUuid: yida.formUuid, processCode: yida.processCode, formDataJson,
        }),
        new $yida.StartInstanceHeaders({ xAcsDingtalkAccessToken: token }),
        runtimeOptions(this.timeouts),
      );
      const id = res.body?.result;
      if (typeof id !== 'string' || !id) throw new YidaMalformedAnswer('startInstance answered without a processInstanceId');
      return id;
    }, opts.signal);
  }

  async update(instanceId: string, formData: FormData, opts: CallOptions = {}): Promise<void> {
    const { yida } = this.cfg;
    requireText('instanceId', instanceId);
    const updateFormDataJson = formJson(formData);
    await this.call('updateInstance', 'idempotent', (token) => this.client.updateInstanceWithOptions(
      new $yida.UpdateInstanceRequest({
        appType: yida.appType, systemToken: yida.systemToken, userId: yida.userId, language: yida.language,
        processInstanceId: instanceId, updateFormDataJson,
      }),
      new $yida.UpdateInstanceHeaders({ xAcsDingtalkAccessToken: token }),
      runtimeOptions(this.timeouts),
    ), opts.signal);
  }

  async findByKey(keyField: string, value: string, opts: CallOptions = {}): Promise<string[]> {
    const { yida } = this.cfg;
    requireText('keyField', keyField);
    requireText('value', value);
    const searchFieldJson = exactSearchJson(keyField, value);
    const ids = new Set<string>();
    for (let page = 1; page <= MAX_SEARCH_PAGES; page++) {
      const body = await this.call('getInstanceIdList', 'read', async (token) => (await this.client.getInstanceIdListWithOptions(
        new $yida.GetInstanceIdListRequest({
          appType: yida.appType, systemToken: yida.systemToken, userId: yida.userId, language: yida.language,
          formUuid: yida.formUuid, searchFieldJson, pageNumber: page, pageSize: this.pageSize,
        }),
        new $yida.GetInstanceIdListHeaders({ xAcsDingtalkAccessToken: token }),
        runtimeOptions(this.timeouts),
      )).body, opts.signal);
      const data = body?.data ?? [];
      for (const id of data) ids.add(id);
      const total = Number(body?.totalCount ?? 0);
      if (data.length === 0 || data.length < this.pageSize || page * this.pageSize >= total) break;
    }
    return [...ids];
  }

  /**
   * deleteInstance. Repeating it is harmless (an instance already gone is answered "does not exist", taken as done), so
   * timeouts and 5xx are retried like an update; an answer still lost after that is ambiguous: the caller searches.
   */
  async remove(instanceId: string, opts: CallOptions = {}): Promise<void> {
    const { yida } = this.cfg;
    requireText('instanceId', instanceId);
    try {
      await this.call('deleteInstance', 'idempotent', (token) => this.client.deleteInstanceWithOptions(
        new $yida.DeleteInstanceRequest({
          appType: yida.appType, systemToken: yida.systemToken, userId: yida.userId, language: yida.language, processInstanceId: instanceId,
        }),
        new $yida.DeleteInstanceHeaders({ xAcsDingtalkAccessToken: token }),
        runtimeOptions(this.timeouts),
      ), opts.signal);
    } catch (err) {
      if (err instanceof YidaRejectedError && saysInstanceMissing(err)) return;
      if (err instanceof YidaUnavailableError) throw new YidaWriteAmbiguousError(`deleteInstance ${instanceId}: ${err.message}`, { remoteCode: err.remoteCode, remoteStatus: err.remoteStatus, cause: err });
      throw err;
    }
  }

  /** getInstances pages (100 per call): every instance with its key and the values of `fields` (an audit). */
  async *scanRecords(keyField: string, opts: CallOptions & { fields?: readonly string[] } = {}): AsyncGenerator<SinkRecord[]> {
    requireText('keyField', keyField);
    const keep = opts.fields ? new Set([...opts.fields, keyField]) : undefined;
    for (let page = 1; page <= MAX_SEARCH_PAGES; page++) {
      const body = await this.instancesPage(page, opts.signal);
      const data = body?.data ?? [];
      const out: SinkRecord[] = [];
      for (const inst of data) {
        if (!inst?.processInstanceId) continue;
        const values = (inst.data ?? {}) as Record<string, unknown>;
        const raw = values[keyField];
        const created = Date.parse(String(inst.createTimeGMT ?? ''));
        out.push({
          instanceId: inst.processInstanceId,
          key: raw === undefined || raw === null ? '' : String(raw),
          data: keep ? Object.fromEntries(Object.entries(values).filter(([k]) => keep.has(k))) : values,
          createdAt: Number.isFinite(created) ? created : undefined,
        });
      }
      if (out.length) yield out;
      const total = Number(body?.totalCount ?? 0);
      if (data.length === 0 || data.length < this.pageSize || page * this.pageSize >= total) break;
    }
  }

  /** One page of the form's instances (getInstances, `pageSize` per call, no filter). */
  private async instancesPage(page: number, signal?: AbortSignal) {
    const { yida } = this.cfg;
    return this.call('getInstances', 'read', async (token) => (await this.client.getInstancesWithOptions(
      new $yida.GetInstancesRequest({
        appType: yida.appType, systemToken: yida.systemToken, userId: yida.userId, language: yida.language,
        formUuid: yida.formUuid, pageNumber: page, pageSize: this.pageSize,
      }),
      new $yida.GetInstancesHeaders({ xAcsDingtalkAccessToken: token }),
      runtimeOptions(this.timeouts),
    )).body, signal);
  }

  async scanKeys(keyField: string, opts: CallOptions = {}): Promise<Map<string, string[]>> {
    requireText('keyField', keyField);
    const keys = new Map<string, string[]>();
    for (let page = 1; page <= MAX_SEARCH_PAGES; page++) {
      const body = await this.instancesPage(page, opts.signal);
      const data = body?.data ?? [];
      for (const inst of data) {
        const value = inst?.data?.[keyField];
        if (!inst?.processInstanceId || value === undefined || value === null || value === '') continue;
        const key = String(value);
        keys.set(key, [...(keys.get(key) ?? []), inst.processInstanceId]);
      }
      const total = Number(body?.totalCount ?? 0);
      if (data.length === 0 || data.length < this.pageSize || page * this.pageSize >= total) break;
    }
    return keys;
  }
}

export function createYidaSink(cfg: { dingtalk: Config['dingtalk']; yida: Config['yida'] }, deps: YidaSinkDeps = {}): YidaSink {
  return new SdkYidaSink(cfg, deps);
}

export { YidaError };
