/**
 * The newcomer's path in sandbox mode (`npm start` with no credentials): the banner says how to edit a product in the
 * OKKI simulator, and running exactly the commands it prints (curl) shows the change in the Yida simulator in seconds,
 * carried by OKKI push (a `push` run), not by a poll.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { spawnService, killAllStarted, type ServiceProcess } from './helpers/service-process.js';
import { eventually } from './helpers/e2e.js';
import { request } from './helpers/fake-service.js';

const run = promisify(execFile);

describe('sandbox: OKKI push is on, and the banner shows how to see it', function () {
  this.timeout(120_000);
  let svc: ServiceProcess;
  after(async () => { await svc?.stop().catch(() => undefined); await killAllStarted(); });

  it('an edit made with the banner\'s curl command reaches the Yida simulator through a push run', async () => {
    svc = spawnService({ PORT: '0', HOST: '127.0.0.1' });
    const url = await svc.url();
    const banner = await eventually('the banner', () => (svc.stderr.some((l) => l.includes('OKKI push is on')) ? svc.stderr : undefined), 30_000);
    const edit = banner.find((l) => l.trim().startsWith('curl -X POST') && l.includes('/__sim/edit'))!.trim();
    const look = banner.find((l) => l.trim().startsWith('curl -s') && l.includes('/__sim/instances'))!.trim();
    expect(edit).to.be.a('string');
    expect(look).to.be.a('string');
    // the start-up backfill first (the sandbox runs one); then the edit is all a push run has to carry
    await eventually('the start-up run', async () => {
      const runs = (await request(url, { path: '/runs' })).json as Array<{ trigger: string; status: string }>;
      return runs.find((r) => r.trigger === 'startup' && r.status !== 'running');
    }, 60_000, 250);
    await run('sh', ['-c', edit]);
    const started = Date.now();
    const found = await eventually('the new name in the Yida simulator', async () => {
      const r = await run('sh', ['-c', `${look} || true`]);
      return r.stdout.includes('改个名字') ? r.stdout : undefined;
    }, 20_000, 100);
    expect(found).to.include('改个名字');
    const runs = (await request(url, { path: '/runs' })).json as Array<{ trigger: string; status: string; counts: { updated: number } }>;
    const push = runs.find((r) => r.trigger === 'push');
    expect(push, 'a push run carried it').to.not.equal(undefined);
    expect(push!.counts.updated).to.equal(1);
    process.stderr.write(`      (edit visible in Yida ${Date.now() - started} ms after the curl)\n`);
  });
});
