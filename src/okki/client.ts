/**
 * The HTTP side of OKKI: token, one shared pacing limiter, per-request timeout, envelope checks and retries.
 * Every call (token included, every retry included) passes through the same limiter, so nothing built on one
 * client can exceed OKKI_QPS.
 */
import PQueue from 'p-queue';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { httpFailure, parseRetryAfter, resolveRetryPolicy, retrying, TokenCache, type Failure, type RetryPolicy } from '../outbound/index.js';
import { OkkiApiError, OkkiAuthError, OkkiHttpError, OkkiNetworkError, OkkiTimeoutError } from './errors.js';

export interface OkkiClientOptions {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  scope: string;
  /** requests per second, shared by every call of this client */
  qps: number;
  /** per-request timeout; the reference documents 60 s */
  timeoutMs?: number;
  /** the kit's retry policy (src/outbound), over its defaults */
  retry?: Partial<RetryPolicy>;
  /** envelope codes (HTTP 200) that mean throttling, retried as such (default [429]) */
  throttleApiCodes?: Array<number | string>;
  logger?: Logger;
  metrics?: Metrics;
  /** jitter source (tests) */
  random?: () => number;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
/** OKKI's client_credentials tokens live 8 h; the docs allow `expires_in` to be absent. */
export const DEFAULT_TOKEN_TTL_SECONDS = 28_800;
const SUCCESS_CODES = new Set(['0', '200']);
const THROTTLE_TEXT = /too many|rate.?limit|throttl|频繁|限流|超过.*(频率|限制)/i;
const SCOPE_TEXT = /scope/i;

/** A rejected token (HTTP 401 or an `access_denied` body): handled by refetching once, never surfaced as is. */
class TokenRejected extends Error {}

/** OKKI calls are reads: every transient failure is worth repeating. */
const OKKI_KIND = 'read' as const;

interface RawAnswer { status: number; headers: Headers; body: unknown; text: string }

export class OkkiClient {
  readonly policy: RetryPolicy;
  readonly timeoutMs: number;
  private readonly limiter: PQueue;
  private readonly tokens: TokenCache;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly base: string;

  private readonly throttleApiCodes: Array<number | string>;

  /** Options come from the validated Config (src/config.ts): trusted, not checked again here. */
  constructor(private readonly opts: OkkiClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.policy = resolveRetryPolicy(opts.retry);
    this.throttleApiCodes = [...(opts.throttleApiCodes ?? [429])];
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.logger = opts.logger ?? silentLogger;
    this.random = opts.random ?? Math.random;
    // smooth pacing (one call per 1/qps s) for ordinary rates; 100 ms buckets when the rate outruns timer resolution
    this.limiter = opts.qps >= 50
      ? new PQueue({ intervalCap: Math.max(1, Math.round(opts.qps / 10)), interval: 100 })
      : new PQueue({ intervalCap: 1, interval: Math.ceil(1000 / opts.qps) });
    // OKKI does not extend a token when it is requested again, so refreshing up to 5 min early is safe
    this.tokens = new TokenCache(() => this.fetchToken(), { defaultTtlSeconds: DEFAULT_TOKEN_TTL_SECONDS, maxMarginMs: 300_000 });
  }

  /** GET an OKKI API path and return the envelope's `data` (typed errors otherwise). */
  get<T = unknown>(path: string, query: Record<string, string | number | undefined> = {}, opts: { signal?: AbortSignal } = {}): Promise<T> {
    return this.call<T>('GET', path, query, undefined, opts.signal);
  }

  /**
   * POST/PUT a JSON body (the push set-up: /v1/webhook, /v1/subscribe) and return the envelope's `data`. A write: after
   * an ambiguous failure (no answer, 5xx) it is not repeated; throttling and a refused token are.
   */
  write<T = unknown>(method: 'POST' | 'PUT' | 'DELETE', path: string, body: unknown = {}, opts: { signal?: AbortSignal } = {}): Promise<T> {
    return this.call<T>(method, path, {}, body, opts.signal);
  }

