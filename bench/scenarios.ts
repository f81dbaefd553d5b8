/**
 * The benchmark's scenarios, one function per kind of measure (full sync, naive baseline, incremental, source pull,
 * webhook burst). Each starts its own simulators (in this process) and runs
 * the connector, the naive script or the pull in a child process, then reads figures from the child's report and
 * from the simulators' request logs (the ground truth for calls and throttling answers).
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { runChild } from './child-protocol.js';
import { startSims, connectorEnv, tempStoreUrl, simCounts, type SimPair, type SimCounts } from './sims.js';
import { boundFor, type Bound } from './bounds.js';
import { startService, burstFromChild, getJson, percentile, type CallTiming } from './webhook-burst.js';
import type { SyncChildResult } from './sync-child.js';
import type { PullChildResult } from './pull-child.js';
import type { NaiveChildResult } from './naive-child.js';
import type { RunRecord } from '../src/core/index.js';

const PAGE_SIZE = 100;
const CHILD_TIMEOUT_MS = 15 * 60_000;
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

export interface FullSyncFigures {
  label: string;
  products: number;
  limit: number;
  okkiQps: number;
  yidaQps: number;
  detailCalls: boolean;
  bound: Bound;
  seconds: number;
  productsPerSecond: number;
  fractionOfBound: number;
  written: number;
  throttled: number;
  throttledPer1000Writes: number;
  failures: number;
  status: string;
  peakRssMb: number;
  rssBeforeMb: number;
  sim: SimCounts;
  failureCodes: Record<string, number>;
  /** accepted writes per second between the first and the last accepted write (start-up and tail excluded) */
  steadyWritesPerSecond: number;
  /** ms from the run's start to the first accepted write (token, groups, first page and its info calls) */
  firstWriteAfterMs: number;
  /** 1-minute load average when the run ended: other processes on the host compete for the same cores */
  loadAverage: number;
}

export interface FullSyncOptions {
  label: string;
  products: number;
  /** DingTalk per-API limit the simulator enforces */
  limit: number;
  okkiQps: number;
  /** YIDA_QPS the connector is configured with (= limit when the limit is known, high when hidden) */
  yidaQps: number;
  mappingFile?: string;
  /** keep the simulators and store for follow-up incremental runs */
  keep?: boolean;
}

export interface KeptSetup { sims: SimPair; env: Record<string, string> }

function writeTimes(sims: SimPair, sinceMs: number): number[] {
  return sims.dingtalk.requests()
    .filter((x) => x.at >= sinceMs && (x.api === 'yida.startInstance' || x.api === 'yida.updateInstance') && x.status === 200)
    .map((x) => x.at);
}

function summarise(o: FullSyncOptions, r: SyncChildResult, sim: SimCounts, writes: number[]): FullSyncFigures {
  // the shipped mapping's product_type comes from three typed list passes (src/okki/type-passes.ts), not from one
  // /v1/product/info call per product: no mapping in the bench costs detail calls any more
  const detailCalls = false;
  const bound = boundFor({ limit: o.limit, okkiQps: o.okkiQps, pageSize: PAGE_SIZE, detailCalls });
  const written = r.run.counts.created + r.run.counts.updated;
  const seconds = (r.run.durationMs ?? r.wallMs) / 1000;
  const pps = written / seconds;
  const failureCodes: Record<string, number> = {};
  for (const f of r.run.failures) failureCodes[f.code] = (failureCodes[f.code] ?? 0) + 1;
  return {
    label: o.label, products: o.products, limit: o.limit, okkiQps: o.okkiQps, yidaQps: o.yidaQps, detailCalls, bound,
    seconds, productsPerSecond: pps, fractionOfBound: pps / bound.bound, written,
    throttled: sim.yidaThrottled, throttledPer1000Writes: written ? (sim.yidaThrottled / written) * 1000 : 0,
    failures: r.run.counts.failed + r.run.counts.rejected, status: r.run.status,
    peakRssMb: r.peakRssMb, rssBeforeMb: r.rssBeforeMb, sim, failureCodes,
    steadyWritesPerSecond: writes.length > 1 ? ((writes.length - 1) / (writes[writes.length - 1] - writes[0])) * 1000 : 0,
    firstWriteAfterMs: writes.length ? writes[0] - Date.parse(r.run.startedAt) : NaN,
    loadAverage: Math.round(loadavg()[0] * 100) / 100,
  };
}

