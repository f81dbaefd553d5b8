/**
 * The loopback DingTalk simulator: OAuth token, Yida process instances, the custom robot, and a `/__sim` inspection
 * and knob API. The real `@alicloud/dingtalk` SDK cannot tell it from api.dingtalk.com for what the connector uses:
 * same paths, field names and casing, JSON answers everywhere (the SDK throws SyntaxError on anything else),
 * and the real error statuses and codes (400/401 InvalidAuthentication, 403 Forbidden.AccessDenied.QpsLimitForAppkeyAndApi,
 * 400 failure.operation.requestTooFast, robot errcode 310000/410100).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { defaultKnobs, mergeKnobs, KnobError, type DingtalkApi, type DingtalkKnobs } from './knobs.js';
import { InstanceStore, SearchError, type SimInstance } from './instances.js';
import { RobotHub, robotSign, type RobotConfig, type RobotMessage } from './robot.js';
import { SlidingWindow } from './window-counter.js';
import { seededRandom } from '../random.js';
import { sleep } from '../../sleep.js';

export interface YidaTarget { appType: string; systemToken: string; userId: string; formUuid: string }

export interface DingtalkSimulatorOptions {
  /** default 0 (any free port); always bound to 127.0.0.1 */
  port?: number;
  credentials?: { appKey: string; appSecret: string };
  yida?: Partial<YidaTarget>;
  robots?: RobotConfig[];
  knobs?: Partial<DingtalkKnobs>;
  /** seed of the fault-injection PRNG (default 1) */
  seed?: number;
  /** how many recent requests `/__sim/requests` keeps (default 5000) */
  requestLogSize?: number;
}

export interface SimRequestRecord {
  at: number;
  method: string;
  /** path without the query string (robot queries carry the access token) */
  path: string;
  api?: DingtalkApi;
  status: number;
  /** DingTalk error code or robot errcode, when the answer was an error */
  code?: string;
  /** start only: the instance was created although the answer was an error or comes late (hang; status stays 0 until answered) */
  committed?: boolean;
}

