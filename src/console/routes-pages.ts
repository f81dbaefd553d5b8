/** The console's pages (GET, logged in): overview, one run, product lookup, mapping check and preview. */
import type Router from '@koa/router';
import { errorMessage } from '../errors.js';
import type { HttpContext, HttpState } from '../http/middleware.js';
import type { ConsoleAuth, ConsoleContext } from './auth.js';
import { noticeText, type ConsoleDeps } from './deps.js';
import { readProgress } from './progress-feed.js';
import { renderMappingPage, type MappingPageData } from './pages/mapping.js';
import { renderOverview } from './pages/overview.js';
import { renderProductPage } from './pages/product.js';
import { renderRunPage } from './pages/run.js';
import { page } from './pages/layout.js';
import { bi, html } from './pages/html.js';
import { PRODUCT_NO, sendPage } from './respond.js';

export const OVERVIEW_RUNS = 15;
const PREVIEW_MAX = 20;

const csrfOf = (ctx: HttpContext) => (ctx as ConsoleContext).state.session!.csrf;

export function registerPages(router: Router<HttpState>, deps: ConsoleDeps, auth: ConsoleAuth): void {
  const { loadSession, requirePage } = auth;
  const { service, timezone, sandbox } = deps;

  router.get('/console', loadSession, requirePage, async (ctx) => {
    const now = new Date();
    const [status, runs, ready, cursor, usage] = await Promise.all([
      service.status(),
      service.listRuns(OVERVIEW_RUNS),
      service.ready().catch(() => ({ ok: false, checks: { service: false } })),
      deps.cursor().catch(() => undefined),
      deps.usage?.().catch(() => undefined),
    ]);
    const mapping = deps.monitor?.latest();
    const fits = deps.monitor?.readiness();
    const checks = ready.checks;
    let running;
    if (status.runningRunId) {
      const run = await service.getRun(status.runningRunId);
      if (run?.status === 'running') running = { run, live: await readProgress(deps.kv, run.id) };
    }
    // The running run's row shows the live record (fresher than the stored one).
    const shown = running ? runs.map((r) => (r.id === running.run.id ? running.run : r)) : runs;
    sendPage(ctx, renderOverview({
      csrf: csrfOf(ctx), sandbox, timezone, now,
      cursor: status.cursor, cursorAgeMs: cursor ? now.getTime() - cursor.getTime() : undefined,
      nextScheduledRun: deps.nextScheduledRun?.() ?? (status as { nextScheduledRun?: Date | null }).nextScheduledRun ?? null,
      ready: { ok: ready.ok && (fits?.ok ?? true), checks }, mapping, usage, runs: shown, running, notice: noticeText(ctx.query.notice),
    }));
  });

  router.get('/console/runs/:id', loadSession, requirePage, async (ctx) => {
    const id = String((ctx as HttpContext & { params: Record<string, string> }).params.id ?? '');
    const run = id.length <= 128 ? await service.getRun(id) : undefined;
    if (!run) {
      sendPage(ctx, page({ title: '未找到 Not found', csrf: csrfOf(ctx), sandbox }, html`<h1>${bi('没有这个运行', 'No such run')}</h1><p><a href="/console">${bi('返回概览', 'Back to the overview')}</a></p>`), 404);
      return;
    }
    const live = run.status === 'running' ? await readProgress(deps.kv, run.id) : undefined;
    sendPage(ctx, renderRunPage({ csrf: csrfOf(ctx), sandbox, timezone, run, live, notice: noticeText(ctx.query.notice) }));
  });

  router.get('/console/products', loadSession, requirePage, async (ctx) => {
    const q = typeof ctx.query.no === 'string' ? ctx.query.no.trim() : undefined;
    const base = { csrf: csrfOf(ctx), sandbox, timezone, query: q, notice: noticeText(ctx.query.notice) };
    if (!q) { sendPage(ctx, renderProductPage(base)); return; }
    if (!PRODUCT_NO.test(q)) { sendPage(ctx, renderProductPage({ ...base, problem: '产品编号无效 / not a valid product number' }), 400); return; }
    sendPage(ctx, renderProductPage({ ...base, lookup: await deps.lookup(q) }));
  });

  router.get('/console/mapping', loadSession, requirePage, async (ctx) => {
    const d: MappingPageData = {
      csrf: csrfOf(ctx), sandbox, timezone, mappingFile: deps.mappingFile, check: deps.monitor?.latest(), notice: noticeText(ctx.query.notice),
    };
    const n = Number(ctx.query.preview);
    if (deps.preview && Number.isInteger(n) && n > 0) {
      try { d.preview = await deps.preview(Math.min(n, PREVIEW_MAX)); } catch (err) { d.preview = { error: errorMessage(err) }; }
    }
    sendPage(ctx, renderMappingPage(d));
  });
}