/** Items 1 and 7: a full sync of a fresh catalogue into an empty form. */
export async function fullSync(o: FullSyncOptions): Promise<{ figures: FullSyncFigures; kept?: KeptSetup }> {
  log(`${o.label}: ${o.products} products, DingTalk limit ${o.limit}/s, YIDA_QPS ${o.yidaQps}, OKKI_QPS ${o.okkiQps}${o.mappingFile ? `, mapping ${o.mappingFile}` : ''}`);
  const sims = await startSims({ products: o.products, yidaLimit: o.limit });
  const env = connectorEnv(sims, { storeUrl: tempStoreUrl('full'), okkiQps: o.okkiQps, yidaQps: o.yidaQps, mappingFile: o.mappingFile });
  try {
    const since = Date.now();
    const r = await runChild<SyncChildResult>('bench/sync-child.ts', { ...env, BENCH_MODE: 'full' }, { timeoutMs: CHILD_TIMEOUT_MS });
    const figures = summarise(o, r, simCounts(sims, since), writeTimes(sims, since));
    log(`  ${figures.productsPerSecond.toFixed(1)} products/s = ${(figures.fractionOfBound * 100).toFixed(1)}% of ${figures.bound.bound.toFixed(1)}/s; throttled ${figures.throttled}; failures ${figures.failures}; peak RSS ${figures.peakRssMb} MB`);
    if (o.keep) return { figures, kept: { sims, env } };
    await sims.close();
    return { figures };
  } catch (err) {
    await sims.close();
    throw err;
  }
}

export interface NaiveFigures {
  products: number;
  limit: number;
  seconds: number;
  productsPerSecond: number;
  written: number;
  failures: number;
  failureCodes: Record<string, number>;
  throttled: number;
  sim: SimCounts;
}

/** Item 2: the naive script on the same catalogue size and simulator settings as the reference full sync. */
export async function naive(o: { products: number; limit: number }): Promise<NaiveFigures> {
  log(`naive baseline: ${o.products} products, DingTalk limit ${o.limit}/s, one request at a time`);
  const sims = await startSims({ products: o.products, yidaLimit: o.limit });
  try {
    const env = connectorEnv(sims, { storeUrl: tempStoreUrl('naive'), okkiQps: 1000, yidaQps: 1000 });
    const since = Date.now();
    const r = await runChild<NaiveChildResult>('bench/naive-child.ts', env, { timeoutMs: CHILD_TIMEOUT_MS });
    const sim = simCounts(sims, since);
    const seconds = r.wallMs / 1000;
    log(`  ${seconds.toFixed(1)} s, ${(r.written / seconds).toFixed(1)} products/s, failures ${r.failures}`);
    return { products: r.products, limit: o.limit, seconds, productsPerSecond: r.written / seconds, written: r.written, failures: r.failures, failureCodes: r.failureCodes, throttled: sim.yidaThrottled, sim };
  } finally {
    await sims.close();
  }
}

export interface IncrementalFigures {
  label: string;
  products: number;
  changed: number;
  seconds: number;
  okkiCalls: number;
  okkiByEndpoint: Record<string, number>;
  yidaCalls: number;
  yidaByApi: Record<string, number>;
  dingtalkTokenCalls: number;
  written: number;
  fetched: number;
  status: string;
  minimum: { okki: number; yida: number; explain: string };
}

/**
 * Items 3 and 4: an incremental run on the kept 10k setup, after `changed` products got new content (and so a new
 * update_time). The minimum possible: one groups call, the list pages (one when nothing changed, to learn that; the
 * typed passes for product_type otherwise), no info call unless the window is tiny; one Yida update per change.
 */
