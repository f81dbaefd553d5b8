/**
 * One view of a run's progress for every display (console page, server-sent events, the CLI's bar): products read,
 * written, the total when known, the rate and the time left. Pure: a run record (and, while it runs, the latest live
 * snapshot) in, numbers out.
 */
import type { RunCounts, RunRecord } from '../core/index.js';

/** What the engine's progress hook says about a run in progress (also what the store keeps for other replicas). */
export interface LiveProgress {
  read: number;
  written: number;
  total?: number;
  counts?: RunCounts;
  /** epoch ms of the snapshot */
  at?: number;
}

export interface ProgressView {
  runId: string;
  status: string;
  read: number;
  /** products whose write settled: created + updated + unchanged + failed */
  written: number;
  /** written + rejected: what the bar and the time left count */
  settled: number;
  total?: number;
  /** 0..100 when the total is known */
  percent?: number;
  /** settled products per second since the run started */
  rate?: number;
  /** estimated ms left, when the total and a rate are known */
  etaMs?: number;
  elapsedMs: number;
  counts: RunCounts;
}

const ZERO: RunCounts = { fetched: 0, created: 0, updated: 0, unchanged: 0, rejected: 0, failed: 0 };

export function writtenOf(c: RunCounts): number {
  return c.created + c.updated + c.unchanged + c.failed;
}

/** The progress of `run` at `now`, preferring the live snapshot's figures while it runs. */
export function progressView(run: RunRecord, live: LiveProgress | undefined, now: number = Date.now()): ProgressView {
  const counts = { ...ZERO, ...(live?.counts ?? run.counts) };
  const recordWritten = writtenOf(run.counts);
  const useLive = live && run.status === 'running' && live.written >= recordWritten;
  const read = useLive ? live.read : counts.fetched;
  const written = useLive ? live.written : writtenOf(counts);
  const settled = written + counts.rejected;
  const declared = (run as RunRecord & { progress?: { total?: number } }).progress?.total;
  let total = live?.total ?? declared ?? (run.mode === 'targeted' && run.productNos?.length ? run.productNos.length : undefined);
  if (run.status !== 'running') total = Math.max(total ?? 0, read, settled);
  if (total !== undefined) total = Math.max(total, settled);
  const started = Date.parse(run.startedAt);
  const end = run.finishedAt ? Date.parse(run.finishedAt) : now;
  const elapsedMs = Number.isFinite(started) ? Math.max(0, (Number.isFinite(end) ? end : now) - started) : 0;
  const rate = elapsedMs > 0 && settled > 0 ? settled / (elapsedMs / 1000) : undefined;
  const percent = total ? Math.min(100, (settled / total) * 100) : run.status === 'running' ? undefined : 100;
  const etaMs = run.status === 'running' && total !== undefined && rate ? ((total - settled) / rate) * 1000 : run.status === 'running' ? undefined : 0;
  return { runId: run.id, status: run.status, read, written, settled, total, percent, rate, etaMs, elapsedMs, counts };
}

/** The run's throughput over its whole duration (products per second), for run lists. */
export function throughputOf(run: RunRecord): number | undefined {
  return progressView(run, undefined).rate;
}
