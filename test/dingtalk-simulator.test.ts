/**
 * The DingTalk simulator, driven by the REAL @alicloud/dingtalk SDK over loopback sockets: what the connector
 * sees from it must be what it would see from api.dingtalk.com (paths, casing, error codes and statuses).
 */
import { expect } from 'chai';
import oauthMod, * as $oauth from '@alicloud/dingtalk/dist/oauth2_1_0/client.js';
import yidaMod, * as $yida from '@alicloud/dingtalk/dist/yida_1_0/client.js';
import * as openapi from '@alicloud/openapi-client';
import * as teaUtil from '@alicloud/tea-util';
import { startDingtalkSimulator, robotSign, type DingtalkSimulator } from '../src/sandbox/dingtalk/index.js';

const OAuthClient = ((oauthMod as any).default ?? oauthMod) as typeof oauthMod.default;
const YidaClient = ((yidaMod as any).default ?? yidaMod) as typeof yidaMod.default;
const Config = ((openapi as any).Config ?? (openapi as any).default.Config) as typeof openapi.Config;
const RuntimeOptions = ((teaUtil as any).RuntimeOptions ?? (teaUtil as any).default.RuntimeOptions) as typeof teaUtil.RuntimeOptions;

const KEY = 'textField_productNo';
const ROBOT = { accessToken: 'robot-token-0001', secret: 'SECrobotsecretforsigning0001', name: 'ops' };

async function rejection(p: Promise<unknown>): Promise<any> {
  try { await p; } catch (e) { return e; }
  throw new Error('expected the call to fail');
}

