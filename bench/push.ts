/**
 * OKKI push (issue 15): the service (`src/main.ts`, its own process, SQLite store, PUSH_DEBOUNCE_MS default) receives
 * the OKKI simulator's signed, encrypted deliveries over loopback and drains them into targeted runs.
 *
 * - latency: OKKI change (the simulator's catalogue edited here) → the Yida instance holding the new value (the DingTalk
 *   simulator's modifiedTime of the instance, stamped when the write commits); p50/p95;
 * - single change on an idle service, one at a time;
 * - a burst of 500 changes to 500 products at once with DingTalk's write limit at 20/s: throughput against that bound,
 *   and every change present in Yida at the end;
 * - memory: the service's RSS (/proc) while 10,000 events arrive.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startSims, connectorEnv, tempStoreUrl, type SimPair } from './sims.js';
import { startService, getJson, percentile, type ServiceHandle } from './webhook-burst.js';
import type { RunRecord } from '../src/core/index.js';

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KEY_FIELD = 'textField_lq23ags2';
const NAME_FIELD = 'textField_lq0sj9h9';

interface PushSetup { sims: SimPair; svc: ServiceHandle; apiKey: string; productNos: string[]; close(): Promise<void> }

async function setup(o: { products: number; yidaLimit: number; okkiQps: number; label: string; deliveryConcurrency: number; nodeArgs?: string[] }): Promise<PushSetup> {
  const sims = await startSims({ products: o.products, yidaLimit: o.yidaLimit });
  const apiKey = `bench-${randomBytes(16).toString('hex')}`;
  const secret = randomBytes(32).toString('base64');
  const env = connectorEnv(sims, {
    storeUrl: tempStoreUrl(o.label), okkiQps: o.okkiQps, yidaQps: o.yidaLimit,
    extra: { WEBHOOK_API_KEY: apiKey, OKKI_WEBHOOK_SECRET: secret },
  });
  const svc = await startService(env, 30_000, o.nodeArgs);
  sims.okki.push.configure({ callbackUrl: `${svc.url}/webhooks/okki`, securityConfig: secret });
  sims.okki.setKnobs({ push: { concurrency: o.deliveryConcurrency, retryDelaysMs: [1000, 3000, 6000] } });
  // the backfill first: push events then update existing instances
  await fetch(`${svc.url}/webhooks/yida/sync`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': apiKey }, body: '{"mode":"full"}' });
  await quiet({ svc, apiKey }, 15 * 60_000);
  const productNos = [...sims.okki.catalog.all()].map((p) => String(p.product_no));
  return { sims, svc, apiKey, productNos, async close() { await svc.stop(); await sims.close(); } };
}

/** Every run finished (the backfill, push runs). */
async function quiet(s: { svc: ServiceHandle; apiKey: string }, timeoutMs = 120_000): Promise<RunRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = await getJson<RunRecord[]>(`${s.svc.url}/runs?limit=100`, s.apiKey);
    if (runs.length && runs.every((r) => r.status !== 'running')) return runs;
    if (Date.now() > deadline) throw new Error('runs did not finish in time');
    await sleep(250);
  }
}

/** When the instance of each product took the value (modifiedTime), for those holding it. */
function landed(sims: SimPair, expected: Map<string, string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const i of sims.dingtalk.instances()) {
    const no = String(i.data[KEY_FIELD]);
    const want = expected.get(no);
    if (want !== undefined && i.data[NAME_FIELD] === want) out.set(no, Date.parse(i.modifiedTimeGMT));
  }
  return out;
}

async function untilLanded(sims: SimPair, expected: Map<string, string>, timeoutMs: number): Promise<Map<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = landed(sims, expected);
    if (got.size === expected.size || Date.now() > deadline) return got;
    await sleep(expected.size > 10 ? 200 : 10);
  }
}

function rssMb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : NaN;
  } catch { return NaN; }
}