export async function incremental(kept: KeptSetup, o: { label: string; products: number; changed: number }): Promise<IncrementalFigures> {
  log(`${o.label}: incremental run, ${o.changed} of ${o.products} products changed`);
  const { sims, env } = kept;
  if (o.changed > 0) {
    const step = Math.floor(o.products / o.changed);
    const nos: string[] = [];
    for (let i = 0; i < o.changed; i++) nos.push(`P-${String(i * step + 1).padStart(6, '0')}`);
    sims.okki.catalog.upsert(nos.map((no) => ({ product_no: no, name: `${sims.okki.catalog.get(no)?.name ?? no} (rev ${randomBytes(2).toString('hex')})` })));
  }
  // the window ends at the run's start, whole seconds: let the changes be strictly older than it
  await new Promise((r) => setTimeout(r, 1100));
  const since = Date.now();
  const r = await runChild<SyncChildResult>('bench/sync-child.ts', { ...env, BENCH_MODE: 'incremental' }, { timeoutMs: CHILD_TIMEOUT_MS });
  const sim = simCounts(sims, since);
  const yidaByApi = Object.fromEntries(Object.entries(sim.dingtalk).filter(([k]) => k.startsWith('yida.')));
  const pages = Math.max(1, Math.ceil(o.changed / PAGE_SIZE));
  // product_type (shipped mapping): a window of at most 3 rows takes info calls; a larger one its unfiltered first page
  // and one typed pass per type (src/okki/type-passes.ts), at least one page each
  const small = o.changed <= 3;
  const listCalls = small ? pages : 1 + Math.max(3, pages + 2);
  const infoCalls = small ? o.changed : 0;
  const minOkki = 1 /* token */ + 1 /* groups */ + listCalls + infoCalls;
  const fig: IncrementalFigures = {
    label: o.label, products: o.products, changed: o.changed, seconds: (r.run.durationMs ?? r.wallMs) / 1000,
    okkiCalls: sim.okkiCalls, okkiByEndpoint: sim.okki, yidaCalls: sim.yidaCalls, yidaByApi,
    dingtalkTokenCalls: sim.dingtalk['oauth2.accessToken'] ?? 0,
    written: r.run.counts.created + r.run.counts.updated, fetched: r.run.counts.fetched, status: r.run.status,
    minimum: { okki: minOkki, yida: o.changed, explain: small
      ? `OKKI: 1 token + 1 groups + ${listCalls} list page(s) + ${infoCalls} info (a window this small reads product_type by info calls); Yida: ${o.changed} update(s)`
      : `OKKI: 1 token + 1 groups + ${listCalls} list pages (the unfiltered first page, then one typed pass per product_type) + 0 info; Yida: ${o.changed} update(s)` },
  };
  log(`  ${fig.seconds.toFixed(2)} s; OKKI calls ${fig.okkiCalls} (min ${minOkki}); Yida calls ${fig.yidaCalls} (min ${o.changed}); written ${fig.written}`);
  return fig;
}

export interface PullFigures { products: number; withSignal: boolean; pages: number; rows: number; seconds: number; pagesPerSecond: number; peakRssMb: number; rssBeforeMb: number; rssSamplesMb: number[] }

/** Item 5: source-only pull (list pages only) of an N-product catalogue, in a fresh process. */
export async function sourcePull(o: { products: number; okkiQps: number; withSignal: boolean }): Promise<PullFigures> {
  log(`source-only pull: ${o.products} products, ${o.withSignal ? 'with a run AbortSignal (as the engine pulls)' : 'without an AbortSignal'}`);
  const sims = await startSims({ products: o.products });
  try {
    const env = connectorEnv(sims, { storeUrl: tempStoreUrl('pull'), okkiQps: o.okkiQps, yidaQps: 100 });
    const r = await runChild<PullChildResult>('bench/pull-child.ts', { ...env, BENCH_PULL_SIGNAL: o.withSignal ? '1' : '0' }, { timeoutMs: CHILD_TIMEOUT_MS });
    const seconds = r.wallMs / 1000;
    log(`  ${r.rows} rows in ${r.pages} pages, ${(r.pages / seconds).toFixed(1)} pages/s, peak RSS ${r.peakRssMb} MB`);
    return { products: o.products, withSignal: o.withSignal, pages: r.pages, rows: r.rows, seconds, pagesPerSecond: r.pages / seconds, peakRssMb: r.peakRssMb, rssBeforeMb: r.rssBeforeMb, rssSamplesMb: r.rssSamplesMb };
  } finally {
    await sims.close();
  }
}

export interface WebhookFigures {
  keepAlive: boolean;
  calls: number;
  bursts: Array<{ label: string; calls: number; p50: number; p99: number; max: number; statuses: Record<string, number> }>;
  p50: number;
  p99: number;
  max: number;
  runsStarted: number;
  distinctRunIds: number;
  startedNotCoalesced: number;
  runStatus: string;
  runProducts: number;
  /** the first burst's run was still in progress when the second burst was sent */
  secondBurstDuringRun: boolean;
  /** the same burst size on GET /healthz: the floor set by connections, Koa and the client on this machine */
  healthzBaseline: { p50: number; p99: number };
  /** handler time as the service logged it for the webhook calls (excludes connection set-up and queueing) */
  serverSide: { p50: number; p99: number; count: number };
}

