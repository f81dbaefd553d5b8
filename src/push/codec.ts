/**
 * OKKI's message-push protocol, written from OKKI's documentation (reference/okki-openapi.md, "Message push"), not
 * from any simulator: the signature over the raw body, the AES-256-GCM envelope, and the events it carries.
 *
 * - `X-Signature` = hex HMAC-SHA256(key = the security_config text as UTF-8, message = X-Timestamp + raw body);
 *   `X-Timestamp` in unix seconds.
 * - body `{"message_id":"msg_…","data":"<base64>"}`, data = base64(iv 12 | tag 16 | ciphertext), AES-256-GCM with
 *   key = base64-decode(security_config) (32 bytes).
 * - plaintext `{"biz":[{"biz_type":"xiaoman.crm.product.create|update|delete","biz_data":{product_id, product_no}}]}`;
 *   biz_data may also arrive as a JSON string.
 *
 * Where the documentation leaves room, every plausible variant is accepted, never at the cost of authenticity: the
 * signature in hex of either case or in base64, an `sha256=` prefix, a timestamp in milliseconds, the GCM tag after
 * the ciphertext instead of before it (GCM authenticates either way, so a wrong guess can only fail).
 */
import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { normalizeProductNo, type PushEvent, type PushKind } from '../core/index.js';

export const TEST_BIZ_TYPE = 'xiaoman.open.callback.test';
export const PRODUCT_BIZ_TYPES = {
  'xiaoman.crm.product.create': 'upsert',
  'xiaoman.crm.product.update': 'upsert',
  'xiaoman.crm.product.delete': 'delete',
} as const;

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Why a push request was refused; `status` is the HTTP answer (401 authenticity, 400 malformed). */
export class PushRejected extends Error {
  constructor(readonly code: 'PUSH_UNAUTHORIZED' | 'PUSH_MALFORMED', readonly status: 401 | 400, message: string) {
    super(message);
    this.name = 'PushRejected';
  }
}
const unauthorized = (m: string) => new PushRejected('PUSH_UNAUTHORIZED', 401, m);
const malformed = (m: string) => new PushRejected('PUSH_MALFORMED', 400, m);

/** base64 or base64url (with or without padding) → bytes; undefined when the text is neither. */
export function decodeBase64(text: string): Buffer | undefined {
  const t = text.trim();
  if (!t || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) return undefined;
  return Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** The AES key a security_config stands for; undefined unless it is base64 of exactly 32 bytes. */
export function keyFromSecret(secret: string): Buffer | undefined {
  const key = decodeBase64(secret);
  return key && key.length === 32 ? key : undefined;
}

export interface SignatureCheck {
  secret: string;
  /** raw header values as received */
  signature: string | undefined;
  timestamp: string | undefined;
  rawBody: Buffer;
  /** epoch ms */
  now: number;
  /** accepted distance between X-Timestamp and now, either way */
  windowMs: number;
}

function equalBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Throws PushRejected(401) unless the request carries a valid signature made with the secret and a timestamp within
 * the window. The HMAC is always computed and compared in constant time before the timestamp is judged, so the time
 * taken says nothing about which check failed.
 */
export function verifySignature(c: SignatureCheck): void {
  const sig = c.signature?.trim();
  const ts = c.timestamp?.trim();
  if (!sig || !ts) throw unauthorized('X-Signature and X-Timestamp are required');
  const mac = createHmac('sha256', Buffer.from(c.secret, 'utf8')).update(Buffer.from(ts, 'utf8')).update(c.rawBody).digest();
  const text = sig.replace(/^sha256=/i, '');
  const candidates: Buffer[] = [];
  if (/^[0-9a-fA-F]{64}$/.test(text)) candidates.push(Buffer.from(text, 'hex'));
  else { const b = decodeBase64(text); if (b) candidates.push(b); }
  // Compare against the MAC even when the header could not be decoded, so every path does the same work.
  const given = candidates[0] ?? Buffer.alloc(mac.length);
  const matches = equalBytes(given, mac) && candidates.length > 0;
  if (!matches) throw unauthorized('X-Signature does not match');
  if (!/^\d{1,16}$/.test(ts)) throw unauthorized('X-Timestamp must be unix seconds');
  const n = Number(ts);
  const ms = n > 1e11 ? n : n * 1000; // milliseconds tolerated
  if (Math.abs(c.now - ms) > c.windowMs) throw unauthorized(`X-Timestamp is more than ${Math.round(c.windowMs / 1000)} s away from the server clock`);
}

/** The outer body: `{"message_id": "...", "data": "<base64>"}`. */
export function parseEnvelope(rawBody: Buffer): { messageId: string; data: string } {
  let body: unknown;
  try { body = JSON.parse(rawBody.toString('utf8')); } catch { throw malformed('request body is not valid JSON'); }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw malformed('request body must be a JSON object');
  const b = body as Record<string, unknown>;
  const id = typeof b.message_id === 'number' ? String(b.message_id) : b.message_id;
  if (typeof id !== 'string' || !id.trim() || id.length > 200) throw malformed('message_id must be a non-empty string of at most 200 characters');
  if (typeof b.data !== 'string' || !b.data) throw malformed('data must be the encrypted payload (a base64 string)');
  return { messageId: id.trim(), data: b.data };
}

function tryDecrypt(key: Buffer, iv: Buffer, tag: Buffer, ciphertext: Buffer): Buffer | undefined {
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    d.setAuthTag(tag);
    return Buffer.concat([d.update(ciphertext), d.final()]);
  } catch {
    return undefined;
  }
}

