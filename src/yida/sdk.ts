/**
 * The official SDK's clients, loaded through typed deep imports (the package index loads all 115 modules).
 * The package is CommonJS and its default export arrives wrapped differently under tsx's loaders, so unwrap it.
 */
import * as oauthMod from '@alicloud/dingtalk/dist/oauth2_1_0/client.js';
import * as yidaMod from '@alicloud/dingtalk/dist/yida_1_0/client.js';
import * as openapiMod from '@alicloud/openapi-client';
import * as teaUtilMod from '@alicloud/tea-util';

const unwrap = <T>(mod: unknown): T => {
  let m = mod as { default?: unknown };
  // Depending on the loader the class sits at .default or .default.default.
  while (m && typeof m !== 'function' && m.default !== undefined) m = m.default as { default?: unknown };
  return m as T;
};
export const named = <T>(mod: unknown, name: string): T => {
  const m = mod as Record<string, unknown> & { default?: Record<string, unknown> };
  return (m[name] ?? m.default?.[name]) as T;
};

export const OAuthClient = unwrap<typeof oauthMod.default.default>(oauthMod);
export const YidaClient = unwrap<typeof yidaMod.default.default>(yidaMod);
export const $oauth = {
  GetAccessTokenRequest: named<typeof oauthMod.GetAccessTokenRequest>(oauthMod, 'GetAccessTokenRequest'),
};
export const $yida = {
  StartInstanceRequest: named<typeof yidaMod.StartInstanceRequest>(yidaMod, 'StartInstanceRequest'),
  StartInstanceHeaders: named<typeof yidaMod.StartInstanceHeaders>(yidaMod, 'StartInstanceHeaders'),
  UpdateInstanceRequest: named<typeof yidaMod.UpdateInstanceRequest>(yidaMod, 'UpdateInstanceRequest'),
  UpdateInstanceHeaders: named<typeof yidaMod.UpdateInstanceHeaders>(yidaMod, 'UpdateInstanceHeaders'),
  GetInstanceIdListRequest: named<typeof yidaMod.GetInstanceIdListRequest>(yidaMod, 'GetInstanceIdListRequest'),
  GetInstanceIdListHeaders: named<typeof yidaMod.GetInstanceIdListHeaders>(yidaMod, 'GetInstanceIdListHeaders'),
  GetInstancesRequest: named<typeof yidaMod.GetInstancesRequest>(yidaMod, 'GetInstancesRequest'),
  GetInstancesHeaders: named<typeof yidaMod.GetInstancesHeaders>(yidaMod, 'GetInstancesHeaders'),
  DeleteInstanceRequest: named<typeof yidaMod.DeleteInstanceRequest>(yidaMod, 'DeleteInstanceRequest'),
  DeleteInstanceHeaders: named<typeof yidaMod.DeleteInstanceHeaders>(yidaMod, 'DeleteInstanceHeaders'),
  // plain forms (YIDA_TARGET=form)
  BatchSaveFormDataRequest: named<typeof yidaMod.BatchSaveFormDataRequest>(yidaMod, 'BatchSaveFormDataRequest'),
  BatchSaveFormDataHeaders: named<typeof yidaMod.BatchSaveFormDataHeaders>(yidaMod, 'BatchSaveFormDataHeaders'),
  SaveFormDataRequest: named<typeof yidaMod.SaveFormDataRequest>(yidaMod, 'SaveFormDataRequest'),
  SaveFormDataHeaders: named<typeof yidaMod.SaveFormDataHeaders>(yidaMod, 'SaveFormDataHeaders'),
  BatchUpdateFormDataByInstanceMapRequest: named<typeof yidaMod.BatchUpdateFormDataByInstanceMapRequest>(yidaMod, 'BatchUpdateFormDataByInstanceMapRequest'),
  BatchUpdateFormDataByInstanceMapHeaders: named<typeof yidaMod.BatchUpdateFormDataByInstanceMapHeaders>(yidaMod, 'BatchUpdateFormDataByInstanceMapHeaders'),
  UpdateFormDataRequest: named<typeof yidaMod.UpdateFormDataRequest>(yidaMod, 'UpdateFormDataRequest'),
  UpdateFormDataHeaders: named<typeof yidaMod.UpdateFormDataHeaders>(yidaMod, 'UpdateFormDataHeaders'),
  SearchFormDataSecondGenerationRequest: named<typeof yidaMod.SearchFormDataSecondGenerationRequest>(yidaMod, 'SearchFormDataSecondGenerationRequest'),
  SearchFormDataSecondGenerationHeaders: named<typeof yidaMod.SearchFormDataSecondGenerationHeaders>(yidaMod, 'SearchFormDataSecondGenerationHeaders'),
  BatchGetFormDataByIdListRequest: named<typeof yidaMod.BatchGetFormDataByIdListRequest>(yidaMod, 'BatchGetFormDataByIdListRequest'),
  BatchGetFormDataByIdListHeaders: named<typeof yidaMod.BatchGetFormDataByIdListHeaders>(yidaMod, 'BatchGetFormDataByIdListHeaders'),
  DeleteFormDataRequest: named<typeof yidaMod.DeleteFormDataRequest>(yidaMod, 'DeleteFormDataRequest'),
  DeleteFormDataHeaders: named<typeof yidaMod.DeleteFormDataHeaders>(yidaMod, 'DeleteFormDataHeaders'),
  BatchRemovalByFormInstanceIdListRequest: named<typeof yidaMod.BatchRemovalByFormInstanceIdListRequest>(yidaMod, 'BatchRemovalByFormInstanceIdListRequest'),
  BatchRemovalByFormInstanceIdListHeaders: named<typeof yidaMod.BatchRemovalByFormInstanceIdListHeaders>(yidaMod, 'BatchRemovalByFormInstanceIdListHeaders'),
};
export const OpenApiConfig = named<typeof openapiMod.Config>(openapiMod, 'Config');
export const RuntimeOptions = named<typeof teaUtilMod.RuntimeOptions>(teaUtilMod, 'RuntimeOptions');

