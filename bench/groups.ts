/**
 * The groups mirror's costs (issue 14, item 8): the service (`src/main.ts`, its own process, SQLite store) against
 * both simulators, with a group form (YIDA_GROUP_FORM_UUID, a plain form of the simulated app).
 *
 * groups-rename: after a backfill, one root group is renamed in OKKI (no product changes). The next incremental run
 * must update that group's record and its sub-groups' (one batch call), and exactly the products filed under it (their
 * group names changed, their update_time did not); the price is one read of the list without a window (⌈products/100⌉
 * pages per typed pass) and one update per affected product.
 */
import { randomBytes } from 'node:crypto';
import { startSims, connectorEnv, tempStoreUrl, simCounts, BENCH_GROUP_FORM } from './sims.js';
import { startService, getJson, type ServiceHandle } from './webhook-burst.js';
import type { RunRecord } from '../src/core/index.js';

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

export interface GroupsRename {
  products: number; groups: number; backfill: { groupCalls: number; groupsCreated: number; seconds: number };
  renamed: { groups: number; products: number };
  run: {
    seconds: number; status: string; productsUpdated: number; productsRead: number; groupsUpdated: number;
    okkiCalls: number; okkiByEndpoint: Record<string, number>; yidaCalls: number; yidaByApi: Record<string, number>;
  };
  after: { productsUpdated: number; groupsUpdated: number; yidaCalls: number; okkiCalls: number };
}

export async function groupsRename(o: { products: number; okkiQps: number }): Promise<GroupsRename> {
  const sims = await startSims({ products: o.products, yidaLimit: 100 });
  const apiKey = `bench-${randomBytes(16).toString('hex')}`;
  const svc = await startService(connectorEnv(sims, {
    storeUrl: tempStoreUrl('groups'), okkiQps: o.okkiQps, yidaQps: 100, extra: { WEBHOOK_API_KEY: apiKey, YIDA_GROUP_FORM_UUID: BENCH_GROUP_FORM },
  }));
  try {
    log(`groups-rename: backfill ${o.products}`);
    const t0 = Date.now();
    const backfill = await runTo(svc, apiKey, { mode: 'full' });
    if (backfill.status !== 'succeeded') throw new Error(`backfill ${backfill.status}`);
    const b = simCounts(sims, t0);
    const groupCalls = Object.entries(b.dingtalk).filter(([k]) => /FormData|batchSave|batchUpdate|forms/i.test(k)).reduce((n, [, v]) => n + v, 0);
    const groups = sims.okki.catalog.groups;
    const root = groups.find((g) => g.parent_id === 0 && groups.some((c) => c.parent_id === g.id))!;
    const subtree = new Set([root.id, ...groups.filter((c) => c.parent_id === root.id).map((c) => c.id)]);
    const affected = [...sims.okki.catalog.all()].filter((p) => subtree.has(p.group_id)).length;
    sims.okki.catalog.setGroups(groups.map((g) => (g.id === root.id ? { ...g, name: `${g.name}（改）` } : { ...g })));

    log(`groups-rename: root group ${root.id} renamed (${subtree.size} groups, ${affected} products)`);
    const t1 = Date.now();
    const run = await runTo(svc, apiKey, {});
    const c = simCounts(sims, t1);
    const seconds = (Date.now() - t1) / 1000;
    const t2 = Date.now();
    const after = await runTo(svc, apiKey, {});
    const a = simCounts(sims, t2);
    return {
      products: o.products, groups: groups.length,
      backfill: { groupCalls, groupsCreated: backfill.groups?.created ?? 0, seconds: (Date.now() - t0) / 1000 },
      renamed: { groups: subtree.size, products: affected },
      run: {
        seconds, status: run.status, productsUpdated: run.counts.updated, productsRead: run.groups?.renamed?.productsRead ?? 0, groupsUpdated: run.groups?.updated ?? 0,
        okkiCalls: c.okkiCalls - (c.okki.token ?? 0), okkiByEndpoint: c.okki, yidaCalls: c.yidaCalls, yidaByApi: Object.fromEntries(Object.entries(c.dingtalk).filter(([k]) => k.startsWith('yida.'))),
      },
      after: { productsUpdated: after.counts.updated, groupsUpdated: after.groups?.updated ?? 0, yidaCalls: a.yidaCalls, okkiCalls: a.okkiCalls - (a.okki.token ?? 0) },
    };
  } finally {
    await svc.stop();
    await sims.close();
  }
}
