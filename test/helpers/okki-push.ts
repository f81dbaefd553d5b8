/**
 * A sender of OKKI push deliveries written from OKKI's documentation (reference/okki-openapi.md "Message push"),
 * independent of both the receiver's codec and the simulator's emitter: sign hex HMAC-SHA256(security_config,
 * timestamp + body), encrypt AES-256-GCM with base64-decode(security_config), data = base64(iv | tag | ciphertext).
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { request, type TestResponse } from './fake-service.js';

export const PUSH_PATH = '/webhooks/okki';

/** A fresh security_config: base64 of 32 random bytes, as OKKI hands it out. */
export function newSecurityConfig(): string { return randomBytes(32).toString('base64'); }

export interface BizEntry { biz_type: string; biz_data: unknown }

export const product = (kind: 'create' | 'update' | 'delete', productNo: string, productId = 1000): BizEntry =>
  ({ biz_type: `xiaoman.crm.product.${kind}`, biz_data: { product_id: productId, product_no: productNo } });

export function encrypt(secret: string, plaintext: string, layout: 'iv-tag-ct' | 'iv-ct-tag' = 'iv-tag-ct'): string {
  const key = Buffer.from(secret, 'base64');
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  const tag = c.getAuthTag();
  return Buffer.concat(layout === 'iv-tag-ct' ? [iv, tag, ct] : [iv, ct, tag]).toString('base64');
}

export function sign(secret: string, timestamp: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(timestamp).update(body).digest('hex');
}

export interface Delivery { body: string; headers: Record<string, string>; messageId: string }

export function delivery(secret: string, biz: BizEntry[], o: { messageId?: string; timestamp?: number; layout?: 'iv-tag-ct' | 'iv-ct-tag'; signWith?: string; data?: string } = {}): Delivery {
  const messageId = o.messageId ?? `msg_${randomBytes(8).toString('hex')}`;
  const body = JSON.stringify({ message_id: messageId, data: o.data ?? encrypt(secret, JSON.stringify({ biz }), o.layout) });
  const ts = String(o.timestamp ?? Math.floor(Date.now() / 1000));
  return { body, messageId, headers: { 'content-type': 'application/json', 'x-timestamp': ts, 'x-signature': sign(o.signWith ?? secret, ts, body) } };
}

export function deliver(baseUrl: string, d: Pick<Delivery, 'body' | 'headers'>): Promise<TestResponse> {
  return request(baseUrl, { method: 'POST', path: PUSH_PATH, headers: d.headers, body: d.body });
}
