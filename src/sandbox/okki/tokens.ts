/** OAuth2 client_credentials as the OKKI simulator plays it: one live token per client, not extended on re-request. */
import { randomBytes } from 'node:crypto';

export interface IssuedToken { token: string; expiresAtMs: number; scopes: string[] }

export type TokenAnswer =
  | { ok: true; token: IssuedToken }
  | { ok: false; status: number; error: string; description: string };

export class TokenAuthority {
  private tokens = new Map<string, IssuedToken>();
  private current: IssuedToken | undefined;

  constructor(private clientId: string, private clientSecret: string) {}

  issue(body: Record<string, unknown>, opts: { ttlSeconds: number; grantedScopes: readonly string[] }): TokenAnswer {
    const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
    const grant = str('grant_type');
    if (!grant) return { ok: false, status: 400, error: 'invalid_request', description: 'The request is missing a required parameter: "grant_type".' };
    if (grant !== 'client_credentials') return { ok: false, status: 400, error: 'unsupported_grant_type', description: 'The authorization grant type is not supported by the authorization server.' };
    const id = str('client_id'); const secret = str('client_secret');
    if (!id || !secret) return { ok: false, status: 400, error: 'invalid_request', description: 'The request is missing a required parameter: "client_id" or "client_secret".' };
    if (id !== this.clientId || secret !== this.clientSecret) return { ok: false, status: 401, error: 'invalid_client', description: 'Client authentication failed' };
    const scopes = (str('scope') ?? '').split(/\s+/).filter(Boolean);
    if (!scopes.length) return { ok: false, status: 400, error: 'invalid_request', description: 'The request is missing a required parameter: "scope".' };
    if (!scopes.includes('product') || !opts.grantedScopes.includes('product')) {
      return { ok: false, status: 400, error: 'invalid_scope', description: 'no permission product scopes' };
    }
    const now = Date.now();
    if (this.current && this.current.expiresAtMs > now && this.tokens.has(this.current.token)) return { ok: true, token: this.current };
    const token: IssuedToken = { token: randomBytes(20).toString('hex'), expiresAtMs: now + opts.ttlSeconds * 1000, scopes };
    this.tokens.set(token.token, token);
    this.current = token;
    return { ok: true, token };
  }

  /** The token behind an `Authorization` header when it is known and not expired. */
  verify(authorization: string | undefined): IssuedToken | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!m) return undefined;
    const t = this.tokens.get(m[1]);
    if (!t) return undefined;
    if (t.expiresAtMs <= Date.now()) { this.tokens.delete(t.token); return undefined; }
    return t;
  }

  /** Every token stops working now (expiry mid-run). */
  revokeAll(): void { this.tokens.clear(); this.current = undefined; }

  get liveCount(): number { return this.tokens.size; }
}
