/**
 * The OKKI client against the simulator over real sockets: token lifecycle, auth errors an operator can act on,
 * both envelope variants, throttling and retries, and no secret in what it says.
 */
import { expect } from 'chai';
import { startOkkiSimulator, type OkkiSimulator } from '../src/sandbox/okki/index.js';
import { createMetrics } from '../src/metrics.js';
import { OkkiApiError, OkkiAuthError, OkkiTimeoutError } from '../src/okki/index.js';
import { exponential } from '../src/outbound/index.js';
import { sourceFor, memoryLogger, FAST_RETRY } from './helpers/okki.js';

async function failure(p: Promise<unknown>): Promise<any> {
  try { await p; } catch (err) { return err; }
  throw new Error('expected a failure');
}

describe('OKKI client', () => {
  let sim: OkkiSimulator;
  beforeEach(async () => { sim = await startOkkiSimulator({ seed: 2, products: 120 }); });
  afterEach(async () => { await sim.close(); });

  const tokenCalls = () => sim.requests.filter((r) => r.endpoint === 'token').length;

  describe('token', () => {
    it('fetches one token and reuses it across calls', async () => {
      const source = sourceFor(sim);
      await Promise.all([source.groups(), source.groups(), source.client.get('/v1/product/list', { count: 5 })]);
      await source.groups();
      expect(tokenCalls()).to.equal(1);
    });

    it('refetches once and retries once when the token is revoked mid-run (HTTP 401)', async () => {
      const source = sourceFor(sim);
      await source.groups();
      sim.revokeTokens();
      const tree = await source.groups();
      expect(tree.size).to.be.greaterThan(0);
      expect(tokenCalls()).to.equal(2);
      expect(sim.requests.filter((r) => r.outcome === 'auth-denied')).to.have.length(1);
    });

    it('does the same when the rejection is an HTTP 200 {"error":"access_denied"} body', async () => {
      sim.setKnobs({ authFailure: 'body200' });
      const source = sourceFor(sim);
      await source.groups();
      sim.revokeTokens();
      await source.groups();
      expect(tokenCalls()).to.equal(2);
    });

    it('completes a pull while the token expires mid-run', async () => {
      const source = sourceFor(sim, { pageSize: 10 });
      let pages = 0; const nos = new Set<string>();
      for await (const page of source.pages({ end: new Date() })) {
        if (++pages % 3 === 0) sim.revokeTokens();
        for (const i of page.items) nos.add(i.product_no!);
      }
      expect(nos.size).to.equal(120);
      expect(tokenCalls()).to.be.greaterThan(2);
    });

    it('fails with OKKI_AUTH_FAILED when even a fresh token is rejected', async () => {
      const source = sourceFor(sim);
      await source.groups();
      sim.setKnobs({ rejectAllTokens: true });
      const err = await failure(source.groups());
      expect(err).to.be.instanceOf(OkkiAuthError);
      expect(err.code).to.equal('OKKI_AUTH_FAILED');
      expect(err.reason).to.equal('token_rejected');
      expect(tokenCalls()).to.equal(2);
    });

    it('defaults the lifetime to 8 h when expires_in is absent', async () => {
      sim.setKnobs({ omitExpiresIn: true });
      const source = sourceFor(sim);
      await source.groups(); await source.groups();
      expect(tokenCalls()).to.equal(1);
    });
  });

  describe('auth errors', () => {
    it('says to check the client id and secret when the secret is wrong, without echoing it', async () => {
      const { logger, text } = memoryLogger();
      const source = sourceFor(sim, { clientSecret: 'wrong-secret-value-123' }, { logger });
      const err = await failure(source.groups());
      expect(err).to.be.instanceOf(OkkiAuthError);
      expect(err.code).to.equal('OKKI_AUTH_FAILED');
      expect(err.reason).to.equal('invalid_client');
      expect(err.message).to.match(/OKKI_CLIENT_ID and OKKI_CLIENT_SECRET/);
      expect(err.message + JSON.stringify(err.details) + text()).to.not.include('wrong-secret-value-123');
      expect(tokenCalls()).to.equal(1); // not retried: retrying cannot fix credentials
    });

    it('says to grant the product scope when the scope is missing', async () => {
      sim.setKnobs({ grantedScopes: ['customer'] });
      const err = await failure(sourceFor(sim).groups());
      expect(err.code).to.equal('OKKI_AUTH_FAILED');
      expect(err.reason).to.equal('missing_scope');
      expect(err.message).to.match(/'product' scope/);
      expect(err.message).to.include('no permission product scopes');
    });
  });

  describe('envelope', () => {
    for (const [successCode, messageKey] of [[0, 'msg'], [200, 'message'], [0, 'message'], [200, 'msg']] as const) {
      it(`accepts success code ${successCode} with "${messageKey}"`, async () => {
        sim.setKnobs({ successCode, messageKey });
        const source = sourceFor(sim);
        expect((await source.groups()).size).to.be.greaterThan(0);
        const data = await source.client.get<{ count: number }>('/v1/product/list', { count: 1 });
        expect(data.count).to.equal(120);
      });
    }

    it('turns an HTTP 200 with code -1 into OKKI_API_ERROR carrying code and message (msg variant too)', async () => {
      sim.setKnobs({ errorRates: { businessError: 1 }, messageKey: 'msg' });
      const err = await failure(sourceFor(sim).groups());
      expect(err).to.be.instanceOf(OkkiApiError);
      expect(err.code).to.equal('OKKI_API_ERROR');
      expect(err.apiCode).to.equal(-1);
      expect(err.apiMessage).to.equal('系统繁忙，请稍后再试');
    });

    it('returns a typed not-found result for an unknown product, not an exception', async () => {
      const source = sourceFor(sim);
      const r = await source.info('NOPE-1');
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error.code).to.equal('OKKI_NOT_FOUND');
      const found = await source.info('P-000003');
      expect(found.ok && found.product.product_type).to.be.oneOf([1, 2, 3]);
    });
  });

  describe('throttling and retries', () => {
    it('honours Retry-After on 429 (waits at least that long before retrying)', async () => {
      const source = sourceFor(sim);
      await source.groups();
      sim.clearRequests();
      sim.setKnobs({ qps: { list: 1 }, retryAfterSeconds: 1, throttleVariant: 'retry-after' });
      await Promise.all([source.client.get('/v1/product/list', { count: 1 }), source.client.get('/v1/product/list', { count: 1 })]);
      const list = sim.requests.filter((r) => r.endpoint === 'list');
      const throttled = list.find((r) => r.outcome === 'throttled')!;
      expect(throttled, 'one call was throttled').to.not.equal(undefined);
      const retry = list.find((r) => r.seq > throttled.seq && r.status === 200)!;
      expect(retry.at - throttled.at).to.be.at.least(950);
    });

    it('retries 429 without Retry-After and throttle codes in an HTTP 200, counting throttles and retries', async () => {
      const metrics = createMetrics();
      // the simulator allows 2 calls per second: backoff has to outlast that second
      const source = sourceFor(sim, {}, { metrics, retry: { limit: 9, throttleLimit: 9, delay: exponential(100), backoffLimit: 400 } });
      sim.setKnobs({ qps: { groups: 2 }, throttleVariant: 'code' });
      await Promise.all([source.groups(), source.groups(), source.groups()]);
      sim.setKnobs({ throttleVariant: 'no-retry-after' });
      await Promise.all([source.groups(), source.groups()]);
      const text = await metrics.registry.metrics();
      expect(text).to.match(/connector_throttled_total\{target="okki"\} [1-9]/);
      expect(text).to.match(/connector_retries_total\{target="okki"\} [1-9]/);
      expect(text).to.match(/connector_api_calls_total\{target="okki",status="200"\} [1-9]/);
    });

    it('retries 5xx and timeouts, logging each retry, then gives up with a typed error after the bounded attempts', async () => {
      const { logger, lines } = memoryLogger();
      const source = sourceFor(sim, { timeoutMs: 100 }, { logger, retry: { ...FAST_RETRY, limit: 2, throttleLimit: 2 } });
      await source.groups();
      sim.setKnobs({ errorRates: { timeout: 1 }, hangMs: 2000 });
      const err = await failure(source.groups());
      expect(err).to.be.instanceOf(OkkiTimeoutError);
      expect(err.code).to.equal('OKKI_TIMEOUT');
      expect(sim.requests.filter((r) => r.endpoint === 'groups' && r.outcome === 'injected-timeout')).to.have.length(3);
      expect(lines().filter((l) => l.msg === 'OKKI call failed; retrying')).to.have.length(2);
      sim.setKnobs({ errorRates: { timeout: 0, http5xx: 1 } });
      const e5 = await failure(source.groups());
      expect(e5.code).to.equal('OKKI_HTTP_ERROR');
      expect(e5.httpStatus).to.be.oneOf([502, 503]);
    });

    it('paces every call through one limiter at the configured QPS (the simulator never has to throttle)', async () => {
      sim.setKnobs({ qps: { list: 4, groups: 4 } });
      const source = sourceFor(sim, { qps: 3 }, { retry: { limit: 0, throttleLimit: 0 } });
      await Promise.all([
        ...Array.from({ length: 4 }, () => source.groups()),
        ...Array.from({ length: 4 }, () => source.client.get('/v1/product/list', { count: 1 })),
      ]);
      expect(sim.requests.filter((r) => r.outcome === 'throttled')).to.have.length(0);
    });
  });
});
