/**
 * Yida process instances through the official SDK: start, update, and the exact-match lookup by key field.
 *
 * Every call goes through one gate: a shared in-flight limit (YIDA_CONCURRENCY), an adaptive per-API pace
 * (YIDA_QPS at most), the app token header, and one policy for failures:
 *  - throttling (403 Forbidden.AccessDenied.Qps or Qpm limits, 400 requestTooFast or tooManyVisitors) was not executed:
 *    slow the pace, back off with jitter, retry — for reads and writes alike;
 *  - a refused token: refetch it once and retry once;
 *  - connection refused (nothing was sent): retry, writes included;
 *  - timeouts, resets, 5xx: reads and idempotent writes (update merges the same data again) retry; startInstance
 *    does NOT — it fails with YIDA_WRITE_AMBIGUOUS and the caller reconciles by search;
 *  - other 4xx: YIDA_REJECTED with Yida's message.
 */
import type { Config } from '../config.js';
import type { FormData, ProductSink, SinkCallOptions, SinkRecord } from '../core/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { YidaClient, $yida, sdkConfig, runtimeOptions, validateTimeouts, withDeadline, DEFAULT_TIMEOUTS, type SdkTimeouts, type YidaClientType } from './sdk.js';
import { resolveRetryPolicy, retrying, type CallKind, type GiveUp, type RetryPolicy } from '../outbound/index.js';
import { classify, toFailure, YIDA_RETRY_POLICY } from './classify.js';
import { AdaptivePacer, Semaphore } from './pacer.js';
import { DingtalkTokenProvider, type TokenProvider } from './token.js';
import { noMeter, type CallMeter } from '../core/metering.js';
import { YidaAuthError, YidaMalformedAnswer, YidaRejectedError, YidaThrottledError, YidaUnavailableError, YidaWriteAmbiguousError, YidaError } from './errors.js';
import { SinkError } from '../core/index.js';

export type { FormData } from '../core/index.js';
export type CallOptions = SinkCallOptions;

/** Yida process instances as the writer's sink (the ProductSink port; its errors are sink errors, yida/errors.ts). */
export type YidaSink = ProductSink;

export interface YidaSinkDeps {
  logger?: Logger;
  metrics?: Metrics;
  timeouts?: Partial<SdkTimeouts>;
  /** the kit's retry policy over DingTalk's (YIDA_RETRY_POLICY) */
  retry?: Partial<RetryPolicy>;
  /** share a token cache between sinks of the same app */
  tokens?: TokenProvider;
  /** page size of key lookups (Yida's maximum is 100) */
  searchPageSize?: number;
  /** ticked once per metered call (answered and not throttled; token calls are exempt) */
  meter?: CallMeter;
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

function requireText(name: string, v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '') throw new TypeError(`${name}: required, a non-empty string`);
  return v;
}

function formJson(formData: FormData, opts: { dropEmpty?: boolean } = {}): string {
  if (!formData || typeof formData !== 'object' || Array.isArray(formData)) throw new TypeError('formData: expected a plain object of Yida field ids to values');
  // An empty field says nothing on a new instance: leaving it out spares Yida a null it may not accept. Updates keep
  // nulls, which is how a value removed in OKKI is cleared in Yida.
  if (opts.dropEmpty) return JSON.stringify(Object.fromEntries(Object.entries(formData).filter(([, v]) => v !== null && v !== undefined)));
  return JSON.stringify(formData);
}

/** The typed error a call that stops failing ends with, saying what is known about it. */
function giveUp(api: Api, err: unknown, { reason, throttled, transient }: GiveUp): unknown {
  if (err instanceof SinkError) return err;
  const c = classify(err);
  const opts = { remoteCode: c.remoteCode, remoteStatus: c.status };
  if (reason === 'auth') return new YidaAuthError(`DingTalk refused a freshly fetched access token on ${api} (${c.remoteCode ?? c.status})`, opts);
  switch (c.kind) {
    case 'throttled': return new YidaThrottledError(`${api} still throttled after ${throttled} attempts (${c.remoteCode ?? c.status})`, opts);
    case 'rejected': case 'auth': return new YidaRejectedError(`${api} refused by Yida (${c.remoteCode ?? c.status}): ${c.message}`, opts);
    case 'not_sent': return new YidaUnavailableError(`${api}: DingTalk unreachable after ${transient} attempts (${c.remoteCode})`, opts);
    case 'ambiguous':
      if (reason === 'not_retryable') return new YidaWriteAmbiguousError(`${api} outcome unknown (${c.remoteCode ?? c.status ?? 'no answer'}): the instance may or may not exist`, { ...opts, cause: err });
      return new YidaUnavailableError(`${api} failed after ${transient} attempts (${c.remoteCode ?? c.status ?? 'no answer'})`, { ...opts, cause: err });
  }
}

class SdkYidaSink implements YidaSink {
  private readonly client: YidaClientType;
  private readonly tokens: TokenProvider;
  private readonly slots: Semaphore;
  private readonly pacers = new Map<Api, AdaptivePacer>();
  private readonly timeouts: SdkTimeouts;
  private readonly retry: RetryPolicy;
  private readonly pageSize: number;
  private readonly meter: CallMeter;

