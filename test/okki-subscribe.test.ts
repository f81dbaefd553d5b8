/**
 * `npm run okki:subscribe` as an operator runs it (a separate process, hermetic environment) against the OKKI
 * simulator's push set-up API, and OKKI's test event delivered to a running connector over loopback.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startSims, startInProcess, liveEnv, tempDir, type Sims, type InProcessService } from './helpers/e2e.js';
import { baseEnv, PROJECT_DIR } from './helpers/service-process.js';

interface CliResult { code: number | null; stdout: string; stderr: string }

function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli-subscribe.ts', ...args], { cwd: PROJECT_DIR, env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = ''; let stderr = '';
    child.stdout.on('data', (c) => { stdout += String(c); });
    child.stderr.on('data', (c) => { stderr += String(c); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run okki:subscribe', function () {
  this.timeout(120_000);
  let sims: Sims;
  let okkiEnv: Record<string, string>;
  const tmp = tempDir('subscribe-');
  const services: InProcessService[] = [];

  before(async () => {
    sims = await startSims();
    okkiEnv = { OKKI_BASE_URL: sims.okki.url, OKKI_CLIENT_ID: sims.okki.credentials.clientId, OKKI_CLIENT_SECRET: sims.okki.credentials.clientSecret };
  });
  after(async () => {
    for (const s of services) await s.close();
    await sims?.close();
    tmp.remove();
  });

  const service = async (secret: string) => {
    const svc = await startInProcess(sims, liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, `s${services.length}.sqlite`)}`, OKKI_WEBHOOK_SECRET: secret }));
    services.push(svc);
    return svc;
  };
  const secretIn = (r: CliResult) => /^OKKI_WEBHOOK_SECRET=(\S+)$/m.exec(r.stdout)?.[1];

  it('creates the callback and the crm.product subscription and prints the security_config once', async () => {
    const r = await runCli(['--callback-url', 'https://connector.example.com/webhooks/okki'], okkiEnv);
    expect(r.code, r.stderr).to.equal(0);
    const secret = secretIn(r);
    expect(secret).to.be.a('string');
    expect(Buffer.from(secret!, 'base64')).to.have.length(32);
    expect(sims.okki.push.config).to.include({ callbackUrl: 'https://connector.example.com/webhooks/okki', securityConfig: secret });
    expect(sims.okki.push.subscriptions['crm.product']).to.have.members(['xiaoman.crm.product.create', 'xiaoman.crm.product.update', 'xiaoman.crm.product.delete']);
    expect(r.stderr).not.to.include(secret!);
    expect(r.stdout.trim().split('\n')).to.have.length(1);
  });

  it('moves the callback to the running service keeping its secret, and OKKI\'s test event is answered', async () => {
    const secret = sims.okki.push.config!.securityConfig;
    const svc = await service(secret);
    const url = `${svc.url}/webhooks/okki`;
    const r = await runCli(['--callback-url', url, '--test'], okkiEnv);
    expect(r.code, r.stderr).to.equal(0);
    expect(secretIn(r)).to.equal(undefined);
    expect(r.stderr).to.match(/moved/).and.to.match(/test event delivered/);
    expect(sims.okki.push.config).to.include({ callbackUrl: url, securityConfig: secret, verified: true });
    const test = sims.okki.push.deliveries.find((d) => d.test)!;
    expect(test.state).to.equal('delivered');
    // run again: nothing changes, nothing printed
    const again = await runCli(['--callback-url', url], okkiEnv);
    expect(again.code).to.equal(0);
    expect(again.stdout).to.equal('');
    expect(again.stderr).to.match(/already set/);
  });

  it('--regenerate-secret prints a new secret; the test event then fails until the service has it', async () => {
    const old = sims.okki.push.config!.securityConfig;
    const url = sims.okki.push.config!.callbackUrl;
    const r = await runCli(['--callback-url', url, '--regenerate-secret', '--test'], okkiEnv);
    const fresh = secretIn(r);
    expect(fresh).to.be.a('string').and.not.equal(old);
    expect(sims.okki.push.config!.securityConfig).to.equal(fresh);
    expect(r.code).to.equal(1); // the running service still has the old secret: its signature check refuses the test
    expect(r.stderr).to.match(/test event failed/);
    const svc = await service(fresh!);
    const moved = await runCli(['--callback-url', `${svc.url}/webhooks/okki`, '--test'], okkiEnv);
    expect(moved.code, moved.stderr).to.equal(0);
  });

  it('bad usage exits 2 and says why', async () => {
    const noUrl = await runCli([], okkiEnv);
    expect(noUrl.code).to.equal(2);
    expect(noUrl.stderr).to.match(/--callback-url/);
    const noCreds = await runCli(['--callback-url', 'https://x.example/webhooks/okki'], { OKKI_BASE_URL: sims.okki.url });
    expect(noCreds.code).to.equal(2);
    expect(noCreds.stderr).to.match(/OKKI_CLIENT_ID/);
  });
});
