/**
 * Live progress shared through the store: the replica running a run writes its latest snapshot (`progress:<runId>`,
 * at most every `everyMs`, expiring on its own), and every replica's console reads it. So a browser connected to any
 * replica watches the run move, wherever it runs.
 */
import type Keyv from 'keyv';
import type { Logger } from '../log.js';
import { errorMessage } from '../errors.js';
import type { LiveProgress } from './progress.js';

const key = (runId: string) => `progress:${runId}`;
const TTL_MS = 3600_000;

/** One event of a run in this process (the engine's `subscribe` hook). */
export type FeedEvent =
  | { type: 'started'; run: { id: string } }
  | { type: 'progress'; progress: { runId: string; read: number; written: number; total?: number; counts?: LiveProgress['counts'] } }
  | { type: 'finished'; run: { id: string } };

export interface Subscribable { subscribe?(listener: (event: never) => void): () => void }

export async function readProgress(kv: Keyv, runId: string): Promise<LiveProgress | undefined> {
  try {
    const v = (await kv.get(key(runId))) as LiveProgress | undefined;
    return v && typeof v.read === 'number' && typeof v.written === 'number' ? v : undefined;
  } catch {
    return undefined; // the page falls back to the run record's own figures
  }
}

/**
 * Subscribe to the service's run events and publish snapshots to the store, throttled. Returns the stop function
 * (a no-op when the service has no hook).
 */
export function startProgressFeed(service: Subscribable, kv: Keyv, opts: { logger?: Logger; everyMs?: number } = {}): () => void {
  if (typeof service.subscribe !== 'function') return () => undefined;
  const everyMs = opts.everyMs ?? 500;
  const latest = new Map<string, LiveProgress>();
  const lastWrite = new Map<string, number>();
  const timers = new Map<string, NodeJS.Timeout>();
  let warned = false;

  const write = (runId: string) => {
    timers.delete(runId);
    const snap = latest.get(runId);
    if (!snap) return;
    lastWrite.set(runId, Date.now());
    kv.set(key(runId), snap, TTL_MS).catch((err: unknown) => {
      if (!warned) { warned = true; opts.logger?.warn({ err: errorMessage(err) }, 'could not publish run progress to the store'); }
    });
  };
  const schedule = (runId: string) => {
    if (timers.has(runId)) return;
    const wait = Math.max(0, everyMs - (Date.now() - (lastWrite.get(runId) ?? 0)));
    const t = setTimeout(() => write(runId), wait);
    t.unref();
    timers.set(runId, t);
  };

  const unsubscribe = service.subscribe(((event: FeedEvent) => {
    if (event.type === 'progress') {
      const p = event.progress;
      latest.set(p.runId, { read: p.read, written: p.written, total: p.total, counts: p.counts ? { ...p.counts } : undefined, at: Date.now() });
      schedule(p.runId);
    } else if (event.type === 'finished') {
      const id = event.run.id;
      clearTimeout(timers.get(id));
      timers.delete(id);
      latest.delete(id);
      lastWrite.delete(id);
      // The run record now has the final figures; the snapshot simply expires.
    }
  }) as (event: never) => void);
  return () => {
    unsubscribe();
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
  };
}
