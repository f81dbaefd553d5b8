/**
 * The Yida sink: the real SDK against the DingTalk simulator over loopback sockets.
 * Reads retry on anything transient; startInstance is never repeated once its outcome is unknown.
 */
import { expect } from 'chai';
import { createYidaSink, exactSearchJson, YidaError } from '../src/yida/index.js';
import { AdaptivePacer } from '../src/yida/pacer.js';
import { classify } from '../src/yida/classify.js';
import { createMetrics } from '../src/metrics.js';
import { startSinkFixture, counter, dingtalkConfigFor, KEY_FIELD, type SinkFixture } from './helpers/dingtalk.js';
import { exponential } from '../src/outbound/index.js';

async function rejection(p: Promise<unknown>): Promise<any> {
  try { await p; } catch (e) { return e; }
  throw new Error('expected the call to fail');
}

describe('Yida sink (real SDK against the simulator)', function () {
  let fx: SinkFixture;
  afterEach(() => fx?.close());

  it('starts, updates and finds an instance by exact key', async () => {
    fx = await startSinkFixture();
    const id = await fx.sink.create({ [KEY_FIELD]: 'P-001', textField_name: 'A' });
    await fx.sink.create({ [KEY_FIELD]: 'P-0012', textField_name: 'B' });
    await fx.sink.update(id, { textField_name: 'A2' });
    expect(fx.sim.instances().find((i) => i.processInstanceId === id)!.data).to.deep.equal({ [KEY_FIELD]: 'P-001', textField_name: 'A2' });
    expect(await fx.sink.findByKey(KEY_FIELD, 'P-001')).to.deep.equal([id]);
    expect(await fx.sink.findByKey(KEY_FIELD, 'P-00')).to.deep.equal([]);
  });

  it('leaves empty fields out of a new instance, and sends them as null on update so Yida clears them', async () => {
    fx = await startSinkFixture();
    const id = await fx.sink.create({ [KEY_FIELD]: 'P-009', textField_name: 'A', textareaField_remark: null });
    expect(fx.sim.instances().find((i) => i.processInstanceId === id)!.data).to.deep.equal({ [KEY_FIELD]: 'P-009', textField_name: 'A' });
    await fx.sink.update(id, { [KEY_FIELD]: 'P-009', textField_name: null });
    expect(fx.sim.instances().find((i) => i.processInstanceId === id)!.data).to.deep.equal({ [KEY_FIELD]: 'P-009', textField_name: null });
  });

  it('sends the exact eq array filter, never the fuzzy map', () => {
    expect(JSON.parse(exactSearchJson('textField_abc', 'P-1'))).to.deep.equal([{ key: 'textField_abc', value: 'P-1', type: 'TEXT', operator: 'eq', componentName: 'TextField' }]);
    expect(JSON.parse(exactSearchJson('serialNumberField_x', 'S'))[0].componentName).to.equal('SerialNumberField');
  });

  it('pages through every page of a lookup', async () => {
    fx = await startSinkFixture({ deps: { searchPageSize: 2 } });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await fx.sink.create({ [KEY_FIELD]: 'DUP' }));
    expect(await fx.sink.findByKey(KEY_FIELD, 'DUP')).to.have.members(ids);
    expect(fx.sim.requests({ api: 'yida.getInstanceIdList' })).to.have.length(3);
  });

  it('fetches one token for many calls, and a new one once when DingTalk refuses it mid-run', async () => {
    fx = await startSinkFixture();
    await Promise.all(Array.from({ length: 10 }, (_, i) => fx.sink.create({ [KEY_FIELD]: `P-${i}` })));
    expect(fx.sim.requests({ api: 'oauth2.accessToken' })).to.have.length(1);
    fx.sim.expireTokens();
    await Promise.all(Array.from({ length: 10 }, (_, i) => fx.sink.create({ [KEY_FIELD]: `Q-${i}` })));
    expect(fx.sim.instanceCount()).to.equal(20);
    expect(fx.sim.requests({ api: 'oauth2.accessToken' })).to.have.length(2);
  });

  it('refreshes a short-lived token before it expires instead of waiting for a refusal', async () => {
    fx = await startSinkFixture({ sim: { knobs: { tokenTtlSeconds: 1 } } });
    await fx.sink.create({ [KEY_FIELD]: 'P-1' });
    await new Promise((r) => setTimeout(r, 930)); // inside the refresh margin (10% of the ttl)
    await fx.sink.create({ [KEY_FIELD]: 'P-2' });
    expect(fx.sim.requests({ api: 'oauth2.accessToken' })).to.have.length(2);
    expect(fx.sim.requests().filter((r) => r.code === 'InvalidAuthentication')).to.have.length(0);
  });

  it('fails with YIDA_AUTH_FAILED on wrong app credentials, without leaking the secret', async () => {
    fx = await startSinkFixture();
    const cfg = dingtalkConfigFor(fx.sim);
    const sink = createYidaSink({ ...cfg, dingtalk: { ...cfg.dingtalk, appSecret: 'wrong-secret-value-123' } }, { retry: { delay: exponential(1), backoffLimit: 2 } });
    const err = await rejection(sink.create({ [KEY_FIELD]: 'P-1' }));
    expect(err).to.be.instanceOf(YidaError);
    expect(err.code).to.equal('YIDA_AUTH_FAILED');
    expect(err.message).not.to.include('wrong-secret-value-123');
    expect(fx.sim.requests({ api: 'oauth2.accessToken' })).to.have.length(1);
  });

  it('fails with YIDA_REJECTED carrying Yida\'s message, without the system token', async () => {
    fx = await startSinkFixture();
    const cfg = dingtalkConfigFor(fx.sim);
    const sink = createYidaSink({ ...cfg, yida: { ...cfg.yida, formUuid: 'FORM-MISSING' } }, {});
    const err = await rejection(sink.create({ [KEY_FIELD]: 'P-1' }));
    expect(err.code).to.equal('YIDA_REJECTED');
    expect(err.message).to.include('FORM-MISSING');
    expect(err.remoteStatus).to.equal(400);
    expect(err.message).not.to.include(fx.sim.yida.systemToken);
  });

  it('retries throttled writes until all are written, and paces itself down under a limit it cannot see', async () => {
    fx = await startSinkFixture({ sim: { knobs: { qpsLimits: { 'yida.startInstance': 10 } } }, yida: { qps: 30, concurrency: 8 } });
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => fx.sink.create({ [KEY_FIELD]: `P-${i}` })));
    expect(new Set(ids).size).to.equal(40);
    expect(fx.sim.instanceCount()).to.equal(40);
    expect(await counter(fx.metrics, 'throttles', { target: 'yida' })).to.be.greaterThan(0);
    expect(fx.sink.rates!().startInstance).to.be.lessThan(30);
  });

  it('treats Yida\'s own 400 requestTooFast as throttling too', async () => {
    fx = await startSinkFixture({ sim: { knobs: { qpsLimits: { 'yida.getInstanceIdList': 3 }, throttleStyle: 'yida400' } }, yida: { qps: 10 } });
    const all = await Promise.all(Array.from({ length: 12 }, () => fx.sink.findByKey(KEY_FIELD, 'none')));
    expect(all.every((r) => r.length === 0)).to.equal(true);
    expect(fx.sim.requests({ api: 'yida.getInstanceIdList' }).some((r) => r.code === 'failure.operation.requestTooFast')).to.equal(true);
  });

  it('gives up with YIDA_THROTTLED when throttling never ends', async () => {
    fx = await startSinkFixture({ sim: { knobs: { qpsLimits: { 'yida.startInstance': 1e-9 } } }, deps: { retry: { throttleLimit: 2, delay: exponential(1), backoffLimit: 5 } } });
    const err = await rejection(fx.sink.create({ [KEY_FIELD]: 'P-1' }));
    expect(err.code).to.equal('YIDA_THROTTLED');
    expect(fx.sim.requests({ api: 'yida.startInstance' })).to.have.length(3);
    expect(fx.sim.instanceCount()).to.equal(0);
  });

  it('never repeats a start that got a 5xx: YIDA_WRITE_AMBIGUOUS after exactly one request', async () => {
    fx = await startSinkFixture({ sim: { knobs: { commitThen500Rate: 1 } } });
    const err = await rejection(fx.sink.create({ [KEY_FIELD]: 'P-1' }));
    expect(err.code).to.equal('YIDA_WRITE_AMBIGUOUS');
    expect(fx.sim.requests({ api: 'yida.startInstance' })).to.have.length(1);
    expect(fx.sim.instanceCount()).to.equal(1);
  });

  it('never repeats a start that timed out', async () => {
    fx = await startSinkFixture({ sim: { knobs: { hangRate: 1, hangMs: 2000 } }, deps: { timeouts: { readTimeoutMs: 300, connectTimeoutMs: 3000 } } });
    const err = await rejection(fx.sink.create({ [KEY_FIELD]: 'P-1' }));
    expect(err.code).to.equal('YIDA_WRITE_AMBIGUOUS');
    expect(fx.sim.requests({ api: 'yida.startInstance' }).length).to.be.at.most(1);
    expect(fx.sim.instanceCount()).to.equal(1);
  });

  it('retries reads and updates through 5xx answers', async () => {
    fx = await startSinkFixture();
    const id = await fx.sink.create({ [KEY_FIELD]: 'P-1' });
    fx.sim.setKnobs({ errorRates: { 'yida.getInstanceIdList': 0.3, 'yida.updateInstance': 0.3 } });
    for (let i = 0; i < 10; i++) expect(await fx.sink.findByKey(KEY_FIELD, 'P-1')).to.deep.equal([id]);
    for (let i = 0; i < 10; i++) await fx.sink.update(id, { numberField_n: i });
    expect(fx.sim.instances()[0].data.numberField_n).to.equal(9);
    expect(await counter(fx.metrics, 'retries', { target: 'yida' })).to.be.greaterThan(0);
  });

  it('retries a start whose connection was refused (nothing was sent)', async () => {
    fx = await startSinkFixture();
    const cfg = dingtalkConfigFor(fx.sim);
    await fx.sim.close();
    const sink = createYidaSink(cfg, { retry: { limit: 1, delay: exponential(1), backoffLimit: 2 } });
    const err = await rejection(sink.create({ [KEY_FIELD]: 'P-1' }));
    expect(err.code).to.equal('YIDA_UNAVAILABLE');
  });

  it('fetches one token for concurrent callers, and one caller giving up does not cancel it for the others', async () => {
    // The token request fails once and is retried after 300 ms; the first caller gives up during that wait. The
    // fetch belongs to every waiting caller, so the second still gets its token and its answer.
    fx = await startSinkFixture({ sim: { knobs: { errorRates: { 'oauth2.accessToken': 1 } } }, deps: { retry: { delay: () => 300, jitter: 0 } } });
    const quitter = new AbortController();
    const first = fx.sink.findByKey(KEY_FIELD, 'P-1', { signal: quitter.signal });
    const second = fx.sink.findByKey(KEY_FIELD, 'P-2');
    await new Promise((r) => setTimeout(r, 100));
    fx.sim.setKnobs({ errorRates: {} });
    quitter.abort(new Error('first caller gave up'));
    expect((await rejection(first)).message).to.equal('first caller gave up');
    expect(await second).to.deep.equal([]);
    expect(await counter(fx.metrics, 'apiCalls', { target: 'dingtalk_token', status: '200' })).to.equal(1);
    expect(await counter(fx.metrics, 'apiCalls', { target: 'yida', status: '200' })).to.equal(1);
    // the second call never saw a failure: its token fetch went on after the first caller left
    expect(await counter(fx.metrics, 'retries', { target: 'yida' })).to.equal(0);
    expect(await counter(fx.metrics, 'retries', { target: 'dingtalk_token' })).to.equal(1);
  });

  it('counts API calls by target in metrics', async () => {
    fx = await startSinkFixture();
    await fx.sink.create({ [KEY_FIELD]: 'P-1' });
    expect(await counter(fx.metrics, 'apiCalls', { target: 'yida', status: '200' })).to.equal(1);
    expect(await counter(fx.metrics, 'apiCalls', { target: 'dingtalk_token', status: '200' })).to.equal(1);
  });

  // Its configuration (YIDA_*, DINGTALK_*) is validated once by loadConfig (test/config.test.ts) and trusted here;
  // the options that are not configuration are checked where the sink is built.
  it('checks its own options up front', async () => {
    fx = await startSinkFixture();
    const cfg = dingtalkConfigFor(fx.sim);
    expect(() => createYidaSink(cfg, { timeouts: { readTimeoutMs: 5000, connectTimeoutMs: 1000 } })).to.throw(/connectTimeoutMs/);
    expect(() => createYidaSink(cfg, { searchPageSize: 101 })).to.throw(/searchPageSize/);
    expect(() => createYidaSink(cfg, { retry: { throttleLimit: -1 } })).to.throw(/`throttleLimit`/);
  });
});

