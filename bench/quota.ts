/**
 * The quota measures (issue 13): both Yida targets side by side on one catalogue and one set of limits, what each
 * costs in metered DingTalk calls, what the shipped mapping costs in OKKI calls, and how many robot messages a day of
 * unchanged scheduled runs sends at the defaults. The simulators are the ground truth for every call counted here.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runChild } from './child-protocol.js';
import { startSims, connectorEnv, tempStoreUrl, type SimPair } from './sims.js';
import type { SyncChildResult } from './sync-child.js';
import { startOkkiSimulator } from '../src/sandbox/okki/index.js';
import { startDingtalkSimulator } from '../src/sandbox/dingtalk/index.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { buildConnector } from '../src/connector.js';

const CHILD_TIMEOUT_MS = 30 * 60_000;
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

export type Target = 'process' | 'form';

export interface TargetFigures {
  target: Target;
  mapping: 'list-only' | 'shipped';
  products: number;
  /** DingTalk requests per second per API, and OKKI's (the simulators enforce both; the connector paces at them) */
  limit: number;
  okkiQps: number;
  seconds: number;
  productsPerSecond: number;
  /** the fastest the limits allow: products ÷ the longest any one API's calls take at its limit */
  bound: number;
  binds: string;
  fractionOfBound: number;
  status: string;
  failures: number;
  metered: number;
  meteredPer1000: number;
  meteredByApi: Record<string, number>;
  throttled: number;
  okkiCalls: number;
  okkiPer1000: number;
  okkiByEndpoint: Record<string, number>;
  /** the same run again with nothing changed: metered DingTalk calls and seconds */
  unchanged: { metered: number; seconds: number; status: string };
}

const meteredByApi = (sims: SimPair): Record<string, number> => Object.fromEntries(
  Object.entries(sims.dingtalk.calls().byApi).filter(([api, c]) => api.startsWith('yida.') && (c?.calls ?? 0) > 0).map(([api, c]) => [api.slice(5), c!.calls]),
);

const okkiByEndpoint = (sims: SimPair): Record<string, number> => sims.okki.requests
  .filter((r) => ['list', 'info', 'groups'].includes(r.endpoint))
  .reduce<Record<string, number>>((m, r) => { m[r.endpoint] = (m[r.endpoint] ?? 0) + 1; return m; }, {});

/**
 * A full backfill of `products` into an empty form or process form, then the same run again with nothing changed.
 * Both simulators enforce `limit` requests per second on every Yida API and `okkiQps` on OKKI's list and info.
 */
export async function targetRun(o: { target: Target; mappingFile?: string; products: number; limit: number; okkiQps: number; okkiKnobs?: Record<string, unknown> }): Promise<TargetFigures> {
  const mapping = o.mappingFile ? 'list-only' : 'shipped';
  log(`quota: ${o.target} target, ${mapping} mapping, ${o.products} products, ${o.limit} req/s per Yida API, OKKI_QPS ${o.okkiQps}`);
  const sims = await startSims({
    products: o.products, yidaLimit: o.limit, limitEveryApi: true, okkiLimit: o.okkiQps, okkiKnobs: o.okkiKnobs,
    formKind: o.target === 'form' ? 'plain' : 'process',
  });
  try {
    const env = connectorEnv(sims, { storeUrl: tempStoreUrl(`quota-${o.target}`), okkiQps: o.okkiQps, yidaQps: o.limit, mappingFile: o.mappingFile, extra: { YIDA_TARGET: o.target } });
    const r = await runChild<SyncChildResult>('bench/sync-child.ts', { ...env, BENCH_MODE: 'full' }, { timeoutMs: CHILD_TIMEOUT_MS });
    const byApi = meteredByApi(sims);
    const metered = sims.dingtalk.calls().metered;
    const okki = okkiByEndpoint(sims);
    const okkiCalls = Object.values(okki).reduce((a, b) => a + b, 0);
    // what the limits allow: every API is limited on its own, so the run can be no shorter than its busiest API
    const perApiSeconds = Object.entries(byApi).map(([api, n]) => [`Yida ${api}`, n / o.limit] as const);
    const okkiSeconds = ['OKKI list paging + info (OKKI_QPS)', okkiCalls / o.okkiQps] as const;
    const [binds, boundSeconds] = [...perApiSeconds, okkiSeconds].reduce((a, b) => (b[1] > a[1] ? b : a));
    const seconds = (r.run.durationMs ?? r.wallMs) / 1000;
    const written = r.run.counts.created + r.run.counts.updated;
    const again = await runChild<SyncChildResult>('bench/sync-child.ts', { ...env, BENCH_MODE: 'full' }, { timeoutMs: CHILD_TIMEOUT_MS });
    const fig: TargetFigures = {
      target: o.target, mapping, products: o.products, limit: o.limit, okkiQps: o.okkiQps,
      seconds, productsPerSecond: written / seconds, bound: o.products / boundSeconds, binds,
      fractionOfBound: (written / seconds) / (o.products / boundSeconds),
      status: r.run.status, failures: r.run.counts.failed + r.run.counts.rejected,
      metered, meteredPer1000: (metered / o.products) * 1000, meteredByApi: byApi, throttled: sims.dingtalk.calls().throttled,
      okkiCalls, okkiPer1000: (okkiCalls / o.products) * 1000, okkiByEndpoint: okki,
      unchanged: { metered: sims.dingtalk.calls().metered - metered, seconds: (again.run.durationMs ?? again.wallMs) / 1000, status: again.run.status },
    };
    log(`  ${fig.productsPerSecond.toFixed(1)} products/s (${(fig.fractionOfBound * 100).toFixed(1)}% of ${fig.bound.toFixed(1)}/s, bound by ${binds}); ${metered} metered calls (${fig.meteredPer1000.toFixed(1)}/1,000); OKKI ${okkiCalls} (${fig.okkiPer1000.toFixed(1)}/1,000); unchanged run ${fig.unchanged.metered} metered`);
    return fig;
  } finally {
    await sims.close();
  }
}

