import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOkkiSimulator, type OkkiSimulator } from '../src/sandbox/okki/index.js';
import { startDingtalkSimulator, type DingtalkSimulator } from '../src/sandbox/dingtalk/index.js';

interface CliResult { code: number | null; stdout: string; stderr: string }

function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: process.cwd(), env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = ''; let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run sync (one-shot CLI)', function () {
  this.timeout(120_000);
  let okki: OkkiSimulator;
  let dt: DingtalkSimulator;
  let env: Record<string, string>;

  before(async () => {
    okki = await startOkkiSimulator({ seed: 7, products: 40 });
    dt = await startDingtalkSimulator({ robots: [{ accessToken: 'cli-robot-token-123', secret: 'SECcli-robot-secret-456' }] });
    const dir = mkdtempSync(join(tmpdir(), 'cli-test-'));
    env = {
      OKKI_BASE_URL: okki.url, OKKI_CLIENT_ID: okki.credentials.clientId, OKKI_CLIENT_SECRET: okki.credentials.clientSecret, OKKI_QPS: '100',
      DINGTALK_ENDPOINT: dt.endpoint, DINGTALK_PROTOCOL: 'http', DINGTALK_APP_KEY: dt.credentials.appKey, DINGTALK_APP_SECRET: dt.credentials.appSecret,
      YIDA_APP_TYPE: dt.yida.appType, YIDA_SYSTEM_TOKEN: dt.yida.systemToken, YIDA_USER_ID: dt.yida.userId, YIDA_FORM_UUID: dt.yida.formUuid,
      ROBOT_WEBHOOK_URL: dt.robotUrl('cli-robot-token-123'), ROBOT_SECRET: 'SECcli-robot-secret-456',
      STORE_URL: `sqlite://${join(dir, 'cli.sqlite')}`,
    };
  });
  after(async () => { await okki?.close(); await dt?.close(); });

  it('refuses bad usage with exit code 1 and the usage text', async () => {
    const r = await runCli(['--full', '--product-no', 'P-000001'], env);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/--full and --product-no exclude each other/);
    const bad = await runCli(['--frobnicate'], env);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/usage: npm run sync/);
  });

  it('--dry-run prints mapped form data and writes nothing', async () => {
    const r = await runCli(['--dry-run', '--limit', '3'], env);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).to.have.length(3);
    for (const l of lines) {
      expect(l.product_no).to.match(/^P-\d+/);
      expect(l.formData.textField_lq23ags2).to.equal(l.product_no);
    }
    expect(dt.instanceCount()).to.equal(0);
    expect(dt.requests({ api: 'yida.startInstance' })).to.have.length(0);
  });

  it('runs a sync, prints the run record and exits 0; a second run finds everything unchanged', async () => {
    const r = await runCli([], env);
    expect(r.code, r.stderr).to.equal(0);
    const run = JSON.parse(r.stdout);
    expect(run).to.include({ trigger: 'cli', status: 'succeeded', mode: 'incremental' });
    expect(run.counts).to.include({ fetched: 40, created: 40, failed: 0 });
    expect(dt.instanceCount()).to.equal(40);

    const again = await runCli(['--full'], env);
    expect(again.code, again.stderr).to.equal(0);
    const run2 = JSON.parse(again.stdout);
    expect(run2.mode).to.equal('full');
    expect(run2.counts).to.include({ fetched: 40, unchanged: 40, created: 0, updated: 0 });
    expect(dt.instanceCount()).to.equal(40);
  });

  it('exits 2 (partial) when a targeted product number is unknown, with the reason recorded', async () => {
    const r = await runCli(['--product-no', 'P-000001', '--product-no', 'NO-SUCH-1'], env);
    expect(r.code, r.stderr).to.equal(2);
    const run = JSON.parse(r.stdout);
    expect(run.status).to.equal('partial');
    expect(run.mode).to.equal('targeted');
    expect(run.failures).to.have.length(1);
    expect(run.failures[0]).to.include({ product_no: 'NO-SUCH-1', code: 'OKKI_NOT_FOUND' });
    for (const secret of [env.OKKI_CLIENT_SECRET, env.DINGTALK_APP_SECRET, env.YIDA_SYSTEM_TOKEN, env.ROBOT_SECRET, 'cli-robot-token-123']) {
      expect(r.stdout + r.stderr).not.to.include(secret);
    }
  });

  it('exits 1 when the run fails (OKKI refuses the credentials)', async () => {
    const r = await runCli([], { ...env, OKKI_CLIENT_SECRET: 'wrong-secret-value-789' });
    expect(r.code).to.equal(1);
    const run = JSON.parse(r.stdout);
    expect(run.status).to.equal('failed');
    expect(run.error.code).to.equal('OKKI_AUTH_FAILED');
    expect(r.stdout + r.stderr).not.to.include('wrong-secret-value-789');
  });
});
