/**
 * The production build: `npm run build` (tsc, tsconfig.build.json) emits JavaScript that plain `node` runs, with no
 * TypeScript loader: the service serves and syncs, the CLI answers. Built into a directory of its own beside dist/
 * (same depth, so paths relative to the compiled files resolve as they do in dist/).
 */
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { E2E_API_KEY, liveEnv, startSims, tempDir, type Sims } from './helpers/e2e.js';
import { request } from './helpers/fake-service.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');

describe('production build (npm run build, then plain node)', function () {
  this.timeout(240_000);
  const outDir = join(ROOT, `dist-test-${process.pid}`);
  let sims: Sims;
  const tmp = tempDir('build-');

  before(async () => {
    // the build script's own configuration, into another directory
    await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: ROOT, timeout: 200_000 });
    sims = await startSims();
  });
  after(async () => {
    await sims?.close();
    rmSync(outDir, { recursive: true, force: true });
    tmp.remove();
  });

  it('emits main.js and cli.js and no test or bench code', () => {
    for (const f of ['main.js', 'cli.js', 'connector.js', join('sync', 'engine.js')]) expect(existsSync(join(outDir, f)), f).to.equal(true);
    expect(existsSync(join(outDir, 'test'))).to.equal(false);
    expect(existsSync(join(outDir, 'src')), 'rootDir is src: dist/main.js, not dist/src/main.js').to.equal(false);
  });

  it('`node dist/main.js` starts without a TypeScript loader, serves, and its run syncs', async () => {
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 's.sqlite')}`, LOG_LEVEL: 'info' }) };
    const child = spawn(process.execPath, [join(outDir, 'main.js')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    try {
      const url = await new Promise<string>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`not listening within 60 s: ${err.slice(-1000)}`)), 60_000);
        const check = () => {
          const line = out.split('\n').find((l) => l.includes('"okki-yida-connector listening"'));
          if (line) { clearTimeout(timer); res(JSON.parse(line).url); }
        };
        child.stdout.on('data', check);
        child.once('exit', (c) => { clearTimeout(timer); rej(new Error(`exited ${c}: ${err.slice(-1000)}`)); });
      });
      expect((await request(url, { path: '/healthz' })).status).to.equal(200);
      const trig = await request(url, { method: 'POST', path: '/webhooks/yida/sync', headers: { 'content-type': 'application/json', 'x-api-key': E2E_API_KEY }, body: JSON.stringify({ wait: true }) });
      expect(trig.status, trig.text).to.equal(200);
      expect(trig.json.status).to.equal('succeeded');
      expect(sims.dt.instanceCount()).to.equal(trig.json.counts.created);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    }
  });

  it('`node dist/cli.js --help` runs', async () => {
    const { stdout } = await run(process.execPath, [join(outDir, 'cli.js'), '--help'], { cwd: ROOT, timeout: 60_000 });
    expect(stdout).to.match(/--product-no/);
  });
});
