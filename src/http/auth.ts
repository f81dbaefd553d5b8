/**
 * Who may call the webhook and the runs routes: the Yida connector with its `X-API-Key`, or the DingTalk connection
 * platform with its `x-ddpaas-signature` headers (when WEBHOOK_SIGNING_SECRET is set).
 * Comparisons go through fixed-length digests and timingSafeEqual so response time says nothing about the key.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ReplayGuard } from './replay-guard.js';
import { UnauthorizedError } from './errors.js';

export const API_KEY_HEADER = 'x-api-key';
export const DDPAAS_SIGNATURE_HEADER = 'x-ddpaas-signature';
export const DDPAAS_TIMESTAMP_HEADER = 'x-ddpaas-signature-timestamp';

export interface AuthOptions {
  apiKey?: string;
  signingSecret?: string;
  /** sandbox mode: with no credential configured, calls are let through */
  sandbox: boolean;
  /** how far a signature timestamp may be from now, either way (ms) */
  signatureWindowMs?: number;
  /** how many recent signatures to remember against replays */
  replayCapacity?: number;
  now?: () => number;
}

export type AuthMethod = 'api-key' | 'ddpaas-signature' | 'sandbox-open';

export type Authenticate = (headers: IncomingHttpHeaders) => AuthMethod;

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Constant-time string equality (length differences are hidden by hashing first). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** The signature DingTalk's connection platform sends: base64(HMAC-SHA256(secret, timestamp)). */
export function ddpaasSignature(secret: string, timestamp: string): string {
  return createHmac('sha256', secret).update(timestamp, 'utf8').digest('base64');
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

export function createAuthenticator(opts: AuthOptions): Authenticate {
  const windowMs = opts.signatureWindowMs ?? 5 * 60_000;
  const capacity = opts.replayCapacity ?? 10_000;
  if (!(windowMs > 0)) throw new RangeError('createAuthenticator: signatureWindowMs must be > 0');
  const now = opts.now ?? Date.now;
  // A timestamp is accepted from now−window to now+window, so a signature stays replayable for 2×window.
  const replays = new ReplayGuard(2 * windowMs, capacity);
  const configured = opts.apiKey !== undefined || opts.signingSecret !== undefined;

  function checkSignature(signature: string, timestamp: string): AuthMethod {
    const secret = opts.signingSecret!;
    if (!safeEqual(signature, ddpaasSignature(secret, timestamp))) throw new UnauthorizedError('x-ddpaas-signature does not match');
    if (!/^\d{1,16}$/.test(timestamp)) throw new UnauthorizedError('x-ddpaas-signature-timestamp must be milliseconds since the epoch');
    const t = now();
    if (Math.abs(t - Number(timestamp)) > windowMs) throw new UnauthorizedError(`x-ddpaas-signature-timestamp is more than ${Math.round(windowMs / 1000)} s away from the server clock`);
    if (!replays.claim(signature, t)) throw new UnauthorizedError('x-ddpaas-signature was already used');
    return 'ddpaas-signature';
  }

  return (headers) => {
    if (!configured) {
      if (opts.sandbox) return 'sandbox-open';
      throw new UnauthorizedError('WEBHOOK_API_KEY is not set: the webhook refuses every call until it is configured');
    }
    const key = header(headers, API_KEY_HEADER);
    if (key !== undefined) {
      if (opts.apiKey !== undefined && safeEqual(key, opts.apiKey)) return 'api-key';
      throw new UnauthorizedError(opts.apiKey === undefined ? 'X-API-Key is not accepted: WEBHOOK_API_KEY is not set' : 'X-API-Key is not valid');
    }
    const signature = header(headers, DDPAAS_SIGNATURE_HEADER);
    const timestamp = header(headers, DDPAAS_TIMESTAMP_HEADER);
    if (opts.signingSecret !== undefined && (signature !== undefined || timestamp !== undefined)) {
      if (signature === undefined || timestamp === undefined) throw new UnauthorizedError('x-ddpaas-signature and x-ddpaas-signature-timestamp must be sent together');
      return checkSignature(signature, timestamp);
    }
    throw new UnauthorizedError(opts.signingSecret === undefined ? 'missing X-API-Key header' : 'missing X-API-Key header or x-ddpaas-signature headers');
  };
}
