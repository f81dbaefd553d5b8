/**
 * A plain Yida form written one record per call, through the official SDK: saveFormData, updateFormData,
 * deleteFormData, and the exact form-data search (searchFormDataSecondGeneration, `eq` on the key field). The
 * connector writes plain forms through the batching sink (form-sink.ts: the form target and the group form); this
 * unbatched one is what the mirror's plain-form tests drive (test/mirror-form-e2e.test.ts).
 *
 * Every call goes through the same gate as the product sink (a concurrency slot, an adaptive per-API pace, the app
 * token, the kit's retry loop under DingTalk's policy): throttling is waited out; saveFormData is never repeated after
 * an ambiguous failure (YIDA_WRITE_AMBIGUOUS: the writer reconciles by search); update and delete are (idempotent).
 * Full reads are sliced by creation time so that no search pages past Yida's 5,000-row window.
 */
import * as yidaMod from '@alicloud/dingtalk/dist/yida_1_0/client.js';
import type { Config } from '../config.js';
import { SinkError, type FormData, type ProductSink, type SinkCallOptions } from '../core/index.js';
import { resolveRetryPolicy, retrying, type CallKind, type GiveUp, type RetryPolicy } from '../outbound/index.js';
import { formatDateTime, wallClockOf } from '../time.js';
import { noMeter, type CallMeter } from '../core/metering.js';
import { classify, toFailure, YIDA_RETRY_POLICY } from './classify.js';
import { YidaAuthError, YidaRejectedError, YidaThrottledError, YidaUnavailableError, YidaWriteAmbiguousError, YidaMalformedAnswer } from './errors.js';
import { AdaptivePacer, Semaphore } from './pacer.js';
import { named, runtimeOptions, sdkConfig, validateTimeouts, withDeadline, YidaClient, DEFAULT_TIMEOUTS, type SdkTimeouts, type YidaClientType } from './sdk.js';
import { exactSearchJson, type YidaSinkDeps } from './sink.js';
import { DingtalkTokenProvider, type TokenProvider } from './token.js';

const $form = {
  SaveFormDataRequest: named<typeof yidaMod.SaveFormDataRequest>(yidaMod, 'SaveFormDataRequest'),
  SaveFormDataHeaders: named<typeof yidaMod.SaveFormDataHeaders>(yidaMod, 'SaveFormDataHeaders'),
  UpdateFormDataRequest: named<typeof yidaMod.UpdateFormDataRequest>(yidaMod, 'UpdateFormDataRequest'),
  UpdateFormDataHeaders: named<typeof yidaMod.UpdateFormDataHeaders>(yidaMod, 'UpdateFormDataHeaders'),
  DeleteFormDataRequest: named<typeof yidaMod.DeleteFormDataRequest>(yidaMod, 'DeleteFormDataRequest'),
  DeleteFormDataHeaders: named<typeof yidaMod.DeleteFormDataHeaders>(yidaMod, 'DeleteFormDataHeaders'),
  SearchRequest: named<typeof yidaMod.SearchFormDataSecondGenerationRequest>(yidaMod, 'SearchFormDataSecondGenerationRequest'),
  SearchHeaders: named<typeof yidaMod.SearchFormDataSecondGenerationHeaders>(yidaMod, 'SearchFormDataSecondGenerationHeaders'),
};

type Api = 'saveFormData' | 'updateFormData' | 'deleteFormData' | 'searchFormDataSecondGeneration';

/** One record as a full read delivers it (the shape an audit reads: mirror's `SinkRecord`). */
export interface FormRecord { instanceId: string; key: string; data: FormData; createdAt?: number }

/** Yida's open search refuses to page past this many rows (invalidState.openSearch.cursorExceedFiveThousand). */
export const SEARCH_WINDOW = 5000;
const PAGE_SIZE = 100;

/** How Yida says a form instance does not exist (the simulator: InvalidParameter.FormInstanceId 表单实例 … 不存在). */
export function saysRecordMissing(err: unknown): boolean {
  const e = err as { remoteCode?: unknown; message?: unknown };
  return /InstanceId|NotFound|not.?exist/i.test(String(e?.remoteCode ?? '')) || /不存在|not exist|not found/i.test(String(e?.message ?? ''));
}

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
      if (reason === 'not_retryable') return new YidaWriteAmbiguousError(`${api} outcome unknown (${c.remoteCode ?? c.status ?? 'no answer'}): the record may or may not exist`, { ...opts, cause: err });
      return new YidaUnavailableError(`${api} failed after ${transient} attempts (${c.remoteCode ?? c.status ?? 'no answer'})`, { ...opts, cause: err });
  }
}

export interface RecordSinkConfig {
  dingtalk: Config['dingtalk'];
  /** the Yida app; `formUuid` is the plain form written (for the groups mirror: YIDA_GROUP_FORM_UUID) */
  yida: Config['yida'];
  /** the zone in which creation times are given to the search (Yida reads zone-less times as Beijing time) */
  timezone?: string;
}

