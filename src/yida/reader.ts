/**
 * Reads an operator asks for, one at a time: the form's field definitions (`getFormComponentDefinitionList`) and what
 * Yida holds for one key (`getInstances` with the exact `eq` filter). Low volume, so a small retry loop of its own
 * rather than the writer's paced gate; every call is a metered DingTalk call and is counted like the sink's.
 *
 * The definition list is read through the SDK's own `execute` with the route the SDK uses, not through
 * `getFormComponentDefinitionListWithOptions`: that method casts the answer onto a model whose `label` is a string and
 * throws when Yida sends the i18n object (`{"zh_CN": …, "en_US": …}`), and it drops every field the model lacks
 * (a `required` flag, nested children). The raw body is parsed here, tolerating each plausible shape.
 */
import * as openapiMod from '@alicloud/openapi-client';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { YidaClient, $yida, sdkConfig, runtimeOptions, withDeadline, DEFAULT_TIMEOUTS, type SdkTimeouts, type YidaClientType } from './sdk.js';
import { classify, toFailure, YIDA_RETRY_POLICY } from './classify.js';
import { resolveRetryPolicy, retrying, type RetryPolicy } from '../outbound/index.js';
import { DingtalkTokenProvider, type TokenProvider } from './token.js';
import type { CallMeter } from '../core/metering.js';
import { exactSearchJson } from './sink.js';
import { YidaAuthError, YidaError, YidaRejectedError, YidaUnavailableError } from './errors.js';

const named = <T>(mod: unknown, key: string): T => {
  const m = mod as Record<string, unknown> & { default?: Record<string, unknown> };
  return (m[key] ?? m.default?.[key]) as T;
};
const Params = named<typeof openapiMod.Params>(openapiMod, 'Params');
const OpenApiRequest = named<typeof openapiMod.OpenApiRequest>(openapiMod, 'OpenApiRequest');

/** One form field as the definition list describes it (the shape mapping/form-check.ts compares against). */
export interface FormFieldDef { fieldId: string; componentName: string; label?: string; required?: boolean; parentId?: string }

/** One Yida instance as the console shows it. */
export interface YidaInstanceView { instanceId: string; data: Record<string, unknown>; modifiedAt?: string; createdAt?: string; status?: string }

export interface YidaReader {
  formDefinition(opts?: { signal?: AbortSignal }): Promise<FormFieldDef[]>;
  /** every instance whose `keyField` equals `value` exactly, with its data (at most one page of 100: more is a duplicate problem anyway) */
  instancesByKey(keyField: string, value: string, opts?: { signal?: AbortSignal }): Promise<YidaInstanceView[]>;
}

export interface YidaReaderDeps {
  logger?: Logger;
  metrics?: Metrics;
  timeouts?: Partial<SdkTimeouts>;
  /** share the sink's token cache */
  tokens?: TokenProvider;
  /** ticked once per metered call, as the sink does (answered and not throttled; token calls are exempt) */
  meter?: CallMeter;
  /** over YIDA_RETRY_POLICY with fewer retries: an operator is waiting (default 2 retries, 3 on throttling) */
  retry?: Partial<RetryPolicy>;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : typeof v === 'number' ? String(v) : undefined);

/** `"名称"`, `{"zh_CN":"名称","en_US":"Name","type":"i18n"}`, `{"value":"名称"}` → 名称 */
export function labelText(v: unknown): string | undefined {
  const s = text(v);
  if (s !== undefined) return s;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return text(o.zh_CN) ?? text(o.zh_cn) ?? text(o.value) ?? text(o.en_US) ?? text(o.en_us) ?? text(o.default);
  }
  return undefined;
}

const truthy = (v: unknown) => v === true || v === 'true' || v === 1 || v === 'y' || v === 'Y';

/** `required: true`, `props.required`, or a validation rule `{type: "required"}` in `validation`/`rules`. */
function requiredOf(o: Record<string, unknown>): boolean | undefined {
  const props = (o.props && typeof o.props === 'object' ? o.props : {}) as Record<string, unknown>;
  for (const v of [o.required, props.required, o.isRequired]) if (v !== undefined && v !== null) return truthy(v);
  for (const list of [o.validation, props.validation, o.rules, props.rules, o.validations]) {
    if (!Array.isArray(list)) continue;
    return list.some((r) => r === 'required' || (r && typeof r === 'object' && ((r as { type?: unknown }).type === 'required' || truthy((r as { required?: unknown }).required))));
  }
  return undefined;
}

/** The definition list, whatever its wrapping: `{result:[…]}`, `{data:[…]}`, `{result:{components:[…]}}`, a bare array; children nested or flat. */
export function parseFormDefinition(body: unknown): FormFieldDef[] {
  const out: FormFieldDef[] = [];
  const seen = new Set<string>();
  const listOf = (v: unknown): unknown[] | undefined => {
    if (Array.isArray(v)) return v;
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const k of ['result', 'data', 'components', 'formComponents', 'list', 'fields']) {
        const inner = listOf(o[k]);
        if (inner) return inner;
      }
    }
    return undefined;
  };
  const visit = (items: unknown[], parent?: string) => {
    for (const item of items) {
      if (!item || typeof item !== 'object') continue;
      const o = item as Record<string, unknown>;
      const fieldId = text(o.fieldId) ?? text(o.componentId) ?? text(o.id) ?? text(o.key);
      const componentName = text(o.componentName) ?? text(o.componentType) ?? text(o.type);
      const parentId = text(o.parentId) ?? parent;
      if (fieldId && componentName && !seen.has(fieldId)) {
        seen.add(fieldId);
        const label = labelText(o.label ?? o.name ?? o.title);
        const required = requiredOf(o);
        out.push({ fieldId, componentName, ...(label === undefined ? {} : { label }), ...(required === undefined ? {} : { required }), ...(parentId ? { parentId } : {}) });
      }
      const children = listOf(o.children) ?? listOf(o.items);
      if (children) visit(children, fieldId ?? parent);
    }
  };
  visit(listOf(body) ?? []);
  return out;
}

