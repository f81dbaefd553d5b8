/**
 * `GET /usage`: the month's metered DingTalk calls and robot messages against their budgets, as kept in the store
 * (so every replica answers the same). Same credentials as the runs routes.
 */
import type Router from '@koa/router';
import type { SyncService } from '../../core/index.js';
import type { Authenticate } from '../auth.js';
import { HttpRequestError } from '../errors.js';
import type { HttpContext, HttpState } from '../middleware.js';

export function registerUsageRoute(router: Router<HttpState>, opts: { service: SyncService; authenticate: Authenticate }): void {
  router.get('/usage', async (ctx: HttpContext) => {
    opts.authenticate(ctx.req.headers);
    if (!opts.service.usage) throw new HttpRequestError('USAGE_UNAVAILABLE', 'usage metering is not available on this service');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await opts.service.usage();
  });
}