export type OAuthClientType = InstanceType<typeof OAuthClient>;
export type YidaClientType = InstanceType<typeof YidaClient>;

export interface SdkTimeouts {
  /** ms to wait for an answer */
  readTimeoutMs: number;
  /** ms; the SDK uses it as the socket idle timer too, so it must be >= readTimeoutMs */
  connectTimeoutMs: number;
}

export const DEFAULT_TIMEOUTS: SdkTimeouts = { readTimeoutMs: 10_000, connectTimeoutMs: 10_000 };

export function validateTimeouts(t: SdkTimeouts): SdkTimeouts {
  for (const [k, v] of Object.entries(t)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new TypeError(`timeouts.${k}: expected a positive number of milliseconds`);
  }
  if (t.connectTimeoutMs < t.readTimeoutMs) throw new TypeError('timeouts.connectTimeoutMs: must be >= timeouts.readTimeoutMs (the SDK uses it as the socket idle timer)');
  return t;
}

/** SDK Config from DINGTALK_ENDPOINT (`host[:port]`) and DINGTALK_PROTOCOL, with explicit timeouts. */
export function sdkConfig(dingtalk: { endpoint: string; protocol: 'http' | 'https' }, timeouts: SdkTimeouts): InstanceType<typeof OpenApiConfig> {
  return new OpenApiConfig({
    endpoint: dingtalk.endpoint,
    protocol: dingtalk.protocol,
    regionId: 'central',
    readTimeout: timeouts.readTimeoutMs,
    connectTimeout: timeouts.connectTimeoutMs,
  });
}

export function runtimeOptions(timeouts: SdkTimeouts): InstanceType<typeof RuntimeOptions> {
  return new RuntimeOptions({ readTimeout: timeouts.readTimeoutMs, connectTimeout: timeouts.connectTimeoutMs });
}

/**
 * Our own answer deadline around an SDK call. httpx's read timer does not always fire on a reused keep-alive socket
 * (seen with the SDK against a loopback server: a 300 ms readTimeout waited for a 2 s answer), so a hung call
 * would otherwise hold a concurrency slot for as long as the server likes. The error looks like httpx's own.
 */
export class DeadlineError extends Error {
  constructor(ms: number) { super(`ReadTimeout: no answer within ${ms} ms`); this.name = 'RequestTimeoutError'; }
}

export function withDeadline<T>(call: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(ms)), ms);
  });
  call.catch(() => undefined); // a late failure of the abandoned call must not become an unhandled rejection
  return Promise.race([call, deadline]).finally(() => clearTimeout(timer));
}