/** The service's heap after two forced collections (bench/gc-probe.ts answers SIGUSR2). */
function heapAfterGc(svc: ServiceHandle): Promise<{ heapUsedMb: number; rssMb: number; externalMb: number }> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => { svc.child.stderr!.off('data', onData); reject(new Error('no BENCH_HEAP answer')); }, 10_000);
    const onData = (d: string) => {
      buf += d;
      const m = /BENCH_HEAP (\{[^\n]*\})\n/.exec(buf);
      if (!m) return;
      clearTimeout(timer);
      svc.child.stderr!.off('data', onData);
      resolve(JSON.parse(m[1]));
    };
    svc.child.stderr!.on('data', onData);
    svc.child.kill('SIGUSR2');
  });
}

const ackTimes = (svc: ServiceHandle) => svc.serverDurations.get('/webhooks/okki') ?? [];
const stats = (xs: number[]) => ({ n: xs.length, p50: percentile(xs, 50), p95: percentile(xs, 95), p99: percentile(xs, 99), max: xs.length ? Math.max(...xs) : NaN });

export interface PushLatencyFigures {
  samples: number; latencyMs: ReturnType<typeof stats>; lost: number; pushRuns: number; ackMs: ReturnType<typeof stats>;
}

/** Single changes on an idle service, one at a time (the queue empty and the drainer idle before each). */
export async function pushSingle(o: { samples: number; products: number; okkiQps: number }): Promise<PushLatencyFigures> {
  log(`push: ${o.samples} single changes on an idle service (${o.products} products)`);
  const s = await setup({ products: o.products, yidaLimit: 100, okkiQps: o.okkiQps, label: 'push-single', deliveryConcurrency: 1 });
  try {
    const before = new Set((await quiet(s)).map((r) => r.id));
    s.svc.serverDurations.delete('/webhooks/okki');
    const lat: number[] = [];
    let lost = 0;
    for (let i = 0; i < o.samples; i++) {
      const no = s.productNos[(i * 7) % s.productNos.length];
      const name = `单改 ${i} ${randomBytes(3).toString('hex')}`;
      const at = Date.now();
      s.sims.okki.catalog.edit(no, { name });
      const got = await untilLanded(s.sims, new Map([[no, name]]), 20_000);
      if (got.has(no)) lat.push(got.get(no)! - at); else lost++;
      await quiet(s);
      await sleep(1200); // idle again: the debounce timer and the drainer's loop are over
    }
    const runs = (await quiet(s)).filter((r) => r.trigger === 'push' && !before.has(r.id)).length;
    const f = { samples: o.samples, latencyMs: stats(lat), lost, pushRuns: runs, ackMs: stats(ackTimes(s.svc)) };
    log(`  p50 ${f.latencyMs.p50} ms, p95 ${f.latencyMs.p95} ms, lost ${lost}`);
    return f;
  } finally { await s.close(); }
}

const meanMax = (xs: number[]): [number, number] => (xs.length ? [Math.round(xs.reduce((a, b) => a + b, 0) / xs.length), Math.max(...xs)] : [NaN, NaN]);

/** Where the time between writes goes: hand-over between runs, a run's start-up, a run's tail. Runs oldest first. */
function timeline(runs: RunRecord[], writes: number[]): PushBurstFigures['timeline'] {
  const handOver: number[] = []; const startUp: number[] = []; const tail: number[] = [];
  runs.forEach((r, i) => {
    const start = Date.parse(r.startedAt); const end = r.finishedAt ? Date.parse(r.finishedAt) : NaN;
    const mine = writes.filter((t) => t >= start && t <= end);
    if (mine.length) { startUp.push(mine[0] - start); tail.push(end - mine[mine.length - 1]); }
    const next = runs[i + 1];
    if (next) handOver.push(Date.parse(next.startedAt) - end);
  });
  return { handOverMs: meanMax(handOver), startUpMs: meanMax(startUp), tailMs: meanMax(tail) };
}

export interface PushBurstFigures {
  changes: number; limit: number; changesPerSecond: number | null; bound: number; seconds: number; perSecond: number; fractionOfBound: number; lost: number;
  latencyMs: ReturnType<typeof stats>; pushRuns: number; productsPerRun: number[]; deliveries: Record<string, number>;
  ackMs: ReturnType<typeof stats>; throttled: number;
  /** deliveries that needed more than one attempt */
  retried: number;
  /** first accepted write after the first edit (debounce, run start, first info calls) */
  firstWriteAfterMs: number;
  /** accepted writes per second between the first and the last */
  steadyWritesPerSecond: number;
  /** longest pause between two accepted writes (a hand-over between runs, throttling back-off) */
  longestGapMs: number;
  /** per push run, mean/max: next run's start − this run's end; first write − run start; run end − last write */
  timeline: { handOverMs: [number, number]; startUpMs: [number, number]; tailMs: [number, number] };
}

