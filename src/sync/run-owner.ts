/**
 * Which process runs a run, so that a run whose process died (SIGKILL, OOM, a crash) is recognised at once instead of
 * blocking every trigger until its lease expires and showing `running` for ever.
 */
import { hostname } from 'node:os';
import type Keyv from 'keyv';

export interface RunOwner { host: string; pid: number }

const key = (runId: string) => `run-owner:${runId}`;
/** kept a while after the run: long enough for any replica to look */
const OWNER_TTL_MS = 7 * 24 * 3600_000;

export function thisProcess(): RunOwner { return { host: hostname(), pid: process.pid }; }

export async function recordOwner(kv: Keyv, runId: string): Promise<void> {
  await kv.set(key(runId), thisProcess(), OWNER_TTL_MS);
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code !== 'ESRCH'; }
}

/**
 * True only when the run's process is provably gone: it ran on this host and its pid is dead, or it ran in this very
 * process and is no longer active here. A run on another host is never declared dead here: its lease expires instead.
 */
export async function ownerGone(kv: Keyv, runId: string, activeHere: (runId: string) => boolean): Promise<boolean> {
  const owner = (await kv.get(key(runId))) as RunOwner | undefined;
  if (!owner || owner.host !== hostname()) return false;
  if (owner.pid === process.pid) return !activeHere(runId);
  return !pidAlive(owner.pid);
}
