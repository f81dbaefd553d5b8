/**
 * How bench children report back: one `BENCH_RESULT <json>` line on stdout (logs go to stderr), and how the parent
 * spawns them (`node --import tsx`, cwd at the project root) and reads that line.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

export const RESULT_PREFIX = 'BENCH_RESULT ';
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function emitResult(result: unknown): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

/** Peak resident set size of this process so far, in MB (resourceUsage().maxRSS is in KiB). */
export function peakRssMb(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

export class ChildFailedError extends Error {
  constructor(script: string, code: number | null, stderrTail: string) {
    super(`bench child ${script} exited with ${code} and no result; last stderr:\n${stderrTail}`);
    this.name = 'ChildFailedError';
  }
}

/** Run `node --import tsx <script>` with `env` and resolve with the child's result object. */
export function runChild<T>(script: string, env: Record<string, string>, opts: { timeoutMs?: number } = {}): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: PROJECT_ROOT,
      // Only what the child needs: the bench must not pick up a developer's real credentials from the shell.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let errTail = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { errTail = (errTail + d).slice(-4000); });
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (!line) { reject(new ChildFailedError(script, code, errTail)); return; }
      resolvePromise(JSON.parse(line.slice(RESULT_PREFIX.length)) as T);
    });
  });
}
