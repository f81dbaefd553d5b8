/** Who may trigger a run: X-API-Key, ddpaas signatures, the unset-key refusal and the sandbox exception. */
import { expect } from 'chai';
import { ddpaasSignature } from '../src/http/auth.js';
import { ReplayGuard } from '../src/http/replay-guard.js';
import {
  postWebhook, request, startFakeServiceApp, testConfig, TEST_API_KEY, TEST_SIGNING_SECRET, type TestApp,
} from './helpers/fake-service.js';

function signed(timestamp: number | string, secret = TEST_SIGNING_SECRET): Record<string, string> {
  const ts = String(timestamp);
  return { 'x-ddpaas-signature-timestamp': ts, 'x-ddpaas-signature': ddpaasSignature(secret, ts) };
}

describe('HTTP webhook authentication', () => {
  describe('with WEBHOOK_API_KEY set', () => {
    let t: TestApp;
    beforeEach(async () => { t = await startFakeServiceApp(); });
    afterEach(async () => { await t.close(); });

    it('answers 401 WEBHOOK_UNAUTHORIZED without a key and starts nothing', async () => {
      const res = await postWebhook(t.url, {}, {});
      expect(res.status).to.equal(401);
      expect(res.json.error.code).to.equal('WEBHOOK_UNAUTHORIZED');
      expect(t.service.triggers).to.have.length(0);
    });

    it('answers 401 with a wrong key (same length or not) and never echoes the keys', async () => {
      for (const key of ['wrong', TEST_API_KEY.replace(/.$/, 'X'), TEST_API_KEY + 'x']) {
        const res = await postWebhook(t.url, {}, { 'x-api-key': key });
        expect(res.status, key).to.equal(401);
        expect(res.text).to.not.include(TEST_API_KEY);
        expect(res.text).to.not.include(key);
      }
      expect(t.service.triggers).to.have.length(0);
    });

    it('checks the key before reading the body: a bad body without a key is still 401', async () => {
      const res = await postWebhook(t.url, '{not json', {});
      expect(res.status).to.equal(401);
      const tooBig = await request(t.url, { method: 'POST', path: '/webhooks/yida/sync', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(70_000) });
      expect(tooBig.status).to.equal(401);
      expect(t.service.triggers).to.have.length(0);
    });

    it('accepts the right key with 202', async () => {
      const res = await postWebhook(t.url, {});
      expect(res.status).to.equal(202);
      expect(t.service.triggers).to.have.length(1);
    });

    it('ignores ddpaas headers when no signing secret is configured', async () => {
      const res = await postWebhook(t.url, {}, signed(Date.now()));
      expect(res.status).to.equal(401);
      expect(t.service.triggers).to.have.length(0);
    });

    it('never logs the key', async () => {
      await postWebhook(t.url, {});
      await postWebhook(t.url, {}, { 'x-api-key': 'nope' });
      expect(t.logs.join('')).to.not.include(TEST_API_KEY);
    });
  });

  describe('with WEBHOOK_SIGNING_SECRET set (ddpaas signatures)', () => {
    let t: TestApp;
    beforeEach(async () => { t = await startFakeServiceApp({ config: testConfig({ signingSecret: TEST_SIGNING_SECRET }) }); });
    afterEach(async () => { await t.close(); });

    it('accepts a fresh, correct signature', async () => {
      const res = await postWebhook(t.url, {}, signed(Date.now()));
      expect(res.status).to.equal(202);
      expect(t.service.triggers).to.have.length(1);
    });

    it('still accepts X-API-Key', async () => {
      expect((await postWebhook(t.url, {})).status).to.equal(202);
    });

    it('refuses a signature made with another secret', async () => {
      const res = await postWebhook(t.url, {}, signed(Date.now(), 'other-secret'));
      expect(res.status).to.equal(401);
      expect(t.service.triggers).to.have.length(0);
    });

    it('refuses a stale timestamp (6 minutes old) and a future one (6 minutes ahead)', async () => {
      const stale = await postWebhook(t.url, {}, signed(Date.now() - 6 * 60_000));
      const future = await postWebhook(t.url, {}, signed(Date.now() + 6 * 60_000));
      expect(stale.status).to.equal(401);
      expect(future.status).to.equal(401);
      expect(stale.json.error.message).to.match(/timestamp/);
      expect(t.service.triggers).to.have.length(0);
    });

    it('refuses a replay of the same signature', async () => {
      const headers = signed(Date.now() - 1000);
      expect((await postWebhook(t.url, {}, headers)).status).to.equal(202);
      const replay = await postWebhook(t.url, {}, headers);
      expect(replay.status).to.equal(401);
      expect(replay.json.error.message).to.match(/already used/);
      expect(t.service.triggers).to.have.length(1);
    });

    it('refuses a signature header without its timestamp, and a non-numeric timestamp', async () => {
      const only = await postWebhook(t.url, {}, { 'x-ddpaas-signature': signed(Date.now())['x-ddpaas-signature']! });
      const text = await postWebhook(t.url, {}, signed('yesterday'));
      expect(only.status).to.equal(401);
      expect(text.status).to.equal(401);
      expect(t.service.triggers).to.have.length(0);
    });

    it('protects the runs routes the same way', async () => {
      expect((await request(t.url, { path: '/runs', headers: signed(Date.now()) })).status).to.equal(200);
      expect((await request(t.url, { path: '/runs', headers: signed(Date.now() - 10 * 60_000) })).status).to.equal(401);
    });
  });

  describe('with no WEBHOOK_API_KEY', () => {
    it('refuses every call outside sandbox mode, saying WEBHOOK_API_KEY is not set', async () => {
      const t = await startFakeServiceApp({ config: testConfig({ apiKey: null }) });
      try {
        for (const headers of [{}, { 'x-api-key': 'anything-at-all-123' }] as Record<string, string>[]) {
          const res = await postWebhook(t.url, {}, headers);
          expect(res.status).to.equal(401);
          expect(res.json.error.message).to.include('WEBHOOK_API_KEY is not set');
        }
        expect((await request(t.url, { path: '/runs' })).status).to.equal(401);
        expect(t.service.triggers).to.have.length(0);
      } finally { await t.close(); }
    });

    it('accepts calls without a key in sandbox mode', async () => {
      const t = await startFakeServiceApp({ config: testConfig({ apiKey: null, sandbox: true }) });
      try {
        expect((await postWebhook(t.url, {}, {})).status).to.equal(202);
        expect((await request(t.url, { path: '/runs' })).status).to.equal(200);
      } finally { await t.close(); }
    });

    it('still enforces a key that is set, even in sandbox mode', async () => {
      const t = await startFakeServiceApp({ config: testConfig({ sandbox: true }) });
      try {
        expect((await postWebhook(t.url, {}, {})).status).to.equal(401);
        expect(t.service.triggers).to.have.length(0);
      } finally { await t.close(); }
    });
  });
});

describe('ReplayGuard', () => {
  it('refuses a key seen within its ttl and accepts it after', () => {
    const g = new ReplayGuard(1000, 10);
    expect(g.claim('a', 0)).to.equal(true);
    expect(g.claim('a', 999)).to.equal(false);
    expect(g.claim('a', 1001)).to.equal(true);
  });

  it('stays within its capacity, dropping the oldest', () => {
    const g = new ReplayGuard(60_000, 3);
    for (let i = 0; i < 10; i++) g.claim(`k${i}`, i);
    expect(g.size).to.equal(3);
    expect(g.claim('k9', 20)).to.equal(false);
    expect(g.claim('k0', 20)).to.equal(true);
  });

  it('rejects nonsense options up front', () => {
    expect(() => new ReplayGuard(0, 1)).to.throw(RangeError);
    expect(() => new ReplayGuard(10, 0)).to.throw(RangeError);
  });
});
