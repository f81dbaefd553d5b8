/**
 * `npm run sync`'s live progress on stderr (stdout carries only the result): on a terminal a bar redrawn in place
 * (done/total, read, written, rate, time left); otherwise, as under cron or in a log file, one plain line every
 * `plainEveryMs`, and one at the end. Figures come from the same progress view as the console's.
 */
import type { RunRecord } from './core/index.js';
import { progressView, type LiveProgress, type ProgressView } from './console/progress.js';

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliProgressOptions {
  /** the run's record (live in this process) and the latest progress snapshot, if any */
  sample: () => Promise<{ run?: RunRecord; live?: LiveProgress }>;
  out: ProgressStream;
  /** terminal redraw interval (default 200 ms) */
  ttyEveryMs?: number;
  /** plain line interval (default 10 s) */
  plainEveryMs?: number;
}

const SPIN = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function secs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '?';
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function rate(v: ProgressView): string {
  return v.rate === undefined ? '-' : v.rate >= 10 ? v.rate.toFixed(0) : v.rate.toFixed(1);
}

/** One line of figures (no bar): `120/300 (40%) · read 150 · written 118 · 45/s · 4s left`. */
export function progressLine(v: ProgressView): string {
  const done = v.total === undefined ? `${v.settled} done` : `${v.settled}/${v.total} (${Math.floor(v.percent ?? 0)}%)`;
  const extra = v.counts.rejected || v.counts.failed ? ` · rejected ${v.counts.rejected} · failed ${v.counts.failed}` : '';
  const left = v.status === 'running' ? ` · ${v.etaMs === undefined ? 'time left unknown' : `${secs(v.etaMs)} left`}` : ` · took ${secs(v.elapsedMs)}`;
  return `${done} · read ${v.read} · written ${v.written}${extra} · ${rate(v)}/s${left}`;
}

/** The terminal line: a bar sized to the terminal, then the figures. */
export function ttyLine(v: ProgressView, columns: number, frame: number): string {
  const figures = progressLine(v);
  const width = Math.max(10, Math.min(40, columns - figures.length - 6));
  let bar: string;
  if (v.total) {
    const filled = Math.round((width * (v.percent ?? 0)) / 100);
    bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
  } else {
    const pos = frame % width;
    bar = `${'░'.repeat(pos)}█${'░'.repeat(width - pos - 1)}`;
  }
  const head = v.status === 'running' ? SPIN[frame % SPIN.length] : v.status === 'succeeded' ? '✓' : '!';
  return `${head} [${bar}] ${figures}`.slice(0, Math.max(20, columns - 1));
}

export function startCliProgress(opts: CliProgressOptions): { stop(): Promise<void> } {
  const tty = Boolean(opts.out.isTTY);
  const every = tty ? opts.ttyEveryMs ?? 200 : opts.plainEveryMs ?? 10_000;
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  let last: ProgressView | undefined;
  let stopped = false;

  const draw = async (final: boolean) => {
    const { run, live } = await opts.sample().catch(() => ({ run: undefined, live: undefined }));
    if (!run) return;
    const v = progressView(run, live);
    last = v;
    if (tty) opts.out.write(`\r\x1b[2K${ttyLine(v, opts.out.columns || 100, frame++)}${final ? '\n' : ''}`);
    else if (final || v.status === 'running') opts.out.write(`${final ? 'finished' : 'progress'} ${run.id} ${final ? `${run.status} · ` : ''}${progressLine(v)}\n`);
  };
  const loop = async () => {
    if (stopped) return;
    await draw(false);
    if (!stopped) { timer = setTimeout(() => void loop(), every); timer.unref(); }
  };
  // On a terminal the bar appears at once; plain lines wait one interval (a quick run then prints only its end).
  if (tty) void loop();
  else { timer = setTimeout(() => void loop(), every); timer.unref(); }

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await draw(true);
      void last;
    },
  };
}
