/**
 * Loopback OKKI Open API simulator: the token endpoint, /v1/product/list|info|groups with the reference's window,
 * paging and envelope rules, plus knobs (latency, throttling, injected failures, shifting rows) and a small
 * `/__sim/...` inspection API. Only ever listens on 127.0.0.1.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { generateCatalog, formatBeijing, parseBeijing, rng, type OkkiGroup, type RawOkkiProduct } from '../catalog.js';
import { SimCatalog } from './store.js';
import { TokenAuthority } from './tokens.js';
import { applyKnobs, defaultKnobs, type KnobsPatch, type OkkiEndpoint, type OkkiKnobs } from './knobs.js';

export interface OkkiSimulatorOptions {
  port?: number;
  /** seeded catalogue: `{ seed, products }` (ignored when `products` is given as an array) */
  seed?: number;
  /** number of generated products, or the raw products to serve */
  products?: number | RawOkkiProduct[];
  groups?: number | OkkiGroup[];
  /** instant generated update times are spread back from (default now) */
  now?: Date;
  spanDays?: number;
  clientId?: string;
  clientSecret?: string;
  knobs?: KnobsPatch;
  /** request log size (oldest dropped first) */
  requestLogSize?: number;
}

export interface SimRequest {
  seq: number;
  /** epoch ms when the request arrived */
  at: number;
  method: string;
  path: string;
  endpoint: OkkiEndpoint | 'sim' | 'unknown';
  query: Record<string, string>;
  /** HTTP status answered (0 when the socket was dropped) */
  status: number;
  /** envelope code or OAuth error, when there was one */
  code?: number | string;
  /** what the simulator did: ok, throttled, injected-5xx, injected-timeout, injected-429, business-error, auth-denied, bad-request, shifted */
  outcome: string;
  /** rows bumped by the shift knob before answering */
  shifted?: string[];
}

export interface OkkiSimulator {
  url: string;
  port: number;
  credentials: { clientId: string; clientSecret: string; scope: string };
  catalog: {
    upsert(products: readonly Record<string, unknown>[]): RawOkkiProduct[];
    touch(productNos: readonly string[], at?: Date): string[];
    remove(productNos: readonly string[]): string[];
    get(productNo: string): RawOkkiProduct | undefined;
    all(): Iterable<RawOkkiProduct>;
    readonly size: number;
    readonly groups: OkkiGroup[];
    setGroups(groups: OkkiGroup[]): void;
  };
  readonly knobs: OkkiKnobs;
  setKnobs(patch: KnobsPatch): OkkiKnobs;
  /** a copy of the request log, oldest first */
  readonly requests: SimRequest[];
  clearRequests(): void;
  revokeTokens(): void;
  /** catalogue, knobs, tokens and log back to how the simulator started */
  reset(): void;
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;

class HttpAnswer {
  constructor(readonly status: number, readonly body: unknown, readonly headers: Record<string, string> = {}, readonly outcome = 'ok', readonly code?: number | string) {}
}

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
  /** per list query (window), the rows already answered: what the shift knob may move */
  const servedRows = new Map<string, Set<number>>();
  const hangs = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();

  function envelope(code: number, message: string, data?: unknown): Record<string, unknown> {
    const out: Record<string, unknown> = { code };
    out[knobs.messageKey] = message;
    out.now = formatBeijing(Math.floor(Date.now() / 1000));
    if (data !== undefined) out.data = data;
    return out;
  }
  const ok = (data: unknown) => new HttpAnswer(200, envelope(knobs.successCode, 'success', data), {}, 'ok', knobs.successCode);
  const apiError = (code: number, message: string, outcome = 'bad-request') => new HttpAnswer(200, envelope(code, message), {}, outcome, code);

  function throttled(outcome: string): HttpAnswer {
    if (knobs.throttleVariant === 'code') return apiError(429, 'Too Many Requests: api rate limit exceeded', outcome);
    const headers: Record<string, string> = knobs.throttleVariant === 'retry-after' ? { 'retry-after': String(knobs.retryAfterSeconds) } : {};
    return new HttpAnswer(429, { code: 429, message: 'Too Many Requests' }, headers, outcome, 429);
  }

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

  function parseTime(q: URLSearchParams, name: string): number | undefined | null {
    const v = q.get(name);
    if (v === null || v === '') return undefined;
    return parseBeijing(v) ?? null;
  }

