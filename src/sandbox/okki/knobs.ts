/**
 * What a test or the benchmark can make the OKKI simulator do: latency, throttling, injected failures, shifting rows,
 * envelope and auth variants. Settable in code (`sim.setKnobs`) and over HTTP (`POST /__sim/knobs`), validated alike.
 */
import { z } from 'zod';

/** `webhook` covers the push configuration API (/v1/webhook*, /v1/subscribe*) */
export type OkkiEndpoint = 'token' | 'list' | 'info' | 'groups' | 'webhook';
export const OKKI_ENDPOINTS: readonly OkkiEndpoint[] = ['token', 'list', 'info', 'groups', 'webhook'];

/** Which list requests a list knob applies to: `sweep` = those without a start_time (a full read), or all of them. */
export type ListScope = 'sweep' | 'all';

export interface PushKnobs {
  /** waits before each retry of a failed delivery (OKKI: 10 s, 30 s, 60 s, then the message is dropped) */
  retryDelaysMs: number[];
  /** how long one delivery attempt waits for the callback's answer */
  timeoutMs: number;
  /** delivery attempts in flight at once (1: messages reach the callback in the order they are sent) */
  concurrency: number;
  /** events are collected this long before they are sent (0 = at the next tick), so batching and reordering can act */
  holdMs: number;
  /** biz entries per message (OKKI's docs show an array: several may come together) */
  batchSize: number;
  /** order the collected messages are sent in */
  order: 'inOrder' | 'reverse' | 'shuffle';
  /** fraction of messages also delivered a second time (same message_id, as OKKI's own retries would) */
  duplicateRate: number;
  /** biz_data as an object, as a JSON string, or either at random */
  bizDataAs: 'object' | 'string' | 'mixed';
  /** fraction of product changes that never produce an event (polling must catch them) */
  lossRate: number;
  /** deliver broken requests: a wrong X-Signature, an X-Timestamp 10 minutes old, or undecryptable data */
  corrupt: 'none' | 'signature' | 'timestamp' | 'ciphertext';
}

