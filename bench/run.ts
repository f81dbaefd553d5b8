/**
 * `npm run bench`: every measure in one run against the simulators on 127.0.0.1, a table on stdout and in
 * bench/RESULTS.md. Asserts nothing: a missed target is reported with what limits it. `--quick` shrinks every size
 * (a smoke run of the bench itself; its figures are not the benchmark's).
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { fullSync, naive, incremental, sourcePull, webhookBurst, type FullSyncFigures, type KeptSetup } from './scenarios.js';
import { removeTempStores } from './sims.js';
import { pushSingle, pushBurst, pushMemory, type PushBurstFigures } from './push.js';
import { auditCost, sweepMemory } from './mirror.js';
import { quotaMeasures } from './quota-rows.js';
import { groupsRename } from './groups.js';
import { codeState, newestSourceMtime, sourceChangedSince } from './code-state.js';
import { machine, markdownTable, terminalTable, fmt, type Row } from './report.js';

const quick = process.argv.includes('--quick');
/** Every measure, by the id `--only` takes and the results table shows. */
const MEASURES = ['full-sync', 'naive-baseline', 'incremental-unchanged', 'incremental-changed', 'source-memory', 'webhook-burst', 'adaptive-pacing', 'push-latency', 'push-burst', 'push-memory', 'audit-cost', 'sweep-memory', 'groups-rename', 'quota-targets', 'quota-okki', 'quota-robot'] as const;
type MeasureId = (typeof MEASURES)[number];
/** `--only full-sync,webhook-burst`: run just these measures (printed, RESULTS.md left alone) */
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg >= 0 ? new Set((process.argv[onlyArg + 1] ?? '').split(',').map((x) => x.trim())) : undefined;
const unknown = [...(only ?? [])].filter((x) => !(MEASURES as readonly string[]).includes(x));
if (unknown.length) { process.stderr.write(`--only: unknown measure ${unknown.join(', ')}; one of ${MEASURES.join(', ')}\n`); process.exit(1); }
// the naive baseline and the incremental runs compare with or build on the full-sync runs
if (only && ['naive-baseline', 'incremental-unchanged', 'incremental-changed'].some((i) => only.has(i))) only.add('full-sync');
const partial = quick || only !== undefined;
const S = (n: number) => (quick ? Math.max(100, Math.round(n / 20)) : n);
/** read side fast enough that DingTalk's limit is the bound in full-sync and adaptive-pacing (OKKI bound 198 products/s with details) */
const OKKI_QPS = 200;
const TARGET_FRACTION = 0.9;
const RSS_TARGET_MB = 200;
const P99_TARGET_MS = 50;

const rows: Row[] = [];
const details: string[] = [];
let errors = 0;
const startedAt = Date.now();
const loadAtStart = Math.round(loadavg()[0] * 100) / 100;
const codeAtStart = codeState();
const srcMtimeAtStart = newestSourceMtime();

async function step(item: MeasureId, measure: string, fn: () => Promise<void>): Promise<void> {
  if (only && !only.has(item)) return;
  try {
    await fn();
  } catch (err) {
    errors++;
    process.stderr.write(`[bench] ${measure} failed: ${(err as Error)?.stack ?? err}\n`);
    rows.push({ item, measure, figures: '—', target: '—', verdict: 'ERROR', note: String((err as Error)?.message ?? err).slice(0, 300) });
  }
}

function boundNote(f: FullSyncFigures): string {
  const okki = f.detailCalls
    ? `OKKI bound ${fmt.n(f.bound.okkiBound)}/s = OKKI_QPS ${f.okkiQps} / (1/100 + 1) (list page + one info call per product: the shipped mapping uses product_type)`
    : `OKKI bound ${fmt.int(f.bound.okkiBound)}/s = OKKI_QPS ${f.okkiQps} × 100 (list pages only: the shipped mapping's product_type comes from three typed list passes, no info calls)`;
  return `bound ${fmt.n(f.bound.bound)}/s = min(L ${f.limit}, ${okki}); limited by ${f.bound.limitedBy}`;
}

