/** `GET /runs` and `GET /runs/:id`: run records for the Yida connector and operators (same credentials as the webhook). */
import type Router from '@koa/router';
import type { SyncService } from '../../core/index.js';
import type { Authenticate } from '../auth.js';
import { InvalidQueryError, RunNotFoundError } from '../errors.js';
import type { HttpContext, HttpMiddleware, HttpState } from '../middleware.js';

export const RUNS_LIMIT_DEFAULT = 20;
export const RUNS_LIMIT_MAX = 100;
const RUN_ID_MAX = 128;

export function parseRunsLimit(raw: string | string[] | undefined): number {
  if (raw === undefined) return RUNS_LIMIT_DEFAULT;
  const message = `limit must be a whole number from 1 to ${RUNS_LIMIT_MAX}`;
  if (Array.isArray(raw) || !/^\d{1,3}$/.test(raw)) throw new InvalidQueryError(message, 'limit');
  const n = Number(raw);
  if (n < 1 || n > RUNS_LIMIT_MAX) throw new InvalidQueryError(message, 'limit');
  return n;
}

export function registerRunsRoutes(router: Router<HttpState>, opts: { service: SyncService; authenticate: Authenticate }): void {
  const requireAuth: HttpMiddleware = async (ctx, next) => {
    opts.authenticate(ctx.req.headers);
    await next();
  };

  router.get('/runs', requireAuth, async (ctx: HttpContext) => {
    const limit = parseRunsLimit(ctx.query.limit);
    // A bare array, newest first: the most literal form of the README's "recent runs".
    ctx.body = await opts.service.listRuns(limit);
  });

  router.get('/runs/:id', requireAuth, async (ctx: HttpContext) => {
    const id = String((ctx as HttpContext & { params: Record<string, string> }).params.id ?? '');
    const run = id.length > 0 && id.length <= RUN_ID_MAX ? await opts.service.getRun(id) : undefined;
    if (!run) throw new RunNotFoundError();
    ctx.body = run;
  });
}
