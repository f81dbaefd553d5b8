/**
 * The console's gate, over real HTTP against the real Koa app (with the scriptable service): login with the API key,
 * the session cookie's flags, logout, CSRF and same-origin checks on every action, the login throttle, no open
 * redirect, `/` for the logged-out, METRICS_TOKEN, and that pages never show a secret.
 */
import { expect } from 'chai';
import { secretValues } from '../src/config.js';
import { setGlobalSecrets } from '../src/redact.js';
import { consoleLogin, request, sampleRun, startFakeServiceApp, testConfig, TEST_API_KEY, type TestApp, type TestResponse } from './helpers/fake-service.js';

const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString(),
});
const setCookies = (r: TestResponse) => ([] as string[]).concat(r.headers['set-cookie'] ?? []);

/** The CSRF token a logged-in page carries. */
async function csrfOf(t: TestApp, cookie: string): Promise<string> {
  const page = await request(t.url, { path: '/console', headers: { cookie } });
  const m = /name="_csrf" value="([^"]+)"/.exec(page.text);
  if (!m) throw new Error(`no CSRF token on the overview (status ${page.status})`);
  return m[1]!;
}

describe('console: login, session, CSRF', () => {
  let t: TestApp;
  afterEach(async () => { await t?.close(); });

  describe('with WEBHOOK_API_KEY set (production mode)', () => {
    beforeEach(async () => { t = await startFakeServiceApp(); });

    it('sends a visitor without a session to the login page; streams and actions answer 401', async () => {
      const page = await request(t.url, { path: '/console/runs/run-1' });
      expect(page.status).to.equal(302);
      expect(page.headers.location).to.equal('/console/login?next=%2Fconsole%2Fruns%2Frun-1');
      expect((await request(t.url, { path: '/console/runs/run-1/events' })).status).to.equal(401);
      const action = await request(t.url, { path: '/console/sync', ...form({ _csrf: 'x' }) });
      expect(action.status).to.equal(401);
      expect(action.json.error.code).to.equal('CONSOLE_LOGIN_REQUIRED');
      expect(t.service.triggers).to.have.length(0);
    });

    it('a wrong key gets the login page again with an error and no cookie; the right one a strict, HttpOnly session cookie', async () => {
      const wrong = await request(t.url, { path: '/console/login', ...form({ key: 'not-the-key-at-all', next: '/console' }) });
      expect(wrong.status).to.equal(401);
      expect(wrong.text).to.include('the key is not valid');
      expect(setCookies(wrong)).to.have.length(0);

      const ok = await request(t.url, { path: '/console/login', ...form({ key: TEST_API_KEY, next: '/console/runs/run-7' }) });
      expect(ok.status).to.equal(303);
      expect(ok.headers.location).to.equal('/console/runs/run-7');
      const [cookie] = setCookies(ok);
      expect(cookie).to.match(/^oyc_session=[A-Za-z0-9_-]{43}; /);
      for (const flag of ['Path=/', 'HttpOnly', 'SameSite=Strict', 'Max-Age=43200']) expect(cookie).to.include(flag);
      expect(cookie, 'plain http: not Secure').to.not.include('Secure');
      expect(cookie, 'the key is never in the cookie').to.not.include(TEST_API_KEY);
    });

    it('never redirects off-site after login', async () => {
      for (const next of ['//evil.example/x', 'https://evil.example/', '/console/../x\\y', '/elsewhere', 'javascript:alert(1)']) {
        const r = await request(t.url, { path: '/console/login', ...form({ key: TEST_API_KEY, next }) });
        expect(r.headers.location, next).to.equal('/console');
      }
    });

    it('ignores X-Forwarded-Proto unless TRUST_PROXY is set', async () => {
      const r = await request(t.url, { path: '/console/login', ...form({ key: TEST_API_KEY }, { 'x-forwarded-proto': 'https' }) });
      expect(setCookies(r)[0]).to.not.include('Secure');
    });

    it('refuses every action without the session\'s CSRF token, from another origin, or not sent as a form', async () => {
      const { cookie } = await consoleLogin(t.url);
      const token = await csrfOf(t, cookie);
      const cases: [string, ReturnType<typeof form>][] = [
        ['no token', form({}, { cookie })],
        ['wrong token', form({ _csrf: `${token}x` }, { cookie })],
        ['another session\'s token', form({ _csrf: await csrfOf(t, (await consoleLogin(t.url)).cookie) }, { cookie })],
        ['cross-origin', form({ _csrf: token }, { cookie, origin: 'https://evil.example' })],
        ['opaque origin', form({ _csrf: token }, { cookie, origin: 'null' })],
        ['cross-site fetch', form({ _csrf: token }, { cookie, 'sec-fetch-site': 'cross-site' })],
      ];
      for (const [what, req] of cases) {
        const r = await request(t.url, { path: '/console/sync', ...req });
        expect(r.status, what).to.equal(403);
        expect(r.json.error.code, what).to.equal('CONSOLE_FORBIDDEN');
      }
      const json = await request(t.url, { path: '/console/sync', method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ _csrf: token }) });
      expect(json.status).to.equal(403);
      expect(t.service.triggers, 'nothing started').to.have.length(0);

      const good = await request(t.url, { path: '/console/sync', ...form({ _csrf: token }, { cookie, origin: t.url, 'sec-fetch-site': 'same-origin' }) });
      expect(good.status).to.equal(303);
      expect(good.headers.location).to.match(/^\/console\/runs\/run-0001\?notice=started$/);
      expect(t.service.triggers).to.deep.equal([{ trigger: 'console', requestedBy: 'console' }]);
    });

    it('behind a proxy that rewrites Host or ends TLS, the browser\'s own Sec-Fetch-Site vouches for the origin', async () => {
      const { cookie } = await consoleLogin(t.url);
      const token = await csrfOf(t, cookie);
      const r = await request(t.url, { path: '/console/sync', ...form({ _csrf: token }, { cookie, origin: 'https://sync.example.com', 'sec-fetch-site': 'same-origin' }) });
      expect(r.status).to.equal(303);
      const old = await request(t.url, { path: '/console/sync', ...form({ _csrf: token }, { cookie, origin: t.url.replace('http:', 'https:') }) });
      expect(old.status, 'an older browser: Origin with our host, whatever the scheme').to.equal(303);
    });

    it('retry starts a targeted run for every failed or parked product number of the run, once each', async () => {
      t.service.addRun(sampleRun({
        id: 'run-f', failures: [
          { product_no: 'P-1', code: 'MAPPING_REJECTED', reason: 'x' }, { product_no: 'P-2', code: 'YIDA_REJECTED', reason: 'y' },
          { product_no: 'P-1', code: 'YIDA_THROTTLED', reason: 'z' }, { product_no: null, code: 'OKKI_ITEM_INVALID', reason: 'w' },
        ],
      }));
      const { cookie } = await consoleLogin(t.url);
      const r = await request(t.url, { path: '/console/runs/run-f/retry', ...form({ _csrf: await csrfOf(t, cookie) }, { cookie }) });
      expect(r.status).to.equal(303);
      expect(t.service.triggers).to.deep.equal([{ trigger: 'console', requestedBy: 'console', productNos: ['P-1', 'P-2'] }]);
    });

    it('logout ends the session everywhere: the old cookie no longer opens a page', async () => {
      const { cookie } = await consoleLogin(t.url);
      expect((await request(t.url, { path: '/console', headers: { cookie } })).status).to.equal(200);
      const out = await request(t.url, { path: '/console/logout', ...form({ _csrf: await csrfOf(t, cookie) }, { cookie }) });
      expect(out.status).to.equal(303);
      expect(out.headers.location).to.equal('/console/login?notice=logged-out');
      expect(setCookies(out)[0]).to.match(/^oyc_session=; .*Max-Age=0/);
      expect((await request(t.url, { path: '/console', headers: { cookie } })).status).to.equal(302);
    });

    it('after 10 failed logins from one address even the right key is refused for a while', async () => {
      for (let i = 0; i < 10; i++) expect((await request(t.url, { path: '/console/login', ...form({ key: `wrong-${i}-xxxxxxxxxxxx` }) })).status).to.equal(401);
      const r = await request(t.url, { path: '/console/login', ...form({ key: TEST_API_KEY }) });
      expect(r.status).to.equal(429);
      expect(r.json.error.code).to.equal('CONSOLE_LOGIN_THROTTLED');
    });

    it('pages carry a strict CSP, no-store and no framing; data is escaped and secrets redacted', async () => {
      setGlobalSecrets(secretValues(testConfig())); // as main.ts does at start-up
      t.service.addRun(sampleRun({
        id: 'run-x', failures: [{ product_no: '<b>P</b>', code: 'YIDA_REJECTED', reason: `<script>alert(1)</script> key=${TEST_API_KEY} ding-secret-value` }],
      }));
      const { cookie } = await consoleLogin(t.url);
      const r = await request(t.url, { path: '/console/runs/run-x', headers: { cookie } });
      expect(r.status).to.equal(200);
      expect(r.headers['content-security-policy']).to.include("script-src 'self'").and.include("frame-ancestors 'none'");
      expect(r.headers['cache-control']).to.equal('no-store');
      expect(r.headers['x-frame-options']).to.equal('DENY');
      expect(r.text).to.not.include('<script>alert').and.not.include('<b>P</b>');
      expect(r.text).to.include('&#60;script&#62;alert(1)');
      for (const secret of [TEST_API_KEY, 'ding-secret-value', 'okki-secret-value', 'yida-token-value']) expect(r.text).to.not.include(secret);
    });
  });

  describe('TRUST_PROXY and METRICS_TOKEN', () => {
    beforeEach(async () => { t = await startFakeServiceApp({ config: { ...testConfig(), trustProxy: true, metricsToken: 'metrics-token-0123456789' } }); });

    it('marks the cookie Secure when the proxy says the browser used https', async () => {
      const r = await request(t.url, { path: '/console/login', ...form({ key: TEST_API_KEY }, { 'x-forwarded-proto': 'https', 'x-forwarded-host': '127.0.0.1' }) });
      expect(r.status).to.equal(303);
      expect(setCookies(r)[0]).to.include('; Secure');
    });

    it('/metrics wants the bearer token', async () => {
      expect((await request(t.url, { path: '/metrics' })).status).to.equal(401);
      const wrong = await request(t.url, { path: '/metrics', headers: { authorization: 'Bearer metrics-token-0123456780' } });
      expect(wrong.status).to.equal(401);
      expect(wrong.json.error.code).to.equal('METRICS_UNAUTHORIZED');
      const ok = await request(t.url, { path: '/metrics', headers: { authorization: 'Bearer metrics-token-0123456789' } });
      expect(ok.status).to.equal(200);
      expect(ok.text).to.include('connector_runs_total');
    });
  });

  describe('without WEBHOOK_API_KEY', () => {
    it('in sandbox mode the login asks for no key', async () => {
      t = await startFakeServiceApp({ config: testConfig({ apiKey: null, sandbox: true }) });
      const page = await request(t.url, { path: '/console/login' });
      expect(page.text).to.include('no key needed').and.not.include('type="password"');
      const r = await request(t.url, { path: '/console/login', ...form({ next: '/console' }) });
      expect(r.status).to.equal(303);
      expect(setCookies(r)[0]).to.match(/^oyc_session=/);
    });

    it('outside sandbox mode nobody can log in', async () => {
      t = await startFakeServiceApp({ config: testConfig({ apiKey: null }) });
      expect((await request(t.url, { path: '/console/login' })).text).to.include('WEBHOOK_API_KEY is not set');
      const r = await request(t.url, { path: '/console/login', ...form({ key: '' }) });
      expect(r.status).to.equal(403);
      expect(setCookies(r)).to.have.length(0);
    });
  });
});
