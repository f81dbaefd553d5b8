/**
 * `POST /webhooks/okki`: OKKI's message push (registered only when OKKI_WEBHOOK_SECRET is set; otherwise 404).
 *
 * Order, each step refusing before the next begins: size (Content-Length, then while streaming) → signature and
 * timestamp over the raw bytes (401) → JSON envelope (400) → decryption (400) → events → durable enqueue (503 when
 * the store does not take it in time, so OKKI retries) → 200 in OKKI's answer shape. A repeated message_id is
 * answered 200 and queues nothing; nothing here starts a run: the drainer does, from the queue.
 */
import type { IncomingMessage } from 'node:http';
import type Router from '@koa/router';
import getRawBody from 'raw-body';
import { ConnectorError, errorMessage } from '../../errors.js';
import { decryptPayload, keyFromSecret, parseEnvelope, parsePlaintext, PushRejected, verifySignature } from '../../push/codec.js';
import type { PushQueue } from '../../core/index.js';
import type { PushMetrics } from '../../push/metrics.js';
import { BodyTimeoutError, BodyTooLargeError, HttpRequestError } from '../errors.js';
import type { HttpContext, HttpState } from '../middleware.js';

export const OKKI_PUSH_PATH = '/webhooks/okki';

export interface OkkiPushRouteOptions {
  /** OKKI_WEBHOOK_SECRET: the security_config text (HMAC key as UTF-8; AES key once base64-decoded) */
  secret: string;
  queue: Pick<PushQueue, 'enqueue'>;
  /** told after events were queued (the drainer's debounce starts) */
  onQueued(): void;
  metrics?: PushMetrics;
  /** largest body accepted; a message carries a few events, so 256 KiB is generous */
  bodyLimitBytes?: number;
  bodyTimeoutMs?: number;
  /** accepted distance of X-Timestamp from the server clock, either way (README: ±300 s) */
  windowMs?: number;
  /** the store must take the events within this time, or the answer is 503 and OKKI delivers again */
  enqueueDeadlineMs?: number;
  now?: () => number;
}

export const OKKI_PUSH_DEFAULTS = { bodyLimitBytes: 256 * 1024, bodyTimeoutMs: 10_000, windowMs: 300_000, enqueueDeadlineMs: 900 };

class QueueUnavailableError extends HttpRequestError {
  constructor(cause: unknown) { super('PUSH_QUEUE_UNAVAILABLE', 'the event queue did not take the message in time; deliver it again', { cause }); }
}

async function readRaw(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw new BodyTooLargeError(limit);
  let timer: NodeJS.Timeout | undefined;
  const read = getRawBody(req, { limit, length: declared });
  read.catch(() => undefined);
  const deadline = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new BodyTimeoutError(timeoutMs)), timeoutMs); });
  try {
    return await Promise.race([read, deadline]);
  } catch (err) {
    if (err instanceof BodyTimeoutError) { req.unpipe(); req.pause(); throw err; }
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.too.large' || e.status === 413) throw new BodyTooLargeError(limit);
    throw new HttpRequestError('PUSH_MALFORMED', 'the request body could not be read', { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); });
  work.catch(() => undefined);
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export function registerOkkiPushRoute(router: Router<HttpState>, opts: OkkiPushRouteOptions): void {
  const key = keyFromSecret(opts.secret);
  // config.ts validates this at start-up; a direct caller gets the same message
  if (!key) throw new TypeError('OKKI_WEBHOOK_SECRET: expected the security_config OKKI returned (base64 of 32 bytes)');
  const o = { ...OKKI_PUSH_DEFAULTS, ...opts, now: opts.now ?? Date.now };
  const count = (outcome: string) => opts.metrics?.deliveries.inc({ outcome });

  router.post(OKKI_PUSH_PATH, async (ctx: HttpContext) => {
    let rawBody: Buffer;
    try {
      rawBody = await readRaw(ctx.req, o.bodyLimitBytes, o.bodyTimeoutMs);
    } catch (err) { count(err instanceof BodyTooLargeError ? 'too_large' : 'malformed'); throw err; }
    let decoded;
    let messageId: string;
    try {
      verifySignature({
        secret: o.secret, signature: ctx.get('x-signature') || undefined, timestamp: ctx.get('x-timestamp') || undefined,
        rawBody, now: o.now(), windowMs: o.windowMs,
      });
      const envelope = parseEnvelope(rawBody);
      messageId = envelope.messageId;
      decoded = parsePlaintext(decryptPayload(key, envelope.data));
    } catch (err) {
      if (err instanceof PushRejected) {
        count(err.status === 401 ? 'unauthorized' : 'malformed');
        throw new HttpRequestError(err.code, err.message);
      }
      throw err;
    }
    const log = ctx.state.log;
    for (const i of decoded.ignored) log.info({ messageId, bizType: i.bizType, reason: i.reason }, 'OKKI push entry ignored');

    if (decoded.events.length) {
      let result;
      try {
        result = await within(o.enqueueDeadlineMs, opts.queue.enqueue(messageId, decoded.events, o.now()));
      } catch (err) {
        count('queue_unavailable');
        log.warn({ messageId, err: errorMessage(err) }, 'OKKI push not queued; OKKI will deliver it again');
        throw err instanceof ConnectorError && err.status < 500 ? err : new QueueUnavailableError(err);
      }
      count(result.duplicate ? 'duplicate' : 'queued');
      log.info({ messageId, events: decoded.events.length, duplicate: result.duplicate }, result.duplicate ? 'OKKI push repeated; already queued' : 'OKKI push queued');
      if (!result.duplicate) opts.onQueued();
    } else {
      count(decoded.testData ? 'test' : 'empty');
    }
    ctx.status = 200;
    ctx.body = decoded.testData
      ? { code: 200, data: { message_id: messageId, data: decoded.testData.value } }
      : { code: 200, data: { message_id: messageId } };
  });
}