  private call<T>(method: string, path: string, query: Record<string, string | number | undefined>, body: unknown, signal?: AbortSignal): Promise<T> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
    const url = `${this.base}${path}${qs.size ? `?${qs}` : ''}`;
    // A token fetch runs inside the attempt of the call that needs it, so it shares the call's retries.
    let token: string | undefined;
    return retrying(async () => {
      token = await this.tokens.get();
      try {
        return await this.authorised<T>(method, path, url, token, body, signal);
      } catch (err) {
        // expired or revoked mid-run: forget it; the kit repeats the call once, at once, with a fresh one
        if (err instanceof TokenRejected) {
          this.tokens.invalidate(token);
          this.logger.info({ endpoint: path }, 'OKKI rejected the access token; fetching a new one');
        }
        throw err;
      }
    }, {
      policy: this.policy, kind: method === 'GET' ? OKKI_KIND : 'write', signal, random: this.random,
      classify: (err) => this.classify(err),
      onRetry: ({ attempts, delayMs, error }) => {
        this.opts.metrics?.retries.inc({ target: 'okki' });
        this.logger.warn({ endpoint: path, attempt: attempts, nextAttemptInMs: delayMs, code: (error as { code?: string }).code, reason: (error as Error).message }, 'OKKI call failed; retrying');
      },
      giveUp: (err, { reason }) => {
        if (reason !== 'auth') return err;
        return new OkkiAuthError('token_rejected', `OKKI rejected a freshly issued access token on ${path}: check that the OKKI app is enabled and granted the '${this.opts.scope}' scope`);
      },
    });
  }

  private async authorised<T>(method: string, path: string, url: string, token: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (method !== 'GET') headers['content-type'] = 'application/json';
    const answer = await this.send(path, url, { method, headers, ...(method === 'GET' ? {} : { body: JSON.stringify(body) }) }, signal);
    return this.unwrap<T>(path, answer);
  }