/**
 * Item 6: the service process with a 1,000-product catalogue; a burst of `calls` concurrent webhook calls from idle
 * (they race to start the run) and a second burst while that run is in progress. Every call must join the one run.
 */
export async function webhookBurst(o: { products: number; limit: number; calls: number; okkiQps: number; keepAlive: boolean }): Promise<WebhookFigures> {
  log(`webhook: 2 bursts of ${o.calls} concurrent calls (${o.keepAlive ? 'warm keep-alive connections' : 'a new connection each'}) against the service (src/main.ts), ${o.products}-product run`);
  const sims = await startSims({ products: o.products, yidaLimit: o.limit });
  const apiKey = `bench-${randomBytes(16).toString('hex')}`;
  const env = connectorEnv(sims, { storeUrl: tempStoreUrl('webhook'), okkiQps: o.okkiQps, yidaQps: o.limit, extra: { WEBHOOK_API_KEY: apiKey } });
  const svc = await startService(env);
  try {
    // a few requests first so the figures are not those of a cold process (first-request compilation)
    for (let i = 0; i < 5; i++) await fetch(`${svc.url}/healthz`).then((r) => r.arrayBuffer());
    // The client runs in a process of its own: this one hosts the simulators, busy serving the run.
    // What the same burst costs on this machine with a handler that does nothing (transport + Koa + client):
    const baseline = await burstFromChild(svc.url, apiKey, o.calls, '/healthz', o.keepAlive);
    const idle = await burstFromChild(svc.url, apiKey, o.calls, undefined, o.keepAlive);
    await new Promise((r) => setTimeout(r, 1000));
    const firstRunId = idle.find((x) => x.runId)?.runId;
    const firstRun = firstRunId ? await getJson<RunRecord>(`${svc.url}/runs/${encodeURIComponent(firstRunId)}`, apiKey) : undefined;
    const stillRunning = firstRun?.status === 'running';
    const during = await burstFromChild(svc.url, apiKey, o.calls, undefined, o.keepAlive);
    let runs: RunRecord[] = [];
    for (const deadline = Date.now() + 5 * 60_000; Date.now() < deadline;) {
      runs = await getJson<RunRecord[]>(`${svc.url}/runs?limit=100`, apiKey);
      if (runs.length && runs.every((r) => r.status !== 'running')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const stats = (label: string, t: CallTiming[]) => ({
      label, calls: t.length, p50: percentile(t.map((x) => x.ms), 50), p99: percentile(t.map((x) => x.ms), 99),
      max: Math.max(...t.map((x) => x.ms)),
      statuses: t.reduce<Record<string, number>>((m, x) => { m[x.status] = (m[x.status] ?? 0) + 1; return m; }, {}),
    });
    const all = [...idle, ...during];
    const fig: WebhookFigures = {
      keepAlive: o.keepAlive,
      calls: all.length,
      bursts: [stats('from idle (racing to start)', idle), stats('during the run', during)],
      p50: percentile(all.map((x) => x.ms), 50), p99: percentile(all.map((x) => x.ms), 99), max: Math.max(...all.map((x) => x.ms)),
      runsStarted: runs.length,
      distinctRunIds: new Set(all.map((x) => x.runId).filter(Boolean)).size,
      startedNotCoalesced: all.filter((x) => x.coalesced === false).length,
      runStatus: runs[0]?.status ?? 'none',
      runProducts: runs[0] ? runs[0].counts.created + runs[0].counts.updated : 0,
      secondBurstDuringRun: stillRunning,
      healthzBaseline: { p50: percentile(baseline.map((x) => x.ms), 50), p99: percentile(baseline.map((x) => x.ms), 99) },
      serverSide: (() => { const d = svc.serverDurations.get('/webhooks/yida/sync') ?? []; return { p50: percentile(d, 50), p99: percentile(d, 99), count: d.length }; })(),
    };
    log(`  p50 ${fig.p50.toFixed(1)} ms, p99 ${fig.p99.toFixed(1)} ms (healthz floor p99 ${fig.healthzBaseline.p99.toFixed(1)} ms); runs started ${fig.runsStarted}`);
    return fig;
  } finally {
    await svc.stop();
    await sims.close();
  }
}
