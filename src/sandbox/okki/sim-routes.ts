/**
 * The OKKI simulator's `/__sim/...` API: inspect requests, set knobs, change products (each change is pushed when a
 * callback is configured), and drive and inspect push. For tests, the benchmark and a newcomer with curl in sandbox mode.
 */
import type { IncomingMessage } from 'node:http';
import { parseBeijing, type RawOkkiProduct } from '../catalog.js';
import { HttpAnswer, parseBody, productNos, readBody } from './http.js';
import type { KnobsPatch } from './knobs.js';
import type { DeliveryState } from './push.js';
import type { OkkiSimulator, SimRequest } from './types.js';

export const SIM_LINKS = [
  'GET /__sim/requests', 'GET|POST /__sim/knobs', 'GET|POST /__sim/products', 'GET /__sim/product?product_no=',
  'POST /__sim/edit {product_no, name?, price?, cost?, fields?}', 'POST /__sim/touch {product_nos}',
  'POST /__sim/delete {product_nos, mode?: remove|flag}', 'POST /__sim/restore {product_nos}',
  'POST /__sim/discontinue {product_nos, discontinued?}', 'POST /__sim/reset',
  'GET /__sim/push', 'POST|DELETE /__sim/push/config {callback_url, security_config?, subscribe?}',
  'GET|DELETE /__sim/push/deliveries[?state=]', 'POST /__sim/push/emit {product_nos, kind?}', 'POST /__sim/push/test',
];

const STATES: DeliveryState[] = ['pending', 'retrying', 'delivered', 'dropped'];
const KINDS = ['create', 'update', 'delete'] as const;

export function simRoutes(sim: () => OkkiSimulator, log: { get(): SimRequest[]; size: number }) {
  const ok = (body: unknown) => new HttpAnswer(200, body);

  async function handle(method: string, path: string, req: IncomingMessage, q: URLSearchParams): Promise<HttpAnswer> {
    const s = sim();
    const route = `${method} ${path}`;
    switch (route) {
      case 'GET /__sim':
        return ok({ simulator: 'okki', links: SIM_LINKS });
      case 'GET /__sim/requests': {
        const limit = Math.min(Number(q.get('limit') ?? log.size) || log.size, log.size);
        return ok({ requests: log.get().slice(-limit) });
      }
      case 'DELETE /__sim/requests': s.clearRequests(); return ok({ cleared: true });
      case 'GET /__sim/knobs': return ok(s.knobs);
      case 'POST /__sim/knobs': return ok(s.setKnobs((await parseBody(req)) as KnobsPatch));
      case 'GET /__sim/products': {
        const offset = Math.max(0, Number(q.get('offset') ?? 0) || 0);
        const limit = Math.min(1000, Math.max(1, Number(q.get('limit') ?? 100) || 100));
        const out: RawOkkiProduct[] = []; let i = 0;
        for (const p of s.catalog.all()) { if (i++ >= offset) out.push(p); if (out.length >= limit) break; }
        return ok({ total: s.catalog.size, offset, products: out });
      }
      case 'GET /__sim/product': {
        const no = q.get('product_no') ?? '';
        const state = s.catalog.state(no);
        if (!state) return new HttpAnswer(404, { error: `no product ${no}` });
        return ok({ product: s.catalog.get(no) ?? null, state });
      }
      case 'POST /__sim/products': {
        const body = JSON.parse((await readBody(req)) || '[]');
        const list = Array.isArray(body) ? body : body?.products;
        if (!Array.isArray(list)) return new HttpAnswer(400, { error: 'expected an array of products or {products:[...]}' });
        return ok({ upserted: s.catalog.upsert(list).length });
      }
      case 'POST /__sim/edit': {
        const b = await parseBody(req);
        if (typeof b.product_no !== 'string') return new HttpAnswer(400, { error: 'product_no (string) is required' });
        if (b.fields !== undefined && (typeof b.fields !== 'object' || b.fields === null || Array.isArray(b.fields))) return new HttpAnswer(400, { error: 'fields must be an object' });
        const p = s.catalog.edit(b.product_no, { name: b.name as string | undefined, price: b.price as number | undefined, cost: b.cost as number | undefined, fields: b.fields as Record<string, unknown> | undefined });
        return p ? ok({ product: p }) : new HttpAnswer(404, { error: `no live product ${b.product_no}` });
      }
      case 'POST /__sim/touch': {
        const b = await parseBody(req);
        const at = typeof b.update_time === 'string' ? parseBeijing(b.update_time) : undefined;
        return ok({ touched: s.catalog.touch(productNos(b), at === undefined ? undefined : new Date(at * 1000)) });
      }
      case 'POST /__sim/remove': return ok({ removed: s.catalog.remove(productNos(await parseBody(req))) });
      case 'POST /__sim/delete': {
        const b = await parseBody(req);
        if (b.mode !== undefined && b.mode !== 'remove' && b.mode !== 'flag') return new HttpAnswer(400, { error: 'mode must be remove or flag' });
        return ok({ deleted: s.catalog.delete(productNos(b), b.mode as 'remove' | 'flag' | undefined) });
      }
      case 'POST /__sim/restore': return ok({ restored: s.catalog.restore(productNos(await parseBody(req))) });
      case 'POST /__sim/discontinue': {
        const b = await parseBody(req);
        return ok({ changed: s.catalog.discontinue(productNos(b), b.discontinued !== false) });
      }
      case 'POST /__sim/revoke-tokens': s.revokeTokens(); return ok({ revoked: true });
      case 'POST /__sim/reset': s.reset(); return ok({ reset: true });
      case 'GET /__sim/push': {
        const counts = Object.fromEntries(STATES.map((st) => [st, 0]));
        for (const d of s.push.deliveries) counts[d.state]++;
        return ok({ config: s.push.config, subscriptions: s.push.subscriptions, deliveries: counts });
      }
      case 'POST /__sim/push/config': {
        const b = await parseBody(req);
        if (typeof b.callback_url !== 'string') return new HttpAnswer(400, { error: 'callback_url (string) is required' });
        const cfg = s.push.configure({ callbackUrl: b.callback_url, securityConfig: b.security_config as string | undefined, subscribe: b.subscribe !== false });
        return ok({ config: cfg, subscriptions: s.push.subscriptions });
      }
      case 'DELETE /__sim/push/config': s.push.disable(); return ok({ disabled: true });
      case 'GET /__sim/push/deliveries': {
        const state = q.get('state');
        const all = s.push.deliveries;
        return ok({ deliveries: state ? all.filter((d) => d.state === state) : all });
      }
      case 'DELETE /__sim/push/deliveries': s.push.clearDeliveries(); return ok({ cleared: true });
      case 'POST /__sim/push/emit': {
        const b = await parseBody(req);
        const kind = (b.kind ?? 'update') as (typeof KINDS)[number];
        if (!KINDS.includes(kind)) return new HttpAnswer(400, { error: 'kind must be create, update or delete' });
        return ok({ queued: s.push.emit(kind, productNos(b)) });
      }
      case 'POST /__sim/push/test': return ok({ delivery: await s.push.sendTest() });
      default: return new HttpAnswer(404, { error: `no simulator route ${route}` });
    }
  }
  return { handle };
}