class SdkYidaReader implements YidaReader {
  private readonly client: YidaClientType;
  private readonly tokens: TokenProvider;
  private readonly timeouts: SdkTimeouts;
  private readonly retry: RetryPolicy;

  constructor(private readonly cfg: { dingtalk: Config['dingtalk']; yida: Config['yida'] }, private readonly deps: YidaReaderDeps) {
    const readTimeoutMs = deps.timeouts?.readTimeoutMs ?? DEFAULT_TIMEOUTS.readTimeoutMs;
    this.timeouts = { readTimeoutMs, connectTimeoutMs: Math.max(deps.timeouts?.connectTimeoutMs ?? 0, readTimeoutMs) };
    this.retry = resolveRetryPolicy({ limit: 2, throttleLimit: 3, ...deps.retry }, YIDA_RETRY_POLICY);
    this.client = new YidaClient(sdkConfig(cfg.dingtalk, this.timeouts));
    this.tokens = deps.tokens ?? new DingtalkTokenProvider(cfg.dingtalk, { timeouts: this.timeouts, retry: this.retry, logger: deps.logger, metrics: deps.metrics });
  }

  /** One read through the kit's retry loop under DingTalk's policy; failures end as typed Yida errors. */
  private call<T>(api: string, fn: (token: string) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const { metrics, logger } = this.deps;
    return retrying(async () => {
      signal?.throwIfAborted();
      const token = await this.tokens.get(signal);
      try {
        const out = await withDeadline(fn(token), this.timeouts.readTimeoutMs + 50);
        metrics?.apiCalls.inc({ target: 'yida', status: '200' });
        this.deps.meter?.tick('dingtalk');
        return out;
      } catch (err) {
        const c = classify(err);
        metrics?.apiCalls.inc({ target: 'yida', status: c.remoteCode ?? String(c.status ?? 'error') });
        if (c.kind !== 'throttled' && c.kind !== 'not_sent' && c.kind !== 'auth') this.deps.meter?.tick('dingtalk');
        if (c.kind === 'auth') this.tokens.invalidate(token);
        throw err;
      }
    }, {
      policy: this.retry, kind: 'read', signal,
      classify: (err) => (err instanceof YidaError ? { kind: 'fatal' } : toFailure(classify(err))),
      onRetry: ({ attempts, failure }) => logger?.debug({ api, attempt: attempts, kind: failure.kind }, 'yida read will be retried'),
      giveUp: (err, { reason }) => {
        if (err instanceof YidaError) return err;
        const c = classify(err);
        const opts = { remoteCode: c.remoteCode, remoteStatus: c.status, cause: err };
        if (reason === 'auth') return new YidaAuthError(`DingTalk refused a freshly fetched access token on ${api}`, opts);
        if (c.kind === 'rejected' || c.kind === 'auth') return new YidaRejectedError(`${api} refused by Yida (${c.remoteCode ?? c.status}): ${c.message}`, opts);
        return new YidaUnavailableError(`${api} failed (${c.remoteCode ?? c.status ?? 'no answer'})`, opts);
      },
    });
  }

  async formDefinition(opts: { signal?: AbortSignal } = {}): Promise<FormFieldDef[]> {
    const { yida } = this.cfg;
    const body = await this.call('getFormComponentDefinitionList', async (token) => {
      const params = new Params({
        action: 'GetFormComponentDefinitionList', version: 'yida_1.0', protocol: 'HTTP',
        pathname: `/v1.0/yida/forms/definitions/${encodeURIComponent(yida.appType)}/${encodeURIComponent(yida.formUuid)}`,
        method: 'GET', authType: 'AK', style: 'ROA', reqBodyType: 'none', bodyType: 'json',
      });
      const req = new OpenApiRequest({
        headers: { 'x-acs-dingtalk-access-token': token },
        query: { systemToken: yida.systemToken, userId: yida.userId, language: yida.language },
      });
      return (await this.client.execute(params, req, runtimeOptions(this.timeouts)))?.body;
    }, opts.signal);
    return parseFormDefinition(body);
  }

  async instancesByKey(keyField: string, value: string, opts: { signal?: AbortSignal } = {}): Promise<YidaInstanceView[]> {
    const { yida } = this.cfg;
    const body = await this.call('getInstances', async (token) => (await this.client.getInstancesWithOptions(
      new $yida.GetInstancesRequest({
        appType: yida.appType, systemToken: yida.systemToken, userId: yida.userId, language: yida.language,
        formUuid: yida.formUuid, searchFieldJson: exactSearchJson(keyField, value), pageNumber: 1, pageSize: 100,
      }),
      new $yida.GetInstancesHeaders({ xAcsDingtalkAccessToken: token }),
      runtimeOptions(this.timeouts),
    )).body, opts.signal);
    return (body?.data ?? []).filter((i) => i?.processInstanceId).map((i) => ({
      instanceId: i.processInstanceId!, data: (i.data ?? {}) as Record<string, unknown>,
      modifiedAt: i.modifiedTimeGMT, createdAt: i.createTimeGMT, status: i.instanceStatus,
    }));
  }
}

export function createYidaReader(cfg: { dingtalk: Config['dingtalk']; yida: Config['yida'] }, deps: YidaReaderDeps = {}): YidaReader {
  return new SdkYidaReader(cfg, deps);
}