export class YidaRecordSink implements ProductSink {
  private readonly client: YidaClientType;
  private readonly tokens: TokenProvider;
  private readonly slots: Semaphore;
  private readonly pacers = new Map<Api, AdaptivePacer>();
  private readonly timeouts: SdkTimeouts;
  private readonly retry: RetryPolicy;
  private readonly meter: CallMeter;

  constructor(private readonly cfg: RecordSinkConfig, private readonly deps: YidaSinkDeps = {}) {
    const readTimeoutMs = deps.timeouts?.readTimeoutMs ?? DEFAULT_TIMEOUTS.readTimeoutMs;
    const connectTimeoutMs = deps.timeouts?.connectTimeoutMs ?? Math.max(DEFAULT_TIMEOUTS.connectTimeoutMs, readTimeoutMs);
    this.timeouts = validateTimeouts({ readTimeoutMs, connectTimeoutMs });
    this.retry = resolveRetryPolicy(deps.retry, YIDA_RETRY_POLICY);
    this.client = new YidaClient(sdkConfig(cfg.dingtalk, this.timeouts));
    this.tokens = deps.tokens ?? new DingtalkTokenProvider(cfg.dingtalk, { timeouts: this.timeouts, retry: this.retry, logger: deps.logger, metrics: deps.metrics });
    this.slots = new Semaphore(cfg.yida.concurrency);
    this.meter = deps.meter ?? noMeter;
  }

  private get base() {
    const { yida } = this.cfg;
    return { appType: yida.appType, systemToken: yida.systemToken, userId: yida.userId, language: yida.language, formUuid: yida.formUuid };
  }

  rates(): Record<string, number> {
    return Object.fromEntries([...this.pacers].map(([api, p]) => [api, Math.round(p.rate * 100) / 100]));
  }

  private pacer(api: Api): AdaptivePacer {
    let p = this.pacers.get(api);
    if (!p) { p = new AdaptivePacer({ maxRate: this.cfg.yida.qps }); this.pacers.set(api, p); }
    return p;
  }

