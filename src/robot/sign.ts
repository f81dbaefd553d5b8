/** DingTalk custom-robot signing: sign = urlencode(base64(HMAC-SHA256(key = secret, msg = `${timestampMs}\n${secret}`))). */
import { createHmac } from 'node:crypto';

/** The base64 signature (before URL encoding). */
export function robotSignature(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

/** The webhook URL with `timestamp` and `sign` added (URLSearchParams does the URL encoding of the base64). */
export function signedRobotUrl(webhookUrl: string, secret: string | undefined, timestampMs: number): string {
  const url = new URL(webhookUrl);
  if (secret) {
    url.searchParams.set('timestamp', String(timestampMs));
    url.searchParams.set('sign', robotSignature(secret, timestampMs));
  }
  return url.toString();
}