export interface OkkiKnobs {
  /** answer delay, uniformly drawn from [min, max] ms */
  latencyMs: [number, number];
  /** per-endpoint delay overriding latencyMs */
  endpointLatencyMs: Partial<Record<OkkiEndpoint, [number, number]>>;
  /** per-endpoint limit in requests per trailing second; absent or 0 = unlimited */
  qps: Partial<Record<OkkiEndpoint, number>>;
  /** what a throttled (QPS-limited or injected 429) call gets: 429 + Retry-After, bare 429, or HTTP 200 + error code */
  throttleVariant: 'retry-after' | 'no-retry-after' | 'code';
  /** Retry-After value sent with the `retry-after` variant */
  retryAfterSeconds: number;
  /** fraction of calls (0..1) answered with each failure; drawn independently, in this order */
  errorRates: { http5xx: number; timeout: number; http429: number; businessError: number };
  /** endpoints the error rates apply to (default: the product endpoints, not the token endpoint) */
  errorEndpoints: OkkiEndpoint[];
  /** how long a `timeout` failure hangs before the socket is dropped */
  hangMs: number;
  /**
   * Rows shift while paging: each list request for page k > 1 first bumps the update_time of `rows` rows already
   * served on pages 1..k-1 of that window. `afterWindow` moves them past the request's end_time (they leave the window
   * and later rows move up); `now` sets them to the current time (they may stay in the window, at its top).
   */
  shift: { rows: number; mode: 'afterWindow' | 'now' } | null;
  /** success `code` of the envelope */
  successCode: 0 | 200;
  /** name of the envelope's message field */
  messageKey: 'message' | 'msg';
  /** a rejected token is answered with HTTP 401 (`http401`) or HTTP 200 with an `{"error":"access_denied"}` body */
  authFailure: 'http401' | 'body200';
  tokenTtlSeconds: number;
  /** every token is refused at the API endpoints although the token endpoint keeps issuing them (an app disabled mid-run) */
  rejectAllTokens: boolean;
  /** leave `expires_in` out of token answers (client_credentials may: clients default to 8 h) */
  omitExpiresIn: boolean;
  /** largest `count` a list page serves */
  maxCount: number;
  /** a `count` above maxCount is clamped (default; a guess: the real limit is undocumented) or answered with code 400 */
  overCount: 'clamp' | 'error';
  /** scopes the app has been granted: a token request for `product` without it is refused */
  grantedScopes: string[];
  /** seed of the random draws (failures, shifted rows) so a scenario replays the same way */
  seed: number;
  /**
   * enable_flag / disable_flag on list and info items: on every item (`always`), only when not the normal 1
   * (`omitNormal`: the docs' own example item has neither), or on every other product (`mixed`)
   */
  flags: 'always' | 'omitNormal' | 'mixed';
  /** send the flags as strings ("0"/"1"), as OKKI sends many numbers */
  flagsAsStrings: boolean;
  /** how a deletion (/__sim/delete without a mode) looks: gone from listings, or listed with enable_flag 0 */
  deleteMode: 'remove' | 'flag';
  /**
   * The list comes back short: only `fraction` of the rows (a fixed, seeded subset), with data.count equal to that
   * short total (`countAs: 'short'`, looking complete) or to the full total (`'full'`, rows seen < count).
   * For the sweep guard: a short answer must never delete anything.
   */
  shortList: { fraction: number; scope: ListScope; countAs: 'short' | 'full' } | null;
  /**
   * /v1/product/groups without a filter lists only this fraction of the groups (the first ones), while a query by
   * `group_id` still finds every group: for the groups mirror's guard, a short answer must never delete anything.
   */
  groupListFraction: number;
  /** list pages (start_index values) that fail with `kind`, the first `times` requests for each (0 = always) */
  failPage: { pages: number[]; kind: 'http5xx' | 'timeout' | 'http429' | 'businessError'; scope: ListScope; times: number } | null;
  /** `ignore`: /v1/product/list accepts `product_type` but does not filter by it (undocumented behaviour a client must survive) */
  productTypeFilter: 'apply' | 'ignore';
  /** POST /v1/webhook when a callback exists: replace it (new secret) or answer code 400 (real behaviour unknown) */
  webhookCreateTwice: 'replace' | 'error';
  /** how the push emitter delivers (retry schedule, batching, duplicates, order, corruption) */
  push: PushKnobs;
}

export function defaultPushKnobs(): PushKnobs {
  return {
    retryDelaysMs: [10_000, 30_000, 60_000], timeoutMs: 5_000, concurrency: 1, holdMs: 0, batchSize: 1, order: 'inOrder',
    duplicateRate: 0, bizDataAs: 'object', lossRate: 0, corrupt: 'none',
  };
}

export function defaultKnobs(): OkkiKnobs {
  return {
    latencyMs: [0, 0], endpointLatencyMs: {}, qps: {}, throttleVariant: 'retry-after', retryAfterSeconds: 1,
    errorRates: { http5xx: 0, timeout: 0, http429: 0, businessError: 0 },
    errorEndpoints: ['list', 'info', 'groups'], hangMs: 30_000, shift: null,
    successCode: 200, messageKey: 'message', authFailure: 'http401',
    tokenTtlSeconds: 28_800, rejectAllTokens: false, omitExpiresIn: false, maxCount: 100, overCount: 'clamp',
    grantedScopes: ['product'], seed: 1,
    flags: 'always', flagsAsStrings: false, deleteMode: 'remove', shortList: null, groupListFraction: 1, failPage: null, productTypeFilter: 'apply', webhookCreateTwice: 'replace', push: defaultPushKnobs(),
  };
}

const rate = z.number().min(0).max(1);
const endpoint = z.enum(['token', 'list', 'info', 'groups', 'webhook']);
const range = z.tuple([z.number().min(0), z.number().min(0)]);
const scope = z.enum(['sweep', 'all']);

