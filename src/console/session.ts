/**
 * Console sessions. The browser holds only a random id in an HttpOnly, SameSite=Strict cookie; the store holds a
 * hash of it with the session's CSRF token and expiry. Sessions live in the connector's store (sqlite or Redis), so
 * a session opened on one replica is valid on every other, survives a restart, and logout ends it everywhere.
 */
import { createHash, randomBytes } from 'node:crypto';
import type Keyv from 'keyv';
import { safeEqual } from '../http/auth.js';

export const SESSION_COOKIE = 'oyc_session';
/** absolute lifetime of a session: a working day, then log in again */
export const SESSION_TTL_MS = 12 * 3600_000;

export interface Session {
  /** the store key's hash input is the cookie value; this is what forms carry against CSRF */
  csrf: string;
  createdAt: string;
  expiresAt: string;
}

const storeKey = (id: string) => `console:session:${createHash('sha256').update(id, 'utf8').digest('hex')}`;
const ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export class SessionStore {
  constructor(private readonly kv: Keyv, private readonly ttlMs = SESSION_TTL_MS, private readonly now: () => number = Date.now) {}

  /** A new session: its id (for the cookie) and record. */
  async create(): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const at = this.now();
    const session: Session = { csrf: randomBytes(24).toString('base64url'), createdAt: new Date(at).toISOString(), expiresAt: new Date(at + this.ttlMs).toISOString() };
    await this.kv.set(storeKey(id), session, this.ttlMs);
    return { id, session };
  }

  /** The live session a cookie value names, if any. */
  async get(id: string | undefined): Promise<Session | undefined> {
    if (!id || !ID_SHAPE.test(id)) return undefined;
    const s = (await this.kv.get(storeKey(id))) as Session | undefined;
    if (!s || typeof s.csrf !== 'string' || Date.parse(s.expiresAt) <= this.now()) return undefined;
    return s;
  }

  async destroy(id: string | undefined): Promise<void> {
    if (id && ID_SHAPE.test(id)) await this.kv.delete(storeKey(id));
  }
}

/** Constant-time check of a submitted CSRF token against the session's. */
export function csrfMatches(session: Session, submitted: unknown): boolean {
  return typeof submitted === 'string' && submitted.length > 0 && safeEqual(submitted, session.csrf);
}

/**
 * Failed logins per client address, in memory: enough to make guessing a ≥ 16-character key hopeless from one
 * address. (Per replica; the key's length is the real defence.)
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();
  constructor(private readonly max = 10, private readonly windowMs = 15 * 60_000, private readonly now: () => number = Date.now) {}

  blocked(who: string): boolean {
    return this.recent(who).length >= this.max;
  }

  fail(who: string): void {
    const list = this.recent(who);
    list.push(this.now());
    this.failures.set(who, list);
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value as string);
  }

  succeed(who: string): void { this.failures.delete(who); }

  private recent(who: string): number[] {
    const since = this.now() - this.windowMs;
    return (this.failures.get(who) ?? []).filter((t) => t > since);
  }
}