/** Why a full sync falls short of the bound, from what the figures show (throttling counted in the simulator's log). */
function shortfall(f: FullSyncFigures): string[] {
  const why: string[] = [];
  if (f.failures > 0) why.push(`${f.failures} failures`);
  if (f.throttled > 0 && f.yidaQps <= f.limit) {
    why.push(`${f.throttled} throttling answers although YIDA_QPS = L: the pacer starts at L and spaces calls exactly 1/L apart, and 20–80 ms of latency jitter puts L+1 arrivals into some sliding seconds; each throttled call backs off ≥ 250 ms and the pace is cut to 0.95 × the observed success rate (src/yida/pacer.ts), then regrows slowly`);
  }
  if (f.throttled > 0 && f.yidaQps > f.limit) {
    why.push(`${f.throttled} throttling answers: with the limit hidden the pacer starts at YIDA_QPS and learns the limit from throttling; each throttled call backs off ≥ 250 ms`);
  }
  if (f.steadyWritesPerSecond < TARGET_FRACTION * f.limit && f.throttled === 0) {
    why.push(`no throttling, yet a steady write rate of ${fmt.n(f.steadyWritesPerSecond)}/s: the write side idles part of the time (host load ${f.loadAverage} on ${machine().cpus} cores)`);
  } else if (f.loadAverage > machine().cpus * 0.5) {
    why.push(`host load: 1-min load average ${f.loadAverage} on ${machine().cpus} cores at the end of this run`);
  }
  why.push(`run start-up before the first write (token, groups, first page${f.detailCalls ? ' and its 100 info calls' : ''}): ${fmt.n(f.firstWriteAfterMs, 0)} ms; steady write rate ${fmt.n(f.steadyWritesPerSecond)}/s`);
  return why;
}

function fullRow(item: MeasureId, f: FullSyncFigures, extra = ''): Row {
  const met = f.fractionOfBound >= TARGET_FRACTION && f.failures === 0;
  const codes = Object.keys(f.failureCodes).length ? ` (${Object.entries(f.failureCodes).map(([k, v]) => `${k}×${v}`).join(', ')})` : '';
  let note = boundNote(f);
  if (!met) note += `. MISSED: ${shortfall(f).join('; ')}`;
  if (f.peakRssMb > RSS_TARGET_MB) note += `. Peak RSS (no target for a sync) is the whole connector: SDK, ledger, pipeline and V8's lazily collected heap; source-memory measures the source's memory alone`;
  return {
    item, measure: `Full sync ${fmt.int(f.products)} products, DingTalk limit L=${f.limit}/s${extra}`,
    figures: `${fmt.n(f.productsPerSecond)} products/s in ${fmt.n(f.seconds)} s = ${fmt.pct(f.fractionOfBound)} of bound ${fmt.n(f.bound.bound)}/s (steady write rate ${fmt.n(f.steadyWritesPerSecond)}/s); throttled ${f.throttled}; failures ${f.failures}${codes}; peak RSS ${f.peakRssMb} MB; host load ${f.loadAverage}`,
    target: `≥ ${TARGET_FRACTION} of bound, 0 failures`, verdict: met ? 'met' : 'MISSED', note,
  };
}

/** What a missed push burst lost its time to, from its figures. */
function pushShortfall(f: PushBurstFigures): string {
  const why: string[] = [];
  const perRun = f.timeline.startUpMs[0] + f.timeline.tailMs[0] + f.timeline.handOverMs[0];
  if (f.changesPerSecond && f.changesPerSecond >= f.limit) {
    why.push(`edits arrive as fast as L lets writes go, so write time lost is never caught up: ${f.pushRuns} runs, each ~${fmt.n(perRun, 0)} ms without writes (start-up to first write ${f.timeline.startUpMs[0]} ms, last write to end ${f.timeline.tailMs[0]} ms, hand-over ${f.timeline.handOverMs[0]} ms); a run that kept taking queued events while it writes would avoid it`);
  } else {
    why.push(`${f.pushRuns} runs, first write ${fmt.n(f.firstWriteAfterMs, 0)} ms after the first edit (PUSH_DEBOUNCE_MS 500 ms + run start)`);
  }
  if (f.steadyWritesPerSecond < 0.97 * f.bound) why.push(`steady write rate ${fmt.n(f.steadyWritesPerSecond)}/s with ${f.throttled} throttling answers: the pacer at YIDA_QPS = L (see full-sync's note)`);
  return why.join('; ');
}

function detail(title: string, obj: unknown): void {
  details.push(`### ${title}\n\n\`\`\`json\n${JSON.stringify(obj, null, 1)}\n\`\`\``);
}