  constructor(private readonly cfg: { dingtalk: Config['dingtalk']; yida: Config['yida'] }, private readonly deps: YidaSinkDeps) {
    // cfg comes from the validated Config (src/config.ts): trusted, not checked again here
    const { yida, dingtalk } = cfg;
    const readTimeoutMs = deps.timeouts?.readTimeoutMs ?? DEFAULT_TIMEOUTS.readTimeoutMs;
    // An unspecified connect timeout follows the read timeout up: the SDK also uses it as the socket idle timer.
    const connectTimeoutMs = deps.timeouts?.connectTimeoutMs ?? Math.max(DEFAULT_TIMEOUTS.connectTimeoutMs, readTimeoutMs);
    this.timeouts = validateTimeouts({ readTimeoutMs, connectTimeoutMs });
    this.retry = resolveRetryPolicy(deps.retry, YIDA_RETRY_POLICY);
    this.pageSize = deps.searchPageSize ?? 100;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1 || this.pageSize > 100) throw new TypeError('searchPageSize: expected a whole number from 1 to 100');
    this.client = new YidaClient(sdkConfig(dingtalk, this.timeouts));
    this.tokens = deps.tokens ?? new DingtalkTokenProvider(dingtalk, { timeouts: this.timeouts, retry: this.retry, logger: deps.logger, metrics: deps.metrics });
    this.slots = new Semaphore(yida.concurrency);
    this.meter = deps.meter ?? noMeter;
  }

  rates(): Record<string, number> {
    return Object.fromEntries([...this.pacers].map(([api, p]) => [api, Math.round(p.rate * 100) / 100]));
  }

  private pacer(api: Api): AdaptivePacer {
    let p = this.pacers.get(api);
    if (!p) { p = new AdaptivePacer({ maxRate: this.cfg.yida.qps }); this.pacers.set(api, p); }
    return p;
  }

  /**
   * One call through the gate: a concurrency slot and the API's pace for each attempt (released before any backoff,
   * so a waiting call holds no slot), the app token, and the kit's retry loop under DingTalk's policy.
   */
  private async call<T>(api: Api, kind: CallKind, fn: (token: string) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const { metrics, logger } = this.deps;
    return retrying(async () => {
      const release = await this.slots.acquire();
      try {
        signal?.throwIfAborted();
        await this.pacer(api).wait(signal);
        const token = await this.tokens.get(signal);
        try {
          const out = await withDeadline(fn(token), this.timeouts.readTimeoutMs + 50);
          this.meter.tick('dingtalk');
          metrics?.apiCalls.inc({ target: 'yida', status: '200' });
          this.pacer(api).onSuccess();
          return out;
        } catch (err) {
          const c = classify(err);
          // DingTalk bills every call it received from the app except throttled refusals; one that never left, or that
          // carried a token DingTalk no longer knows (not attributable to the app), costs nothing.
          if (c.kind !== 'throttled' && c.kind !== 'not_sent' && c.kind !== 'auth') this.meter.tick('dingtalk');
          metrics?.apiCalls.inc({ target: 'yida', status: c.remoteCode ?? String(c.status ?? 'error') });
          if (c.kind === 'auth') {
            this.tokens.invalidate(token);
            logger?.info({ api }, 'dingtalk access token refused; fetching a new one');
          } else if (c.kind === 'throttled') {
            metrics?.throttles.inc({ target: 'yida' });
            this.pacer(api).onThrottled();
          }
          throw err;
        }
      } finally {
        release();
      }
    }, {
      policy: this.retry, kind, signal,
      // a sink error (from the token provider) is final: it has been through its own retries
      classify: (err) => (err instanceof SinkError ? { kind: 'fatal' } : toFailure(classify(err))),
      onRetry: ({ attempts, failure, delayMs, error }) => {
        metrics?.retries.inc({ target: 'yida' });
        logger?.debug({ api, attempt: attempts, kind: failure.kind, code: classify(error).remoteCode, delayMs, rate: this.pacer(api).rate }, 'yida call will be retried');
      },
      giveUp: (err, info) => giveUp(api, err, info),
    });
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
    const { yida } = this.cfg;
    requireText('keyField', keyField);
    const keep = opts.fields ? new Set([...opts.fields, keyField]) : undefined;
    for (let page = 1; page <= MAX_SEARCH_PAGES; page++) {
      const body = await this.call('getInstances', 'read', async (token) => (await this.client.getInstancesWithOptions(
        new $yida.GetInstancesRequest({
          appType: yida.appType, systemToken: yida.systemToken, userId: yida.userId, language: yida.language,
          formUuid: yida.formUuid, pageNumber: page, pageSize: this.pageSize,
        }),
        new $yida.GetInstancesHeaders({ xAcsDingtalkAccessToken: token }),
        runtimeOptions(this.timeouts),
      )).body, opts.signal);
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

  async scanKeys(keyField: string, opts: CallOptions = {}): Promise<Map<string, string[]>> {
    const { yida } = this.cfg;
    requireText('keyField', keyField);
    const keys = new Map<string, string[]>();
    for (let page = 1; page <= MAX_SEARCH_PAGES; page++) {
      const body = await this.call('getInstances', 'read', async (token) => (await this.client.getInstancesWithOptions(
        new $yida.GetInstancesRequest({
          appType: yida.appType, systemToken: yida.systemToken, userId: yida.userId, language: yida.language,
          formUuid: yida.formUuid, pageNumber: page, pageSize: this.pageSize,
        }),
        new $yida.GetInstancesHeaders({ xAcsDingtalkAccessToken: token }),
        runtimeOptions(this.timeouts),
      )).body, opts.signal);
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