  /** One paced HTTP exchange with the per-request timeout; network and timeout failures become typed errors. */
  private async send(endpoint: string, url: string, init: RequestInit, signal?: AbortSignal): Promise<RawAnswer> {
    // The run's signal lives as long as the run: nothing may stay attached to it after a request (p-queue's own
    // `signal` option and AbortSignal.any both leave a listener per request behind, which kept every answer in memory).
    return this.limiter.add(async () => {
      signal?.throwIfAborted();
      const ctl = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => { timedOut = true; ctl.abort(); }, this.timeoutMs);
      const onAbort = () => ctl.abort(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      let res: Response; let text: string;
      try {
        res = await fetch(url, { ...init, signal: ctl.signal });
        text = await res.text();
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        const status = timedOut ? 'timeout' : 'network_error';
        this.opts.metrics?.apiCalls.inc({ target: 'okki', status });
        if (timedOut) throw new OkkiTimeoutError(endpoint, this.timeoutMs, err);
        throw new OkkiNetworkError(endpoint, err);
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
      this.opts.metrics?.apiCalls.inc({ target: 'okki', status: String(res.status) });
      let body: unknown;
      try { body = text ? JSON.parse(text) : undefined; } catch { body = undefined; }
      return { status: res.status, headers: res.headers, body, text };
    }) as Promise<RawAnswer>;
  }

  private unwrap<T>(endpoint: string, a: RawAnswer): T {
    const body = (a.body && typeof a.body === 'object' ? a.body : {}) as Record<string, unknown>;
    const message = String(body.message ?? body.msg ?? body.error_description ?? '').slice(0, 300);
    if (a.status === 401 || body.error === 'access_denied') {
      if (SCOPE_TEXT.test(message) && !/verif/i.test(String(body.hint ?? ''))) throw this.scopeError(endpoint, message);
      throw new TokenRejected();
    }
    if (a.status === 429) {
      this.opts.metrics?.throttles.inc({ target: 'okki' });
      throw new OkkiHttpError(endpoint, 429, `OKKI ${endpoint} throttled the call (HTTP 429)`, { retryAfterMs: parseRetryAfter(a.headers.get('retry-after')) });
    }
    if (a.status >= 500) throw new OkkiHttpError(endpoint, a.status, `OKKI ${endpoint} answered HTTP ${a.status}`, { retryAfterMs: parseRetryAfter(a.headers.get('retry-after')) });
    if (a.status < 200 || a.status >= 300) {
      if (SCOPE_TEXT.test(message)) throw this.scopeError(endpoint, message);
      throw new OkkiHttpError(endpoint, a.status, `OKKI ${endpoint} answered HTTP ${a.status}${message ? `: ${message}` : ''}`);
    }
    if (a.body === undefined || typeof a.body !== 'object' || a.body === null) {
      throw new OkkiHttpError(endpoint, a.status, `OKKI ${endpoint} answered HTTP ${a.status} with a body that is not a JSON object`);
    }
    const code = body.code;
    if (code === undefined || code === null) {
      if (typeof body.error === 'string') throw new OkkiApiError(endpoint, body.error, message || body.error);
      return body.data as T;
    }
    if (SUCCESS_CODES.has(String(code).trim())) return body.data as T;
    const apiCode = typeof code === 'number' || typeof code === 'string' ? code : String(code);
    if (this.isThrottleCode(apiCode, message)) this.opts.metrics?.throttles.inc({ target: 'okki' });
    else if (SCOPE_TEXT.test(message)) throw this.scopeError(endpoint, message);
    throw new OkkiApiError(endpoint, apiCode, message || '(no message)');
  }

  private isThrottleCode(code: number | string, message: string): boolean {
    return this.throttleApiCodes.some((c) => String(c) === String(code)) || THROTTLE_TEXT.test(message);
  }

  private scopeError(endpoint: string, message: string): OkkiAuthError {
    return new OkkiAuthError('missing_scope', `OKKI refused ${endpoint} for lack of permission (${message}): grant the app the 'product' scope in the OKKI open platform and make sure OKKI_SCOPE includes it`);
  }

  /** What a failure means for the retry loop (the kit's vocabulary). */
  private classify(err: unknown): Failure {
    if (err instanceof TokenRejected) return { kind: 'auth' };
    if (err instanceof OkkiTimeoutError || err instanceof OkkiNetworkError) return { kind: 'ambiguous' };
    if (err instanceof OkkiHttpError) return httpFailure(this.policy, err.httpStatus, err.retryAfterMs);
    if (err instanceof OkkiApiError && this.isThrottleCode(err.apiCode, err.apiMessage)) return { kind: 'throttled' };
    return { kind: 'fatal' };
  }

  /** Is this failure worth another attempt under the policy? */
  isRetryable(err: unknown): boolean {
    const kind = this.classify(err).kind;
    return kind !== 'fatal' && kind !== 'auth';
  }

  /** One token request. Not retried here: it runs inside the retry loop of the call that needs the token. */
  private async fetchToken(): Promise<{ accessToken: string; expiresInSeconds?: number }> {
    const endpoint = '/v1/oauth2/access_token';
    const a = await this.send(endpoint, `${this.base}${endpoint}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: this.opts.clientId, client_secret: this.opts.clientSecret, scope: this.opts.scope }),
    });
    const body = (a.body && typeof a.body === 'object' ? a.body : {}) as Record<string, unknown>;
    if (a.status === 429) {
      this.opts.metrics?.throttles.inc({ target: 'okki' });
      throw new OkkiHttpError(endpoint, 429, 'OKKI token endpoint throttled the call (HTTP 429)', { retryAfterMs: parseRetryAfter(a.headers.get('retry-after')) });
    }
    if (a.status >= 500) throw new OkkiHttpError(endpoint, a.status, `OKKI token endpoint answered HTTP ${a.status}`, { retryAfterMs: parseRetryAfter(a.headers.get('retry-after')) });
    const error = typeof body.error === 'string' ? body.error : undefined;
    const description = String(body.error_description ?? body.message ?? body.msg ?? '').slice(0, 300);
    if (error || a.status >= 400) {
      if (error === 'invalid_scope' || SCOPE_TEXT.test(description)) {
        throw new OkkiAuthError('missing_scope', `OKKI refused a token for scope '${this.opts.scope}' (${description || error}): grant the app the 'product' scope in the OKKI open platform and make sure OKKI_SCOPE includes it`, { oauthError: error });
      }
      if (error === 'invalid_client' || a.status === 401) {
        throw new OkkiAuthError('invalid_client', `OKKI refused the client credentials (${error ?? `HTTP ${a.status}`}${description ? `: ${description}` : ''}): check OKKI_CLIENT_ID and OKKI_CLIENT_SECRET`, { oauthError: error });
      }
      throw new OkkiAuthError('other', `OKKI token request failed (${error ?? `HTTP ${a.status}`}${description ? `: ${description}` : ''})`, { oauthError: error, httpStatus: a.status });
    }
    const token = body.access_token;
    if (typeof token !== 'string' || !token) throw new OkkiAuthError('bad_token_response', 'OKKI token endpoint answered without an access_token');
    const expires = Number(body.expires_in);
    return { accessToken: token, expiresInSeconds: Number.isFinite(expires) && expires > 0 ? expires : undefined };
  }
}