/**
 * `changes` products edited in OKKI, all at once (`changesPerSecond` absent) or at that rate; DingTalk's write limit L.
 * The bound is min(L, the edit rate).
 */
export async function pushBurst(o: { changes: number; limit: number; products: number; okkiQps: number; changesPerSecond?: number }): Promise<PushBurstFigures> {
  log(`push: ${o.changes} changes ${o.changesPerSecond ? `at ${o.changesPerSecond}/s` : 'at once'}, DingTalk write limit ${o.limit}/s`);
  const s = await setup({ products: o.products, yidaLimit: o.limit, okkiQps: o.okkiQps, label: 'push-burst', deliveryConcurrency: 8 });
  try {
    const runsBefore = new Set((await quiet(s)).map((r) => r.id));
    s.svc.serverDurations.delete('/webhooks/okki');
    s.sims.okki.push.clearDeliveries();
    const since = Date.now();
    const expected = new Map<string, string>();
    const changedAt = new Map<string, number>();
    const nos = s.productNos.slice(0, o.changes);
    for (let i = 0; i < nos.length; i++) {
      if (o.changesPerSecond) { const due = since + (i * 1000) / o.changesPerSecond; if (due > Date.now()) await sleep(due - Date.now()); }
      const name = `连发 ${randomBytes(3).toString('hex')}`;
      expected.set(nos[i], name);
      changedAt.set(nos[i], Date.now());
      s.sims.okki.catalog.edit(nos[i], { name });
    }
    const got = await untilLanded(s.sims, expected, 10 * 60_000);
    await s.sims.okki.push.settled(60_000).catch(() => undefined);
    const runs = (await quiet(s)).filter((r) => r.trigger === 'push' && !runsBefore.has(r.id));
    const first = Math.min(...changedAt.values());
    const last = Math.max(...got.values());
    const seconds = (last - first) / 1000;
    const perSecond = got.size / seconds;
    const deliveries = s.sims.okki.push.deliveries.reduce<Record<string, number>>((m, d) => { m[d.state] = (m[d.state] ?? 0) + 1; return m; }, {});
    const throttled = s.sims.dingtalk.requests().filter((r) => r.at >= since && r.throttled).length;
    const writes = s.sims.dingtalk.requests({ api: 'yida.updateInstance' }).filter((r) => r.at >= since && r.status === 200).map((r) => r.at).sort((a, b) => a - b);
    const gaps = writes.slice(1).map((t, i) => t - writes[i]);
    const bound = Math.min(o.limit, o.changesPerSecond ?? Infinity);
    const f: PushBurstFigures = {
      changes: o.changes, limit: o.limit, changesPerSecond: o.changesPerSecond ?? null, bound, seconds, perSecond, fractionOfBound: perSecond / bound, lost: o.changes - got.size,
      latencyMs: stats([...got].map(([no, t]) => t - changedAt.get(no)!)), pushRuns: runs.length,
      productsPerRun: runs.map((r) => r.counts.fetched).reverse(), deliveries, ackMs: stats(ackTimes(s.svc)), throttled,
      retried: s.sims.okki.push.deliveries.filter((d) => d.attempts.length > 1).length,
      firstWriteAfterMs: writes.length ? writes[0] - first : NaN,
      steadyWritesPerSecond: writes.length > 1 ? (writes.length - 1) / ((writes[writes.length - 1] - writes[0]) / 1000) : NaN,
      longestGapMs: gaps.length ? Math.max(...gaps) : NaN,
      timeline: timeline([...runs].reverse(), writes),
    };
    log(`  ${f.perSecond.toFixed(1)}/s = ${(f.fractionOfBound * 100).toFixed(1)}% of ${bound}/s, lost ${f.lost}, runs ${f.pushRuns}, first write ${f.firstWriteAfterMs} ms, steady ${f.steadyWritesPerSecond.toFixed(1)}/s, longest pause ${f.longestGapMs} ms`);
    return f;
  } finally { await s.close(); }
}