/** AES-256-GCM: iv(12) | tag(16) | ciphertext as documented; iv | ciphertext | tag (the WebCrypto layout) tolerated. */
export function decryptPayload(key: Buffer, data: string): string {
  const bytes = decodeBase64(data);
  if (!bytes) throw malformed('data is not base64');
  if (bytes.length < IV_BYTES + TAG_BYTES + 1) throw malformed('data is too short to hold iv, tag and ciphertext');
  const iv = bytes.subarray(0, IV_BYTES);
  const rest = bytes.subarray(IV_BYTES);
  const plain = tryDecrypt(key, iv, rest.subarray(0, TAG_BYTES), rest.subarray(TAG_BYTES))
    ?? tryDecrypt(key, iv, rest.subarray(rest.length - TAG_BYTES), rest.subarray(0, rest.length - TAG_BYTES));
  if (!plain) throw malformed('data could not be decrypted with OKKI_WEBHOOK_SECRET (wrong key or damaged ciphertext)');
  return plain.toString('utf8');
}

export interface DecodedMessage {
  /** product events, in the order they were listed */
  events: PushEvent[];
  /** the biz_data of a test event (`xiaoman.open.callback.test`), exactly as it arrived, when there was one */
  testData?: { value: unknown };
  /** biz entries that were neither product events nor the test event (other modules, unusable entries) */
  ignored: Array<{ bizType: string; reason: string }>;
}

function bizData(raw: unknown): Record<string, unknown> | undefined {
  let v = raw;
  if (typeof v === 'string') { try { v = JSON.parse(v); } catch { return undefined; } }
  return v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
}

function productNoOf(d: Record<string, unknown>): string | undefined {
  const s = normalizeProductNo(d.product_no);
  return s && s.length <= 200 ? s : undefined;
}

/** The decrypted plaintext → events. Throws PushRejected(400) when it is not the documented shape. */
export function parsePlaintext(plaintext: string): DecodedMessage {
  let body: unknown;
  try { body = JSON.parse(plaintext); } catch { throw malformed('the decrypted payload is not JSON'); }
  if (!body || typeof body !== 'object') throw malformed('the decrypted payload must be a JSON object');
  const rawBiz = (body as Record<string, unknown>).biz;
  const list = Array.isArray(rawBiz) ? rawBiz : rawBiz && typeof rawBiz === 'object' ? [rawBiz] : undefined;
  if (!list) throw malformed('the decrypted payload has no biz list');
  const out: DecodedMessage = { events: [], ignored: [] };
  for (const entry of list) {
    const e = (entry && typeof entry === 'object' ? entry : {}) as Record<string, unknown>;
    const bizType = typeof e.biz_type === 'string' ? e.biz_type.trim() : '';
    if (bizType === TEST_BIZ_TYPE) { out.testData ??= { value: e.biz_data ?? null }; continue; }
    const kind = (PRODUCT_BIZ_TYPES as Record<string, PushKind | undefined>)[bizType];
    if (!kind) { out.ignored.push({ bizType: bizType || '(none)', reason: 'not a product event' }); continue; }
    const data = bizData(e.biz_data);
    const productNo = data && productNoOf(data);
    if (!data || !productNo) { out.ignored.push({ bizType, reason: 'biz_data has no product_no' }); continue; }
    const id = Number(data.product_id);
    out.events.push({ productNo, kind, ...(Number.isSafeInteger(id) && id > 0 ? { productId: id } : {}) });
  }
  return out;
}
