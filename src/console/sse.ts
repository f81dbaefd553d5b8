/**
 * `GET /console/runs/:id/events`: a run's progress as server-sent events, read from the store (the run record and
 * the live snapshot the running replica publishes), so it works on whichever replica the browser reached.
 * Events: `progress` (JSON of the progress view plus display texts) while it runs, one `done` at the end.
 */
import { PassThrough } from 'node:stream';
import type Keyv from 'keyv';
import type { RunRecord } from '../core/index.js';
import { readProgress } from './progress-feed.js';
import { progressView, type ProgressView } from './progress.js';
import { formatRate, formatSpan } from './pages/html.js';

export interface RunStreamOptions {
  getRun(id: string): Promise<RunRecord | undefined>;
  kv: Keyv;
  /** how often the store is read (default 500 ms) */
  everyMs?: number;
  /** a stream ends after this long (the browser's EventSource reconnects; default 10 min) */
  maxMs?: number;
}

/** What each event carries: the numbers, and the texts the page shows (so the page script stays trivial). */
export function progressPayload(view: ProgressView): Record<string, unknown> {
  return {
    ...view,
    rateText: formatRate(view.rate),
    etaText: view.status === 'running' ? formatSpan(view.etaMs) : '—',
    totalText: view.total === undefined ? '?' : String(view.total),
  };
}

/** Open the stream on a Node response; resolves when it ends (run finished, client gone, or maxMs). */
export function streamRun(res: PassThrough, runId: string, opts: RunStreamOptions, onClose: (fn: () => void) => void): Promise<void> {
  const everyMs = opts.everyMs ?? 500;
  const deadline = Date.now() + (opts.maxMs ?? 10 * 60_000);
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let lastSent = '';
  let lastBeat = Date.now();
  onClose(() => { closed = true; clearTimeout(timer); });

  const send = (event: string, data: unknown) => {
    if (closed) return;
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };

  return new Promise<void>((resolve) => {
    const finish = () => { closed = true; clearTimeout(timer); res.end(); resolve(); };
    const tick = async () => {
      if (closed) return resolve();
      try {
        const run = await opts.getRun(runId);
        if (!run) { send('gone', { runId }); return finish(); }
        const live = run.status === 'running' ? await readProgress(opts.kv, runId) : undefined;
        const payload = progressPayload(progressView(run, live));
        const text = JSON.stringify(payload);
        if (text !== lastSent) { send('progress', payload); lastSent = text; lastBeat = Date.now(); }
        if (run.status !== 'running') { send('done', { runId, status: run.status }); return finish(); }
        if (Date.now() - lastBeat > 15_000) { res.write(': keep-alive\n\n'); lastBeat = Date.now(); }
      } catch {
        // A store hiccup: say nothing this time and look again.
      }
      if (Date.now() >= deadline) return finish();
      timer = setTimeout(() => void tick(), everyMs);
    };
    // Tell EventSource how long to wait before reconnecting after the stream ends.
    res.write('retry: 2000\n\n');
    void tick();
  });
}
