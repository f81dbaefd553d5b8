/**
 * The mirror's costs (issue 14): the service (`src/main.ts`, its own process, SQLite store) against both simulators.
 *
 * - audit: DingTalk calls for `{"mode":"audit"}` against ⌈instances/100⌉ (getInstances pages), OKKI calls against
 *   ⌈products/100⌉ (list pages; the shipped mapping's product_type comes from the typed list passes, so no /info), and
 *   what `repair: true` adds on top (one call per repaired thing);
 * - sweep: a 100,000-product catalogue against a 100,000-entry ledger: the service's peak RSS while it reads every
 *   key (the design's bound: a key set, not records), the OKKI calls (list pages), the Yida calls (only the removals).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startSims, connectorEnv, tempStoreUrl, simCounts } from './sims.js';
import { startService, getJson, type ServiceHandle } from './webhook-burst.js';
import { createStores } from '../src/store/index.js';
import type { RunRecord } from '../src/core/index.js';

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KEY_FIELD = 'textField_lq23ags2';

function rssMb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : NaN;
  } catch { return NaN; }
}

async function runTo(svc: ServiceHandle, apiKey: string, body: Record<string, unknown>, timeoutMs = 30 * 60_000): Promise<RunRecord> {
  const res = await fetch(`${svc.url}/webhooks/yida/sync`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': apiKey }, body: JSON.stringify(body) });
  const { runId } = (await res.json()) as { runId: string };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await getJson<RunRecord>(`${svc.url}/runs/${runId}`, apiKey);
    if (run.status !== 'running') return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not finish`);
    await sleep(200);
  }
}

export interface AuditCost {
  products: number; instances: number; seconds: number;
  yidaCalls: number; yidaExpected: number; okkiCalls: number; okkiExpected: number; okkiByEndpoint: Record<string, number>;
  findings: Record<string, number>;
  repair: { yidaCalls: number; okkiCalls: number; repaired: unknown; seconds: number };
}

export async function auditCost(o: { products: number; okkiQps: number }): Promise<AuditCost> {
  const sims = await startSims({ products: o.products, yidaLimit: 100 });
  const apiKey = `bench-${randomBytes(16).toString('hex')}`;
  const svc = await startService(connectorEnv(sims, {
    storeUrl: tempStoreUrl('audit'), okkiQps: o.okkiQps, yidaQps: 100, extra: { WEBHOOK_API_KEY: apiKey, SYNC_DELETIONS: 'delete' },
  }));
  try {
    log(`audit: backfill ${o.products}`);
    const backfill = await runTo(svc, apiKey, { mode: 'full' });
    if (backfill.status !== 'succeeded') throw new Error(`backfill ${backfill.status}`);
    // a little drift, so that the audit has findings and the repair has work: 5 instances deleted by hand, 5 duplicated
    const dt = sims.dingtalk;
    const insts = dt.instances();
    for (const i of insts.slice(0, 5)) dt.plantDelete(i.processInstanceId);
    for (const i of insts.slice(5, 10)) dt.plantDuplicate(i.processInstanceId);
    const instances = dt.instanceCount();
    const t0 = Date.now();
    const audit = await runTo(svc, apiKey, { mode: 'audit' });
    const c = simCounts(sims, t0);
    const seconds = (Date.now() - t0) / 1000;
    const okkiCalls = c.okkiCalls - (c.okki.token ?? 0);
    const t1 = Date.now();
    const repair = await runTo(svc, apiKey, { mode: 'audit', repair: true });
    const r = simCounts(sims, t1);
    return {
      products: o.products, instances, seconds,
      yidaCalls: c.yidaCalls, yidaExpected: Math.ceil(instances / 100), okkiCalls, okkiExpected: Math.ceil(o.products / 100), okkiByEndpoint: c.okki,
      findings: Object.fromEntries((['missing', 'duplicates', 'stale', 'orphans'] as const).map((k) => [k, audit.audit?.[k].count ?? -1])),
      repair: { yidaCalls: r.yidaCalls, okkiCalls: r.okkiCalls - (r.okki.token ?? 0), repaired: repair.audit?.repaired, seconds: (Date.now() - t1) / 1000 },
    };
  } finally {
    await svc.stop();
    await sims.close();
  }
}

/** A ledger of `n` done entries written straight into the store's sqlite table (a backfill of n would take hours at L). */
async function seedLedger(storeUrl: string, productNos: string[]): Promise<void> {
  const path = storeUrl.replace(/^sqlite:\/\//, '');
  const stores = await createStores({ url: storeUrl, kind: 'sqlite', sqlitePath: path });
  const texts: string[] = [];
  for (const no of productNos) {
    texts.push(String(await stores.kv.serializeData({ value: { hash: 'seeded', state: 'done', instanceId: `seeded-${no}`, syncedAt: new Date().toISOString() }, expires: undefined })));
  }
  await stores.close();
  const sqlite3 = createRequire(import.meta.url)('sqlite3') as typeof import('sqlite3');
  const db = new sqlite3.Database(path);
  const run = (sql: string, ...p: unknown[]) => new Promise<void>((res, rej) => db.run(sql, p, (e: Error | null) => (e ? rej(e) : res())));
  await run('BEGIN');
  for (let i = 0; i < productNos.length; i++) await run('INSERT OR REPLACE INTO keyv (key, value) VALUES (?, ?)', `okki-yida:ledger:${productNos[i]}`, texts[i]);
  await run('COMMIT');
  await new Promise<void>((res) => db.close(() => res()));
}

export interface SweepCost {
  products: number; ledger: number; removed: number; seconds: number;
  rssIdleMb: number; rssPeakMb: number; okkiCalls: number; okkiByEndpoint: Record<string, number>; yidaCalls: number; yidaByApi: Record<string, number>;
  deleted: number; listed: number; status: string;
}

export async function sweepMemory(o: { products: number; removed: number; okkiQps: number }): Promise<SweepCost> {
  const sims = await startSims({ products: o.products });
  const apiKey = `bench-${randomBytes(16).toString('hex')}`;
  const storeUrl = tempStoreUrl('sweep');
  const nos = [...sims.okki.catalog.all()].map((p) => String(p.product_no));
  log(`sweep: seeding a ${nos.length}-entry ledger`);
  await seedLedger(storeUrl, nos);
  sims.okki.catalog.delete(nos.filter((_, i) => i % Math.floor(nos.length / o.removed) === 0).slice(0, o.removed), 'remove');
  const svc = await startService(connectorEnv(sims, {
    storeUrl, okkiQps: o.okkiQps, yidaQps: 100, extra: { WEBHOOK_API_KEY: apiKey, SYNC_DELETIONS: 'delete', SYNC_DELETE_MAX: String(o.removed) },
  }));
  try {
    await sleep(1000);
    const pid = svc.child.pid;
    const rssIdleMb = rssMb(pid);
    let rssPeakMb = rssIdleMb;
    const sampler = setInterval(() => { const r = rssMb(pid); if (r > rssPeakMb) rssPeakMb = r; }, 100);
    const t0 = Date.now();
    log(`sweep: ${o.products} products, ${o.removed} removed`);
    const run = await runTo(svc, apiKey, { mode: 'sweep' });
    clearInterval(sampler);
    const c = simCounts(sims, t0);
    return {
      products: o.products, ledger: nos.length, removed: o.removed, seconds: (Date.now() - t0) / 1000, rssIdleMb, rssPeakMb,
      okkiCalls: c.okkiCalls - (c.okki.token ?? 0), okkiByEndpoint: c.okki, yidaCalls: c.yidaCalls, yidaByApi: c.dingtalk,
      deleted: run.counts.deleted ?? 0, listed: run.sweep?.listed ?? 0, status: run.status,
    };
  } finally {
    await svc.stop();
    await sims.close();
  }
}

export { KEY_FIELD };
