/** HTTP plumbing shared by the OKKI simulator's routes: the answer type, body reading, the envelope. */
import type { IncomingMessage } from 'node:http';
import { formatBeijing } from '../catalog.js';
import type { OkkiKnobs } from './knobs.js';

export const MAX_BODY = 1 << 20;

/** An answer to send (also thrown to abort a route with that answer). */
export class HttpAnswer {
  constructor(readonly status: number, readonly body: unknown, readonly headers: Record<string, string> = {}, readonly outcome = 'ok', readonly code?: number | string) {}
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []; let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new HttpAnswer(413, { error: 'payload too large' });
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A JSON or form-urlencoded body as an object ({} when empty); 400 when it is not JSON. */
export async function parseBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (!text.trim()) return {};
  const type = String(req.headers['content-type'] ?? '');
  if (type.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  try {
    const v = JSON.parse(text);
    return v && typeof v === 'object' ? v : {};
  } catch {
    throw new HttpAnswer(400, { error: 'invalid_request', error_description: 'body is not valid JSON', message: 'body is not valid JSON' }, {}, 'bad-request', 'invalid_request');
  }
}

/** OKKI's `{code, message|msg, now, data}` envelope, shaped by the current knobs. */
export function envelopes(knobs: () => OkkiKnobs) {
  function envelope(code: number, message: string, data?: unknown): Record<string, unknown> {
    const out: Record<string, unknown> = { code };
    out[knobs().messageKey] = message;
    out.now = formatBeijing(Math.floor(Date.now() / 1000));
    if (data !== undefined) out.data = data;
    return out;
  }
  return {
    envelope,
    ok: (data?: unknown) => new HttpAnswer(200, envelope(knobs().successCode, 'success', data), {}, 'ok', knobs().successCode),
    /** business errors arrive as HTTP 200 with a non-success code */
    apiError: (code: number, message: string, outcome = 'bad-request') => new HttpAnswer(200, envelope(code, message), {}, outcome, code),
    /** what a throttled (QPS-limited or injected 429) call gets, per the throttleVariant knob */
    throttled(outcome: string): HttpAnswer {
      const k = knobs();
      if (k.throttleVariant === 'code') return new HttpAnswer(200, envelope(429, 'Too Many Requests: api rate limit exceeded'), {}, outcome, 429);
      const headers: Record<string, string> = k.throttleVariant === 'retry-after' ? { 'retry-after': String(k.retryAfterSeconds) } : {};
      return new HttpAnswer(429, { code: 429, message: 'Too Many Requests' }, headers, outcome, 429);
    },
    unavailable: (random: () => number) => new HttpAnswer(random() < 0.5 ? 502 : 503, { code: 503, message: 'Service Unavailable' }, {}, 'injected-5xx'),
  };
}
export type Envelopes = ReturnType<typeof envelopes>;

/** The product numbers of a /__sim body: `product_nos: string[]`. */
export function productNos(b: Record<string, unknown>): string[] {
  const v = b.product_nos;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new HttpAnswer(400, { error: 'product_nos must be an array of strings' });
  return v as string[];
}
