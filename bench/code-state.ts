/** Which code the figures belong to: the commit, whether src/ has uncommitted changes, and whether src/ changed mid-run. */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './child-protocol.js';

function git(args: string[]): string | undefined {
  try { return execFileSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return undefined; }
}

/** newest modification time of any file under src/, epoch ms */
export function newestSourceMtime(dir = join(PROJECT_ROOT, 'src')): number {
  return Math.max(0, ...sourceFiles(dir).map((p) => statSync(p).mtimeMs));
}

/** files under src/ modified after `sinceMs`, relative to the project root */
export function sourceChangedSince(sinceMs: number): string[] {
  return sourceFiles(join(PROJECT_ROOT, 'src')).filter((p) => statSync(p).mtimeMs > sinceMs).map((p) => p.slice(PROJECT_ROOT.length + 1));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

export function codeState(): { commit: string; srcDirty: boolean } {
  const commit = git(['rev-parse', '--short', 'HEAD']) ?? 'unknown';
  const status = git(['status', '--porcelain', '--', 'src']);
  return { commit, srcDirty: status === undefined ? false : status.length > 0 };
}
