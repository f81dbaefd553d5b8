/**
 * Source-only pull in a process of its own: every product of the catalogue through the OKKI source's shift-safe
 * windowed pull (list pages only, no detail calls, nothing mapped or written), counting pages and rows, sampling
 * RSS as it goes. Peak RSS is what the memory target is about. Like the engine, it passes an AbortSignal
 * that lives as long as the pull (BENCH_PULL_SIGNAL=0: none, to isolate what the signal costs).
 */
import { loadConfig } from '../src/config.js';
import { createOkkiSource } from '../src/okki/index.js';
import { emitResult, peakRssMb } from './child-protocol.js';

export interface PullChildResult {
  pages: number;
  rows: number;
  wallMs: number;
  rssBeforeMb: number;
  peakRssMb: number;
  /** RSS sampled after every 100 pages, MB: flat means memory does not grow with the catalogue */
  rssSamplesMb: number[];
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const source = createOkkiSource({ ...config.okki, timezone: config.sync.timezone });
  const rssBeforeMb = peakRssMb();
  const samples: number[] = [];
  let pages = 0; let rows = 0;
  const started = Date.now();
  // The engine always passes the run's AbortSignal (it listens on it for shutdown); BENCH_PULL_SIGNAL=0 pulls without one.
  const withSignal = process.env.BENCH_PULL_SIGNAL !== '0';
  const run = new AbortController();
  for await (const page of source.pages({ end: new Date() }, withSignal ? { signal: run.signal } : {})) {
    pages++;
    rows += page.items.length + page.rejected.length;
    if (pages % 100 === 0) samples.push(Math.round(process.memoryUsage.rss() / 1024 / 102.4) / 10);
  }
  const result: PullChildResult = { pages, rows, wallMs: Date.now() - started, rssBeforeMb, peakRssMb: peakRssMb(), rssSamplesMb: samples };
  emitResult(result);
}

main().then(() => process.exit(0), (err) => { process.stderr.write(`pull-child: ${(err as Error)?.stack ?? err}\n`); process.exit(1); });