  /** One call through the gate (the same policy as the product sink's, `sink.ts`). */
  private call<T>(api: Api, kind: CallKind, fn: (token: string) => Promise<T>, signal?: AbortSignal): Promise<T> {
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
          // Billed like the product sink's calls: everything DingTalk received except throttled refusals.
          if (c.kind !== 'throttled' && c.kind !== 'not_sent' && c.kind !== 'auth') this.meter.tick('dingtalk');
          metrics?.apiCalls.inc({ target: 'yida', status: c.remoteCode ?? String(c.status ?? 'error') });
          if (c.kind === 'auth') this.tokens.invalidate(token);
          else if (c.kind === 'throttled') { metrics?.throttles.inc({ target: 'yida' }); this.pacer(api).onThrottled(); }
          throw err;
        }
      } finally {
        release();
      }
    }, {
      policy: this.retry, kind, signal,
      classify: (err) => (err instanceof SinkError ? { kind: 'fatal' } : toFailure(classify(err))),
      onRetry: ({ attempts, failure, delayMs }) => {
        metrics?.retries.inc({ target: 'yida' });
        logger?.debug({ api, attempt: attempts, kind: failure.kind, delayMs }, 'yida form call will be retried');
      },
      giveUp: (err, info) => giveUp(api, err, info),
    });
  }

  async create(formData: FormData, opts: SinkCallOptions = {}): Promise<string> {
    // An empty field says nothing on a new record: leaving it out spares Yida a null it may not accept.
    const formDataJson = JSON.stringify(Object.fromEntries(Object.entries(formData).filter(([, v]) => v !== null && v !== undefined)));
    return this.call('saveFormData', 'write', async (token) => {
      const res = await this.client.saveFormDataWithOptions(
        new $form.SaveFormDataRequest({ ...this.base, formDataJson }),
        new $form.SaveFormDataHeaders({ xAcsDingtalkAccessToken: token }), runtimeOptions(this.timeouts),
      );
      const id = res.body?.result;
      if (typeof id !== 'string' || !id) throw new YidaMalformedAnswer('saveFormData answered without a formInstanceId');
      return id;
    }, opts.signal);
  }

  async update(instanceId: string, formData: FormData, opts: SinkCallOptions = {}): Promise<void> {
    const { formUuid: _f, ...base } = this.base;
    await this.call('updateFormData', 'idempotent', (token) => this.client.updateFormDataWithOptions(
      new $form.UpdateFormDataRequest({ ...base, formInstanceId: instanceId, updateFormDataJson: JSON.stringify(formData) }),
      new $form.UpdateFormDataHeaders({ xAcsDingtalkAccessToken: token }), runtimeOptions(this.timeouts),
    ), opts.signal);
  }

  /** deleteFormData; a record already gone counts as removed (a repeat after a lost answer or a crash is harmless). */
  async remove(instanceId: string, opts: SinkCallOptions = {}): Promise<void> {
    const { formUuid: _f, ...base } = this.base;
    try {
      await this.call('deleteFormData', 'idempotent', (token) => this.client.deleteFormDataWithOptions(
        new $form.DeleteFormDataRequest({ ...base, formInstanceId: instanceId }),
        new $form.DeleteFormDataHeaders({ xAcsDingtalkAccessToken: token }), runtimeOptions(this.timeouts),
      ), opts.signal);
    } catch (err) {
      if (err instanceof YidaRejectedError && saysRecordMissing(err)) return;
      if (err instanceof YidaUnavailableError) throw new YidaWriteAmbiguousError(`deleteFormData ${instanceId}: ${err.message}`, { remoteCode: err.remoteCode, remoteStatus: err.remoteStatus, cause: err });
      throw err;
    }
  }

  private async search(extra: { searchCondition?: string; createFromTimeGMT?: string; orderConfigJson?: string }, pageNumber: number, signal?: AbortSignal) {
    const body = await this.call('searchFormDataSecondGeneration', 'read', async (token) => (await this.client.searchFormDataSecondGenerationWithOptions(
      new $form.SearchRequest({ ...this.base, ...extra, pageNumber, pageSize: PAGE_SIZE }),
      new $form.SearchHeaders({ xAcsDingtalkAccessToken: token }), runtimeOptions(this.timeouts),
    )).body, signal);
    return { data: body?.data ?? [], total: Number(body?.totalCount ?? 0) };
  }

  /** Exact `eq` search on the key field, every page (a key is held by one record, or a few duplicates). */
  async findByKey(keyField: string, value: string, opts: SinkCallOptions = {}): Promise<string[]> {
    const searchCondition = exactSearchJson(keyField, value);
    const ids = new Set<string>();
    for (let page = 1; page * PAGE_SIZE <= SEARCH_WINDOW; page++) {
      const { data, total } = await this.search({ searchCondition }, page, opts.signal);
      for (const r of data) if (r.formInstanceId) ids.add(r.formInstanceId);
      if (data.length < PAGE_SIZE || page * PAGE_SIZE >= total) break;
    }
    return [...ids];
  }

  /**
   * Every record of the form, oldest first, a page at a time. A slice reads at most the search window; the next one
   * starts at the creation time of the last record read (records already delivered are skipped), so no query pages
   * past 5,000 rows however large the form.
   */
  async *scanRecords(keyField: string, opts: SinkCallOptions & { fields?: readonly string[] } = {}): AsyncGenerator<FormRecord[]> {
    const keep = opts.fields ? new Set([...opts.fields, keyField]) : undefined;
    const seen = new Set<string>();
    const orderConfigJson = JSON.stringify({ gmt_create: '+' });
    let from: number | undefined;
    for (;;) {
      const createFromTimeGMT = from === undefined ? undefined : formatDateTime(wallClockOf(new Date(from), this.cfg.timezone ?? 'Asia/Shanghai'));
      let last: number | undefined;
      let fresh = 0;
      for (let page = 1; page * PAGE_SIZE <= SEARCH_WINDOW; page++) {
        const { data, total } = await this.search({ orderConfigJson, createFromTimeGMT }, page, opts.signal);
        const out: FormRecord[] = [];
        for (const r of data) {
          const created = Date.parse(String(r.createTimeGMT ?? ''));
          if (Number.isFinite(created)) last = created;
          if (!r.formInstanceId || seen.has(r.formInstanceId)) continue;
          seen.add(r.formInstanceId);
          const values = (r.formData ?? {}) as Record<string, unknown>;
          const raw = values[keyField];
          out.push({
            instanceId: r.formInstanceId, key: raw === undefined || raw === null ? '' : String(raw),
            data: keep ? Object.fromEntries(Object.entries(values).filter(([k]) => keep.has(k))) : values,
            createdAt: Number.isFinite(created) ? created : undefined,
          });
        }
        fresh += out.length;
        if (out.length) yield out;
        if (data.length < PAGE_SIZE || page * PAGE_SIZE >= total) return;
      }
      // The window is spent and records remain: the next slice starts where this one ended.
      if (last === undefined || fresh === 0) throw new YidaUnavailableError(`searchFormDataSecondGeneration: cannot read past ${SEARCH_WINDOW} records created at the same time in ${this.cfg.yida.formUuid}`);
      from = last;
    }
  }

  async scanKeys(keyField: string, opts: SinkCallOptions = {}): Promise<Map<string, string[]>> {
    const keys = new Map<string, string[]>();
    for await (const page of this.scanRecords(keyField, { ...opts, fields: [] })) {
      for (const r of page) if (r.key) keys.set(r.key, [...(keys.get(r.key) ?? []), r.instanceId]);
    }
    return keys;
  }
}

export function createYidaRecordSink(cfg: RecordSinkConfig, deps: YidaSinkDeps = {}): YidaRecordSink {
  return new YidaRecordSink(cfg, deps);
}
