/**
 * client_credentials token cache: one fetch in flight at a time, reused until shortly before expiry
 * (OKKI does not extend a token when it is requested again, so refreshing early is safe).
 */

export interface FetchedToken { accessToken: string; expiresInSeconds?: number }

/** OKKI's client_credentials tokens live 8 h; the docs allow `expires_in` to be absent. */
export const DEFAULT_TOKEN_TTL_SECONDS = 28_800;

export class TokenCache {
  private current: { token: string; refreshAt: number } | undefined;
  private inflight: Promise<string> | undefined;

  constructor(private readonly fetchToken: () => Promise<FetchedToken>, private readonly now: () => number = Date.now) {}

  async get(): Promise<string> {
    if (this.current && this.now() < this.current.refreshAt) return this.current.token;
    // shared by every waiting caller, so no single caller's abort signal may cancel it (the request timeout bounds it)
    this.inflight ??= this.refresh().finally(() => { this.inflight = undefined; });
    return this.inflight;
  }

  /** Forget `token` if it is still the cached one (a concurrent caller may already have replaced it). */
  invalidate(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }

  private async refresh(): Promise<string> {
    const fetched = await this.fetchToken();
    const ttlMs = (fetched.expiresInSeconds && fetched.expiresInSeconds > 0 ? fetched.expiresInSeconds : DEFAULT_TOKEN_TTL_SECONDS) * 1000;
    // refresh a little early (10 % of the lifetime, at most 5 min) so a call never carries a token about to lapse
    const margin = Math.min(300_000, ttlMs * 0.1);
    this.current = { token: fetched.accessToken, refreshAt: this.now() + ttlMs - margin };
    return fetched.accessToken;
  }
}
