/**
 * OKKI's push set-up API (reference/okki-openapi.md, "Message push"; Pro plan): the callback (`/v1/webhook`, its
 * security_config and test event) and the `crm.product` subscription (`/v1/subscribe`). Used by
 * `npm run okki:subscribe`; idempotent, so it can be run again to check or repair the set-up.
 *
 * Where the answers are not documented precisely, the plausible variants are read: the secret as `security_config`,
 * `securityConfig`, `webhook_secret` or `secret`; "no callback yet" as an error answer or as empty data.
 */
import type { OkkiClient } from './client.js';
import { OkkiApiError } from './errors.js';

export const PRODUCT_SUBSCRIPTION = {
  subscribe_type: 'crm.product',
  subscribe_configs: ['create', 'update', 'delete'].map((k) => ({ biz_type: `xiaoman.crm.product.${k}` })),
};

type Data = Record<string, unknown> | null | undefined;

function field(data: Data, ...names: string[]): string | undefined {
  for (const n of names) { const v = data?.[n]; if (typeof v === 'string' && v) return v; }
  return undefined;
}

export interface CallbackState { callbackUrl: string; verified?: boolean }

/** The callback OKKI has now, if any. */
export async function currentCallback(client: OkkiClient): Promise<CallbackState | undefined> {
  let data: Data;
  try {
    data = await client.get<Data>('/v1/webhook');
  } catch (err) {
    if (err instanceof OkkiApiError) return undefined; // "Not Found Resource" and the like: none configured
    throw err;
  }
  const url = field(data, 'callback_url', 'callbackUrl', 'url');
  if (!url) return undefined;
  const v = data?.callback_verify ?? data?.verified;
  return { callbackUrl: url, ...(v === undefined ? {} : { verified: v === true || v === 1 || v === '1' }) };
}

export interface RegisterResult {
  action: 'created' | 'updated' | 'unchanged';
  /** set when OKKI issued a (new) security_config: shown once, never stored */
  securityConfig?: string;
  securityMethod?: string;
}

/**
 * Make OKKI deliver to `callbackUrl`: create the callback (OKKI answers with the security_config), move an existing
 * one (its secret stays), or leave it as it is. `regenerate` asks OKKI for a new secret as well.
 */
export async function registerCallback(client: OkkiClient, callbackUrl: string, opts: { regenerate?: boolean } = {}): Promise<RegisterResult> {
  const now = await currentCallback(client);
  let result: RegisterResult;
  if (!now) {
    const data = await client.write<Data>('POST', '/v1/webhook', { callback_url: callbackUrl });
    result = { action: 'created', securityConfig: field(data, 'security_config', 'securityConfig', 'webhook_secret', 'secret'), securityMethod: field(data, 'security_method', 'securityMethod') };
  } else if (now.callbackUrl !== callbackUrl) {
    await client.write('PUT', '/v1/webhook', { callback_url: callbackUrl });
    result = { action: 'updated' };
  } else {
    result = { action: 'unchanged' };
  }
  if (opts.regenerate && !result.securityConfig) {
    const data = await client.write<Data>('POST', '/v1/webhook/regenerate-secret', {});
    result.securityConfig = field(data, 'security_config', 'securityConfig', 'webhook_secret', 'secret');
  }
  return result;
}

/** Subscribe to product create, update and delete (one module per call, as OKKI requires). */
export async function subscribeProducts(client: OkkiClient): Promise<string[]> {
  await client.write('POST', '/v1/subscribe', PRODUCT_SUBSCRIPTION);
  return PRODUCT_SUBSCRIPTION.subscribe_configs.map((c) => c.biz_type);
}

/** OKKI's test event: OKKI delivers it to the callback and says whether the answer was right. */
export async function sendTestEvent(client: OkkiClient): Promise<{ ok: true } | { ok: false; message: string }> {
  try {
    await client.write('POST', '/v1/webhook/test', {});
    return { ok: true };
  } catch (err) {
    if (err instanceof OkkiApiError) return { ok: false, message: err.apiMessage };
    throw err;
  }
}
