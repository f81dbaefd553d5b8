/** How console pages are answered: HTML with strict security headers. */
import type { HttpContext } from '../http/middleware.js';
import { CONSOLE_CSP } from './pages/layout.js';

/** A product number as the console accepts it: 1-64 characters, no spaces or control characters. */
export const PRODUCT_NO = /^[^\s\u0000-\u001f]{1,64}$/u;

/** HTML answer with the console's security headers. */
export function sendPage(ctx: HttpContext, htmlText: string, status = 200): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Security-Policy', CONSOLE_CSP);
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = htmlText;
}
