/** Starts a throw-away redis-server on a loopback port for tests that need a real Redis. */
import { spawn, execSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';

export interface RedisHandle { url: string; port: number; process: ChildProcess; stop(): Promise<void>; kill(): Promise<void>; restart(): Promise<void> }

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const p = (srv.address() as net.AddressInfo).port; srv.close(() => resolve(p)); });
  });
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `persistent`: append-only file fsynced on every write, so a SIGKILL loses nothing and `restart()` comes back with the
 * same data, the way a production Redis is run. Without it a restart comes back empty (a lost store).
 */
export async function startRedis(opts: { persistent?: boolean } = {}): Promise<RedisHandle> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'redis-test-'));
  const persistence = opts.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const launch = () => spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir], { stdio: 'ignore' });
  const exited = (p: ChildProcess) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => p.once('exit', () => r())));
  const handle: RedisHandle = {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: launch(),
    async stop() { handle.process.kill('SIGTERM'); await exited(handle.process); },
    async kill() { handle.process.kill('SIGKILL'); await exited(handle.process); },
    async restart() { handle.process = launch(); await waitForPort(port); },
  };
  await waitForPort(port);
  return handle;
}

/**
 * Whether the Redis tests can run here. On a developer machine without redis-server they are skipped; under CI
 * (.ci/run installs it) a missing server is an error, so the Redis tests can never pass by not running.
 */
export function redisAvailable(): boolean {
  try { execSync('command -v redis-server', { stdio: 'ignore' }); return true; } catch {
    if (process.env.CI) throw new Error('redis-server is not installed, and CI must run the Redis tests: apt-get install -y redis-server');
    return false;
  }
}