export interface RobotDayFigures { runs: number; changedRuns: number; messagesBackfill: number; messagesDay: number; skipped: Record<string, number>; seconds: number }

/**
 * A day of scheduled runs at the defaults (SYNC_CRON every 10 minutes = 144 runs, ROBOT_REPORT=changes) after a
 * backfill, nothing changing in OKKI: the robot messages they send. Run in this process, one after another.
 */
export async function robotDay(o: { products: number; runs: number }): Promise<RobotDayFigures> {
  log(`robot day: ${o.runs} unchanged scheduled runs after a ${o.products}-product backfill, ROBOT_REPORT default`);
  const robot = { accessToken: `bench-robot-${randomBytes(8).toString('hex')}`, secret: `SEC${randomBytes(16).toString('hex')}` };
  const okki = await startOkkiSimulator({ seed: 7, products: o.products, now: new Date(Date.now() - 24 * 3600_000) });
  const dt = await startDingtalkSimulator({ robots: [{ ...robot, name: 'bench' }], knobs: { robotPerMinute: 10_000 } });
  const dir = mkdtempSync(join(tmpdir(), 'okki-yida-bench-robot-'));
  const started = Date.now();
  const config = loadConfig({
    OKKI_BASE_URL: okki.url, OKKI_CLIENT_ID: okki.credentials.clientId, OKKI_CLIENT_SECRET: okki.credentials.clientSecret, OKKI_QPS: '500',
    DINGTALK_ENDPOINT: dt.endpoint, DINGTALK_PROTOCOL: 'http', DINGTALK_APP_KEY: dt.credentials.appKey, DINGTALK_APP_SECRET: dt.credentials.appSecret,
    YIDA_APP_TYPE: dt.yida.appType, YIDA_SYSTEM_TOKEN: dt.yida.systemToken, YIDA_USER_ID: dt.yida.userId, YIDA_FORM_UUID: dt.yida.formUuid, YIDA_QPS: '500',
    ROBOT_WEBHOOK_URL: dt.robotUrl(robot.accessToken), ROBOT_SECRET: robot.secret,
    STORE_URL: `sqlite://${join(dir, 'store.sqlite')}`, SYNC_CRON: '0 0 1 1 *',
  });
  const connector = await buildConnector(config, { logger: createLogger({ level: 'silent', stream: new Writable({ write(_c, _e, cb) { cb(); } }) }) });
  try {
    const first = await connector.engine.trigger({ trigger: 'schedule', requestedBy: 'bench backfill' });
    await connector.engine.waitForRun(first.runId, 10 * 60_000);
    const messagesBackfill = dt.robotMessages().length;
    const skipped: Record<string, number> = {};
    let changedRuns = 0;
    for (let i = 0; i < o.runs; i++) {
      const t = await connector.engine.trigger({ trigger: 'schedule', requestedBy: 'bench day' });
      await connector.engine.waitForRun(t.runId, 60_000);
      // the report is settled after the record is first saved: read it once it is
      let run = await connector.engine.getRun(t.runId);
      for (let k = 0; k < 100 && run && !run.report; k++) { await new Promise((r) => setTimeout(r, 10)); run = await connector.engine.getRun(t.runId); }
      if (run && run.counts.created + run.counts.updated > 0) changedRuns++;
      const why = run?.report?.skipped?.split(':')[0] ?? (run?.report?.sent ? 'sent' : 'none');
      skipped[why] = (skipped[why] ?? 0) + 1;
    }
    const fig = { runs: o.runs, changedRuns, messagesBackfill, messagesDay: dt.robotMessages().length - messagesBackfill, skipped, seconds: (Date.now() - started) / 1000 };
    log(`  backfill: ${messagesBackfill} message(s); then ${o.runs} unchanged runs: ${fig.messagesDay} message(s)`);
    return fig;
  } finally {
    await connector.close();
    await Promise.allSettled([okki.close(), dt.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