  function listAnswer(q: URLSearchParams, rec: SimRequest): HttpAnswer {
    const timeType = q.get('time_type') ?? '1';
    if (timeType !== '1' && timeType !== '2') return apiError(400, 'time_type must be 1 or 2');
    const start = parseTime(q, 'start_time'); const end = parseTime(q, 'end_time');
    if (start === null) return apiError(400, 'start_time format error, expected YYYY-MM-DD HH:mm:ss');
    if (end === null) return apiError(400, 'end_time format error, expected YYYY-MM-DD HH:mm:ss');
    const startIndex = Number(q.get('start_index') ?? '1');
    let count = Number(q.get('count') ?? '20');
    if (!Number.isInteger(startIndex) || startIndex < 1) return apiError(400, 'start_index must be an integer ≥ 1');
    if (!Number.isInteger(count) || count < 1) return apiError(400, 'count must be an integer ≥ 1');
    if (count > knobs.maxCount) {
      if (knobs.overCount === 'error') return apiError(400, `count must be ≤ ${knobs.maxCount}`);
      count = knobs.maxCount;
    }
    const productType = q.get('product_type');
    const query = { timeType: Number(timeType) as 1 | 2, start, end };
    let win = store.window(query);
    const queryKey = `${timeType}|${start ?? ''}|${end ?? ''}|${productType ?? ''}`;
    if (knobs.shift && knobs.shift.rows > 0 && startIndex > 1) {
      // only rows this window's reader has really been served, from the pages before the one asked for
      const served = servedRows.get(queryKey);
      const candidates = Array.from(win.subarray(0, Math.min((startIndex - 1) * count, win.length))).filter((r) => served?.has(r));
      const picks = new Set<number>();
      const want = Math.min(knobs.shift.rows, candidates.length);
      while (picks.size < want) picks.add(candidates[Math.floor(random() * candidates.length)]);
      const nowS = Math.floor(Date.now() / 1000);
      const at = knobs.shift.mode === 'now' ? nowS : Math.max(nowS, (end ?? nowS) + 1);
      const rows = [...picks];
      rec.shifted = rows.map((r) => String(store.materialise(r).product_no));
      store.touchRows(rows, at);
      win = store.window(query);
    }
    let rows: ArrayLike<number> = win;
    if (productType) rows = Array.from(win).filter((r) => String(store.infoItem(r).product_type) === productType);
    const from = (startIndex - 1) * count;
    const list: Record<string, unknown>[] = [];
    let served = servedRows.get(queryKey);
    if (knobs.shift && !served) servedRows.set(queryKey, served = new Set());
    for (let i = from; i < Math.min(rows.length, from + count); i++) {
      list.push(store.listItem(rows[i]));
      served?.add(rows[i]);
    }
    return ok({ count: rows.length, list });
  }

  function infoAnswer(q: URLSearchParams): HttpAnswer {
    const no = q.get('product_no'); const id = q.get('product_id');
    if (!no && !id) return apiError(400, 'product_id or product_no is required');
    const row = no ? store.rowByNo(no) : store.rowById(Number(id));
    if (row === undefined) return apiError(404, 'Not Found Resource', 'not-found');
    return ok(store.infoItem(row));
  }

