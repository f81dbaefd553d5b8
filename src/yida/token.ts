/**
 * DingTalk app access tokens (oauth2_1_0 getAccessToken) through the outbound kit's single-flight cache: refreshed
 * before they expire, one fetch at a time however many callers ask (no caller's abort cancels it), dropped when
 * DingTalk says a token is no longer valid. Fetching is a read: retried on network errors, timeouts, 5xx and
 * throttling; refused credentials fail at once.
 */
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { retrying, TokenCache, type FetchedToken, type RetryPolicy } from '../outbound/index.js';
import { OAuthClient, $oauth, sdkConfig, runtimeOptions, withDeadline, type SdkTimeouts, type OAuthClientType } from './sdk.js';
import { classify, toFailure } from './classify.js';
import { YidaAuthError, YidaError, YidaThrottledError, YidaUnavailableError } from './errors.js';

export interface TokenProvider {
  /** a token valid for a while yet; `signal` stops only this caller's wait */
  get(signal?: AbortSignal): Promise<string>;
  /** forget `token` (DingTalk refused it) so the next get() fetches a fresh one */
  invalidate(token: string): void;
}

/** DingTalk's app tokens live 2 h; refreshed 10 min early (proportionally less for short-lived ones). */
const DEFAULT_TTL_SECONDS = 7200;

export class DingtalkTokenProvider implements TokenProvider {
  private readonly client: OAuthClientType;
  private readonly cache: TokenCache;

  /** `app` comes from the validated Config (src/config.ts): trusted, not checked again here. */
  constructor(
    private readonly app: { appKey: string; appSecret: string; endpoint: string; protocol: 'http' | 'https' },
    private readonly opts: { timeouts: SdkTimeouts; retry: RetryPolicy; logger?: Logger; metrics?: Metrics },
  ) {
    this.client = new OAuthClient(sdkConfig(app, opts.timeouts));
    this.cache = new TokenCache(() => this.fetch(), { defaultTtlSeconds: DEFAULT_TTL_SECONDS, maxMarginMs: 600_000 });
  }

  get(signal?: AbortSignal): Promise<string> { return this.cache.get(signal); }

  invalidate(token: string): void { this.cache.invalidate(token); }

  /** One token, retried under the policy; no signal: it belongs to every caller waiting for it. */
  private fetch(): Promise<FetchedToken> {
    const { retry, timeouts, metrics, logger } = this.opts;
    return retrying(async () => {
      try {
        const res = await withDeadline(this.client.getAccessTokenWithOptions(
          new $oauth.GetAccessTokenRequest({ appKey: this.app.appKey, appSecret: this.app.appSecret }), {}, runtimeOptions(timeouts)), timeouts.readTimeoutMs + 50);
        metrics?.apiCalls.inc({ target: 'dingtalk_token', status: String(res.statusCode ?? 200) });
        const token = res.body?.accessToken;
        if (!token) throw new YidaAuthError('DingTalk answered the token request without an accessToken');
        return { accessToken: token, expiresInSeconds: Number(res.body?.expireIn ?? DEFAULT_TTL_SECONDS) };
      } catch (err) {
        if (err instanceof YidaError) throw err;
        const c = classify(err);
        metrics?.apiCalls.inc({ target: 'dingtalk_token', status: c.remoteCode ?? String(c.status ?? 'error') });
        if (c.kind === 'throttled') metrics?.throttles.inc({ target: 'dingtalk_token' });
        throw err;
      }
    }, {
      policy: retry, kind: 'read',
      // a refused token request means refused credentials: nothing to refetch
      classify: (err) => {
        if (err instanceof YidaError) return { kind: 'fatal' };
        const f = toFailure(classify(err));
        return f.kind === 'auth' ? { kind: 'fatal' } : f;
      },
      onRetry: ({ attempts, failure, delayMs, error }) => {
        metrics?.retries.inc({ target: 'dingtalk_token' });
        logger?.warn({ attempt: attempts, kind: failure.kind, code: classify(error).remoteCode, delayMs }, 'dingtalk token request failed; retrying');
      },
      giveUp: (err, { attempts, reason }) => {
        if (err instanceof YidaError) return err;
        const c = classify(err);
        const opts = { remoteCode: c.remoteCode, remoteStatus: c.status };
        if (reason === 'not_retryable' && (c.kind === 'rejected' || c.kind === 'auth')) {
          return new YidaAuthError(`DingTalk refused the app credentials (${c.remoteCode ?? c.status}): ${c.message}`, opts);
        }
        const msg = `DingTalk token request failed after ${attempts} attempts (${c.remoteCode ?? c.status ?? c.kind})`;
        return c.kind === 'throttled' ? new YidaThrottledError(msg, opts) : new YidaUnavailableError(msg, opts);
      },
    });
  }
}
