/** Test helpers for the DingTalk side: a simulator, a Config pointed at it, a real-SDK sink, and throw-away ledgers. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStores } from '../../src/store/index.js';
import type { Stores } from '../../src/store/types.js';
import { startDingtalkSimulator, type DingtalkSimulator, type DingtalkSimulatorOptions } from '../../src/sandbox/dingtalk/index.js';
import { createYidaSink, type YidaSink, type YidaSinkDeps } from '../../src/yida/index.js';
import type { Config } from '../../src/config.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { exponential } from '../../src/outbound/index.js';

export const KEY_FIELD = 'textField_productNo';

export function dingtalkConfigFor(sim: DingtalkSimulator, yida: Partial<Config['yida']> = {}): { dingtalk: Config['dingtalk']; yida: Config['yida'] } {
  return {
    dingtalk: { ...sim.credentials, endpoint: sim.endpoint, protocol: 'http' },
    yida: { ...sim.yida, language: 'zh_CN', qps: 200, concurrency: 8, searchLagSeconds: 60, target: 'process', batchSize: 100, ...yida },
  };
}

export interface SinkFixture { sim: DingtalkSimulator; sink: YidaSink; metrics: Metrics; close(): Promise<void> }

/** A simulator plus a sink through the real SDK, with short retry delays so tests stay fast. */
export async function startSinkFixture(o: { sim?: DingtalkSimulatorOptions; yida?: Partial<Config['yida']>; deps?: YidaSinkDeps } = {}): Promise<SinkFixture> {
  const sim = await startDingtalkSimulator(o.sim);
  const metrics = createMetrics();
  const sink = createYidaSink(dingtalkConfigFor(sim, o.yida), {
    metrics, retry: { delay: exponential(20), backoffLimit: 400, limit: 7, throttleLimit: 19 }, timeouts: { readTimeoutMs: 3000, connectTimeoutMs: 3000 }, ...o.deps,
  });
  return { sim, sink, metrics, close: () => sim.close() };
}

export async function counter(metrics: Metrics, name: 'apiCalls' | 'throttles' | 'retries', labels: Record<string, string>): Promise<number> {
  const data = await metrics[name].get();
  return data.values.filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x)).reduce((s, v) => s + v.value, 0);
}

/** Throw-away stores on a sqlite file of their own; `reopen` is what a restarted process sees. */
export interface TempSqlite { stores: Stores; dir: string; path: string; reopen(): Promise<Stores>; close(): Promise<void> }

export async function tempSqlite(): Promise<TempSqlite> {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-test-'));
  const path = join(dir, 'ledger.sqlite');
  const open = () => createStores({ url: `sqlite://${path}`, kind: 'sqlite', sqlitePath: path });
  const h: TempSqlite = {
    stores: await open(), dir, path,
    async reopen() { await h.stores.close(); h.stores = await open(); return h.stores; },
    async close() { await h.stores.close(); rmSync(dir, { recursive: true, force: true }); },
  };
  return h;
}

/** `n` mapped products `P-00001`..: form data with the key field and a price; hash follows the data. */
export function products(n: number, version = 1, prefix = 'P-'): Array<{ productNo: string; formData: Record<string, unknown>; hash: string }> {
  return Array.from({ length: n }, (_, i) => {
    const productNo = `${prefix}${String(i + 1).padStart(5, '0')}`;
    const formData = { [KEY_FIELD]: productNo, textField_name: `产品 ${i + 1}`, numberField_price: 10 + i + version / 10 };
    return { productNo, formData, hash: `h${version}-${productNo}` };
  });
}

/** Run `fn` over `items`, `limit` at a time (a stand-in for the engine's pipeline). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]);
  }));
  return out;
}

export function instancesPerKey(sim: DingtalkSimulator): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of sim.instances()) { const k = String(i.data[KEY_FIELD]); m.set(k, (m.get(k) ?? 0) + 1); }
  return m;
}
