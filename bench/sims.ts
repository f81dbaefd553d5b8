/**
 * The two simulators a bench scenario runs against, with the knobs the issue asks for (20–80 ms latency on both,
 * a per-API QPS limit on Yida writes), and the environment a connector child needs to talk to them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOkkiSimulator, type OkkiSimulator } from '../src/sandbox/okki/index.js';
import { startDingtalkSimulator, type DingtalkSimulator } from '../src/sandbox/dingtalk/index.js';

export const LATENCY_MS: [number, number] = [20, 80];
/** a plain form of the simulated app for the groups mirror (YIDA_GROUP_FORM_UUID) when a measure asks for it */
export const BENCH_GROUP_FORM = 'FORM-BENCH-GROUPS';
/** Catalogue update times end a day ago, so a run's look-back never re-reads products that did not change. */
const CATALOGUE_AGE_MS = 24 * 3600_000;

export interface SimPair { okki: OkkiSimulator; dingtalk: DingtalkSimulator; close(): Promise<void> }

export interface SimOptions {
  products: number;
  /** DingTalk per-API limit on start/update/search, requests per sliding second; undefined = unlimited */
  yidaLimit?: number;
  latencyMs?: [number, number];
  /** the product form: a process form (default) or a plain form (YIDA_TARGET=form) */
  formKind?: 'process' | 'plain';
  /** apply yidaLimit to every Yida API (the quota rows: "20 req/s per API"), not only start/update/search */
  limitEveryApi?: boolean;
  /** OKKI's own limit per endpoint (list, info), requests per second; undefined = none */
  okkiLimit?: number;
  /** OKKI simulator knobs on top (e.g. productTypeFilter) */
  okkiKnobs?: Record<string, unknown>;
}

/** every Yida API the connector may call, for `limitEveryApi` */
const YIDA_APIS = [
  'yida.startInstance', 'yida.updateInstance', 'yida.getInstanceIdList', 'yida.getInstances', 'yida.saveFormData', 'yida.updateFormData',
  'yida.batchSaveFormData', 'yida.batchUpdateFormDataByInstanceMap', 'yida.searchFormDataSecondGeneration', 'yida.batchGetFormDataByIdList',
] as const;

export async function startSims(o: SimOptions): Promise<SimPair> {
  const latency = o.latencyMs ?? LATENCY_MS;
  const okki = await startOkkiSimulator({
    seed: 7, products: o.products, now: new Date(Date.now() - CATALOGUE_AGE_MS),
    knobs: { latencyMs: latency, ...(o.okkiLimit ? { qps: { list: o.okkiLimit, info: o.okkiLimit } } : {}), ...o.okkiKnobs }, requestLogSize: 400_000,
  });
  const limit = o.yidaLimit;
  const limited = o.limitEveryApi ? YIDA_APIS : ['yida.startInstance', 'yida.updateInstance', 'yida.getInstanceIdList'] as const;
  const dingtalk = await startDingtalkSimulator({
    formKind: o.formKind,
    knobs: {
      latencyMs: latency,
      qpsLimits: limit ? Object.fromEntries(limited.map((api) => [api, limit])) : {},
    },
    requestLogSize: 400_000,
    plainForms: [BENCH_GROUP_FORM],
  });
  return {
    okki, dingtalk,
    async close() { await Promise.allSettled([okki.close(), dingtalk.close()]); },
  };
}

const tempDirs: string[] = [];

export function tempStoreUrl(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `okki-yida-bench-${label}-`));
  tempDirs.push(dir);
  return `sqlite://${join(dir, 'store.sqlite')}`;
}

/** Remove every store directory tempStoreUrl made (at the end of the bench, once no child uses them). */
export function removeTempStores(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface ConnectorEnvOptions {
  storeUrl: string;
  okkiQps: number;
  yidaQps: number;
  yidaConcurrency?: number;
  mappingFile?: string;
  extra?: Record<string, string>;
}

/** The env loadConfig() turns into a Config pointed at the simulators (no sandbox: credentials are set). */
export function connectorEnv(sims: SimPair, o: ConnectorEnvOptions): Record<string, string> {
  const { okki, dingtalk } = sims;
  return {
    HOST: '127.0.0.1', PORT: '0',
    OKKI_BASE_URL: okki.url, OKKI_CLIENT_ID: okki.credentials.clientId, OKKI_CLIENT_SECRET: okki.credentials.clientSecret,
    OKKI_QPS: String(o.okkiQps), OKKI_PAGE_SIZE: '100',
    DINGTALK_ENDPOINT: dingtalk.endpoint, DINGTALK_PROTOCOL: 'http',
    DINGTALK_APP_KEY: dingtalk.credentials.appKey, DINGTALK_APP_SECRET: dingtalk.credentials.appSecret,
    YIDA_APP_TYPE: dingtalk.yida.appType, YIDA_SYSTEM_TOKEN: dingtalk.yida.systemToken,
    YIDA_USER_ID: dingtalk.yida.userId, YIDA_FORM_UUID: dingtalk.yida.formUuid,
    YIDA_QPS: String(o.yidaQps), YIDA_CONCURRENCY: String(o.yidaConcurrency ?? 8),
    STORE_URL: o.storeUrl,
    // never fires during a bench: runs are triggered explicitly
    SYNC_CRON: '0 0 1 1 *',
    MAPPING_FILE: o.mappingFile ?? 'manifest/mapping.json',
    LOG_LEVEL: 'warn',
    ...o.extra,
  };
}

/** What the simulators saw from `sinceMs` on: calls by API, throttling answers, instances. */
export function simCounts(sims: SimPair, sinceMs: number) {
  const dt = sims.dingtalk.requests().filter((r) => r.at >= sinceMs);
  const ok = sims.okki.requests.filter((r) => r.at >= sinceMs);
  const by = <T>(list: T[], key: (x: T) => string) => list.reduce<Record<string, number>>((m, x) => { const k = key(x); m[k] = (m[k] ?? 0) + 1; return m; }, {});
  const isThrottle = (r: { status: number; code?: string }) => r.status === 403 && /QpsLimit/.test(r.code ?? '') || r.code === 'failure.operation.requestTooFast';
  const yida = dt.filter((r) => r.api?.startsWith('yida.'));
  return {
    dingtalk: by(dt, (r) => r.api ?? 'other'),
    yidaCalls: yida.length,
    yidaThrottled: yida.filter(isThrottle).length,
    yidaWritesAccepted: yida.filter((r) => (r.api === 'yida.startInstance' || r.api === 'yida.updateInstance') && r.status === 200).length,
    okki: by(ok, (r) => r.endpoint),
    okkiCalls: ok.length,
    okkiThrottled: ok.filter((r) => r.outcome === 'throttled').length,
    instances: sims.dingtalk.instanceCount(),
  };
}
export type SimCounts = ReturnType<typeof simCounts>;
