/**
 * The loopback DingTalk simulator: OAuth token, Yida process instances, plain-form instances, the custom robot, and a
 * `/__sim` inspection, knob and drift API. The real `@alicloud/dingtalk` SDK cannot tell it from api.dingtalk.com for
 * what the connector uses: same paths, query/body split, field names and casing, JSON answers everywhere (the SDK
 * throws SyntaxError on anything else), and the real error statuses and codes (400/401 InvalidAuthentication,
 * 403 Forbidden.AccessDenied.QpsLimitForAppkeyAndApi, 400 failure.operation.requestTooFast, robot errcode 310000/410100).
 * Route families: api-process.ts, api-forms-write.ts, api-forms-read.ts; test-only routes: sim-routes.ts.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { defaultKnobs, mergeKnobs, type DingtalkApi } from './knobs.js';
import { HOST, HttpAnswer, dtError, ok, parseBody, readBody, unavailable } from './http.js';
import { routeOf, type RouteMatch } from './routes.js';
import { SimContext, type SimRequestRecord, type YidaTarget } from './context.js';
import { handleProcess } from './api-process.js';
import { handleFormWrite } from './api-forms-write.js';
import { handleFormRead } from './api-forms-read.js';
import { handleSim } from './sim-routes.js';
import { Meter } from './metering.js';
import { parseTime } from './search-condition.js';
import { RobotHub, robotSign } from './robot.js';
import { SlidingWindow } from './window-counter.js';
import { seededRandom } from '../random.js';
import { sleep } from '../../sleep.js';
import type { DingtalkSimulator, DingtalkSimulatorOptions } from './types.js';

export type { DingtalkSimulator, DingtalkSimulatorOptions, SeedRecord } from './types.js';
export type { SimRequestRecord, YidaTarget } from './context.js';

const FORM_WRITES = new Set<DingtalkApi>(['yida.saveFormData', 'yida.updateFormData', 'yida.deleteFormData', 'yida.batchSaveFormData', 'yida.batchUpdateFormDataByInstanceMap', 'yida.batchRemovalByFormInstanceIdList']);
const FORM_READS = new Set<DingtalkApi>(['yida.searchFormDataSecondGeneration', 'yida.searchFormDataIdList', 'yida.batchGetFormDataByIdList', 'yida.getFormComponentDefinitionList']);
/** who "someone in Yida" is when drift is planted */
const OTHER_USER = 'sim-other-user';

