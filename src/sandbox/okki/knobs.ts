/**
 * What a test or the benchmark can make the OKKI simulator do: latency, throttling, injected failures, shifting rows,
 * envelope and auth variants. Settable in code (`sim.setKnobs`) and over HTTP (`POST /__sim/knobs`), validated alike.
 */
import { z } from 'zod';

export type OkkiEndpoint = 'token' | 'list' | 'info' | 'groups';
export const OKKI_ENDPOINTS: readonly OkkiEndpoint[] = ['token', 'list', 'info', 'groups'];

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
}

export function defaultKnobs(): OkkiKnobs {
  return {
    latencyMs: [0, 0], endpointLatencyMs: {}, qps: {}, throttleVariant: 'retry-after', retryAfterSeconds: 1,
    errorRates: { http5xx: 0, timeout: 0, http429: 0, businessError: 0 },
    errorEndpoints: ['list', 'info', 'groups'], hangMs: 30_000, shift: null,
    successCode: 200, messageKey: 'message', authFailure: 'http401',
    tokenTtlSeconds: 28_800, rejectAllTokens: false, omitExpiresIn: false, maxCount: 100, overCount: 'clamp',
    grantedScopes: ['product'], seed: 1,
  };
}

const rate = z.number().min(0).max(1);
const endpoint = z.enum(['token', 'list', 'info', 'groups']);

const knobsSchema = z.object({
  latencyMs: z.tuple([z.number().min(0).max(120_000), z.number().min(0).max(120_000)]).refine(([a, b]) => a <= b, 'latencyMs: min must be ≤ max'),
  endpointLatencyMs: z.object({ token: z.tuple([z.number().min(0), z.number().min(0)]), list: z.tuple([z.number().min(0), z.number().min(0)]), info: z.tuple([z.number().min(0), z.number().min(0)]), groups: z.tuple([z.number().min(0), z.number().min(0)]) }).partial().strict(),
  qps: z.object({ token: z.number().min(0), list: z.number().min(0), info: z.number().min(0), groups: z.number().min(0) }).partial().strict(),
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
}).partial().strict();

export type KnobsPatch = Partial<Omit<OkkiKnobs, 'errorRates' | 'shift'>> & {
  errorRates?: Partial<OkkiKnobs['errorRates']>;
  shift?: { rows: number; mode?: 'afterWindow' | 'now' } | null;
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
  };
}
