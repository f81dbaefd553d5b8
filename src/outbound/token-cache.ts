/**
 * The one access-token cache: a token is reused until shortly before it expires, and however many callers ask at
 * once, one fetch is in flight. That fetch belongs to nobody in particular, so no caller's abort signal cancels it:
 * a caller whose signal fires stops waiting (rejecting with its signal's reason) and the others still get the token.
 * Every token it holds is registered with the redactor, so it never reaches a log line.
 */
import { addSecret } from '../redact.js';

export interface FetchedToken { accessToken: string; expiresInSeconds?: number }

export interface TokenCacheOptions {
  /** lifetime assumed when the answer names none */
  defaultTtlSeconds: number;
  /** refresh this much ahead of expiry at most (10 % of the lifetime otherwise) */
  maxMarginMs: number;
  now?: () => number;
}

export class TokenCache {
  private current: { token: string; refreshAt: number } | undefined;
  private inflight: Promise<string> | undefined;
  /** removers of the redactor entries of the last tokens (the current one and its predecessor stay redacted) */
  private readonly redacted: Array<() => void> = [];
  private readonly now: () => number;

  constructor(private readonly fetchToken: () => Promise<FetchedToken>, private readonly opts: TokenCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** A token valid for a while yet. `signal` only stops this caller's wait. */
  get(signal?: AbortSignal): Promise<string> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.current && this.now() < this.current.refreshAt) return Promise.resolve(this.current.token);
    this.inflight ??= this.refresh().finally(() => { this.inflight = undefined; });
    return signal ? waitFor(this.inflight, signal) : this.inflight;
  }

  /** Forget `token` if it is still the cached one (a concurrent caller may already have replaced it). */
  invalidate(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }

  private async refresh(): Promise<string> {
    const fetched = await this.fetchToken();
    const ttlSeconds = fetched.expiresInSeconds && fetched.expiresInSeconds > 0 ? fetched.expiresInSeconds : this.opts.defaultTtlSeconds;
    const ttlMs = ttlSeconds * 1000;
    const margin = Math.min(this.opts.maxMarginMs, ttlMs * 0.1);
    this.current = { token: fetched.accessToken, refreshAt: this.now() + ttlMs - margin };
    this.redacted.push(addSecret(fetched.accessToken));
    while (this.redacted.length > 2) this.redacted.shift()!();
    return fetched.accessToken;
  }
}

/** `p`, or the signal's reason if it fires first; the listener is removed either way. */
export function waitFor<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}