describe('DingTalk simulator through the real SDK', function () {
  let sim: DingtalkSimulator;
  let oauth: InstanceType<typeof OAuthClient>;
  let yida: InstanceType<typeof YidaClient>;
  const rt = () => new RuntimeOptions({ readTimeout: 3000, connectTimeout: 3000 });

  before(async () => {
    sim = await startDingtalkSimulator({ robots: [ROBOT, { accessToken: 'robot-unsigned-0002' }] });
    const cfg = () => new Config({ protocol: 'http', endpoint: sim.endpoint, readTimeout: 3000, connectTimeout: 3000 });
    oauth = new OAuthClient(cfg());
    yida = new YidaClient(cfg());
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());

  const token = async () => (await oauth.getAccessTokenWithOptions(new $oauth.GetAccessTokenRequest(sim.credentials), {}, rt())).body!.accessToken!;
  const target = () => ({ appType: sim.yida.appType, systemToken: sim.yida.systemToken, userId: sim.yida.userId });
  const start = async (t: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}) => (await yida.startInstanceWithOptions(
    new $yida.StartInstanceRequest({ ...target(), formUuid: sim.yida.formUuid, language: 'zh_CN', formDataJson: JSON.stringify(data), ...extra }),
    new $yida.StartInstanceHeaders({ xAcsDingtalkAccessToken: t }), rt())).body!.result!;
  const ids = async (t: string, searchFieldJson: string, pageNumber = 1, pageSize = 10) => (await yida.getInstanceIdListWithOptions(
    new $yida.GetInstanceIdListRequest({ ...target(), formUuid: sim.yida.formUuid, searchFieldJson, pageNumber, pageSize }),
    new $yida.GetInstanceIdListHeaders({ xAcsDingtalkAccessToken: t }), rt())).body!;

  describe('OAuth token', () => {
    it('issues a token with expireIn 7200 for the right app credentials', async () => {
      const res = await oauth.getAccessTokenWithOptions(new $oauth.GetAccessTokenRequest(sim.credentials), {}, rt());
      expect(res.statusCode).to.equal(200);
      expect(res.body!.accessToken).to.be.a('string').with.length.greaterThan(10);
      expect(res.body!.expireIn).to.equal(7200);
    });

    it('refuses a wrong app secret with HTTP 400 and a DingTalk code', async () => {
      const err = await rejection(oauth.getAccessTokenWithOptions(new $oauth.GetAccessTokenRequest({ appKey: sim.credentials.appKey, appSecret: 'wrong' }), {}, rt()));
      expect(err.statusCode).to.equal(400);
      expect(err.code).to.equal('invalidClientIdOrSecret');
    });

    it('rejects Yida calls with an unknown token (400) and with an expired one (401), both InvalidAuthentication', async () => {
      const unknown = await rejection(start('not-a-token', { [KEY]: 'P-1' }));
      expect(unknown.statusCode).to.equal(400);
      expect(unknown.code).to.equal('InvalidAuthentication');
      expect(unknown.data.message).to.equal('不合法的access_token');
      const t = await token();
      sim.expireTokens();
      const expired = await rejection(start(t, { [KEY]: 'P-1' }));
      expect(expired.statusCode).to.equal(401);
      expect(expired.code).to.equal('InvalidAuthentication');
      expect(sim.instanceCount()).to.equal(0);
    });

    it('lets tokens expire after the configured ttl', async () => {
      sim.setKnobs({ tokenTtlSeconds: 0.05 });
      const t = await token();
      await new Promise((r) => setTimeout(r, 80));
      expect((await rejection(start(t, { [KEY]: 'P-1' }))).code).to.equal('InvalidAuthentication');
    });
  });

  describe('Yida process instances', () => {
    it('starts an instance and returns its processInstanceId', async () => {
      const t = await token();
      const id = await start(t, { [KEY]: 'P-001', textField_name: '螺丝' });
      const [inst] = sim.instances();
      expect(inst.processInstanceId).to.equal(id);
      expect(inst.data).to.deep.equal({ [KEY]: 'P-001', textField_name: '螺丝' });
    });

    it('refuses a wrong systemToken, a wrong formUuid and a formDataJson that is not a JSON object', async () => {
      const t = await token();
      const badToken = await rejection(start(t, { a: 1 }, { systemToken: 'nope' }));
      expect(badToken.statusCode).to.equal(400);
      expect(badToken.code).to.match(/SystemToken/);
      expect((await rejection(start(t, { a: 1 }, { formUuid: 'FORM-OTHER' }))).code).to.match(/FormUuid/);
      expect((await rejection(start(t, {}, { formDataJson: '[1,2]' }))).statusCode).to.equal(400);
      expect((await rejection(start(t, {}, { formDataJson: '{oops' }))).statusCode).to.equal(400);
      expect(sim.instanceCount()).to.equal(0);
    });

    it('merges updateFormDataJson into the instance', async () => {
      const t = await token();
      const id = await start(t, { [KEY]: 'P-001', textField_name: 'old', numberField_price: 1 });
      const res = await yida.updateInstanceWithOptions(
        new $yida.UpdateInstanceRequest({ ...target(), processInstanceId: id, updateFormDataJson: JSON.stringify({ textField_name: 'new' }) }),
        new $yida.UpdateInstanceHeaders({ xAcsDingtalkAccessToken: t }), rt());
      expect(res.statusCode).to.equal(200);
      expect(sim.instances()[0].data).to.deep.equal({ [KEY]: 'P-001', textField_name: 'new', numberField_price: 1 });
      const missing = await rejection(yida.updateInstanceWithOptions(
        new $yida.UpdateInstanceRequest({ ...target(), processInstanceId: 'nope', updateFormDataJson: '{}' }),
        new $yida.UpdateInstanceHeaders({ xAcsDingtalkAccessToken: t }), rt()));
      expect(missing.statusCode).to.equal(400);
    });

    it('searches fuzzily with a map and exactly with an eq array', async () => {
      const t = await token();
      const a = await start(t, { [KEY]: 'P-001' });
      const b = await start(t, { [KEY]: 'P-0012' });
      await start(t, { [KEY]: 'Q-9' });
      const fuzzy = await ids(t, JSON.stringify({ [KEY]: 'P-001' }));
      expect(fuzzy.totalCount).to.equal(2);
      expect(fuzzy.data).to.have.members([a, b]);
      const exact = await ids(t, JSON.stringify([{ key: KEY, value: 'P-001', type: 'TEXT', operator: 'eq', componentName: 'TextField' }]));
      expect(exact).to.deep.include({ totalCount: 1, pageNumber: 1 });
      expect(exact.data).to.deep.equal([a]);
    });

    it('pages search results with pageNumber and pageSize', async () => {
      const t = await token();
      for (let i = 0; i < 5; i++) await start(t, { [KEY]: 'DUP' });
      const q = JSON.stringify([{ key: KEY, value: 'DUP', operator: 'eq' }]);
      const p1 = await ids(t, q, 1, 2); const p3 = await ids(t, q, 3, 2);
      expect(p1.totalCount).to.equal(5);
      expect(p1.data).to.have.length(2);
      expect(p3.data).to.have.length(1);
      expect((await rejection(ids(t, q, 1, 500))).statusCode).to.equal(400);
    });

    it('returns instances with their form data from getInstances', async () => {
      const t = await token();
      const id = await start(t, { [KEY]: 'P-7', textField_name: '垫片' });
      const res = await yida.getInstancesWithOptions(
        new $yida.GetInstancesRequest({ ...target(), formUuid: sim.yida.formUuid, searchFieldJson: JSON.stringify({ [KEY]: 'P-7' }), pageNumber: 1, pageSize: 10 }),
        new $yida.GetInstancesHeaders({ xAcsDingtalkAccessToken: t }), rt());
      expect(res.body!.totalCount).to.equal(1);
      expect(res.body!.data![0].processInstanceId).to.equal(id);
      expect(res.body!.data![0].data).to.deep.equal({ [KEY]: 'P-7', textField_name: '垫片' });
      expect(res.body!.data![0].instanceStatus).to.equal('RUNNING');
    });
  });

  describe('faults', () => {
    it('answers over the QPS limit with 403 Forbidden.AccessDenied.QpsLimitForAppkeyAndApi, and executes nothing', async () => {
      const t = await token();
      sim.setKnobs({ qpsLimits: { 'yida.startInstance': 2 } });
      const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => start(t, { [KEY]: `P-${i}` })));
      const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
      expect(refused.length).to.be.at.least(4);
      for (const e of refused) {
        expect(e.statusCode).to.equal(403);
        expect(e.code).to.equal('Forbidden.AccessDenied.QpsLimitForAppkeyAndApi');
      }
      expect(sim.instanceCount()).to.equal(6 - refused.length);
    });

    it('can throttle the Yida way instead: HTTP 400 failure.operation.requestTooFast', async () => {
      const t = await token();
      sim.setKnobs({ qpsLimits: { 'yida.getInstanceIdList': 1 }, throttleStyle: 'yida400' });
      const results = await Promise.allSettled([ids(t, '{}'), ids(t, '{}'), ids(t, '{}')]);
      const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
      expect(refused).to.have.length(2);
      expect(refused[0].statusCode).to.equal(400);
      expect(refused[0].code).to.equal('failure.operation.requestTooFast');
    });

    it('commit-then-500 creates the instance and still answers 500', async () => {
      const t = await token();
      sim.setKnobs({ commitThen500Rate: 1 });
      const err = await rejection(start(t, { [KEY]: 'P-1' }));
      expect(err.statusCode).to.equal(500);
      expect(sim.instanceCount()).to.equal(1);
      expect(sim.requests({ api: 'yida.startInstance' })[0]).to.include({ status: 500, committed: true });
    });

    it('a plain error rate fails without executing', async () => {
      const t = await token();
      sim.setKnobs({ errorRates: { 'yida.startInstance': 1 } });
      expect((await rejection(start(t, { [KEY]: 'P-1' }))).statusCode).to.equal(500);
      expect(sim.instanceCount()).to.equal(0);
    });

    it('hang: commits, then answers after the client has timed out', async () => {
      const t = await token();
      sim.setKnobs({ hangRate: 1, hangMs: 1500 });
      const err = await yida.startInstanceWithOptions(
        new $yida.StartInstanceRequest({ ...target(), formUuid: sim.yida.formUuid, formDataJson: '{"a":1}' }),
        new $yida.StartInstanceHeaders({ xAcsDingtalkAccessToken: t }), new RuntimeOptions({ readTimeout: 200, connectTimeout: 2000 })).then(() => undefined, (e) => e);
      expect(err, 'the SDK should time out').to.be.instanceOf(Error);
      expect(err.statusCode).to.equal(undefined);
      expect(String(err.name) + String(err.code)).to.match(/Timeout/);
      expect(sim.instanceCount()).to.equal(1);
    });

    it('answers JSON even for unknown routes, and validates knobs', async () => {
      const r = await fetch(`${sim.url}/v1.0/nope`, { method: 'POST' });
      expect(r.status).to.equal(404);
      expect(await r.json()).to.have.property('code');
      const bad = await fetch(`${sim.url}/__sim/knobs`, { method: 'POST', body: JSON.stringify({ hangRate: 2 }) });
      expect(bad.status).to.equal(400);
      expect((await bad.json()).error).to.match(/hangRate/);
      const unknown = await fetch(`${sim.url}/__sim/knobs`, { method: 'POST', body: JSON.stringify({ qpsLimit: 3 }) });
      expect((await unknown.json()).error).to.match(/unknown knob/);
      const ok = await fetch(`${sim.url}/__sim/knobs`, { method: 'POST', body: JSON.stringify({ latencyMs: [1, 2], qpsLimits: { 'yida.startInstance': 5 } }) });
      expect(ok.status).to.equal(200);
      expect(sim.knobs().qpsLimits['yida.startInstance']).to.equal(5);
    });

    it('expires tokens and exposes instances and requests through /__sim', async () => {
      const t = await token();
      await start(t, { [KEY]: 'P-1' });
      await fetch(`${sim.url}/__sim/knobs`, { method: 'POST', body: JSON.stringify({ expireTokensNow: true }) });
      expect((await rejection(start(t, { [KEY]: 'P-2' }))).code).to.equal('InvalidAuthentication');
      const inst = await (await fetch(`${sim.url}/__sim/instances`)).json();
      expect(inst.count).to.equal(1);
      const reqs = await (await fetch(`${sim.url}/__sim/requests?api=yida.startInstance`)).json();
      expect(reqs.requests.map((r: { status: number }) => r.status)).to.deep.equal([200, 401]);
      await fetch(`${sim.url}/__sim/reset`, { method: 'POST' });
      expect(sim.instanceCount()).to.equal(0);
    });
  });

  describe('custom robot', () => {
    const md = (text: string, msgUuid?: string) => JSON.stringify({ msgtype: 'markdown', markdown: { title: 'run', text }, ...(msgUuid ? { msgUuid } : {}) });
    const post = async (url: string, body: string) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json();
    const signedUrl = (ts = Date.now(), secret = ROBOT.secret) => `${sim.robotUrl(ROBOT.accessToken)}&timestamp=${ts}&sign=${encodeURIComponent(robotSign(secret, ts))}`;

    it('accepts a correctly signed message and records it as verified', async () => {
      expect(await post(signedUrl(), md('hello'))).to.deep.equal({ errcode: 0, errmsg: 'ok' });
      const [m] = sim.robotMessages();
      expect(m).to.include({ robot: 'ops', accepted: true, signatureVerified: true, msgtype: 'markdown' });
      expect(JSON.stringify(m)).not.to.include(ROBOT.accessToken);
    });

    it('refuses a forged signature, a missing one and a stale timestamp with errcode 310000', async () => {
      expect((await post(signedUrl(Date.now(), 'not-the-secret'), md('x'))).errcode).to.equal(310000);
      expect((await post(sim.robotUrl(ROBOT.accessToken), md('x'))).errcode).to.equal(310000);
      expect((await post(signedUrl(Date.now() - 2 * 3600_000), md('x'))).errcode).to.equal(310000);
      expect(sim.robotMessages()).to.have.length(0);
      expect(sim.robotMessages({ all: true })).to.have.length(3);
    });

    it('answers an unknown robot token and a malformed body with DingTalk errcodes', async () => {
      expect((await post(`${sim.url}/robot/send?access_token=unknown`, md('x'))).errcode).to.equal(300005);
      expect((await post(signedUrl(), '{"msgtype":"markdown"}')).errcode).to.equal(40035);
    });

    it('injects the robot gateway\'s own failures (errcode -1, nothing delivered) at the configured rate', async () => {
      sim.setKnobs({ errorRates: { 'robot.send': 1 } });
      expect(await post(signedUrl(), md('lost'))).to.deep.equal({ errcode: -1, errmsg: '系统繁忙' });
      expect(sim.robotMessages()).to.have.length(0);
      sim.setKnobs({ errorRates: { 'robot.send': 0 } });
      expect((await post(signedUrl(), md('kept'))).errcode).to.equal(0);
    });

    it('accepts 20 messages a minute, then blocks the robot with errcode 410100', async () => {
      const answers = [];
      for (let i = 0; i < 22; i++) answers.push((await post(signedUrl(), md(`m${i}`))).errcode);
      expect(answers.slice(0, 20).every((c) => c === 0)).to.equal(true);
      expect(answers.slice(20)).to.deep.equal([410100, 410100]);
      expect(sim.robotMessages()).to.have.length(20);
      sim.unblockRobots();
      expect((await post(signedUrl(), md('after'))).errcode).to.equal(0);
    });

    it('delivers a message once per msgUuid', async () => {
      await post(signedUrl(), md('one', 'run-1'));
      expect((await post(signedUrl(), md('one', 'run-1'))).errcode).to.equal(0);
      expect(sim.robotMessages()).to.have.length(1);
    });

    it('accepts unsigned messages for a robot without a secret, marked unverified', async () => {
      expect((await post(sim.robotUrl('robot-unsigned-0002'), JSON.stringify({ msgtype: 'text', text: { content: 'hi' } }))).errcode).to.equal(0);
      expect(sim.robotMessages({ robot: 'robot-1' })[0]).to.include({ signatureVerified: false, accepted: true });
    });
  });
});