async function main(): Promise<void> {
  const m = machine();
  process.stderr.write(`[bench] ${m.date} ${m.cpus}× ${m.cpu}, ${m.memoryGb} GB, ${m.os}, Node ${m.node}${quick ? ' (QUICK smoke run)' : ''}\n`);

  let ref1k: FullSyncFigures | undefined;
  let kept: KeptSetup | undefined;

  await step('full-sync', 'full sync 1k L=100', async () => {
    const { figures } = await fullSync({ label: 'full-sync: 1k @ L=100', products: S(1000), limit: 100, okkiQps: OKKI_QPS, yidaQps: 100 });
    ref1k = figures; rows.push(fullRow('full-sync', figures, ', shipped mapping (product_type by typed list passes)')); detail('full-sync: 1k @ L=100', figures);
  });
  await step('full-sync', 'full sync 1k L=100 list-only', async () => {
    const { figures } = await fullSync({ label: 'full-sync: 1k @ L=100, list-only mapping', products: S(1000), limit: 100, okkiQps: OKKI_QPS, yidaQps: 100, mappingFile: 'bench/mapping-list-only.json' });
    rows.push(fullRow('full-sync', figures, ', mapping without product_type (no info calls)')); detail('full-sync: 1k @ L=100 list-only', figures);
  });
  await step('full-sync', 'full sync 1k L=20', async () => {
    const { figures } = await fullSync({ label: 'full-sync: 1k @ L=20', products: S(1000), limit: 20, okkiQps: OKKI_QPS, yidaQps: 20 });
    rows.push(fullRow('full-sync', figures, ' (the real limit), shipped mapping')); detail('full-sync: 1k @ L=20', figures);
  });
  await step('full-sync', 'full sync 10k L=100', async () => {
    const r = await fullSync({ label: 'full-sync: 10k @ L=100', products: S(10_000), limit: 100, okkiQps: OKKI_QPS, yidaQps: 100, keep: true });
    kept = r.kept; rows.push(fullRow('full-sync', r.figures, ', shipped mapping')); detail('full-sync: 10k @ L=100', r.figures);
  });

  await step('naive-baseline', 'naive baseline', async () => {
    const n = await naive({ products: S(1000), limit: 100 });
    const ratio = ref1k ? ref1k.seconds / n.seconds : NaN;
    rows.push({
      item: 'naive-baseline', measure: `Naive baseline, ${fmt.int(n.products)} products, L=100/s: one request at a time (fetch for OKKI, the real SDK for Yida), no pacing, no ledger`,
      figures: `${fmt.n(n.seconds)} s, ${fmt.n(n.productsPerSecond)} products/s, failures ${n.failures}, throttled ${n.throttled}; ours/naive time = ${fmt.n(ratio, 3)} (ours ${ref1k ? fmt.n(ref1k.seconds) : '?'} s, ${ref1k ? `${fmt.n(n.seconds / ref1k.seconds)}× faster` : ''})`,
      target: 'ratio reported (no target)', verdict: 'n/a',
      note: 'naive is latency-bound: 2 sequential calls per product (info + startInstance) at 20–80 ms each; it never reaches L, so it is never throttled, and a re-run would duplicate every instance',
    });
    detail('naive-baseline', n);
  });

  await step('incremental-unchanged', 'incremental no change', async () => {
    if (!kept) throw new Error('needs the kept 10k setup from full-sync');
    const f = await incremental(kept, { label: 'incremental-unchanged', products: S(10_000), changed: 0 });
    rows.push({
      item: 'incremental-unchanged', measure: `Incremental run, no changes, ${fmt.int(f.products)} products synced`,
      figures: `${fmt.n(f.seconds, 2)} s; OKKI calls ${f.okkiCalls} (${Object.entries(f.okkiByEndpoint).map(([k, v]) => `${k} ${v}`).join(', ')}); Yida calls ${f.yidaCalls}; DingTalk token calls ${f.dingtalkTokenCalls}`,
      target: '0 Yida calls', verdict: f.yidaCalls === 0 ? 'met' : 'MISSED',
      note: `minimum ${f.minimum.okki} OKKI calls (${f.minimum.explain})`,
    });
    detail('incremental-unchanged', f);
  });
  await step('incremental-changed', 'incremental 1% changed', async () => {
    if (!kept) throw new Error('needs the kept 10k setup from full-sync');
    const changed = Math.round(S(10_000) / 100);
    const f = await incremental(kept, { label: 'incremental-changed: 1%', products: S(10_000), changed });
    const atMin = f.okkiCalls <= f.minimum.okki && f.yidaCalls <= f.minimum.yida;
    rows.push({
      item: 'incremental-changed', measure: `Incremental run after 1% (${changed}) of ${fmt.int(f.products)} products changed`,
      figures: `${fmt.n(f.seconds, 2)} s; OKKI calls ${f.okkiCalls} vs minimum ${f.minimum.okki}; Yida calls ${f.yidaCalls} (${Object.entries(f.yidaByApi).map(([k, v]) => `${k} ${v}`).join(', ')}) vs minimum ${f.minimum.yida}; written ${f.written}`,
      target: 'calls vs minimum (no target)', verdict: 'n/a',
      note: `${atMin ? 'at the minimum' : 'above the minimum'}: ${f.minimum.explain}`,
    });
    detail('incremental-changed', f);
  });
  if (kept) { await kept.sims.close(); kept = undefined; }

  await step('source-memory', 'source-only pull', async () => {
    const sizes = [S(25_000), S(50_000), S(100_000)];
    const res = [];
    for (const n of sizes) res.push(await sourcePull({ products: n, okkiQps: OKKI_QPS, withSignal: true }));
    const bare = await sourcePull({ products: sizes[2], okkiQps: OKKI_QPS, withSignal: false });
    const worst = Math.max(...res.map((r) => r.peakRssMb));
    const growth = res[res.length - 1].peakRssMb - res[0].peakRssMb;
    const flat = growth < 20;
    const met = worst < RSS_TARGET_MB && flat;
    rows.push({
      item: 'source-memory', measure: 'Source-only pull (list pages only, nothing mapped or written), fresh process each, with the run AbortSignal the engine always passes',
      figures: res.map((r) => `${fmt.int(r.products)}: peak RSS ${r.peakRssMb} MB, ${fmt.n(r.pagesPerSecond)} pages/s (${r.pages} pages, ${fmt.n(r.seconds)} s)`).join('; ')
        + `; growth ${fmt.int(sizes[0])}→${fmt.int(sizes[2])}: ${fmt.n(growth)} MB. Same ${fmt.int(sizes[2])} pull without a signal: peak RSS ${bare.peakRssMb} MB, ${fmt.n(bare.pagesPerSecond)} pages/s`,
      target: `peak RSS < ${RSS_TARGET_MB} MB, flat`, verdict: met ? 'met' : 'MISSED',
      note: `pages/s is latency-bound (one list page in flight at a time, 20–80 ms each; OKKI_QPS ${OKKI_QPS} never binds). RSS includes Node + tsx (~${res[0].rssBeforeMb} MB before the pull).`
        + (met ? '' : ` MISSED: memory grows with the catalogue only when a signal is passed (${bare.peakRssMb} MB without one): OkkiClient.send hands the run's signal to p-queue 8.1.1, whose add({signal}) adds an abort listener per call and never removes it, so every answer (page text and parsed body) stays reachable until the run ends`),
    });
    detail('source-memory', [...res, bare]);
  });

  await step('webhook-burst', 'webhook burst', async () => {
    const calls = quick ? 50 : 200;
    const figs = [];
    for (const keepAlive of [false, true]) figs.push(await webhookBurst({ products: 1000, limit: 100, calls, okkiQps: OKKI_QPS, keepAlive }));
    for (const f of figs) {
      const ok = f.p99 < P99_TARGET_MS && f.runsStarted === 1;
      const how = f.keepAlive ? 'on warm keep-alive connections (answer latency without TCP set-up)' : 'each on a new TCP connection (as separate button presses)';
      const floor = `same burst on GET /healthz (a handler that does nothing): p50 ${fmt.n(f.healthzBaseline.p50)} / p99 ${fmt.n(f.healthzBaseline.p99)} ms; webhook handler time logged by the service: p50 ${fmt.n(f.serverSide.p50)} / p99 ${fmt.n(f.serverSide.p99)} ms`;
      const why = ok ? `the run (${f.runStatus}, ${f.runProducts} products) went on in the same process meanwhile`
        : `${f.runsStarted !== 1 ? `${f.runsStarted} runs started. ` : ''}${f.p99 >= P99_TARGET_MS
          ? (f.healthzBaseline.p99 >= P99_TARGET_MS
            ? `p99 over target: a burst of ${calls} costs that much on this ${m.cpus}-core machine even on /healthz (client, simulators and service share the cores)`
            : 'p99 over target while /healthz stays under it: the webhook path itself (the claim — lock + run record in SQLite — that every concurrent caller awaits, and, during the run, the run sharing the event loop) adds the difference')
          : ''}`;
      rows.push({
        item: 'webhook-burst', measure: `Webhook: ${calls} concurrent calls from idle, then ${calls} more during the run, ${how}; service = src/main.ts in its own process`,
        figures: `p50 ${fmt.n(f.p50)} ms, p99 ${fmt.n(f.p99)} ms, max ${fmt.n(f.max)} ms over ${f.calls} calls (${f.bursts.map((b) => `${b.label}: p50 ${fmt.n(b.p50)} / p99 ${fmt.n(b.p99)} ms, status ${Object.entries(b.statuses).map(([k, v]) => `${k}×${v}`).join(' ')}`).join('; ')}); runs started ${f.runsStarted} (distinct run ids answered ${f.distinctRunIds}, answers with coalesced=false ${f.startedNotCoalesced})`,
        target: `p99 < ${P99_TARGET_MS} ms, runs started = 1`, verdict: ok ? 'met' : 'MISSED',
        note: `${f.secondBurstDuringRun ? '' : 'WARNING: the run had ended before the second burst; '}${floor}. ${why}`,
      });
      detail(`webhook-burst (${f.keepAlive ? 'keep-alive' : 'new connections'})`, f);
    }
  });

  await step('adaptive-pacing', 'adaptive pacing', async () => {
    const { figures: f } = await fullSync({ label: 'adaptive-pacing: hidden limit 40/s, YIDA_QPS 1000', products: S(2000), limit: 40, okkiQps: OKKI_QPS, yidaQps: 1000 });
    const met = f.fractionOfBound >= TARGET_FRACTION && f.failures === 0;
    rows.push({
      item: 'adaptive-pacing', measure: `Adaptive pacing: DingTalk limit 40/s hidden (YIDA_QPS=1000), ${fmt.int(f.products)} products`,
      figures: `${fmt.n(f.productsPerSecond)} products/s = ${fmt.pct(f.fractionOfBound)} of bound ${fmt.n(f.bound.bound)}/s; ${fmt.n(f.throttledPer1000Writes)} throttling answers per 1,000 writes (${f.throttled} total); failures ${f.failures}; peak RSS ${f.peakRssMb} MB`,
      target: `≥ ${TARGET_FRACTION} of bound, 0 failures`, verdict: met ? 'met' : 'MISSED',
      note: `${boundNote(f)}${met ? '' : `. MISSED: ${shortfall(f).join('; ')}`}. Throttling answers per 1,000 writes is the cost that matters here: each is a refused call DingTalk counts against the app`,
    });
    detail('adaptive-pacing', f);
  });

  await step('push-latency', 'push single change', async () => {
    const f = await pushSingle({ samples: quick ? 8 : 40, products: S(1000), okkiQps: OKKI_QPS });
    const met = f.latencyMs.p95 < 2000 && f.lost === 0;
    rows.push({
      item: 'push-latency', measure: `OKKI push: one change at a time on an idle service (${f.samples} samples): OKKI edit → the Yida instance holds it`,
      figures: `p50 ${fmt.n(f.latencyMs.p50, 0)} ms, p95 ${fmt.n(f.latencyMs.p95, 0)} ms, max ${fmt.n(f.latencyMs.max, 0)} ms; lost ${f.lost}; push runs ${f.pushRuns}; POST /webhooks/okki answered in p50 ${fmt.n(f.ackMs.p50)} / p99 ${fmt.n(f.ackMs.p99)} / max ${fmt.n(f.ackMs.max)} ms (service-side)`,
      target: 'p95 < 2 s, nothing lost', verdict: met ? 'met' : 'MISSED',
      note: 'includes PUSH_DEBOUNCE_MS (500 ms, the default), a token-cached run start (groups + /v1/product/info + updateInstance at 20–80 ms simulated latency each) and the simulator delivering at once (OKKI\'s own delivery delay is not known)',
    });
    detail('push-latency', f);
  });

  for (const v of [{ rate: 20, limit: 20 }, { rate: 20, limit: 100 }, { rate: undefined, limit: 20 }]) {
    await step('push-burst', `push burst of 500 (${v.rate ?? 'at once'}, L=${v.limit})`, async () => {
      const f = await pushBurst({ changes: quick ? 100 : 500, limit: v.limit, changesPerSecond: v.rate, products: S(600), okkiQps: OKKI_QPS });
      const met = f.fractionOfBound >= TARGET_FRACTION && f.lost === 0;
      rows.push({
        item: 'push-burst', measure: `OKKI push: ${f.changes} products changed ${f.changesPerSecond ? `at ${f.changesPerSecond} edits/s` : 'at once'}, DingTalk write limit L=${f.limit}/s (YIDA_QPS=${f.limit}), deliveries 8 at a time`,
        figures: `${fmt.n(f.perSecond)} products/s in ${fmt.n(f.seconds)} s = ${fmt.pct(f.fractionOfBound)} of bound ${f.bound}/s; lost ${f.lost}; latency p50 ${fmt.n(f.latencyMs.p50 / 1000)} s / p95 ${fmt.n(f.latencyMs.p95 / 1000)} s; ${f.pushRuns} push runs (products per run ${f.productsPerRun.join(', ')}); deliveries ${Object.entries(f.deliveries).map(([k, x]) => `${k}×${x}`).join(' ')}; throttled ${f.throttled}; first write ${fmt.n(f.firstWriteAfterMs, 0)} ms after the first edit, then ${fmt.n(f.steadyWritesPerSecond)} writes/s, longest pause ${fmt.n(f.longestGapMs, 0)} ms; per run (mean/max): hand-over ${f.timeline.handOverMs.join('/')} ms, start-up to first write ${f.timeline.startUpMs.join('/')} ms, last write to end ${f.timeline.tailMs.join('/')} ms; acks p99 ${fmt.n(f.ackMs.p99)} ms, ${f.retried} deliveries needed a retry`,
        target: `≥ ${TARGET_FRACTION} of bound, nothing lost`, verdict: met ? 'met' : 'MISSED',
        note: `bound = min(L, edit rate); throughput = products holding their new value ÷ (last instance write − first OKKI edit)${f.changesPerSecond ? '' : `; latency here is queueing behind L: the last change cannot land before ${f.changes}/L s`}${met ? '' : `. MISSED: ${pushShortfall(f)}`}`,
      });
      detail(`push-burst (${v.rate ?? 'at once'}, L=${v.limit})`, f);
    });
  }

  await step('push-memory', 'push 10k events', async () => {
    const f = await pushMemory({ events: quick ? 2000 : 10_000, products: S(1000), okkiQps: OKKI_QPS });
    const met = f.heapGrowthMb < 10 && f.lost === 0;
    rows.push({
      item: 'push-memory', measure: `OKKI push: ${fmt.int(f.events)} events (${fmt.int(f.events / f.products)} per product over ${fmt.int(f.products)} products) in fifths, delivered 16 at a time; the service's memory`,
      figures: `heap after forced GC before the burst and after each fifth: ${f.heapAfterGcMb.map((h) => h.heapUsedMb).join(' → ')} MB (growth from the first fifth to the end ${f.heapGrowthMb} MB); RSS before ${f.rssBeforeMb} MB, peak ${f.rssPeakMb} MB, after ${f.rssAfterMb} MB; lost ${f.lost}; ${fmt.n(f.seconds)} s; deliveries ${Object.entries(f.deliveries).map(([k, v]) => `${k}×${v}`).join(' ')}; acks p50 ${fmt.n(f.ackMs.p50)} / p99 ${fmt.n(f.ackMs.p99)} / max ${fmt.n(f.ackMs.max)} ms, ${f.retried} deliveries needed a retry`,
      target: 'flat (heap after GC grows < 10 MB from the first fifth to the end), nothing lost', verdict: met ? 'met' : 'MISSED',
      note: 'events wait in the store (SQLite), not in memory; the drainer holds at most 500 product numbers per run. RSS is shown for information: V8 and the allocator keep freed pages, so it moves with the last collection, not with what is held',
    });
    detail('push-memory', f);
  });

  await step('audit-cost', 'audit and repair calls', async () => {
    const f = await auditCost({ products: S(2000), okkiQps: OKKI_QPS });
    const met = f.yidaCalls <= f.yidaExpected && f.okkiCalls <= f.okkiExpected + 4;
    rows.push({
      item: 'audit-cost', measure: `Audit of ${fmt.int(f.instances)} Yida instances against ${fmt.int(f.products)} OKKI products (5 instances deleted by hand, 5 duplicated), shipped mapping; then the same with repair`,
      figures: `audit: ${f.yidaCalls} DingTalk calls (⌈instances/100⌉ = ${f.yidaExpected}), ${f.okkiCalls} OKKI calls (${Object.entries(f.okkiByEndpoint).map(([k, v]) => `${k} ${v}`).join(', ')}; ⌈products/100⌉ = ${f.okkiExpected}), ${fmt.n(f.seconds)} s; findings ${Object.entries(f.findings).map(([k, v]) => `${k} ${v}`).join(', ')}. repair: ${f.repair.yidaCalls} DingTalk calls, ${f.repair.okkiCalls} OKKI calls, ${fmt.n(f.repair.seconds)} s, repaired ${JSON.stringify(f.repair.repaired)}`,
      target: 'DingTalk ≤ ⌈instances/100⌉, OKKI ≤ ⌈products/100⌉ + the typed passes\' first pages (4)', verdict: met ? 'met' : 'MISSED',
      note: 'the audit reads the form with getInstances (100 per call) and the catalogue with the list (100 per call; product_type from the three typed passes, so no /v1/product/info); a repair adds its reads again plus one call per repair (create, update, removal)',
    });
    detail('audit-cost', f);
  });

  await step('sweep-memory', 'sweep of 100k', async () => {
    const f = await sweepMemory({ products: S(100_000), removed: quick ? 5 : 50, okkiQps: OKKI_QPS });
    const removals = f.yidaByApi['yida.deleteInstance'] ?? 0;
    const met = f.rssPeakMb - f.rssIdleMb < 100 && f.deleted === f.removed && removals === f.removed;
    rows.push({
      item: 'sweep-memory', measure: `Sweep: ${fmt.int(f.products)} OKKI products against a ${fmt.int(f.ledger)}-entry ledger, ${f.removed} removed in OKKI (SYNC_DELETIONS=delete, SYNC_DELETE_MAX=${f.removed}); the service's RSS`,
      figures: `RSS idle ${f.rssIdleMb} MB, peak ${f.rssPeakMb} MB during the sweep (+${fmt.n(f.rssPeakMb - f.rssIdleMb)} MB); ${fmt.n(f.seconds)} s; listed ${fmt.int(f.listed)}; OKKI calls ${f.okkiCalls} (${Object.entries(f.okkiByEndpoint).map(([k, v]) => `${k} ${v}`).join(', ')}); DingTalk calls ${f.yidaCalls} (${Object.entries(f.yidaByApi).filter(([k]) => k.startsWith('yida.')).map(([k, v]) => `${k.slice(5)} ${v}`).join(', ')}); deleted ${f.deleted}; ${f.status}`,
      target: 'bounded: < 100 MB over idle for 100,000 keys; DingTalk writes = the removals', verdict: met ? 'met' : 'MISSED',
      note: 'the sweep keeps a set of product numbers (not records) and reads the ledger a page (500) at a time; OKKI calls = list pages (100 per page) + one /v1/product/info proof per unlisted product; time is latency-bound (one list page in flight, 20–80 ms)',
    });
    detail('sweep-memory', f);
  });

  await step('groups-rename', 'a renamed group reaches its products', async () => {
    const f = await groupsRename({ products: S(2000), okkiQps: OKKI_QPS });
    const r = f.run;
    const met = r.status === 'succeeded' && r.productsUpdated === f.renamed.products && r.groupsUpdated === f.renamed.groups
      && f.after.productsUpdated === 0 && f.after.groupsUpdated === 0;
    rows.push({
      item: 'groups-rename', measure: `Groups mirror: ${fmt.int(f.products)} products in ${f.groups} groups backfilled with a group form; then one root group renamed in OKKI (${f.renamed.groups} groups, ${f.renamed.products} products under it, no product changed), the next incremental run`,
      figures: `backfill: ${f.backfill.groupsCreated} group records in ${f.backfill.groupCalls} form calls. rename run: ${fmt.n(r.seconds)} s, ${r.groupsUpdated} group records and ${r.productsUpdated} products updated (${r.productsRead} read again), ${r.yidaCalls} DingTalk calls (${Object.entries(r.yidaByApi).map(([k, v]) => `${k.slice(5)} ${v}`).join(', ')}), ${r.okkiCalls} OKKI calls (${Object.entries(r.okkiByEndpoint).filter(([k]) => k !== 'token').map(([k, v]) => `${k} ${v}`).join(', ')}). next run: ${f.after.productsUpdated} products and ${f.after.groupsUpdated} groups updated, ${f.after.yidaCalls} DingTalk calls`,
      target: 'exactly the renamed subtree\'s groups and products updated, nothing else; nothing on the run after', verdict: met ? 'met' : 'MISSED',
      note: 'a rename costs one read of the list without a window (filtered to the renamed groups before any detail call) and one update per affected product; the group records go out in batch calls (YIDA_BATCH_SIZE records each; the flush timing may split a handful in two)',
    });
    detail('groups-rename', f);
  });

  await quotaMeasures({ step, rows, detail, S, quick });

  const totalS = (Date.now() - startedAt) / 1000;
  const changedFiles = sourceChangedSince(srcMtimeAtStart);
  const srcChanged = changedFiles.length > 0;
  if (srcChanged) process.stderr.write(`[bench] WARNING: files in src/ changed while the bench ran: ${changedFiles.join(', ')}\n`);
  const md = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` (bench/run.ts)${quick ? ' — QUICK smoke run: sizes divided by 20, figures not representative' : ''}.`,
    '',
    `- Date: ${m.date}`,
    `- Machine: ${m.cpus} × ${m.cpu}, ${m.memoryGb} GB RAM, ${m.os}`,
    `- Node: ${m.node}`,
    `- Code: commit ${codeAtStart.commit}${codeAtStart.srcDirty ? ' with uncommitted changes in src/' : ''}${srcChanged ? ` — WARNING: files in src/ changed while the bench ran (${changedFiles.join(', ')}), so later runs may have used different code` : ''}`,
    `- Host load (1-min load average) at start / end: ${loadAtStart} / ${Math.round(loadavg()[0] * 100) / 100} — the host is shared; throughput and latency figures move with it`,
    `- Total bench time: ${fmt.n(totalS / 60)} min`,
    '',
    'Set-up: both simulators on 127.0.0.1 in the bench process, 20–80 ms latency on every call to either; the DingTalk',
    'simulator enforces L requests per sliding second per API (startInstance, updateInstance, getInstanceIdList) and',
    `answers 403 Forbidden.AccessDenied.QpsLimitForAppkeyAndApi above it. OKKI_QPS=${OKKI_QPS}, OKKI page size 100,`,
    'YIDA_CONCURRENCY=8, SQLite store. The connector runs in a child process of its own (Config from loadConfig(env),',
    'buildConnector, one triggered run), so peak RSS is its own (process.resourceUsage().maxRSS, Node + tsx included).',
    'products/s = products written ÷ run duration (run record). Throttling answers are counted from the simulator\'s',
    'request log. Bound = min(L, OKKI bound); the OKKI bound is OKKI_QPS × 100 products/s (list pages; the shipped',
    "mapping's product_type comes from three typed list passes, not from /v1/product/info). The quota rows (quota-*)",
    'limit every Yida API and OKKI list/info to 20 req/s and compare YIDA_TARGET=process with YIDA_TARGET=form.',
    '',
    markdownTable(rows),
    '',
    '## Raw figures',
    '',
    ...details,
    '',
  ].join('\n');
  // `--only push-…` (the OKKI push measures alone, full size) is kept as bench/RESULTS-push.md
  const pushOnly = !quick && only !== undefined && [...only].every((x) => x.startsWith('push-'));
  const outPath = join(dirname(fileURLToPath(import.meta.url)), pushOnly ? 'RESULTS-push.md' : partial ? 'RESULTS.partial.md' : 'RESULTS.md');
  writeFileSync(outPath, md);

  process.stdout.write(`\nokki-yida-connector benchmark — ${m.date}\n${m.cpus}× ${m.cpu}, ${m.memoryGb} GB, ${m.os}, Node ${m.node}${quick ? ' (QUICK)' : ''}\n\n`);
  process.stdout.write(`${terminalTable(rows)}\n\n`);
  const missed = rows.filter((r) => r.verdict === 'MISSED' || r.verdict === 'ERROR');
  process.stdout.write(missed.length ? `Targets missed: ${missed.map((r) => `${r.item} (${r.measure})`).join('; ')}\n` : 'All targets met.\n');
  process.stdout.write(`Total ${fmt.n(totalS / 60)} min. Written to ${outPath}\n`);
  removeTempStores();
  process.exit(errors ? 1 : 0);
}

main().catch((err) => { process.stderr.write(`bench crashed: ${(err as Error)?.stack ?? err}\n`); process.exit(1); });
