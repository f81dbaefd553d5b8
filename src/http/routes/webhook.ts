/**
 * `POST /webhooks/yida/sync`: what a Yida form button (through the HTTP connector) calls.
 * The order is deliberate: credentials before a single body byte is read, then media type, size and deadline,
 * then JSON and schema; only a request that passed all of them reaches `service.trigger`.
 */
import type Router from '@koa/router';
import type { SyncService } from '../../core/index.js';
import type { Authenticate } from '../auth.js';
import { readJsonBody, type JsonBodyOptions } from '../json-body.js';
import { parseWebhookBody } from '../webhook-body.js';
import { ShuttingDownError } from '../errors.js';
import type { HttpContext, HttpState } from '../middleware.js';

export const WEBHOOK_PATH = '/webhooks/yida/sync';
/** Optional header naming who pressed the button (a Yida connector can fill it from the current user). */
export const REQUESTED_BY_HEADER = 'x-yida-user';
const REQUESTED_BY_MAX = 64;

export interface WebhookRouteOptions {
  service: SyncService;
  authenticate: Authenticate;
  body: JsonBodyOptions;
  /** how long `wait:true` waits for the run to finish */
  waitTimeoutMs: number;
}

/**
 * Header values arrive as latin1; a Yida user name is usually Chinese, so accept it percent-encoded or as raw
 * UTF-8 bytes. Control characters are dropped and the length bounded: this text ends up in logs and reports.
 */
export function requestedByFrom(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let text = raw;
  if (/%[0-9A-Fa-f]{2}/.test(text)) {
    try { text = decodeURIComponent(text); } catch { /* keep as sent */ }
  } else if (/[^\x00-\x7f]/.test(text)) {
    const utf8 = Buffer.from(text, 'latin1').toString('utf8');
    if (!utf8.includes('\uFFFD')) text = utf8;
  }
  // eslint-disable-next-line no-control-regex
  text = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
  return text ? [...text].slice(0, REQUESTED_BY_MAX).join('') : undefined;
}

export function registerWebhookRoute(router: Router<HttpState>, opts: WebhookRouteOptions): void {
  router.post(WEBHOOK_PATH, async (ctx: HttpContext) => {
    ctx.state.webhook = true;
    const method = opts.authenticate(ctx.req.headers);
    if (!opts.service.accepting) throw new ShuttingDownError('the service is shutting down and takes no new runs');
    const body = parseWebhookBody(await readJsonBody(ctx.req, opts.body));

    const requestedBy = requestedByFrom(ctx.get(REQUESTED_BY_HEADER) || undefined);
    const result = await opts.service.trigger({
      trigger: 'webhook',
      ...(body.mode ? { mode: body.mode } : {}),
      ...(body.product_nos?.length ? { productNos: body.product_nos } : {}),
      ...(body.confirmDeletes ? { confirmDeletes: true } : {}),
      ...(body.repair ? { repair: true } : {}),
      ...(requestedBy ? { requestedBy } : {}),
    });
    ctx.state.log.info({ runId: result.runId, coalesced: result.coalesced, queued: result.queued, auth: method, mode: body.mode, productNos: body.product_nos?.length }, 'webhook trigger');

    // A queued follow-up starts only after the run in progress: waiting up to 20 s for it would not end with it.
    if (body.wait && !result.queued) {
      const run = await opts.service.waitForRun(result.runId, opts.waitTimeoutMs);
      if (run && run.status !== 'running') {
        ctx.status = 200;
        ctx.body = run;
        return;
      }
    }
    ctx.status = 202;
    ctx.body = { runId: result.runId, status: 'running', coalesced: result.coalesced, ...(result.queued ? { queued: true, followUp: result.followUp } : {}) };
  });
}
