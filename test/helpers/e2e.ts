/**
 * End-to-end fixtures: both simulators on loopback, the real composition root (buildConnector) with the real SDK,
 * and the real Koa app on a loopback socket. Config goes through loadConfig exactly as `npm start` does, so the
 * env contract is exercised too. Also small pollers and a robot-message reader shared by the e2e test files.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { loadConfig, secretValues, type Config } from '../../src/config.js';
import { setGlobalSecrets } from '../../src/redact.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { buildConnector, type Connector } from '../../src/connector.js';
import { createApp, startHttpServer, type HttpServerHandle } from '../../src/http/index.js';
import { startOkkiSimulator, type OkkiSimulator, type OkkiSimulatorOptions } from '../../src/sandbox/okki/index.js';
import { startDingtalkSimulator, type DingtalkSimulator, type DingtalkSimulatorOptions } from '../../src/sandbox/dingtalk/index.js';
import type { RunRecord } from '../../src/core/index.js';
import { request, type TestResponse } from './fake-service.js';
import { buildConsole, type ConsoleHandle } from '../../src/console/index.js';

export const E2E_API_KEY = `e2e-api-key-${randomBytes(12).toString('hex')}`;
export const WEBHOOK = '/webhooks/yida/sync';

/** Field ids of manifest/mapping.json, by what they hold. */
export const FIELDS = {
  name: 'textField_lq0sj9h9',
  productNo: 'textField_lq23ags2',
  level1: 'textField_lq0sj9h3',
  level2: 'textField_lqdd2tui',
  productType: 'textField_lstsv908',
  remark: 'textareaField_lq23ags6',
} as const;

/** The two simulators plus the robot the service reports to. Secrets are random per fixture. */
export interface Sims {
  okki: OkkiSimulator;
  dt: DingtalkSimulator;
  robot: { accessToken: string; secret: string };
  close(): Promise<void>;
}

export async function startSims(o: { okki?: OkkiSimulatorOptions; dt?: DingtalkSimulatorOptions } = {}): Promise<Sims> {
  const robot = { accessToken: `robot-token-${randomBytes(10).toString('hex')}`, secret: `SECrobot${randomBytes(14).toString('hex')}` };
  const okki = await startOkkiSimulator({
    seed: 7, products: 30, groups: 12, clientSecret: `okki-secret-${randomBytes(10).toString('hex')}`, ...o.okki,
  });
  const dt = await startDingtalkSimulator({ robots: [{ ...robot, name: 'e2e' }], ...o.dt });
  // Many runs in a minute: the robot's budget is not what these tests are about.
  dt.setKnobs({ robotPerMinute: 1000 });
  return { okki, dt, robot, async close() { await Promise.allSettled([okki.close(), dt.close()]); } };
}

/** The environment `npm start` would get in live mode against these simulators. */
export function liveEnv(sims: Sims, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    OKKI_BASE_URL: sims.okki.url,
    OKKI_CLIENT_ID: sims.okki.credentials.clientId,
    OKKI_CLIENT_SECRET: sims.okki.credentials.clientSecret,
    OKKI_QPS: '500',
    DINGTALK_ENDPOINT: sims.dt.endpoint,
    DINGTALK_PROTOCOL: 'http',
    DINGTALK_APP_KEY: sims.dt.credentials.appKey,
    DINGTALK_APP_SECRET: sims.dt.credentials.appSecret,
    YIDA_APP_TYPE: sims.dt.yida.appType,
    YIDA_SYSTEM_TOKEN: sims.dt.yida.systemToken,
    YIDA_USER_ID: sims.dt.yida.userId,
    YIDA_FORM_UUID: sims.dt.yida.formUuid,
    YIDA_QPS: '200',
    // the simulator's search shows a commit at once: the next run may trust an empty search of a pending start
    YIDA_SEARCH_LAG: '0',
    ROBOT_WEBHOOK_URL: sims.dt.robotUrl(sims.robot.accessToken),
    ROBOT_SECRET: sims.robot.secret,
    WEBHOOK_API_KEY: E2E_API_KEY,
    // far in the future: the schedule must not interfere unless a test asks for it
    SYNC_CRON: '0 0 1 1 *',
    ...extra,
  };
}

/** Every secret value a fixture handed to the service: none may ever show up in output. */
export function secretsOf(sims: Sims, apiKey = E2E_API_KEY): string[] {
  return [sims.okki.credentials.clientSecret, sims.dt.credentials.appSecret, sims.dt.yida.systemToken, sims.robot.secret, sims.robot.accessToken, apiKey];
}

