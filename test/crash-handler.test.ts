/**
 * A crash anywhere in the service (an unhandled rejection, an uncaught exception) is logged once through the redactor
 * and the process exits non-zero. Provoked inside the real service process once it listens: a preloaded module
 * (NODE_OPTIONS --import) throws on SIGUSR2, with a secret in its message and stack.
 */
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnService, killAllStarted } from './helpers/service-process.js';
import { tempDir } from './helpers/e2e.js';

const API_KEY = 'crash-test-api-key-SECRET-0123456789';

describe('crash handler (unhandled rejection, uncaught exception)', function () {
  this.timeout(90_000);
  const tmp = tempDir('crash-handler-');
  after(async () => { await killAllStarted(); tmp.remove(); });

  for (const kind of ['unhandled rejection', 'uncaught exception'] as const) {
    it(`${kind}: one redacted fatal log line, and the process exits 1`, async () => {
      const preload = join(tmp.dir, `${kind.replace(' ', '-')}.mjs`);
      const boom = `new Error('boom with ' + process.env.WEBHOOK_API_KEY)`;
      writeFileSync(preload, kind === 'unhandled rejection'
        ? `process.on('SIGUSR2', () => { Promise.reject(${boom}); });\n`
        : `process.on('SIGUSR2', () => { throw ${boom}; });\n`);
      const svc = spawnService({
        PORT: '0', STORE_URL: `sqlite://${join(tmp.dir, `${kind.replace(' ', '-')}.sqlite`)}`, SYNC_CRON: '0 0 1 1 *',
        WEBHOOK_API_KEY: API_KEY, NODE_OPTIONS: `--import=${preload}`,
      });
      await svc.url();
      process.kill(svc.child.pid!, 'SIGUSR2');
      const { code } = await svc.exited;
      const output = [...svc.stdout, ...svc.stderr].join('\n');
      expect(code, output.slice(-2000)).to.equal(1);
      expect(output, 'the secret in the crash is redacted').not.to.include(API_KEY);
      const fatal = svc.logs().filter((l) => l.level === 60);
      expect(fatal, output.slice(-2000)).to.have.length(1);
      expect(fatal[0].msg).to.equal(`${kind}: the process exits`);
      expect((fatal[0].err as { message: string }).message).to.equal('boom with ***');
      expect((fatal[0].err as { stack: string }).stack).to.include('boom with ***');
    });
  }
});