export async function startDingtalkSimulator(opts: DingtalkSimulatorOptions = {}): Promise<DingtalkSimulator> {
  const credentials = opts.credentials ?? { appKey: 'dingsimappkey0001', appSecret: `sim-secret-${randomBytes(12).toString('hex')}` };
  if (!credentials.appKey || !credentials.appSecret) throw new Error('credentials.appKey and credentials.appSecret must be non-empty');
  const yida: YidaTarget = {
    appType: 'APP_SIMPRODUCTS01', systemToken: `SIMSYS${randomBytes(16).toString('hex').toUpperCase()}`,
    userId: 'sim-user-0001', formUuid: 'FORM-SIMPRODUCT0001', ...opts.yida,
  };
  const plain = [...(opts.formKind === 'plain' ? [yida.formUuid] : []), ...(opts.plainForms ?? []), ...(opts.knobs?.plainForms ?? [])];
  const startKnobs = mergeKnobs(defaultKnobs(), { ...opts.knobs, plainForms: plain });
  let knobs = startKnobs;
  const logSize = opts.requestLogSize ?? 5000;

  const ctx = new SimContext(yida, () => knobs, seededRandom(opts.seed ?? 1));
  const applyFieldOptions = () => { ctx.clearFields(); for (const [uuid, defs] of Object.entries(opts.formFields ?? {})) ctx.setFields(uuid, defs); };
  applyFieldOptions();
  const qps = new SlidingWindow(1000);
  const meter = new Meter();
  const robots = new RobotHub(opts.robots ?? [], () => ({ perMinute: knobs.robotPerMinute, blockMs: knobs.robotBlockMs }));
  let log: SimRequestRecord[] = [];
  const sockets = new Set<Socket>();

  const record = (r: SimRequestRecord) => { log.push(r); if (log.length > logSize) log = log.slice(-Math.floor(logSize / 2) - 1); };

  /** the QPS limit for this app and API: undefined = go on; otherwise the refusal (not metered) */
  function throttled(appKey: string, api: DingtalkApi, rec: SimRequestRecord): HttpAnswer | undefined {
    const limit = knobs.qpsLimits[api];
    if (limit === undefined || qps.tryTake(`${appKey}|${api}`, limit, Date.now())) { meter.count(api, false); return undefined; }
    meter.count(api, true);
    rec.throttled = true;
    return knobs.throttleStyle === 'yida400'
      ? dtError(400, 'failure.operation.requestTooFast', '请求过于频繁，请稍后再试')
      : dtError(403, 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', 'Current request is rejected because the QPS of the API called by the app exceeds the limit.');
  }

  async function handleApi(route: RouteMatch, req: http.IncomingMessage, url: URL, raw: string, rec: SimRequestRecord): Promise<HttpAnswer> {
    const { api } = route;
    if (api === 'robot.send') {
      // The robot gateway's own trouble: nothing is delivered, and the answer says so the way DingTalk does.
      if (ctx.chance(knobs.errorRates[api])) { rec.code = '-1'; return ok({ errcode: -1, errmsg: '系统繁忙' }); }
      const ans = robots.send(url.searchParams, raw);
      if (ans.errcode !== 0) rec.code = String(ans.errcode); else meter.count(api, false);
      return ok(ans);
    }
    const body = parseBody(raw);
    if (body instanceof HttpAnswer) return body;

    if (api === 'oauth2.accessToken') {
      if (typeof body.appKey !== 'string' || !body.appKey) return dtError(400, 'MissingappKey', 'appKey is mandatory for this action.');
      if (typeof body.appSecret !== 'string' || !body.appSecret) return dtError(400, 'MissingappSecret', 'appSecret is mandatory for this action.');
      if (body.appKey !== credentials.appKey || body.appSecret !== credentials.appSecret) return dtError(400, 'invalidClientIdOrSecret', '无效的clientId或者clientSecret');
      const t = throttled(body.appKey, api, rec); if (t) return t;
      if (ctx.chance(knobs.errorRates[api])) return unavailable();
      const accessToken = randomBytes(16).toString('hex');
      ctx.tokens.set(accessToken, { appKey: body.appKey, expiresAt: Date.now() + knobs.tokenTtlSeconds * 1000 });
      return ok({ accessToken, expireIn: Math.round(knobs.tokenTtlSeconds) });
    }

    // A call with a bad token cannot be billed to an app: only authenticated, unthrottled calls are metered.
    const who = ctx.authenticate(req);
    if (who instanceof HttpAnswer) return who;
    const t = throttled(who.appKey, api, rec); if (t) return t;
    if (ctx.chance(knobs.errorRates[api])) return unavailable();
    if (FORM_WRITES.has(api)) return handleFormWrite(ctx, api, body, url.searchParams, rec);
    if (FORM_READS.has(api)) return handleFormRead(ctx, api, body, url.searchParams, route.params, rec);
    return handleProcess(ctx, api, body, url.searchParams, rec);
  }

  const server = http.createServer(async (req, res) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const path = url.pathname;
    const route = routeOf(method, path);
    // Logged on arrival (status 0 until answered) so a hanging call is visible while it hangs.
    const rec: SimRequestRecord = { at: Date.now(), method, path, api: route?.api, status: 0 };
    if (route) record(rec);
    let answer: HttpAnswer;
    try {
      const raw = await readBody(req);
      if (path.startsWith('/__sim/')) answer = handleSim(sim, method, path, url, raw);
      else if (!route) answer = dtError(404, 'NotFound', `${method} ${path} 不存在`);
      else {
        const [lo, hi] = knobs.latencyMs;
        if (hi > 0) await sleep(lo + ctx.random() * (hi - lo));
        answer = await handleApi(route, req, url, raw, rec);
      }
    } catch (e) {
      answer = dtError(500, 'InternalError', `simulator error: ${e instanceof Error ? e.message : String(e)}`);
    }
    rec.status = answer.status;
    if (answer.code && !rec.code) rec.code = answer.code;
    if (answer.drop) { req.socket.destroy(); return; } // the answer is lost: the client sees a reset
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
  const timeOf = (v: number | string | undefined, fallback: number): number => {
    if (v === undefined) return fallback;
    const t = parseTime(v, knobs.naiveTimeOffsetMinutes);
    if (!Number.isFinite(t)) throw new Error(`not a time: ${JSON.stringify(v)}`);
    return t;
  };

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
    instances(filter = {}) { return ctx.processes.all().filter((i) => !filter.formUuid || i.formUuid === filter.formUuid); },
    instanceCount() { return ctx.processes.size; },
    formInstances(filter = {}) { return ctx.forms.all(filter.formUuid); },
    formInstanceCount(formUuid) { return formUuid ? ctx.forms.all(formUuid).length : ctx.forms.size; },
    seedFormInstances(formUuid, records) {
      if (ctx.kindOf(formUuid) !== 'plain') throw new Error(`seed: ${formUuid} is not a plain form of this app (see the plainForms knob)`);
      return records.map((r) => {
        if (!r || typeof r.data !== 'object' || r.data === null) throw new Error('seed: each record needs a data object');
        return ctx.forms.create({ appType: yida.appType, formUuid, data: { ...r.data }, userId: yida.userId, createdAt: timeOf(r.createTime, Date.now()) }).formInstanceId;
      });
    },
    formFields(formUuid) { return ctx.fieldsOf(formUuid); },
    setFormFields(formUuid, fields) { ctx.setFields(formUuid, fields); },
    plantDelete(id) { return ctx.processes.delete(id) || ctx.forms.delete(id, knobs.searchLagMs); },
    plantDuplicate(id, o = {}) {
      const p = ctx.processes.get(id);
      const f = p ? undefined : ctx.forms.get(id);
      if (!p && !f) throw new Error(`duplicate: no instance ${id}`);
      const original = p ? Date.parse(p.createTimeGMT) : f!.createdAt;
      const at = timeOf(o.createTime, Math.max(Date.now(), original + 1));
      if (p) return ctx.processes.create({ appType: p.appType, formUuid: p.formUuid, processCode: p.processCode, data: { ...p.data }, originatorUserId: OTHER_USER }, at).processInstanceId;
      return ctx.forms.create({ appType: f!.appType, formUuid: f!.formUuid, data: { ...f!.data }, userId: OTHER_USER, createdAt: at, lagMs: knobs.searchLagMs }).formInstanceId;
    },
    plantEdit(id, patch) { return !!(ctx.processes.update(id, { ...patch }) ?? ctx.forms.update(id, { ...patch }, OTHER_USER, knobs.searchLagMs)); },
    robotMessages(o = {}) { return robots.messages.filter((m) => (o.all || m.accepted) && (!o.robot || m.robot === o.robot)); },
    requests(filter = {}) { return log.filter((r) => !filter.api || r.api === filter.api); },
    calls() { return meter.snapshot(); },
    knobs() { return knobs; },
    setKnobs(patch) { knobs = mergeKnobs(knobs, patch); return knobs; },
    expireTokens() { for (const t of ctx.tokens.values()) t.expiresAt = 0; },
    unblockRobots() { robots.unblock(); },
    reset() {
      ctx.processes.clear(); ctx.forms.clear(); ctx.tokens.clear(); applyFieldOptions();
      robots.reset(); qps.clear(); meter.clear(); log = []; knobs = startKnobs;
    },
    async close() {
      ctx.cancelTimers();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
  return sim;
}