const pushSchema = z.object({
  retryDelaysMs: z.array(z.number().int().min(0).max(3_600_000)).max(20),
  timeoutMs: z.number().int().min(1).max(600_000),
  concurrency: z.number().int().min(1).max(64),
  holdMs: z.number().int().min(0).max(600_000),
  batchSize: z.number().int().min(1).max(1000),
  order: z.enum(['inOrder', 'reverse', 'shuffle']),
  duplicateRate: rate,
  bizDataAs: z.enum(['object', 'string', 'mixed']),
  lossRate: rate,
  corrupt: z.enum(['none', 'signature', 'timestamp', 'ciphertext']),
}).partial().strict();

const knobsSchema = z.object({
  latencyMs: z.tuple([z.number().min(0).max(120_000), z.number().min(0).max(120_000)]).refine(([a, b]) => a <= b, 'latencyMs: min must be ≤ max'),
  endpointLatencyMs: z.object({ token: range, list: range, info: range, groups: range, webhook: range }).partial().strict(),
  qps: z.object({ token: z.number().min(0), list: z.number().min(0), info: z.number().min(0), groups: z.number().min(0), webhook: z.number().min(0) }).partial().strict(),
  throttleVariant: z.enum(['retry-after', 'no-retry-after', 'code']),
  retryAfterSeconds: z.number().int().min(0).max(3600),
  errorRates: z.object({ http5xx: rate, timeout: rate, http429: rate, businessError: rate }).partial().strict(),
  errorEndpoints: z.array(endpoint),
  hangMs: z.number().int().min(0).max(600_000),
  shift: z.object({ rows: z.number().int().min(0), mode: z.enum(['afterWindow', 'now']).default('afterWindow') }).strict().nullable(),
  successCode: z.union([z.literal(0), z.literal(200)]),
  messageKey: z.enum(['message', 'msg']),
  authFailure: z.enum(['http401', 'body200']),
  tokenTtlSeconds: z.number().int().min(1),
  rejectAllTokens: z.boolean(),
  omitExpiresIn: z.boolean(),
  maxCount: z.number().int().min(1),
  overCount: z.enum(['clamp', 'error']),
  grantedScopes: z.array(z.string()),
  seed: z.number().int(),
  flags: z.enum(['always', 'omitNormal', 'mixed']),
  flagsAsStrings: z.boolean(),
  deleteMode: z.enum(['remove', 'flag']),
  shortList: z.object({ fraction: rate, scope: scope.default('sweep'), countAs: z.enum(['short', 'full']).default('short') }).strict().nullable(),
  groupListFraction: rate,
  failPage: z.object({
    pages: z.array(z.number().int().min(1)).min(1),
    kind: z.enum(['http5xx', 'timeout', 'http429', 'businessError']).default('http5xx'),
    scope: scope.default('sweep'),
    times: z.number().int().min(0).default(0),
  }).strict().nullable(),
  productTypeFilter: z.enum(['apply', 'ignore']),
  webhookCreateTwice: z.enum(['replace', 'error']),
  push: pushSchema,
}).partial().strict();

export type KnobsPatch = Partial<Omit<OkkiKnobs, 'errorRates' | 'shift' | 'shortList' | 'failPage' | 'push'>> & {
  errorRates?: Partial<OkkiKnobs['errorRates']>;
  shift?: { rows: number; mode?: 'afterWindow' | 'now' } | null;
  shortList?: { fraction: number; scope?: ListScope; countAs?: 'short' | 'full' } | null;
  failPage?: { pages: number[]; kind?: NonNullable<OkkiKnobs['failPage']>['kind']; scope?: ListScope; times?: number } | null;
  push?: Partial<PushKnobs>;
};

/** Validate a patch and merge it into the current knobs; throws a TypeError naming the bad knob. */
export function applyKnobs(current: OkkiKnobs, patch: unknown): OkkiKnobs {
  const r = knobsSchema.safeParse(patch);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new TypeError(`invalid knob ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const p = r.data;
  return {
    ...current,
    ...(p as Partial<OkkiKnobs>),
    errorRates: { ...current.errorRates, ...(p.errorRates ?? {}) },
    qps: p.qps ? { ...current.qps, ...p.qps } : current.qps,
    push: { ...current.push, ...(p.push ?? {}) },
  };
}
