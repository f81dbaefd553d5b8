/**
 * Scenario 7 — no secret value anywhere. A service with every secret set (OKKI client secret, DingTalk app secret,
 * Yida system token, robot token and sign secret, webhook API key, ddpaas signing secret) runs at debug level through
 * a successful run, a run whose Yida updates fail, a run whose OKKI token is refused, a targeted run with unknown
 * numbers, refused webhook calls and a shutdown; two more processes fail their start-up on bad configuration. Then
 * every text the suite captured — this scenario's and every earlier scenario's log lines, run records, robot
 * messages, HTTP answers, and this scenario's raw store file — is searched for every secret value the suite used,
 * plus the access tokens the simulators issued at run time (seen through capturing proxies).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOkkiSimulator, type OkkiSimulator } from '../../src/sandbox/okki/index.js';
import { startDingtalkSimulator, type DingtalkSimulator } from '../../src/sandbox/dingtalk/index.js';
import {
  ROOT, auditAdd, auditFindings, envSecrets, findSecrets, recordFigure, secondsSince, serviceEnv, spawnService, tempDir, triggerFresh,
  waitForRunEnd, type ServiceProcess,
} from '../helpers/reliability.js';
import { startCapturingProxy, type CapturingProxy } from '../helpers/reliability-proxy.js';

const ROBOT_TOKEN = 'secret-robot-access-token-7a6b5c4d3e2f';
const ROBOT_SECRET = 'SECrobotsignsecret7a6b5c4d3e2f1a0b9c8d';
const API_KEY = 'secret-webhook-api-key-7a6b5c4d3e2f';
const SIGNING_SECRET = 'secret-ddpaas-signing-secret-7a6b5c4d';
const OKKI_SECRET = 'okki-client-secret-7a6b5c4d3e2f1a0b';

describe('reliability 7: no secret in any log line, run record or robot message', function () {
  this.timeout(120_000);
  let okki: OkkiSimulator;
  let dt: DingtalkSimulator;
  let okkiProxy: CapturingProxy;
  let dtProxy: CapturingProxy;
  let svc: ServiceProcess | undefined;

  before(async () => {
    okki = await startOkkiSimulator({ seed: 8701, products: 60, clientSecret: OKKI_SECRET });
    dt = await startDingtalkSimulator({ seed: 8701, robots: [{ accessToken: ROBOT_TOKEN, secret: ROBOT_SECRET, name: 'audit' }] });
    okkiProxy = await startCapturingProxy(okki.url);
    dtProxy = await startCapturingProxy(dt.url);
  });
  after(async () => {
    await svc?.kill();
    await okkiProxy?.close();
    await dtProxy?.close();
    await dt?.close();
    await okki?.close();
  });

  it('has an audit that finds a secret in each of its forms (so a clean audit means something)', () => {
    const secret = 'a/b+c=d secret"\\x';
    const planted = [`log ${secret} end`, `url ?k=${encodeURIComponent(secret)}`, `{"v":${JSON.stringify(secret)}}`, 'clean text'];
    expect(findSecrets('self-check', [secret], planted).map((f) => f.excerpt)).to.have.length(3);
  });

  it('finds none of the secrets in anything the suite captured', async () => {
    const t0 = Date.now();
    const dir = tempDir('secrets');
    const storePath = join(dir, 'secrets.sqlite');
    const env = serviceEnv({
      okki, dt, storeUrl: `sqlite://${storePath}`, apiKey: API_KEY, signingSecret: SIGNING_SECRET,
      robot: { url: dt.robotUrl(ROBOT_TOKEN), secret: ROBOT_SECRET },
      extra: { OKKI_BASE_URL: okkiProxy.url, DINGTALK_ENDPOINT: dtProxy.endpoint, LOG_LEVEL: 'debug', PUBLIC_URL: 'http://127.0.0.1:9' },
    });
    const issuedTokens = () => [...okkiProxy.tokens, ...dtProxy.tokens];
    const secrets = () => [...envSecrets(env), ...issuedTokens()];
    svc = await spawnService('secrets', env, { extraSecrets: issuedTokens });
    const texts: string[] = [];
    auditAdd('secrets scenario: HTTP answers, run records, robot messages, store file', secrets, () => texts);

    const statuses: string[] = [];
    let last: string | undefined;
    const run = async (body: Record<string, unknown> = {}) => {
      const t = await triggerFresh(svc!, last, body);
      last = t.runId;
      const r = await waitForRunEnd(svc!, t.runId, 60_000);
      statuses.push(`${r.mode}:${r.status}`);
      return r;
    };
    // 1. a clean run
    expect((await run()).status).to.equal('succeeded');
    // 2. changed products whose Yida updates all fail: failure reasons carry DingTalk's answers
    okki.catalog.touch([...okki.catalog.all()].slice(0, 5).map((p) => p.product_no));
    okki.catalog.upsert([...okki.catalog.all()].slice(0, 5).map((p) => ({ product_no: p.product_no, name: `${p.name} 改` })));
    dt.setKnobs({ errorRates: { 'yida.updateInstance': 1 } });
    expect((await run()).status).to.equal('partial');
    dt.setKnobs({ errorRates: {} });
    // 3. OKKI refuses every token: a failed run with OKKI's error text
    okki.setKnobs({ rejectAllTokens: true });
    expect((await run()).status).to.equal('failed');
    okki.setKnobs({ rejectAllTokens: false });
    // 4. a targeted run with numbers OKKI does not know
    await run({ product_nos: ['P-000001', 'NOPE-1', 'NOPE-2'] });
    // 5. refused calls
    for (const headers of <Array<Record<string, string>>>[{ 'x-api-key': 'wrong-key-0123456789' }, { 'x-ddpaas-signature-timestamp': String(Date.now()), 'x-ddpaas-signature': 'AAAA' }, {}]) {
      const res = await fetch(`${svc.url}/webhooks/yida/sync`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
      texts.push(await res.text());
    }
    const runs = await svc.api.runs(100);
    texts.push(JSON.stringify(runs));
    for (const r of runs) texts.push(JSON.stringify(await svc.api.run(r.id)));
    for (const path of ['/', '/metrics', '/readyz', '/healthz', '/runs/nope']) {
      const res = await fetch(`${svc.url}${path}`, { headers: { 'x-api-key': API_KEY } });
      texts.push(await res.text());
    }
    texts.push(...dt.robotMessages({ all: true }).map((m) => JSON.stringify(m)));
    await svc.stop();
    // the store file itself (run records, ledger, cursor as written to disk)
    texts.push(readFileSync(storePath).toString('latin1'), readFileSync(storePath).toString('utf8'));

    // 6. start-up failures: the message names the variable, never the value
    const badStarts = [
      { ...env, OKKI_PAGE_SIZE: 'lots' },
      { ...env, WEBHOOK_API_KEY: 'short-key-999' }, // invalid (under 16 characters), and still a secret
    ];
    for (const [i, bad] of badStarts.entries()) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...bad, PORT: '0' }, encoding: 'utf8', timeout: 30_000,
      });
      expect(r.status, `bad start ${i} exits non-zero`).to.not.equal(0);
      texts.push(r.stdout ?? '', r.stderr ?? '');
      auditAdd(`secrets scenario: bad start ${i}`, () => [...envSecrets(bad)], () => [r.stdout ?? '', r.stderr ?? '']);
    }

    const audit = auditFindings();
    // eslint-disable-next-line no-console
    console.log(`      runs ${statuses.join(', ')}; robot messages ${dt.robotMessages({ all: true }).length}; runtime tokens captured ${issuedTokens().length}; audited ${audit.texts} texts (${(audit.bytes / 1e6).toFixed(1)} MB) from ${audit.sources} sources against ${audit.secrets} secret values`);
    recordFigure({
      scenario: '7 secrets (every log line, run record, robot message, HTTP answer, store file)', iterations: `${audit.sources} sources, ${audit.texts} texts`,
      products: '—', missing: '—', duplicates: '—',
      result: audit.findings.length === 0 ? `pass (${audit.secrets} secret values incl. ${issuedTokens().length} runtime tokens, 0 found)` : `FAIL (${audit.findings.length} leaks)`,
      seconds: secondsSince(t0),
    });
    expect(issuedTokens().length, 'runtime access tokens were captured').to.be.greaterThan(1);
    expect(dt.robotMessages({ all: true }).length, 'robot messages were sent').to.be.greaterThan(0);
    expect(audit.findings, 'secret values found').to.deep.equal([]);
  });
});
