/** The listener: where it listens, and a shutdown that lets open requests finish but only for so long. */
import { expect } from 'chai';
import Koa from 'koa';
import { startHttpServer } from '../src/http/server.js';
import { createApp } from '../src/http/app.js';
import { createMetrics } from '../src/metrics.js';
import { silentLogger } from '../src/log.js';
import { FakeSyncService, postWebhook, request, startFakeServiceApp, testConfig } from './helpers/fake-service.js';

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('HTTP server', () => {
  it('listens on the given loopback host and reports its URL', async () => {
    const t = await startFakeServiceApp();
    try {
      expect(t.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await request(t.url, { path: '/healthz' })).status).to.equal(200);
    } finally { await t.close(); }
  });

  it('keeps an idle keep-alive connection open past 5 s (65 s by default), so a balancer reusing it gets no 502', async function () {
    this.timeout(20_000);
    const app = new Koa();
    app.use((ctx) => { ctx.body = 'ok'; });
    const h = await startHttpServer(app, { port: 0, host: '127.0.0.1' });
    const net = await import('node:net');
    const socket = net.connect(Number(new URL(h.url).port), '127.0.0.1');
    try {
      expect(h.server.keepAliveTimeout).to.equal(65_000);
      expect(h.server.headersTimeout, 'headersTimeout above keepAliveTimeout').to.be.greaterThan(h.server.keepAliveTimeout);
      let received = '';
      let closedAt: number | undefined;
      socket.on('data', (d) => { received += String(d); });
      socket.on('close', () => { closedAt = Date.now(); });
      await new Promise<void>((r) => socket.once('connect', () => r()));
      const ask = () => socket.write('GET /x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n');
      ask();
      await until(() => (received.match(/HTTP\/1\.1 200/g) ?? []).length === 1, 'the first answer');
      // The old server closed idle connections after 5 s; a balancer with a 60 s idle timeout then sent into a closing socket.
      await new Promise((r) => setTimeout(r, 6_500));
      expect(closedAt, 'the server closed the idle connection').to.equal(undefined);
      ask();
      await until(() => (received.match(/HTTP\/1\.1 200/g) ?? []).length === 2, 'the second answer on the same connection');
    } finally { socket.destroy(); await h.close({ graceMs: 100 }); }
  });

  it('the keep-alive timeout is configurable (HTTP_KEEP_ALIVE_TIMEOUT)', async () => {
    const app = new Koa();
    const h = await startHttpServer(app, { port: 0, host: '127.0.0.1', keepAliveTimeoutMs: 120_000 });
    try {
      expect(h.server.keepAliveTimeout).to.equal(120_000);
      expect(h.server.headersTimeout).to.equal(121_000);
    } finally { await h.close(); }
  });

  it('close() lets an open request finish, then stops listening', async () => {
    const service = new FakeSyncService();
    const t = await startFakeServiceApp({ service });
    const pending = postWebhook(t.url, { wait: true });
    await until(() => service.triggers.length === 1, 'the trigger');
    const closed = t.handle.close({ graceMs: 5_000 });
    service.finish('run-0001');
    const res = await pending;
    await closed;
    expect(res.status).to.equal(200);
    expect(res.json.status).to.equal('succeeded');
    let refused = false;
    await request(t.url, { path: '/healthz' }).catch(() => { refused = true; });
    expect(refused).to.equal(true);
    service.dispose();
  });

  it('close() is bounded: a request still open after the grace period is cut', async () => {
    const service = new FakeSyncService();
    const t = await startFakeServiceApp({ service, options: { waitTimeoutMs: 60_000 } });
    let outcome = 'open';
    const pending = postWebhook(t.url, { wait: true }).then(() => { outcome = 'answered'; }, () => { outcome = 'cut'; });
    await until(() => service.triggers.length === 1, 'the trigger');
    await t.handle.close({ graceMs: 100 });
    await pending;
    expect(outcome).to.equal('cut');
    expect(service.runs.get('run-0001')!.status, 'the run never finished').to.equal('running');
    service.dispose();
  });

  it('close() can be called twice', async () => {
    const t = await startFakeServiceApp();
    await Promise.all([t.close(), t.close()]);
  });

  it('rejects a port that is taken, and nonsense options', async () => {
    const t = await startFakeServiceApp();
    try {
      const port = Number(new URL(t.url).port);
      let err: unknown;
      await startHttpServer(new Koa(), { port, host: '127.0.0.1' }).catch((e) => { err = e; });
      expect((err as NodeJS.ErrnoException).code).to.equal('EADDRINUSE');
      let bad: unknown;
      await startHttpServer(new Koa(), { port: 70_000, host: '127.0.0.1' }).catch((e) => { bad = e; });
      expect(bad).to.be.instanceOf(RangeError);
    } finally { await t.close(); }
  });

  it('createApp validates its options up front', () => {
    const deps = { config: testConfig(), service: new FakeSyncService(), metrics: createMetrics(), logger: silentLogger };
    expect(() => createApp({ ...deps, options: { bodyTimeoutMs: 0 } })).to.throw(/bodyTimeoutMs/);
    expect(() => createApp({ ...deps, options: { bodyLimitBytes: 1.5 } })).to.throw(/bodyLimitBytes/);
    expect(() => createApp({ ...deps, service: undefined as never })).to.throw(/service/);
  });
});
