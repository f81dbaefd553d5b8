/**
 * DingTalk app access tokens (oauth2_1_0 getAccessToken): cached per app key, refreshed before they expire,
 * one fetch at a time however many callers ask, and dropped when DingTalk says a token is no longer valid.
 * Fetching is a read: retried on network errors, timeouts, 5xx and throttling; refused credentials fail at once.
 */
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { OAuthClient, $oauth, sdkConfig, runtimeOptions, withDeadline, type SdkTimeouts, type OAuthClientType } from './sdk.js';
import { classify } from './classify.js';
import { backoffDelay, sleep, type RetryPolicy } from './backoff.js';
import { YidaAuthError, YidaThrottledError, YidaUnavailableError } from './errors.js';

interface Cached { token: string; refreshAt: number; expiresAt: number }

export interface TokenProvider {
  /** a token valid for a while yet */
  get(signal?: AbortSignal): Promise<string>;
  /** forget `token` (DingTalk refused it) so the next get() fetches a fresh one */
  invalidate(token: string): void;
}

export class DingtalkTokenProvider implements TokenProvider {
  private readonly cache = new Map<string, Cached>();
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly client: OAuthClientType;

  constructor(
    private readonly app: { appKey: string; appSecret: string; endpoint: string; protocol: 'http' | 'https' },
    private readonly opts: { timeouts: SdkTimeouts; retry: RetryPolicy; logger?: Logger; metrics?: Metrics },
  ) {
    if (!app.appKey) throw new TypeError('dingtalk.appKey: required (DINGTALK_APP_KEY)');
    if (!app.appSecret) throw new TypeError('dingtalk.appSecret: required (DINGTALK_APP_SECRET)');
    this.client = new OAuthClient(sdkConfig(app, opts.timeouts));
  }

  async get(signal?: AbortSignal): Promise<string> {
    const hit = this.cache.get(this.app.appKey);
    if (hit && Date.now() < hit.refreshAt) return hit.token;
    let p = this.inflight.get(this.app.appKey);
    if (!p) {
      p = this.fetch(signal).finally(() => this.inflight.delete(this.app.appKey));
      this.inflight.set(this.app.appKey, p);
    }
    return p;
  }

  invalidate(token: string): void {
    const hit = this.cache.get(this.app.appKey);
    if (hit?.token === token) this.cache.delete(this.app.appKey);
  }

  private async fetch(signal?: AbortSignal): Promise<string> {
    const { retry, timeouts, metrics, logger } = this.opts;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await withDeadline(this.client.getAccessTokenWithOptions(
          new $oauth.GetAccessTokenRequest({ appKey: this.app.appKey, appSecret: this.app.appSecret }), {}, runtimeOptions(timeouts)), timeouts.readTimeoutMs + 50);
        metrics?.apiCalls.inc({ target: 'dingtalk_token', status: String(res.statusCode ?? 200) });
        const token = res.body?.accessToken;
        const expireIn = Number(res.body?.expireIn ?? 7200);
        if (!token) throw new YidaAuthError('DingTalk answered the token request without an accessToken');
        const now = Date.now();
        // Refresh ahead of expiry: 10 min for DingTalk's 2 h tokens, proportionally less for short-lived ones.
        const margin = Math.min(600, expireIn / 10) * 1000;
        this.cache.set(this.app.appKey, { token, expiresAt: now + expireIn * 1000, refreshAt: now + expireIn * 1000 - margin });
        return token;
      } catch (err) {
        if (err instanceof YidaAuthError) throw err;
        const c = classify(err);
        metrics?.apiCalls.inc({ target: 'dingtalk_token', status: c.remoteCode ?? String(c.status ?? 'error') });
        if (c.kind === 'throttled') metrics?.throttles.inc({ target: 'dingtalk_token' });
        if (c.kind === 'rejected' || c.kind === 'auth') {
          throw new YidaAuthError(`DingTalk refused the app credentials (${c.remoteCode ?? c.status}): ${c.message}`, { remoteCode: c.remoteCode, remoteStatus: c.status });
        }
        if (attempt >= (c.kind === 'throttled' ? retry.maxThrottledAttempts : retry.maxAttempts)) {
          const msg = `DingTalk token request failed after ${attempt} attempts (${c.remoteCode ?? c.status ?? c.kind})`;
          throw c.kind === 'throttled' ? new YidaThrottledError(msg, { remoteCode: c.remoteCode, remoteStatus: c.status }) : new YidaUnavailableError(msg, { remoteCode: c.remoteCode, remoteStatus: c.status });
        }
        metrics?.retries.inc({ target: 'dingtalk_token' });
        const delay = backoffDelay(retry, attempt);
        logger?.warn({ attempt, kind: c.kind, code: c.remoteCode, delayMs: Math.round(delay) }, 'dingtalk token request failed; retrying');
        await sleep(delay, signal);
      }
    }
  }
}