export function tempDir(prefix = 'e2e-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** manifest/mapping.json with some entries' options changed (e.g. `required: true`), written to `path`. */
export function derivedMapping(path: string, patch: Record<string, Record<string, unknown>>): string {
  const spec = JSON.parse(readFileSync(resolve(import.meta.dirname, '..', '..', 'manifest', 'mapping.json'), 'utf8')) as { request: Array<Record<string, unknown>> };
  spec.request = spec.request.map((e) => ({ ...e, ...(patch[e.field as string] ?? {}) }));
  writeFileSync(path, JSON.stringify(spec, null, 1));
  return path;
}

export interface InProcessService {
  /** the operator console as main.ts wires it (its mapping monitor is not started: tests call check()) */
  console: ConsoleHandle;
  sims: Sims;
  config: Config;
  connector: Connector;
  http: HttpServerHandle;
  url: string;
  /** every log line written so far */
  logs: string[];
  post(body: unknown, headers?: Record<string, string>): Promise<TestResponse>;
  get(path: string, headers?: Record<string, string>): Promise<TestResponse>;
  close(): Promise<void>;
}

/** The connector in this process, built from env by the same functions main.ts uses, served on 127.0.0.1. */
export async function startInProcess(sims: Sims, env: Record<string, string>): Promise<InProcessService> {
  const config = loadConfig(env);
  setGlobalSecrets(secretValues(config));
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', stream: new Writable({ write(c, _e, cb) { logs.push(String(c)); cb(); } }) });
  const metrics = createMetrics();
  const connector = await buildConnector(config, { logger, metrics });
  // The console as main.ts wires it, minus the start-up mapping check (a DingTalk call these tests do not count on).
  const consoleHandle = buildConsole(connector, config, { logger, metrics, checkMapping: false });
  const app = createApp({ config, service: connector.engine, metrics, logger, push: connector.push, console: consoleHandle.deps });
  const http = await startHttpServer(app, { port: 0, host: '127.0.0.1' });
  await connector.push?.drainer.start(); // as main.ts does
  const auth = { 'x-api-key': E2E_API_KEY };
  return {
    sims, config, connector, http, url: http.url, logs, console: consoleHandle,
    post: (body, headers = auth) => request(http.url, {
      method: 'POST', path: WEBHOOK, headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
    get: (path, headers = auth) => request(http.url, { path, headers }),
    async close() {
      consoleHandle.close();
      await connector.engine.shutdown();
      await http.close({ graceMs: 500 });
      await connector.close();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `probe` until it returns a value other than undefined; bounded by `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) { lastErr = err; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    await sleep(everyMs);
  }
}

/** GET /runs/:id until the run is no longer running. */
export async function finishedRun(baseUrl: string, runId: string, apiKey = E2E_API_KEY, timeoutMs = 45_000): Promise<RunRecord> {
  return eventually(`run ${runId} to finish`, async () => {
    const r = await request(baseUrl, { path: `/runs/${encodeURIComponent(runId)}`, headers: { 'x-api-key': apiKey } });
    return r.status === 200 && r.json?.status !== 'running' ? (r.json as RunRecord) : undefined;
  }, timeoutMs, 150);
}

/** Yida instances in the simulator, keyed by product number (value = how many instances hold it). */
export function instancesByProductNo(dt: DingtalkSimulator, keyField = FIELDS.productNo): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of dt.instances()) { const k = String(i.data[keyField]); m.set(k, (m.get(k) ?? 0) + 1); }
  return m;
}

/** The markdown text of an accepted robot message (the connector sends markdown; text is accepted too). */
export function robotText(body: unknown): string {
  const b = body as { msgtype?: string; markdown?: { title?: string; text?: string }; text?: { content?: string } };
  if (b?.msgtype === 'markdown') return `${b.markdown?.title ?? ''}\n${b.markdown?.text ?? ''}`;
  return b?.text?.content ?? JSON.stringify(body);
}

/** Which Yida write calls (start/update) the DingTalk simulator has seen so far. */
export function yidaWrites(dt: DingtalkSimulator): number {
  return dt.requests({ api: 'yida.startInstance' }).length + dt.requests({ api: 'yida.updateInstance' }).length;
}

/** The shipped mapping with the key field holding a transformed value (`SKU-{product_no}`) and keyField said. */
export function skuMapping(path: string, prefix = 'SKU-'): string {
  writeFileSync(path, JSON.stringify({
    keyField: FIELDS.productNo,
    request: [
      { field: FIELDS.name, label: '产品名称', value: '{name}' },
      { field: FIELDS.productNo, label: '产品编码', value: `${prefix}{product_no}` },
      { field: FIELDS.level1, label: '一级分类', value: '{{一级分组}}' },
    ],
  }));
  return path;
}