export interface DingtalkSimulator {
  /** `127.0.0.1:PORT`, what the SDK's Config.endpoint takes */
  readonly endpoint: string;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly credentials: { appKey: string; appSecret: string };
  readonly yida: YidaTarget;
  /** a signed-or-not robot URL (without timestamp/sign) for a configured robot token */
  robotUrl(accessToken: string): string;
  /** the signature a client should send, for tests that build URLs by hand */
  robotSign(secret: string, timestamp: number): string;
  instances(filter?: { formUuid?: string }): SimInstance[];
  instanceCount(): number;
  robotMessages(opts?: { all?: boolean; robot?: string }): RobotMessage[];
  requests(filter?: { api?: DingtalkApi }): SimRequestRecord[];
  knobs(): DingtalkKnobs;
  setKnobs(patch: Partial<DingtalkKnobs>): DingtalkKnobs;
  /** every issued token becomes invalid now (InvalidAuthentication on next use) */
  expireTokens(): void;
  /** lift robot blocks and minute budgets */
  unblockRobots(): void;
  /** forget instances, tokens, messages, requests; knobs back to the start options */
  reset(): void;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const MAX_BODY = 4 * 1024 * 1024;

class HttpAnswer {
  constructor(readonly status: number, readonly body: unknown, readonly code?: string) {}
}

function dtError(status: number, code: string, message: string): HttpAnswer {
  return new HttpAnswer(status, { code, message, requestid: randomUUID().replace(/-/g, '').toUpperCase() }, code);
}


function routeOf(method: string, path: string): DingtalkApi | undefined {
  if (method === 'POST' && path === '/v1.0/oauth2/accessToken') return 'oauth2.accessToken';
  if (method === 'POST' && path === '/v1.0/yida/processes/instances/start') return 'yida.startInstance';
  if (method === 'PUT' && path === '/v1.0/yida/processes/instances') return 'yida.updateInstance';
  if (method === 'POST' && path === '/v1.0/yida/processes/instanceIds') return 'yida.getInstanceIdList';
  if (method === 'POST' && path === '/v1.0/yida/processes/instances') return 'yida.getInstances';
  if (method === 'POST' && path === '/robot/send') return 'robot.send';
  return undefined;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => { size += c.length; if (size > MAX_BODY) { reject(new Error('body too large')); req.destroy(); } else chunks.push(c); });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function requireString(body: Record<string, unknown>, field: string): string | HttpAnswer {
  const v = body[field];
  if (typeof v !== 'string' || v.trim() === '') return dtError(400, 'MissingParameter', `缺少参数 ${field}`);
  return v;
}

export async function startDingtalkSimulator(opts: DingtalkSimulatorOptions = {}): Promise<DingtalkSimulator> {
  const credentials = opts.credentials ?? { appKey: 'dingsimappkey0001', appSecret: `sim-secret-${randomBytes(12).toString('hex')}` };
  if (!credentials.appKey || !credentials.appSecret) throw new Error('credentials.appKey and credentials.appSecret must be non-empty');
  const yida: YidaTarget = {
    appType: 'APP_SIMPRODUCTS01', systemToken: `SIMSYS${randomBytes(16).toString('hex').toUpperCase()}`,
    userId: 'sim-user-0001', formUuid: 'FORM-SIMPRODUCT0001', ...opts.yida,
  };
  const startKnobs = mergeKnobs(defaultKnobs(), opts.knobs ?? {});
  let knobs = startKnobs;
  const random = seededRandom(opts.seed ?? 1);
  const logSize = opts.requestLogSize ?? 5000;

  const tokens = new Map<string, { appKey: string; expiresAt: number }>();
  const store = new InstanceStore();
  const qps = new SlidingWindow(1000);
  const robots = new RobotHub(opts.robots ?? [], () => ({ perMinute: knobs.robotPerMinute, blockMs: knobs.robotBlockMs }));
  let log: SimRequestRecord[] = [];
  const sockets = new Set<Socket>();
  const pendingTimers = new Set<NodeJS.Timeout>();

  const record = (r: SimRequestRecord) => { log.push(r); if (log.length > logSize) log = log.slice(-Math.floor(logSize / 2) - 1); };
  const chance = (p: number | undefined) => !!p && random() < p;

  function authenticate(req: http.IncomingMessage): { appKey: string } | HttpAnswer {
    const raw = req.headers['x-acs-dingtalk-access-token'];
    const token = Array.isArray(raw) ? raw[0] : raw;
    const t = token ? tokens.get(token) : undefined;
    if (!t) return dtError(400, 'InvalidAuthentication', '不合法的access_token');
    if (t.expiresAt <= Date.now()) return dtError(401, 'InvalidAuthentication', '不合法的access_token');
    return { appKey: t.appKey };
  }

  function throttled(appKey: string, api: DingtalkApi): HttpAnswer | undefined {
    const limit = knobs.qpsLimits[api];
    if (limit === undefined || qps.tryTake(`${appKey}|${api}`, limit, Date.now())) return undefined;
    return knobs.throttleStyle === 'yida400'
      ? dtError(400, 'failure.operation.requestTooFast', '请求过于频繁，请稍后再试')
      : dtError(403, 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', 'Current request is rejected because the QPS of the API called by the app exceeds the limit.');
  }

  function checkYidaTarget(body: Record<string, unknown>, needForm: boolean): HttpAnswer | undefined {
    for (const f of ['appType', 'systemToken', 'userId', ...(needForm ? ['formUuid'] : [])]) {
      const v = requireString(body, f);
      if (v instanceof HttpAnswer) return v;
    }
    if (body.appType !== yida.appType) return dtError(400, 'InvalidParameter.AppType', `应用 ${String(body.appType)} 不存在`);
    if (body.systemToken !== yida.systemToken) return dtError(400, 'InvalidParameter.SystemToken', 'systemToken 不正确，请在应用设置中查看应用秘钥');
    if (body.userId !== yida.userId) return dtError(400, 'InvalidParameter.UserId', `用户 ${String(body.userId)} 不存在或不是应用成员`);
    if (needForm && body.formUuid !== yida.formUuid) return dtError(400, 'InvalidParameter.FormUuid', `表单 ${String(body.formUuid)} 不存在`);
    return undefined;
  }

  function parseFormJson(field: string, v: unknown): Record<string, unknown> | HttpAnswer {
    if (typeof v !== 'string' || v.trim() === '') return dtError(400, 'MissingParameter', `缺少参数 ${field}`);
    let parsed: unknown;
    try { parsed = JSON.parse(v); } catch { return dtError(400, 'InvalidParameter', `${field} 不是合法的 JSON`); }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return dtError(400, 'InvalidParameter', `${field} 必须是 JSON 对象`);
    return parsed as Record<string, unknown>;
  }

  function paging(query: URLSearchParams): { page: number; size: number } | HttpAnswer {
    const page = Number(query.get('pageNumber') ?? '1');
    const size = Number(query.get('pageSize') ?? '10');
    if (!Number.isInteger(page) || page < 1) return dtError(400, 'InvalidParameter', 'pageNumber 必须是大于 0 的整数');
    if (!Number.isInteger(size) || size < 1 || size > 100) return dtError(400, 'InvalidParameter', 'pageSize 必须在 1 到 100 之间');
    return { page, size };
  }

  const instanceView = (i: SimInstance) => ({
    processInstanceId: i.processInstanceId, title: i.title, formUuid: i.formUuid, processCode: i.processCode,
    data: i.data, instanceStatus: i.instanceStatus, approvedResult: i.approvedResult,
    createTimeGMT: i.createTimeGMT, modifiedTimeGMT: i.modifiedTimeGMT, version: i.version,
    originator: { userId: i.originatorUserId, name: { nameInChinese: '模拟用户', nameInEnglish: 'Sim User', type: 'i18n' } },
    actionExecutor: [],
  });

  /** Runs one DingTalk API call; `late` lets start answer after its commit (hang). */
  async function handleApi(api: DingtalkApi, req: http.IncomingMessage, url: URL, raw: string, rec: SimRequestRecord): Promise<HttpAnswer> {
    if (api === 'robot.send') {
      // The robot gateway's own trouble: nothing is delivered, and the answer says so the way DingTalk does.
      if (chance(knobs.errorRates[api])) { rec.code = '-1'; return new HttpAnswer(200, { errcode: -1, errmsg: '系统繁忙' }); }
      const ans = robots.send(url.searchParams, raw);
      if (ans.errcode !== 0) rec.code = String(ans.errcode);
      return new HttpAnswer(200, ans);
    }
    let body: Record<string, unknown> = {};
    if (raw.trim() !== '') {
      try { const p = JSON.parse(raw); if (p && typeof p === 'object' && !Array.isArray(p)) body = p; else return dtError(400, 'InvalidParameter', '请求体必须是 JSON 对象'); }
      catch { return dtError(400, 'InvalidParameter', '请求体不是合法的 JSON'); }
    }

    if (api === 'oauth2.accessToken') {
      if (typeof body.appKey !== 'string' || !body.appKey) return dtError(400, 'MissingappKey', 'appKey is mandatory for this action.');
      if (typeof body.appSecret !== 'string' || !body.appSecret) return dtError(400, 'MissingappSecret', 'appSecret is mandatory for this action.');
      if (body.appKey !== credentials.appKey || body.appSecret !== credentials.appSecret) return dtError(400, 'invalidClientIdOrSecret', '无效的clientId或者clientSecret');
      const t = throttled(body.appKey, api); if (t) return t;
      if (chance(knobs.errorRates[api])) return dtError(500, 'ServiceUnavailable', '服务暂不可用，请稍后重试');
      const accessToken = randomBytes(16).toString('hex');
      tokens.set(accessToken, { appKey: body.appKey, expiresAt: Date.now() + knobs.tokenTtlSeconds * 1000 });
      return new HttpAnswer(200, { accessToken, expireIn: Math.round(knobs.tokenTtlSeconds) });
    }

    const who = authenticate(req);
    if (who instanceof HttpAnswer) return who;
    const t = throttled(who.appKey, api); if (t) return t;
    if (chance(knobs.errorRates[api])) return dtError(500, 'ServiceUnavailable', '服务暂不可用，请稍后重试');

    switch (api) {
      case 'yida.startInstance': {
        const bad = checkYidaTarget(body, true); if (bad) return bad;
        const data = parseFormJson('formDataJson', body.formDataJson); if (data instanceof HttpAnswer) return data;
        const inst = store.create({
          appType: yida.appType, formUuid: yida.formUuid, data, originatorUserId: yida.userId,
          processCode: typeof body.processCode === 'string' ? body.processCode : undefined,
        });
        if (chance(knobs.commitThen500Rate)) { rec.committed = true; return dtError(500, 'ServiceUnavailable', '服务暂不可用，请稍后重试'); }
        if (chance(knobs.hangRate)) {
          rec.committed = true;
          await new Promise<void>((resolve) => { const timer = setTimeout(() => { pendingTimers.delete(timer); resolve(); }, knobs.hangMs); pendingTimers.add(timer); });
        }
        return new HttpAnswer(200, { result: inst.processInstanceId });
      }
      case 'yida.updateInstance': {
        const bad = checkYidaTarget(body, false); if (bad) return bad;
        const id = requireString(body, 'processInstanceId'); if (id instanceof HttpAnswer) return id;
        const patch = parseFormJson('updateFormDataJson', body.updateFormDataJson); if (patch instanceof HttpAnswer) return patch;
        if (!store.update(id, patch)) return dtError(400, 'InvalidParameter.ProcessInstanceId', `流程实例 ${id} 不存在`);
        return new HttpAnswer(200, {});
      }
      case 'yida.getInstanceIdList':
      case 'yida.getInstances': {
        const bad = checkYidaTarget(body, true); if (bad) return bad;
        const pg = paging(url.searchParams); if (pg instanceof HttpAnswer) return pg;
        let found: SimInstance[];
        try {
          found = store.search({
            formUuid: String(body.formUuid),
            instanceStatus: typeof body.instanceStatus === 'string' && body.instanceStatus ? body.instanceStatus : undefined,
            searchFieldJson: typeof body.searchFieldJson === 'string' ? body.searchFieldJson : undefined,
          });
        } catch (e) {
          if (e instanceof SearchError) return dtError(400, 'InvalidParameter.SearchFieldJson', e.message);
          throw e;
        }
        const slice = found.slice((pg.page - 1) * pg.size, pg.page * pg.size);
        const data = api === 'yida.getInstanceIdList' ? slice.map((i) => i.processInstanceId) : slice.map(instanceView);
        return new HttpAnswer(200, { pageNumber: pg.page, totalCount: found.length, data });
      }
      default:
        return dtError(404, 'NotFound', 'api not found');
    }
  }

  function handleSim(method: string, path: string, url: URL, raw: string): HttpAnswer {
    if (method === 'GET' && path === '/__sim/instances') {
      const list = sim.instances({ formUuid: url.searchParams.get('formUuid') ?? undefined });
      return new HttpAnswer(200, { count: list.length, instances: list });
    }
    if (method === 'GET' && path === '/__sim/robot/messages') return new HttpAnswer(200, { messages: sim.robotMessages({ all: url.searchParams.get('all') === '1' }) });
    if (method === 'GET' && path === '/__sim/requests') return new HttpAnswer(200, { requests: sim.requests({ api: (url.searchParams.get('api') ?? undefined) as DingtalkApi | undefined }) });
    if (method === 'GET' && path === '/__sim/knobs') return new HttpAnswer(200, knobs);
    if (method === 'POST' && path === '/__sim/knobs') {
      let patch: Record<string, unknown>;
      try { patch = JSON.parse(raw || '{}'); } catch { return new HttpAnswer(400, { error: 'knobs: body is not valid JSON' }); }
      try {
        // `expireTokensNow` and `unblockRobots` are actions, not settings.
        const { expireTokensNow, unblockRobots, ...rest } = patch ?? {};
        if (expireTokensNow) sim.expireTokens();
        if (unblockRobots) sim.unblockRobots();
        return new HttpAnswer(200, sim.setKnobs(rest as Partial<DingtalkKnobs>));
      } catch (e) {
        if (e instanceof KnobError) return new HttpAnswer(400, { error: e.message });
        throw e;
      }
    }
    if (method === 'POST' && path === '/__sim/reset') { sim.reset(); return new HttpAnswer(200, { ok: true }); }
    return new HttpAnswer(404, { error: `no simulator route ${method} ${path}` });
  }

  const server = http.createServer(async (req, res) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const path = url.pathname;
    const api = routeOf(method, path);
    // Logged on arrival (status 0 until answered) so a hanging call is visible while it hangs.
    const rec: SimRequestRecord = { at: Date.now(), method, path, api, status: 0 };
    if (api) record(rec);
    let answer: HttpAnswer;
    try {
      const raw = await readBody(req);
      if (path.startsWith('/__sim/')) answer = handleSim(method, path, url, raw);
      else if (!api) answer = dtError(404, 'NotFound', `${method} ${path} 不存在`);
      else {
        const [lo, hi] = knobs.latencyMs;
        if (hi > 0) await sleep(lo + random() * (hi - lo));
        answer = await handleApi(api, req, url, raw, rec);
      }
    } catch (e) {
      answer = dtError(500, 'InternalError', `simulator error: ${e instanceof Error ? e.message : String(e)}`);
    }
    rec.status = answer.status;
    if (answer.code && !rec.code) rec.code = answer.code;
    if (res.destroyed || res.writableEnded) return; // the client gave up (timeout) while we were "working"
    const text = JSON.stringify(answer.body);
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text) };
    if (answer.body && typeof answer.body === 'object' && 'requestid' in answer.body) headers['x-acs-request-id'] = String((answer.body as { requestid: unknown }).requestid);
    res.writeHead(answer.status, headers).end(text);
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, HOST, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;

  const sim: DingtalkSimulator = {
    endpoint: `${HOST}:${port}`,
    url: `http://${HOST}:${port}`,
    port,
    credentials,
    yida,
    robotUrl(accessToken) {
      if (!robots.has(accessToken)) throw new Error('robotUrl: that access token is not one of the configured robots');
      return `http://${HOST}:${port}/robot/send?access_token=${encodeURIComponent(accessToken)}`;
    },
    robotSign,
    instances(filter = {}) { return store.all().filter((i) => !filter.formUuid || i.formUuid === filter.formUuid); },
    instanceCount() { return store.size; },
    robotMessages(o = {}) { return robots.messages.filter((m) => (o.all || m.accepted) && (!o.robot || m.robot === o.robot)); },
    requests(filter = {}) { return log.filter((r) => !filter.api || r.api === filter.api); },
    knobs() { return knobs; },
    setKnobs(patch) { knobs = mergeKnobs(knobs, patch); return knobs; },
    expireTokens() { for (const t of tokens.values()) t.expiresAt = 0; },
    unblockRobots() { robots.unblock(); },
    reset() { store.clear(); tokens.clear(); robots.reset(); qps.clear(); log = []; knobs = startKnobs; },
    async close() {
      for (const t of pendingTimers) clearTimeout(t);
      pendingTimers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
  return sim;
}
