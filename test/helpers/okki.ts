/** Shared set-up for the OKKI tests: a simulator on 127.0.0.1 and a source pointed at it with test-sized timings. */
import { startOkkiSimulator, type OkkiSimulator, type OkkiSimulatorOptions } from '../../src/sandbox/okki/index.js';
import { createOkkiSource, type OkkiSource, type OkkiSourceConfig, type OkkiSourceDeps } from '../../src/okki/index.js';
import type { ProductPage, PullOptions, SyncWindow } from '../../src/core/index.js';
import { createLogger, type Logger } from '../../src/log.js';
import { exponential, type RetryPolicy } from '../../src/outbound/index.js';
import { Writable } from 'node:stream';

/** 8 attempts, 2 ms doubling to 20 ms, Retry-After honoured up to 5 s */
export const FAST_RETRY: Partial<RetryPolicy> = { limit: 7, throttleLimit: 7, delay: exponential(2), backoffLimit: 20, maxRetryAfter: 5_000 };

export function sourceFor(sim: OkkiSimulator, cfg: Partial<OkkiSourceConfig> = {}, deps: OkkiSourceDeps = {}): OkkiSource {
  return createOkkiSource({
    baseUrl: sim.url, clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret, scope: 'product',
    pageSize: 100, qps: 1000, timezone: 'Asia/Shanghai', timeoutMs: 2_000, ...cfg,
  }, { retry: FAST_RETRY, ...deps });
}

export async function withSim<T>(opts: OkkiSimulatorOptions, fn: (sim: OkkiSimulator) => Promise<T>): Promise<T> {
  const sim = await startOkkiSimulator(opts);
  try { return await fn(sim); } finally { await sim.close(); }
}

export async function collect(iter: AsyncIterable<ProductPage>): Promise<{ pages: ProductPage[]; nos: string[] }> {
  const pages: ProductPage[] = [];
  for await (const p of iter) pages.push(p);
  return { pages, nos: pages.flatMap((p) => p.items.map((i) => i.product_no!)) };
}

export function pullAll(source: OkkiSource, window: SyncWindow, opts?: PullOptions) {
  return collect(source.pages(window, opts));
}

/** product_nos the simulator holds with update_time inside [start, end] (inclusive), by its own clock texts. */
export function expectedNos(sim: OkkiSimulator, source: OkkiSource, window: SyncWindow): string[] {
  const lo = window.start ? Math.floor(window.start.getTime() / 1000) : -Infinity;
  const hi = Math.floor(window.end.getTime() / 1000);
  const out: string[] = [];
  for (const p of sim.catalog.all()) {
    const t = source.parseTime(p.update_time)!.getTime() / 1000;
    if (t >= lo && t <= hi) out.push(p.product_no);
  }
  return out;
}

/** A logger that keeps its JSON lines in memory, for asserting on what was logged. */
export function memoryLogger(): { logger: Logger; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } });
  const logger = createLogger({ level: 'debug', stream });
  const text = () => chunks.join('');
  return { logger, text, lines: () => text().split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}
