/**
 * The connector as a separate process, the way an operator runs it: `node --import tsx src/main.ts` (or `npm start`)
 * with an explicit, hermetic environment. Captures stdout/stderr line by line, finds the listening URL in the logs,
 * and stops what it started (by process group id, never by name).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

export const PROJECT_DIR = resolve(import.meta.dirname, '..', '..');

/** Only what a process needs to run; no variable of the test runner's own environment leaks into the service. */
export function baseEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'info', NODE_ENV: 'test' };
  // npm refuses some configs without these; harmless for node itself
  for (const k of ['npm_config_cache', 'TMPDIR']) if (process.env[k]) env[k] = process.env[k]!;
  return { ...env, ...extra };
}

export interface ServiceProcess {
  child: ChildProcess;
  /** every stdout line so far */
  stdout: string[];
  /** every stderr line so far */
  stderr: string[];
  /** stdout lines that are JSON, parsed */
  logs(): Array<Record<string, unknown>>;
  /** resolves with the exit code (or signal) once the process has exited and every writer to its output is gone */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: boolean;
  /** the URL from the "listening" log line */
  url(timeoutMs?: number): Promise<string>;
  /** resolves with the first parsed log line matching `pred`, bounded */
  waitForLog(pred: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** send a signal to the process group and wait (bounded) for the exit */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const all: ServiceProcess[] = [];

export function spawnService(env: Record<string, string>, opts: { npmStart?: boolean; cwd?: string; args?: string[] } = {}): ServiceProcess {
  // `args`: another entry point (e.g. ['src/cli.ts', '--full']) run the same way
  const [cmd, args] = opts.npmStart ? ['npm', ['start', '--silent']] : [process.execPath, ['--import', 'tsx', ...(opts.args ?? ['src/main.ts'])]];
  // detached: the service gets its own process group, so `npm start` and its node child are stopped together
  const child = spawn(cmd, args, { cwd: opts.cwd ?? PROJECT_DIR, env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const listeners = new Set<() => void>();
  const lineReader = (into: string[]) => {
    let rest = '';
    return (chunk: Buffer) => {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop()!;
      into.push(...parts);
      for (const l of listeners) l();
    };
  };
  child.stdout!.on('data', lineReader(stdout));
  child.stderr!.on('data', lineReader(stderr));
  // Done = the spawned process exited AND its output pipes closed: under `npm start` the service (npm → sh → tsx →
  // node) can still be shutting down, and writing, after npm itself has gone.
  let running = true;
  const pipesClosed = Promise.all([once(child.stdout!, 'close'), once(child.stderr!, 'close')]);
  const exited = Promise.all([once(child, 'exit'), pipesClosed]).then(([[code, signal]]) => {
    running = false;
    for (const l of listeners) l();
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });

  const logs = () => stdout.flatMap((l) => { try { const v = JSON.parse(l); return v && typeof v === 'object' ? [v] : []; } catch { return []; } });

  const handle: ServiceProcess = {
    child, stdout, stderr, logs, exited,
    get running() { return running; },
    waitForLog(pred, what, timeoutMs = 30_000) {
      return new Promise((resolveLine, reject) => {
        const check = () => {
          const hit = logs().find(pred);
          if (hit) { done(); resolveLine(hit); return; }
          if (!running) { done(); reject(new Error(`service exited before ${what}; stderr:\n${stderr.join('\n').slice(-2000)}`)); }
        };
        const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${what}; stderr:\n${stderr.join('\n').slice(-2000)}`)); }, timeoutMs);
        const done = () => { clearTimeout(timer); listeners.delete(check); };
        listeners.add(check);
        check();
      });
    },
    async url(timeoutMs = 45_000) {
      const line = await handle.waitForLog((l) => l.msg === 'okki-yida-connector listening' && typeof l.url === 'string', 'the listening log line', timeoutMs);
      return line.url as string;
    },
    async stop(signal = 'SIGTERM', timeoutMs = 40_000) {
      if (running && child.pid) { try { process.kill(-child.pid, signal); } catch { /* already gone */ } }
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([exited, new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); })]);
      clearTimeout(timer);
      if (result === 'timeout') {
        if (child.pid) { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }
        throw new Error(`service did not exit within ${timeoutMs} ms after ${signal}`);
      }
      return result;
    },
  };
  all.push(handle);
  return handle;
}

/** Last resort for an after() hook: kill every service this file started that is still running. */
export async function killAllStarted(): Promise<void> {
  await Promise.all(all.filter((s) => s.running).map(async (s) => {
    if (s.child.pid) { try { process.kill(-s.child.pid, 'SIGKILL'); } catch { /* gone */ } }
    await Promise.race([s.exited, new Promise((r) => setTimeout(r, 5_000))]);
  }));
}

/** Every line any started service wrote, stdout and stderr. */
export function allOutput(): string[] {
  return all.flatMap((s) => [...s.stdout, ...s.stderr]);
}
