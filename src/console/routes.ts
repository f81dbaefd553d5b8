/**
 * The console's routes under /console: login and logout, the pages (GET, session required), the run event stream,
 * and the actions (POST, session + same origin + CSRF token) that start runs through the same SyncService the
 * webhook uses.
 */
import { PassThrough } from 'node:stream';
import type Router from '@koa/router';
import { errorCode } from '../errors.js';
import type { HttpContext, HttpState } from '../http/middleware.js';
import { parseWebhookBody } from '../http/webhook-body.js';
import { InvalidBodyError } from '../http/errors.js';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import { createConsoleAuth, type ConsoleAuth } from './auth.js';
import { noticeText, type ConsoleDeps, type ConsoleTrigger } from './deps.js';
import { renderLoginPage } from './pages/login.js';
import { registerPages } from './routes-pages.js';
import { retryTargets } from './pages/run.js';
import { SessionStore } from './session.js';
import { streamRun } from './sse.js';
import { PRODUCT_NO, sendPage } from './respond.js';
import type { RunRecord, TriggerRequest } from '../core/index.js';

const formOf = (ctx: HttpContext) => (ctx.state as { form?: URLSearchParams }).form ?? new URLSearchParams();
const paramOf = (ctx: HttpContext, name: string) => String((ctx as HttpContext & { params: Record<string, string> }).params[name] ?? '');

export function registerConsole(router: Router<HttpState>, deps: ConsoleDeps): ConsoleAuth {
  const auth = createConsoleAuth({ apiKey: deps.apiKey, sandbox: deps.sandbox, sessions: new SessionStore(deps.kv) });
  const { loadSession, requireSession, requireAction } = auth;

  router.get('/console/assets/console.css', (ctx) => { ctx.type = 'text/css; charset=utf-8'; ctx.set('Cache-Control', 'public, max-age=3600'); ctx.body = CONSOLE_CSS; });
  router.get('/console/assets/console.js', (ctx) => { ctx.type = 'text/javascript; charset=utf-8'; ctx.set('Cache-Control', 'public, max-age=3600'); ctx.body = CONSOLE_JS; });

  const loginPage = (ctx: HttpContext, error?: string, status = 200) => sendPage(ctx, renderLoginPage({
    sandbox: deps.sandbox, open: auth.open, unconfigured: auth.unconfigured, next: typeof ctx.query.next === 'string' ? ctx.query.next : undefined, error,
  }), status);

  router.get('/console/login', loadSession, (ctx) => {
    if ((ctx.state as { session?: unknown }).session) { ctx.redirect('/console'); return; }
    loginPage(ctx, noticeText(ctx.query.notice));
  });
  router.post('/console/login', async (ctx) => {
    const r = await auth.login(ctx);
    if (r.ok) { ctx.status = 303; ctx.redirect(r.next); return; }
    loginPage(ctx, r.error, r.status);
  });
  router.post('/console/logout', loadSession, requireAction, async (ctx) => {
    await auth.logout(ctx);
    ctx.status = 303;
    ctx.redirect('/console/login?notice=logged-out');
  });

  registerPages(router, deps, auth);

  router.get('/console/runs/:id/events', loadSession, requireSession, async (ctx) => {
    const id = paramOf(ctx, 'id');
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Accel-Buffering', 'no');
    ctx.type = 'text/event-stream; charset=utf-8';
    const stream = new PassThrough();
    ctx.body = stream;
    const end = () => stream.destroy();
    deps.streams?.add(end);
    stream.on('close', () => deps.streams?.delete(end));
    void streamRun(stream, id, { getRun: (runId) => deps.service.getRun(runId), kv: deps.kv }, (fn) => { ctx.req.on('close', fn); stream.on('close', fn); });
  });

  /** Start a run from a button and go to its page. */
  async function start(ctx: HttpContext, req: ConsoleTrigger, back: string): Promise<void> {
    ctx.status = 303;
    try {
      const r = await deps.service.trigger({ ...req, trigger: 'console', requestedBy: 'console' } as unknown as TriggerRequest);
      ctx.redirect(`/console/runs/${encodeURIComponent(r.runId)}?notice=${r.coalesced ? 'coalesced' : 'started'}`);
    } catch (err) {
      ctx.state.log.warn({ code: errorCode(err) }, 'console action refused');
      ctx.redirect(`${back}${back.includes('?') ? '&' : '?'}notice=refused`);
    }
  }

  router.post('/console/sync', loadSession, requireAction, (ctx) => start(ctx, {}, '/console'));

  router.post('/console/runs/:id/retry', loadSession, requireAction, async (ctx) => {
    const id = paramOf(ctx, 'id');
    const run = await deps.service.getRun(id);
    const back = `/console/runs/${encodeURIComponent(id)}`;
    const targets = run ? retryTargets(run) : [];
    if (!targets.length) { ctx.status = 303; ctx.redirect(`${back}?notice=no-targets`); return; }
    await start(ctx, { productNos: targets }, back);
  });

  router.post('/console/products/sync', loadSession, requireAction, async (ctx) => {
    const no = (formOf(ctx).get('no') ?? '').trim();
    if (!PRODUCT_NO.test(no)) { ctx.status = 303; ctx.redirect('/console/products?notice=bad-number'); return; }
    await start(ctx, { productNos: [no] }, `/console/products?no=${encodeURIComponent(no)}`);
  });

  router.post('/console/mapping/check', loadSession, requireAction, async (ctx) => {
    await deps.monitor?.recheck();
    ctx.status = 303;
    ctx.redirect('/console/mapping?notice=rechecked');
  });

  // The mirror's follow-ups take what to do from the run's record (never from the form), and pass it through the
  // webhook's own body rules: the console can ask exactly what the webhook can, nothing else.
  const followUp = (path: string, bodyOf: (run: RunRecord) => unknown) => router.post(path, loadSession, requireAction, async (ctx) => {
    const id = paramOf(ctx, 'id');
    const back = `/console/runs/${encodeURIComponent(id)}`;
    const run = await deps.service.getRun(id);
    let parsed: Record<string, unknown> | undefined;
    try {
      const body = run && run.status !== 'running' ? bodyOf(run) : undefined;
      parsed = body === undefined ? undefined : parseWebhookBody(body) as Record<string, unknown>;
    } catch (err) {
      if (!(err instanceof InvalidBodyError)) throw err;
    }
    if (!parsed) { ctx.status = 303; ctx.redirect(`${back}?notice=unsupported`); return; }
    const { product_nos: _nos, wait: _wait, ...rest } = parsed;
    await start(ctx, rest, back);
  });
  followUp('/console/runs/:id/confirm-deletes', (run) => (run.gone?.guarded?.confirm ? JSON.parse(run.gone.guarded.confirm) : undefined));
  followUp('/console/runs/:id/repair', (run) => (run.mode === 'audit' && run.audit && !run.audit.repaired ? { mode: 'audit', repair: true } : undefined));

  return auth;
}

/** For `/`: is the request from someone logged in to the console? */
export function consoleViewer(auth: ConsoleAuth) {
  return async (ctx: HttpContext): Promise<boolean> => {
    let logged = false;
    await auth.loadSession(ctx, async () => { logged = Boolean((ctx.state as { session?: unknown }).session); });
    return logged;
  };
}
