/** Operator routes, no credentials: liveness, readiness, Prometheus metrics and the status page. */
import type Router from '@koa/router';
import type { SyncService } from '../../core/index.js';
import type { Metrics } from '../../metrics.js';
import { renderStatusPage } from '../status-page.js';
import { safeEqual } from '../auth.js';
import { ConnectorError } from '../../errors.js';
import { renderPublicHome } from '../../console/pages/login.js';
import { sendPage } from '../../console/respond.js';
import type { HttpContext, HttpState } from '../middleware.js';

export const STATUS_PAGE_RUNS = 10;

export interface OpsRouteOptions {
  service: SyncService;
  metrics: Metrics;
  timezone: string;
  /** sandbox mode: the status page says so */
  sandbox: boolean;
  /** when the schedule fires next (the schedule is wired by the entry point, after the app) */
  nextScheduledRun?: () => Date | null;
  /** METRICS_TOKEN: /metrics then wants `Authorization: Bearer <token>` */
  metricsToken?: string;
  /** is the request from someone logged in to the console? (`/` shows run data only to them) */
  viewer?: (ctx: HttpContext) => Promise<boolean>;
  /** does the mapping fit the Yida form (last check)? false makes /readyz not ready */
  mappingFit?: () => { ok: boolean; problems?: string[] };
}

class MetricsUnauthorizedError extends ConnectorError {
  constructor() { super('METRICS_UNAUTHORIZED', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>'); }
}

export function registerOpsRoutes(router: Router<HttpState>, opts: OpsRouteOptions): void {
  const { service, metrics } = opts;

  router.get('/healthz', (ctx: HttpContext) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx: HttpContext) => {
    let result: { ok: boolean; checks: Record<string, boolean> };
    try {
      result = await service.ready();
    } catch (err) {
      ctx.state.log.warn({ err }, 'readiness check threw');
      result = { ok: false, checks: { service: false } };
    }
    const accepting = service.accepting;
    const fit = opts.mappingFit?.();
    const ok = result.ok && accepting && (fit?.ok ?? true);
    ctx.status = ok ? 200 : 503;
    ctx.body = {
      status: ok ? 'ready' : 'not_ready',
      // a balancer or an operator must be able to tell the simulators from the real thing
      sandbox: opts.sandbox,
      checks: { ...result.checks, accepting, ...(fit ? { mappingFitsForm: fit.ok } : {}) },
      ...(fit?.problems?.length ? { mappingProblems: fit.problems } : {}),
    };
  });

  router.get('/metrics', async (ctx: HttpContext) => {
    if (opts.metricsToken !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
      if (!m || !safeEqual(m[1]!, opts.metricsToken)) { ctx.set('WWW-Authenticate', 'Bearer'); throw new MetricsUnauthorizedError(); }
    }
    const text = await metrics.registry.metrics();
    ctx.type = metrics.registry.contentType;
    ctx.body = text;
  });

  router.get('/', async (ctx: HttpContext) => {
    // Uptime checks get a 200 either way; run data only for someone logged in to the console.
    if (!(await opts.viewer?.(ctx).catch(() => false))) {
      sendPage(ctx, renderPublicHome({ sandbox: opts.sandbox }));
      return;
    }
    const [engine, runs] = await Promise.all([service.status(), service.listRuns(STATUS_PAGE_RUNS)]);
    const status = { ...engine, nextScheduledRun: opts.nextScheduledRun?.() ?? null, sandbox: opts.sandbox };
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = renderStatusPage({ status, runs, timezone: opts.timezone, now: new Date() });
  });
}
