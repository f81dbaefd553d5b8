/**
 * OKKI's push message protection as its docs describe it (reference/okki-openapi.md, "Message push"):
 * security_config = base64 of a 32-byte key; data = base64(iv 12 | tag 16 | AES-256-GCM ciphertext) with that key;
 * X-Signature = hex HMAC-SHA256 with the security_config *string* as key over X-Timestamp + the raw body.
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';

export function newSecurityConfig(): string {
  return randomBytes(32).toString('base64');
}

export function encryptPayload(plaintext: string, securityConfig: string): string {
  const key = Buffer.from(securityConfig, 'base64');
  if (key.length !== 32) throw new TypeError('security_config must be base64 of 32 bytes');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64');
}

export function signBody(securityConfig: string, timestamp: string, rawBody: string): string {
  return createHmac('sha256', Buffer.from(securityConfig, 'utf8')).update(timestamp + rawBody).digest('hex');
}