  function groupsAnswer(q: URLSearchParams): HttpAnswer {
    const gid = q.get('group_id'); const gname = q.get('group_name');
    let out = store.groups;
    if (gid) out = out.filter((g) => String(g.id) === gid);
    if (gname) out = out.filter((g) => g.name.includes(gname));
    return ok(out.map((g) => ({ ...g })));
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = []; let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) throw new HttpAnswer(413, { error: 'payload too large' });
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async function parseBody(req: IncomingMessage): Promise<Record<string, unknown>> {
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

  const apiRoutes: Record<string, OkkiEndpoint> = {
    'POST /v1/oauth2/access_token': 'token',
    'GET /v1/product/list': 'list',
    'GET /v1/product/info': 'info',
    'GET /v1/product/groups': 'groups',
  };

  async function apiCall(ep: OkkiEndpoint, req: IncomingMessage, q: URLSearchParams, rec: SimRequest): Promise<HttpAnswer | 'hang'> {
    const [lo, hi] = knobs.endpointLatencyMs[ep] ?? knobs.latencyMs;
    if (hi > 0) await new Promise((r) => setTimeout(r, lo + random() * (hi - lo)));
    if (overQps(ep, Date.now())) return throttled('throttled');
    if (knobs.errorEndpoints.includes(ep)) {
      const e = knobs.errorRates;
      if (e.http5xx && random() < e.http5xx) return new HttpAnswer(random() < 0.5 ? 502 : 503, { code: 503, message: 'Service Unavailable' }, {}, 'injected-5xx');
      if (e.timeout && random() < e.timeout) return 'hang';
      if (e.http429 && random() < e.http429) return throttled('injected-429');
      if (e.businessError && random() < e.businessError) return apiError(-1, '系统繁忙，请稍后再试', 'business-error');
    }
    if (ep === 'token') return tokenAnswer(await parseBody(req));
    if (knobs.rejectAllTokens || !tokens.verify(req.headers.authorization as string | undefined)) return denied();
    if (ep === 'list') return listAnswer(q, rec);
    if (ep === 'info') return infoAnswer(q);
    return groupsAnswer(q);
  }

  async function simCall(method: string, path: string, req: IncomingMessage, q: URLSearchParams): Promise<HttpAnswer> {
    const route = `${method} ${path}`;
    const nos = (b: Record<string, unknown>) => {
      const v = b.product_nos;
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new HttpAnswer(400, { error: 'product_nos must be an array of strings' });
      return v as string[];
    };
    switch (route) {
      case 'GET /__sim':
        return new HttpAnswer(200, { simulator: 'okki', links: ['/__sim/requests', '/__sim/products', '/__sim/knobs', '/v1/product/groups (needs a token)'] });
      case 'GET /__sim/requests': {
        const limit = Math.min(Number(q.get('limit') ?? logSize) || logSize, logSize);
        return new HttpAnswer(200, { requests: log.slice(-limit) });
      }
      case 'DELETE /__sim/requests': log = []; return new HttpAnswer(200, { cleared: true });
      case 'GET /__sim/knobs': return new HttpAnswer(200, knobs);
      case 'POST /__sim/knobs': return new HttpAnswer(200, sim.setKnobs((await parseBody(req)) as KnobsPatch));
      case 'GET /__sim/products': {
        const offset = Math.max(0, Number(q.get('offset') ?? 0) || 0);
        const limit = Math.min(1000, Math.max(1, Number(q.get('limit') ?? 100) || 100));
        const out: RawOkkiProduct[] = []; let i = 0;
        for (const p of store.all()) { if (i++ >= offset) out.push(p); if (out.length >= limit) break; }
        return new HttpAnswer(200, { total: store.size, offset, products: out });
      }
      case 'POST /__sim/products': {
        const body = JSON.parse((await readBody(req)) || '[]');
        const list = Array.isArray(body) ? body : body?.products;
        if (!Array.isArray(list)) return new HttpAnswer(400, { error: 'expected an array of products or {products:[...]}' });
        return new HttpAnswer(200, { upserted: store.upsert(list).length });
      }
      case 'POST /__sim/touch': {
        const b = await parseBody(req);
        const at = typeof b.update_time === 'string' ? parseBeijing(b.update_time) : undefined;
        return new HttpAnswer(200, { touched: store.touch(nos(b), at) });
      }
      case 'POST /__sim/remove': return new HttpAnswer(200, { removed: store.remove(nos(await parseBody(req))) });
      case 'POST /__sim/revoke-tokens': tokens.revokeAll(); return new HttpAnswer(200, { revoked: true });
      case 'POST /__sim/reset': sim.reset(); return new HttpAnswer(200, { reset: true });
      default: return new HttpAnswer(404, { error: `no simulator route ${route}` });
    }
  }

  function record(rec: SimRequest): void {
    log.push(rec);
    if (log.length > logSize) log.splice(0, log.length - logSize);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const ep = apiRoutes[`${method} ${path}`];
    const rec: SimRequest = {
      seq: ++seq, at: Date.now(), method, path, endpoint: ep ?? (path.startsWith('/__sim') ? 'sim' : 'unknown'),
      query: Object.fromEntries(url.searchParams), status: 0, outcome: 'ok',
    };
    let answer: HttpAnswer | 'hang';
    try {
      if (ep) answer = await apiCall(ep, req, url.searchParams, rec);
      else if (rec.endpoint === 'sim') answer = await simCall(method, path, req, url.searchParams);
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
    catalog: {
      upsert: (products) => store.upsert(products),
      touch: (productNos, at) => store.touch(productNos, at ? Math.floor(at.getTime() / 1000) : undefined),
      remove: (productNos) => store.remove(productNos),
      get: (no) => { const r = store.rowByNo(no); return r === undefined ? undefined : store.materialise(r); },
      all: () => store.all(),
      get size() { return store.size; },
      get groups() { return store.groups; },
      setGroups: (g) => { store.groups = g.map((x) => ({ ...x })); },
    },
    get knobs() { return knobs; },
    setKnobs(patch) {
      const next = applyKnobs(knobs, patch);
      if (next.seed !== knobs.seed) random = rng(next.seed);
      knobs = next;
      return knobs;
    },
    get requests() { return log.slice(); },
    clearRequests() { log = []; },
    revokeTokens() { tokens.revokeAll(); },
    reset() {
      store.load();
      knobs = initialKnobs; random = rng(knobs.seed);
      tokens.revokeAll(); log = []; hits.clear(); servedRows.clear();
    },
    async close() {
      for (const t of hangs) clearTimeout(t);
      hangs.clear();
      await new Promise<void>((resolve) => { server.close(() => resolve()); for (const s of sockets) s.destroy(); });
    },
  };
  return sim;
}
