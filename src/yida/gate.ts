/**
 * The one gate every Yida call of a sink passes through (process instances and plain forms alike): a shared in-flight
 * limit (YIDA_CONCURRENCY), an adaptive per-API pace (YIDA_QPS at most, slowing down when DingTalk throttles), the app
 * token header, metering, and one failure policy (the outbound kit's retry loop under DingTalk's policy):
 *  - throttling (403 Forbidden.AccessDenied.Qps or Qpm limits, 400 requestTooFast or tooManyVisitors) was not executed:
 *    slow the pace, back off with jitter, retry — for reads and writes alike;
 *  - a refused token: refetch it once and retry once;
 *  - connection refused (nothing was sent): retry, writes included;
 *  - timeouts, resets, 5xx: reads and idempotent writes retry; a `write` (a create) does NOT — it fails with
 *    YIDA_WRITE_AMBIGUOUS and the caller reconciles by search;
 *  - other 4xx: YIDA_REJECTED with Yida's message.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { YidaClient, sdkConfig, validateTimeouts, withDeadline, DEFAULT_TIMEOUTS, type SdkTimeouts, type YidaClientType } from './sdk.js';
import { resolveRetryPolicy, retrying, type CallKind, type GiveUp, type RetryPolicy } from '../outbound/index.js';
import { classify, toFailure, YIDA_RETRY_POLICY } from './classify.js';
import { AdaptivePacer, Semaphore } from './pacer.js';
import { DingtalkTokenProvider, type TokenProvider } from './token.js';
import { noMeter, type CallMeter } from '../core/metering.js';
import { SinkError, type FormData } from '../core/index.js';
import { YidaAuthError, YidaRejectedError, YidaThrottledError, YidaUnavailableError, YidaWriteAmbiguousError } from './errors.js';

export type { CallKind } from '../outbound/index.js';

export interface YidaGateDeps {
  logger?: Logger;
  metrics?: Metrics;
  timeouts?: Partial<SdkTimeouts>;
  /** the kit's retry policy over DingTalk's (YIDA_RETRY_POLICY) */
  retry?: Partial<RetryPolicy>;
  /** share a token cache between sinks of the same app */
  tokens?: TokenProvider;
  /** ticked once per metered call (answered and not throttled; token calls are exempt) */
  meter?: CallMeter;
}

export function requireText(name: string, v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '') throw new TypeError(`${name}: required, a non-empty string`);
  return v;
}

export function formJson(formData: FormData, opts: { dropEmpty?: boolean } = {}): string {
  if (!formData || typeof formData !== 'object' || Array.isArray(formData)) throw new TypeError('formData: expected a plain object of Yida field ids to values');
  // An empty field says nothing on a new instance: leaving it out spares Yida a null it may not accept. Updates keep
  // nulls, which is how a value removed in OKKI is cleared in Yida.
  if (opts.dropEmpty) return JSON.stringify(Object.fromEntries(Object.entries(formData).filter(([, v]) => v !== null && v !== undefined)));
  return JSON.stringify(formData);
}

/** The typed error a call that stops failing ends with, saying what is known about it. */
function giveUp(api: string, err: unknown, { reason, throttled, transient }: GiveUp): unknown {
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

export class YidaGate {
  readonly client: YidaClientType;
  readonly timeouts: SdkTimeouts;
  /** the DingTalk token cache its calls use (a reader beside the gate can share it) */
  readonly tokens: TokenProvider;
  private readonly slots: Semaphore;
  private readonly pacers = new Map<string, AdaptivePacer>();
  private readonly retry: RetryPolicy;
  private readonly meter: CallMeter;

  constructor(private readonly cfg: { dingtalk: Config['dingtalk']; yida: Config['yida'] }, private readonly deps: YidaGateDeps = {}) {
    // cfg comes from the validated Config (src/config.ts): trusted, not checked again here
    const { yida, dingtalk } = cfg;
    const readTimeoutMs = deps.timeouts?.readTimeoutMs ?? DEFAULT_TIMEOUTS.readTimeoutMs;
    // An unspecified connect timeout follows the read timeout up: the SDK also uses it as the socket idle timer.
    const connectTimeoutMs = deps.timeouts?.connectTimeoutMs ?? Math.max(DEFAULT_TIMEOUTS.connectTimeoutMs, readTimeoutMs);
    this.timeouts = validateTimeouts({ readTimeoutMs, connectTimeoutMs });
    this.retry = resolveRetryPolicy(deps.retry, YIDA_RETRY_POLICY);
    this.client = new YidaClient(sdkConfig(dingtalk, this.timeouts));
    this.tokens = deps.tokens ?? new DingtalkTokenProvider(dingtalk, { timeouts: this.timeouts, retry: this.retry, logger: deps.logger, metrics: deps.metrics });
    this.slots = new Semaphore(yida.concurrency);
    this.meter = deps.meter ?? noMeter;
  }

  rates(): Record<string, number> {
    return Object.fromEntries([...this.pacers].map(([api, p]) => [api, Math.round(p.rate * 100) / 100]));
  }

  private pacer(api: string): AdaptivePacer {
    let p = this.pacers.get(api);
    if (!p) { p = new AdaptivePacer({ maxRate: this.cfg.yida.qps }); this.pacers.set(api, p); }
    return p;
  }

  /**
   * One call through the gate: a concurrency slot and the API's pace for each attempt (released before any backoff,
   * so a waiting call holds no slot), the app token, and the kit's retry loop under DingTalk's policy.
   */
  async call<T>(api: string, kind: CallKind, fn: (token: string) => Promise<T>, signal?: AbortSignal): Promise<T> {
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
}
