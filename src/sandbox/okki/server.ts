/**
 * Loopback OKKI Open API simulator: the token endpoint, /v1/product/list|info|groups with the reference's window,
 * paging and envelope rules, the push configuration API and a push emitter, plus knobs (latency, throttling,
 * injected failures, shifting rows, short lists, deletions) and a `/__sim/...` API. Only ever listens on 127.0.0.1.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { generateCatalog, rng } from '../catalog.js';
import { SimCatalog } from './store.js';
import { TokenAuthority } from './tokens.js';
import { applyKnobs, defaultKnobs, type OkkiEndpoint } from './knobs.js';
import { HttpAnswer, envelopes, parseBody } from './http.js';
import { productRoutes } from './products.js';
import { PushEmitter, PRODUCT_BIZ_TYPES, PRODUCT_SUBSCRIBE_TYPE, type PushConfig } from './push.js';
import { isWebhookPath, webhookRoutes } from './webhook.js';
import { simRoutes } from './sim-routes.js';
import { catalogApi, pushApi } from './facade.js';
import type { OkkiSimulator, OkkiSimulatorOptions, SimRequest } from './types.js';

export type { OkkiSimulator, OkkiSimulatorOptions, SimRequest } from './types.js';

export async function startOkkiSimulator(opts: OkkiSimulatorOptions = {}): Promise<OkkiSimulator> {
  const clientId = opts.clientId ?? 'sandbox-client';
  const clientSecret = opts.clientSecret ?? 'sandbox-secret';
  const productsOpt = opts.products ?? 300;
  const seed = opts.seed ?? 1;
  const groupCount = typeof opts.groups === 'number' ? opts.groups : undefined;
  const gen = typeof productsOpt === 'number'
    ? generateCatalog({ seed, products: productsOpt, groups: groupCount, now: opts.now, spanDays: opts.spanDays })
    : undefined;
  const groups = Array.isArray(opts.groups) ? opts.groups : gen ? undefined : generateCatalog({ seed, products: 0, groups: groupCount }).groups;
  const store = new SimCatalog(gen, Array.isArray(productsOpt) ? productsOpt : [], groups);
  const tokens = new TokenAuthority(clientId, clientSecret);
  const initialKnobs = applyKnobs(defaultKnobs(), opts.knobs ?? {});
  let knobs = initialKnobs;
  let random = rng(knobs.seed);
  const logSize = opts.requestLogSize ?? 10_000;
  let log: SimRequest[] = [];
  let seq = 0;
  const hits = new Map<OkkiEndpoint, number[]>();
  const hangs = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();

  const env = envelopes(() => knobs);
  const products = productRoutes({ store, knobs: () => knobs, random: () => random(), env });
  const push = new PushEmitter(() => knobs.push, () => random());
  store.onChange = (kind, product) => { push.productChanged(kind, product); };
  if (opts.push) {
    push.configure(opts.push.callbackUrl, opts.push.securityConfig);
    if (opts.push.subscribe !== false) push.subscribe(PRODUCT_SUBSCRIBE_TYPE, PRODUCT_BIZ_TYPES);
  }
  const initialPush: { config: PushConfig | null; subscriptions: Map<string, string[]> } = {
    config: push.config ? { ...push.config } : null, subscriptions: new Map(push.subscriptions),
  };
  const webhook = webhookRoutes(push, env, () => knobs);
  const sims = simRoutes(() => sim, { get: () => log, size: logSize });

  function overQps(ep: OkkiEndpoint, now: number): boolean {
    const limit = knobs.qps[ep];
    if (!limit) return false;
    const list = hits.get(ep) ?? [];
    while (list.length && list[0] <= now - 1000) list.shift();
    if (list.length >= limit) { hits.set(ep, list); return true; }
    list.push(now); hits.set(ep, list);
    return false;
  }

  function denied(): HttpAnswer {
    const body = { error: 'access_denied', error_description: 'The resource owner or authorization server denied the request.', message: 'The resource owner or authorization server denied the request.', hint: 'Access token could not be verified' };
    return new HttpAnswer(knobs.authFailure === 'http401' ? 401 : 200, body, {}, 'auth-denied', 'access_denied');
  }

  function tokenAnswer(body: Record<string, unknown>): HttpAnswer {
    const r = tokens.issue(body, { ttlSeconds: knobs.tokenTtlSeconds, grantedScopes: knobs.grantedScopes });
    if (!r.ok) return new HttpAnswer(r.status, { error: r.error, error_description: r.description, message: r.description }, {}, 'auth-refused', r.error);
    const out: Record<string, unknown> = { token_type: 'Bearer', access_token: r.token.token };
    if (!knobs.omitExpiresIn) out.expires_in = Math.max(1, Math.ceil((r.token.expiresAtMs - Date.now()) / 1000));
    return new HttpAnswer(200, out);
  }

  const apiRoutes: Record<string, OkkiEndpoint> = {
    'POST /v1/oauth2/access_token': 'token',
    'GET /v1/product/list': 'list',
    'GET /v1/product/info': 'info',
    'GET /v1/product/groups': 'groups',
  };

  async function apiCall(ep: OkkiEndpoint, method: string, path: string, req: IncomingMessage, q: URLSearchParams, rec: SimRequest): Promise<HttpAnswer | 'hang'> {
    const [lo, hi] = knobs.endpointLatencyMs[ep] ?? knobs.latencyMs;
    if (hi > 0) await new Promise((r) => setTimeout(r, lo + random() * (hi - lo)));
    if (overQps(ep, Date.now())) return env.throttled('throttled');
    if (knobs.errorEndpoints.includes(ep)) {
      const e = knobs.errorRates;
      if (e.http5xx && random() < e.http5xx) return env.unavailable(random);
      if (e.timeout && random() < e.timeout) return 'hang';
      if (e.http429 && random() < e.http429) return env.throttled('injected-429');
      if (e.businessError && random() < e.businessError) return env.apiError(-1, '系统繁忙，请稍后再试', 'business-error');
    }
    if (ep === 'token') return tokenAnswer(await parseBody(req));
    if (knobs.rejectAllTokens || !tokens.verify(req.headers.authorization as string | undefined)) return denied();
    if (ep === 'list') return products.list(q, rec);
    if (ep === 'info') return products.info(q);
    if (ep === 'webhook') return webhook.handle(method, path, req);
    return products.groups(q);
  }

  function record(rec: SimRequest): void {
    log.push(rec);
    if (log.length > logSize) log.splice(0, log.length - logSize);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const ep: OkkiEndpoint | undefined = apiRoutes[`${method} ${path}`] ?? (isWebhookPath(path) ? 'webhook' : undefined);
    const rec: SimRequest = {
      seq: ++seq, at: Date.now(), method, path, endpoint: ep ?? (path.startsWith('/__sim') ? 'sim' : 'unknown'),
      query: Object.fromEntries(url.searchParams), status: 0, outcome: 'ok',
    };
    let answer: HttpAnswer | 'hang';
    try {
      if (ep) answer = await apiCall(ep, method, path, req, url.searchParams, rec);
      else if (rec.endpoint === 'sim') answer = await sims.handle(method, path, req, url.searchParams);
      else answer = new HttpAnswer(404, { code: 404, message: 'Not Found' }, {}, 'unknown-route', 404);
    } catch (err) {
      answer = err instanceof HttpAnswer ? err : new HttpAnswer(err instanceof TypeError || err instanceof SyntaxError ? 400 : 500, { error: (err as Error).message });
    }
    if (ep) record(rec);
    if (answer === 'hang') {
      rec.outcome = 'injected-timeout';
      const t = setTimeout(() => { hangs.delete(t); req.socket.destroy(); }, knobs.hangMs);
      hangs.add(t);
      return;
    }
    rec.status = answer.status; rec.code = answer.code;
    if (answer.outcome !== 'ok' || rec.shifted) rec.outcome = rec.shifted && answer.outcome === 'ok' ? 'shifted' : answer.outcome;
    const text = JSON.stringify(answer.body);
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...answer.headers });
    res.end(text);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => { if (!res.headersSent) { res.writeHead(500); res.end(String(err)); } });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;

  const sim: OkkiSimulator = {
    url: `http://127.0.0.1:${port}`,
    port,
    credentials: { clientId, clientSecret, scope: 'product' },
    catalog: catalogApi(store, () => knobs),
    push: pushApi(push, store),
    get knobs() { return knobs; },
    setKnobs(patch) {
      const next = applyKnobs(knobs, patch);
      if (next.seed !== knobs.seed) random = rng(next.seed);
      if (JSON.stringify(next.failPage) !== JSON.stringify(knobs.failPage)) products.resetPageFailures();
      knobs = next;
      return knobs;
    },
    get requests() { return log.slice(); },
    clearRequests() { log = []; },
    revokeTokens() { tokens.revokeAll(); },
    reset() {
      push.reset(initialPush.config, initialPush.subscriptions);
      store.load();
      knobs = initialKnobs; random = rng(knobs.seed);
      tokens.revokeAll(); log = []; hits.clear(); products.resetState();
    },
    async close() {
      push.stop();
      for (const t of hangs) clearTimeout(t);
      hangs.clear();
      await new Promise<void>((resolve) => { server.close(() => resolve()); for (const s of sockets) s.destroy(); });
    },
  };
  return sim;
}