describe('Yida failure classification', () => {
  it('reads throttling, auth, ambiguity and rejection off SDK errors', () => {
    expect(classify({ statusCode: 403, code: 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi' }).kind).to.equal('throttled');
    expect(classify({ statusCode: 403, code: 'Forbidden.AccessDenied.QpmLimitForAppkeyAndApi' }).kind).to.equal('throttled');
    expect(classify({ statusCode: 400, code: 'failure.operation.tooManyVisitors' }).kind).to.equal('throttled');
    expect(classify({ statusCode: 403, code: 'Forbidden.AccessDenied.AccessTokenPermissionDenied' }).kind).to.equal('rejected');
    expect(classify({ statusCode: 400, code: 'InvalidAuthentication' }).kind).to.equal('auth');
    expect(classify({ statusCode: 502, code: 'BadGateway' }).kind).to.equal('ambiguous');
    expect(classify(Object.assign(new Error('x'), { code: 'ECONNRESET' })).kind).to.equal('ambiguous');
    expect(classify(Object.assign(new Error('x'), { name: 'RequestTimeoutError' })).kind).to.equal('ambiguous');
    expect(classify(new SyntaxError('Unexpected token <')).kind).to.equal('ambiguous');
    expect(classify(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).kind).to.equal('not_sent');
  });
});

describe('AdaptivePacer', () => {
  it('cuts the rate once per burst of throttles and creeps back up on success, never above the ceiling', () => {
    const p = new AdaptivePacer({ maxRate: 20 });
    p.onThrottled(); p.onThrottled(); p.onThrottled();
    expect(p.rate).to.equal(14);
    for (let i = 0; i < 1000; i++) p.onSuccess();
    expect(p.rate).to.equal(20);
  });

  it('never goes below its floor', async () => {
    const p = new AdaptivePacer({ maxRate: 5, minRate: 1 });
    for (let i = 0; i < 20; i++) { p.onThrottled(); (p as unknown as { lastCutAt: number }).lastCutAt = -Infinity; }
    expect(p.rate).to.equal(1);
  });
});

void createMetrics;
