/**
 * The retry policy of every outbound call, as data (ky's `retry` option is the model), with its documented defaults
 * and the one validator. How a failure is judged lives with each adapter (it knows its API); how often and how long
 * to wait lives here.
 */

/**
 * What a call does to the remote side, which decides whether an ambiguous failure may be repeated:
 * `read` changes nothing; `idempotent` may be applied twice with the same result (an update merging the same data);
 * `write` may not (a create: a repeat can make a second record).
 */
export type CallKind = 'read' | 'idempotent' | 'write';

export interface RetryPolicy {
  /** retries after the first attempt for failures worth repeating (network, timeout, 5xx) (ky: `limit`) */
  limit: number;
  /** retries for throttled answers, counted apart: a throttled call was not executed, so waiting is always safe */
  throttleLimit: number;
  /**
   * call kinds repeated after an ambiguous failure (timeout, reset, 5xx) (ky: `methods`). A kind left out (by
   * default `write`) is repeated only when the failure proves it was not executed: throttled, or never sent.
   */
  methods: readonly CallKind[];
  /** HTTP statuses worth repeating (ky: `statusCodes`); 429 among them is throttling */
  statusCodes: readonly number[];
  /** statuses whose `Retry-After` is honoured instead of the computed backoff (ky: `afterStatusCodes`) */
  afterStatusCodes: readonly number[];
  /** cap on an honoured `Retry-After`, ms: a server asking for longer gets this (ky: `maxRetryAfter`) */
  maxRetryAfter: number;
  /** backoff before retry `n` (1-based), ms, before jitter and the cap (ky: `delay`) */
  delay: (n: number) => number;
  /** cap on one computed backoff, ms (ky: `backoffLimit`) */
  backoffLimit: number;
  /** fraction of the backoff drawn at random: the wait is drawn from [d × (1 − jitter), d], so clients spread out */
  jitter: number;
  /** total time budget of one call, ms: no retry whose wait would end past it (Infinity = none) */
  maxElapsed: number;
}

/** 429 and every 5xx. */
export const DEFAULT_STATUS_CODES: readonly number[] = Object.freeze([429, ...Array.from({ length: 100 }, (_, i) => 500 + i)]);

/**
 * Defaults: 5 retries (6 attempts) on transient failures and 5 more on throttling; backoff 500 ms → 1 s → 2 s → 4 s
 * → 8 s (doubling, capped at 30 s, minus up to 50 % jitter); `Retry-After` honoured on 413/429/503 up to 60 s; reads
 * and idempotent calls repeated after an ambiguous failure, writes not; no overall deadline.
 */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  limit: 5,
  throttleLimit: 5,
  methods: Object.freeze(['read', 'idempotent'] as CallKind[]),
  statusCodes: DEFAULT_STATUS_CODES,
  afterStatusCodes: Object.freeze([413, 429, 503]),
  maxRetryAfter: 60_000,
  delay: (n: number) => 500 * 2 ** (n - 1),
  backoffLimit: 30_000,
  jitter: 0.5,
  maxElapsed: Infinity,
});

/** `delay` for the common case: `base` ms, multiplied by `factor` each retry. */
export function exponential(base: number, factor = 2): (n: number) => number {
  return (n) => base * factor ** (n - 1);
}

const CALL_KINDS: readonly CallKind[] = ['read', 'idempotent', 'write'];

/** A whole number ≥ 0, or Infinity (no limit). */
const isCount = (v: unknown) => v === Infinity || (Number.isInteger(v) && (v as number) >= 0);
const isMs = (v: unknown) => typeof v === 'number' && v >= 0 && !Number.isNaN(v);
const isStatus = (v: unknown) => Number.isInteger(v) && (v as number) >= 100 && (v as number) <= 599;

/**
 * Merge `partial` over `base` and check every field; throws a TypeError naming the field, what was expected and what
 * was given (p-queue's style), so a wrong policy fails where it is built, not at the first retry.
 */
export function resolveRetryPolicy(partial: Partial<RetryPolicy> = {}, base: Readonly<RetryPolicy> = DEFAULT_RETRY_POLICY): RetryPolicy {
  const p: RetryPolicy = { ...base, ...stripUndefined(partial) };
  const bad = (field: string, expected: string, value: unknown): never => {
    throw new TypeError(`retry policy: expected \`${field}\` to be ${expected}, got \`${describe(value)}\` (${typeof value})`);
  };
  if (!isCount(p.limit)) bad('limit', 'a whole number ≥ 0 or Infinity', p.limit);
  if (!isCount(p.throttleLimit)) bad('throttleLimit', 'a whole number ≥ 0 or Infinity', p.throttleLimit);
  if (!Array.isArray(p.methods) || p.methods.some((m) => !CALL_KINDS.includes(m))) bad('methods', `an array of ${CALL_KINDS.map((k) => `'${k}'`).join(', ')}`, p.methods);
  if (!Array.isArray(p.statusCodes) || !p.statusCodes.every(isStatus)) bad('statusCodes', 'an array of HTTP statuses (100–599)', p.statusCodes);
  if (!Array.isArray(p.afterStatusCodes) || !p.afterStatusCodes.every(isStatus)) bad('afterStatusCodes', 'an array of HTTP statuses (100–599)', p.afterStatusCodes);
  if (!isMs(p.maxRetryAfter)) bad('maxRetryAfter', 'a number of milliseconds ≥ 0', p.maxRetryAfter);
  if (typeof p.delay !== 'function') bad('delay', 'a function of the retry number returning milliseconds', p.delay);
  const first = p.delay(1);
  if (!isMs(first)) bad('delay(1)', 'a number of milliseconds ≥ 0', first);
  if (!isMs(p.backoffLimit)) bad('backoffLimit', 'a number of milliseconds ≥ 0 or Infinity', p.backoffLimit);
  if (!(typeof p.jitter === 'number' && p.jitter >= 0 && p.jitter <= 1)) bad('jitter', 'a number from 0 to 1', p.jitter);
  if (!(typeof p.maxElapsed === 'number' && p.maxElapsed > 0)) bad('maxElapsed', 'a number of milliseconds > 0 or Infinity', p.maxElapsed);
  return Object.freeze({ ...p, methods: Object.freeze([...p.methods]), statusCodes: Object.freeze([...p.statusCodes]), afterStatusCodes: Object.freeze([...p.afterStatusCodes]) });
}

/** The wait before retry `n` (1-based) when the server named none: the policy's delay, capped, minus jitter. */
export function backoffMs(policy: RetryPolicy, n: number, random: () => number = Math.random): number {
  const raw = Math.min(policy.backoffLimit, Math.max(0, policy.delay(n)));
  return Math.round(raw * (1 - policy.jitter * random()));
}

/** `Retry-After` as ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function describe(v: unknown): string {
  if (typeof v === 'function') return 'function';
  try { return JSON.stringify(v) ?? String(v); } catch { return String(v); }
}
