/**
 * Who may use the console: whoever knows the API key (WEBHOOK_API_KEY) logs in once and gets a session cookie
 * (HttpOnly, SameSite=Strict, Secure when the request came over https: directly, or per X-Forwarded-Proto when
 * TRUST_PROXY is set). Every state-changing request is a POST that must come from our own origin and carry the
 * session's CSRF token. In sandbox mode without a key the login asks for none (the data is simulated).
 */
import getRawBody from 'raw-body';
import { ConnectorError } from '../errors.js';
import { safeEqual } from '../http/auth.js';
import type { HttpContext, HttpMiddleware } from '../http/middleware.js';
import { csrfMatches, LoginThrottle, SESSION_COOKIE, SESSION_TTL_MS, SessionStore, type Session } from './session.js';

export interface ConsoleAuthOptions {
  apiKey?: string;
  sandbox: boolean;
  sessions: SessionStore;
  throttle?: LoginThrottle;
}

export type ConsoleContext = HttpContext & { state: HttpContext['state'] & { session?: Session; sessionId?: string } };

export class ConsoleForbiddenError extends ConnectorError {
  constructor(message: string) { super('CONSOLE_FORBIDDEN', message); }
}

export class ConsoleUnauthorizedError extends ConnectorError {
  constructor() { super('CONSOLE_LOGIN_REQUIRED', 'log in to the console first (/console/login)'); }
}

export class ConsoleLoginThrottledError extends ConnectorError {
  constructor() { super('CONSOLE_LOGIN_THROTTLED', 'too many failed logins from this address; wait a quarter of an hour'); }
}

/** The form fields of a urlencoded POST (small: 8 KiB at most, 5 s to arrive). */
export async function readForm(ctx: HttpContext): Promise<URLSearchParams> {
  const type = (ctx.get('content-type') || '').split(';')[0]!.trim().toLowerCase();
  if (ctx.req.headers['content-length'] === '0' || (!ctx.req.headers['content-length'] && !ctx.req.headers['transfer-encoding'])) return new URLSearchParams();
  if (type !== 'application/x-www-form-urlencoded') throw new ConsoleForbiddenError('console forms are sent as application/x-www-form-urlencoded');
  let text: string;
  try {
    text = await getRawBody(ctx.req, { limit: 8 * 1024, encoding: 'utf8' });
  } catch {
    throw new ConnectorError('CONSOLE_FORM_INVALID', 'the form could not be read (too large or cut off)');
  }
  return new URLSearchParams(text);
}

/**
 * A POST must come from the console's own pages. A modern browser says so itself (`Sec-Fetch-Site`), which also holds
 * behind a proxy that rewrites Host or terminates TLS; an older one sends Origin, whose host must be ours (the scheme
 * is not compared: behind a TLS proxy without TRUST_PROXY the service sees http). The CSRF token is checked as well.
 */
export function checkSameOrigin(ctx: HttpContext): void {
  const site = ctx.get('sec-fetch-site');
  if (site) {
    if (site !== 'same-origin' && site !== 'none') throw new ConsoleForbiddenError('cross-site request refused');
    return;
  }
  const origin = ctx.get('origin');
  if (!origin) return;
  let host: string | undefined;
  try { host = origin === 'null' ? undefined : new URL(origin).host; } catch { host = undefined; }
  if (host !== ctx.host) throw new ConsoleForbiddenError('cross-origin request refused');
}

function cookie(ctx: HttpContext, value: string, maxAgeSeconds: number): string {
  const parts = [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeSeconds}`];
  if (ctx.secure) parts.push('Secure');
  return parts.join('; ');
}

/** Only local paths are followed after login (no open redirect). */
export function safeNext(next: string | null | undefined): string {
  return typeof next === 'string' && /^\/console(\/[^\s\\]*)?(\?[^\s\\]*)?$/.test(next) && !next.startsWith('//') ? next : '/console';
}

export function createConsoleAuth(opts: ConsoleAuthOptions) {
  const throttle = opts.throttle ?? new LoginThrottle();
  /** sandbox without a key: no key is asked for */
  const open = opts.sandbox && opts.apiKey === undefined;
  const unconfigured = !open && opts.apiKey === undefined;

  /** Loads the session (if any) onto ctx.state; never refuses. */
  const loadSession: HttpMiddleware = async (ctx, next) => {
    const c = ctx as ConsoleContext;
    const id = ctx.cookies.get(SESSION_COOKIE);
    const s = await opts.sessions.get(id).catch(() => undefined);
    if (s) { c.state.session = s; c.state.sessionId = id; }
    await next();
  };

  /** Pages: to the login page when not logged in. */
  const requirePage: HttpMiddleware = async (ctx, next) => {
    if (!(ctx as ConsoleContext).state.session) {
      ctx.set('Cache-Control', 'no-store');
      ctx.redirect(`/console/login?next=${encodeURIComponent(ctx.originalUrl)}`);
      return;
    }
    await next();
  };

  /** Event streams and other non-page reads: 401 when not logged in. */
  const requireSession: HttpMiddleware = async (ctx, next) => {
    if (!(ctx as ConsoleContext).state.session) throw new ConsoleUnauthorizedError();
    await next();
  };

  /** Actions: logged in, same origin, CSRF token; the parsed form is left on ctx.state.form. */
  const requireAction: HttpMiddleware = async (ctx, next) => {
    const c = ctx as ConsoleContext;
    if (!c.state.session) throw new ConsoleUnauthorizedError();
    checkSameOrigin(ctx);
    const form = await readForm(ctx);
    if (!csrfMatches(c.state.session, form.get('_csrf'))) throw new ConsoleForbiddenError('the form is stale or did not come from the console (CSRF token mismatch); reload the page');
    (ctx.state as { form?: URLSearchParams }).form = form;
    await next();
  };

  async function login(ctx: HttpContext): Promise<{ ok: true; next: string } | { ok: false; error: string; status: number }> {
    checkSameOrigin(ctx);
    if (unconfigured) return { ok: false, status: 403, error: 'WEBHOOK_API_KEY 未设置 / WEBHOOK_API_KEY is not set' };
    const who = ctx.ip || 'unknown';
    if (throttle.blocked(who)) throw new ConsoleLoginThrottledError();
    const form = await readForm(ctx);
    const next = safeNext(form.get('next'));
    if (!open && !safeEqual(form.get('key') ?? '', opts.apiKey!)) {
      throttle.fail(who);
      return { ok: false, status: 401, error: '密钥不正确 / the key is not valid' };
    }
    throttle.succeed(who);
    const { id } = await opts.sessions.create();
    ctx.append('Set-Cookie', cookie(ctx, id, Math.floor(SESSION_TTL_MS / 1000)));
    return { ok: true, next };
  }

  async function logout(ctx: HttpContext): Promise<void> {
    await opts.sessions.destroy((ctx as ConsoleContext).state.sessionId);
    ctx.append('Set-Cookie', cookie(ctx, '', 0));
  }

  return { loadSession, requirePage, requireSession, requireAction, login, logout, open, unconfigured };
}

export type ConsoleAuth = ReturnType<typeof createConsoleAuth>;