export interface PushMemoryFigures {
  events: number; products: number; rssBeforeMb: number; rssPeakMb: number; rssAfterMb: number;
  /** heap after forced GC at each fifth of the burst (0 = before it) */
  heapAfterGcMb: Array<{ delivered: number; heapUsedMb: number; rssMb: number }>;
  /** heap after GC at the end minus at the first fifth */
  heapGrowthMb: number;
  samples: Array<{ delivered: number; rssMb: number }>; lost: number; seconds: number;
  deliveries: Record<string, number>; ackMs: ReturnType<typeof stats>;
  /** deliveries that needed more than one attempt (a 503 when the store did not take the message within 0.9 s) */
  retried: number;
}

/**
 * 10,000 events (10 per product over 1,000 products), delivered 16 at a time. RSS is sampled as they arrive; the heap
 * the service holds (after forced GC) is read before the burst and after each fifth of it: flat = it does not grow.
 */
export async function pushMemory(o: { events: number; products: number; okkiQps: number }): Promise<PushMemoryFigures> {
  log(`push: memory under a burst of ${o.events} events`);
  const s = await setup({ products: o.products, yidaLimit: 100, okkiQps: o.okkiQps, label: 'push-memory', deliveryConcurrency: 16, nodeArgs: ['--expose-gc', '--import', './bench/gc-probe.ts'] });
  try {
    await quiet(s);
    const pid = s.svc.child.pid;
    s.svc.serverDurations.delete('/webhooks/okki');
    s.sims.okki.push.clearDeliveries();
    await sleep(1000);
    const rssBeforeMb = rssMb(pid);
    const heaps: PushMemoryFigures['heapAfterGcMb'] = [{ delivered: 0, ...(await heapAfterGc(s.svc)) }];
    const started = Date.now();
    const expected = new Map<string, string>();
    const samples: Array<{ delivered: number; rssMb: number }> = [];
    const delivered = () => s.sims.okki.push.deliveries.filter((d) => d.state === 'delivered' || d.state === 'dropped').length;
    const fifth = Math.ceil(o.events / 5);
    let made = 0;
    // Each fifth of the events is made, delivered and drained; then the heap is read.
    while (made < o.events) {
      for (let i = 0; i < fifth && made < o.events; i++, made++) {
        const no = s.productNos[made % s.productNos.length];
        const name = `万件 ${made} ${randomBytes(2).toString('hex')}`;
        expected.set(no, name);
        s.sims.okki.catalog.edit(no, { name });
      }
      for (;;) {
        const n = delivered();
        samples.push({ delivered: n, rssMb: rssMb(pid) });
        if (n >= made || Date.now() - started > 15 * 60_000) break;
        await sleep(500);
      }
      await untilLanded(s.sims, expected, 5 * 60_000);
      await quiet(s, 5 * 60_000);
      heaps.push({ delivered: made, ...(await heapAfterGc(s.svc)) });
    }
    const got = landed(s.sims, expected);
    const rssAfterMb = rssMb(pid);
    const peak = Math.max(...samples.map((x) => x.rssMb), rssAfterMb);
    const deliveries = s.sims.okki.push.deliveries.reduce<Record<string, number>>((m, d) => { m[d.state] = (m[d.state] ?? 0) + 1; return m; }, {});
    const f: PushMemoryFigures = {
      events: o.events, products: o.products, rssBeforeMb, rssPeakMb: peak, rssAfterMb, heapAfterGcMb: heaps,
      heapGrowthMb: Math.round((heaps[heaps.length - 1].heapUsedMb - heaps[1].heapUsedMb) * 10) / 10,
      samples: samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 20)) === 0), lost: expected.size - got.size,
      seconds: (Date.now() - started) / 1000, deliveries, ackMs: stats(ackTimes(s.svc)),
      retried: s.sims.okki.push.deliveries.filter((d) => d.attempts.length > 1).length,
    };
    log(`  heap after GC ${heaps.map((h) => h.heapUsedMb).join(' → ')} MB; RSS before ${rssBeforeMb} MB, peak ${peak} MB, after ${rssAfterMb} MB; lost ${f.lost}`);
    return f;
  } finally { await s.close(); }
}
