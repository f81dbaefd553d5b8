/**
 * A throw-away redis-server that survives its own crash: append-only file fsynced on every write, so a SIGKILL loses
 * nothing and `restart()` comes back with the same data — the way a production Redis is run. (test/helpers/redis.ts
 * starts one without persistence, where a restart comes back empty.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { freePort } from './redis.js';

export interface PersistentRedis { url: string; port: number; kill(): Promise<void>; restart(): Promise<void>; stop(): Promise<void> }

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startPersistentRedis(): Promise<PersistentRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rel-redis-'));
  const launch = () => spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', 'yes', '--appendfsync', 'always',
  ], { stdio: 'ignore' });
  let proc: ChildProcess = launch();
  const exit = (p: ChildProcess) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => p.once('exit', () => r())));
  const handle: PersistentRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async kill() { proc.kill('SIGKILL'); await exit(proc); },
    async restart() { proc = launch(); await waitForPort(port); },
    async stop() { proc.kill('SIGTERM'); await exit(proc); },
  };
  await waitForPort(port);
  return handle;
}
