/**
 * Shared machinery of the reliability suite (test/reliability): spawned service processes pointed at simulators the
 * test process owns, bounded polling, a seeded random source, the figures table the suite prints at the end, and
 * the corpus of everything the suite saw (logs, run records, robot messages) that the secrets scenario audits.
 * Everything talks to 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OkkiSimulator } from '../../src/sandbox/okki/index.js';
import type { DingtalkSimulator } from '../../src/sandbox/dingtalk/index.js';
import type { RunRecord } from '../../src/core/index.js';
import { freePort } from './redis.js';

export { freePort };

import { seededRandom } from '../../src/sandbox/random.js';

/** the project root: the cwd of every spawned service */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The simulators' seeded PRNG: the suite's only source of randomness, so a failing scenario replays from its seed. */
export const seeded = seededRandom;

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `rel-${prefix}-`));
}

/** The key field of the reliability scenarios' mapping (the product number, unchanged). */
export const KEY_FIELD = 'textField_no';

/**
 * The scenarios' mapping: name, product number (the key) and model, all read from list items (no per-product
 * /v1/product/info calls, so a scenario's time goes to writes), then the scenario's own entries.
 */
export function listMapping(...extra: Array<{ field: string; label: string; value: string }>): { request: Array<{ field: string; label: string; value: string }> } {
  return {
    request: [
      { field: 'textField_name', label: '产品名称', value: '{name}' },
      { field: KEY_FIELD, label: '产品编码', value: '{product_no}' },
      { field: 'textField_model', label: '型号', value: '{model}' },
      ...extra,
    ],
  };
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value, null, 1));
  return path;
}

/**
 * Poll `probe` until it returns something other than undefined/false, at most `timeoutMs`. Bounded by design:
 * a scenario that never converges fails with `what` in the message instead of hanging the suite.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, opts: { timeoutMs: number; intervalMs?: number }): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      if ((err as { fatal?: boolean })?.fatal) throw err;
      lastErr = err;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${String((lastErr as Error).message ?? lastErr)})` : ''}`);
    await sleep(opts.intervalMs ?? 100);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The audit corpus: every text the suite captured, with the secrets that must not appear in it.

interface AuditSource { label: string; secrets: () => string[]; texts: () => string[] }
const auditSources: AuditSource[] = [];

/** Register texts (lazily read) that must hold none of `secrets`. */
export function auditAdd(label: string, secrets: () => string[], texts: () => string[]): void {
  auditSources.push({ label, secrets, texts });
}

export interface AuditFinding { label: string; secretName: string; excerpt: string }

/** The forms a secret can take on its way into a text: as is, URL-encoded, JSON-escaped. */
function forms(secret: string): string[] {
  return [...new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)])];
}

/** Where any of `secrets` (in any of its forms) occurs in `texts`: one finding per text and secret. */
export function findSecrets(label: string, secrets: Iterable<string>, texts: Iterable<string>): AuditFinding[] {
  const findings: AuditFinding[] = [];
  const list = [...secrets];
  for (const text of texts) {
    for (const secret of list) {
      for (const f of forms(secret)) {
        const at = text.indexOf(f);
        if (at >= 0) {
          findings.push({ label, secretName: `${secret.slice(0, 3)}…(${secret.length} chars)`, excerpt: `${text.slice(Math.max(0, at - 60), at).replace(/\s+/g, ' ')}<SECRET>` });
          break;
        }
      }
    }
  }
  return findings;
}

/**
 * Every place where a secret shows up. Each source is checked against every secret the suite knows (its own and
 * every other source's): a secret of one scenario has no business in another scenario's output either.
 */
export function auditFindings(): { sources: number; texts: number; bytes: number; secrets: number; findings: AuditFinding[] } {
  const allSecrets = new Set<string>();
  for (const s of auditSources) for (const v of s.secrets()) if (v && v.length >= 6) allSecrets.add(v);
  const findings: AuditFinding[] = [];
  let texts = 0; let bytes = 0;
  for (const src of auditSources) {
    const list = src.texts();
    texts += list.length;
    for (const t of list) bytes += t.length;
    findings.push(...findSecrets(src.label, allSecrets, list));
  }
  return { sources: auditSources.length, texts, bytes, secrets: allSecrets.size, findings };
}

// ---------------------------------------------------------------------------------------------------------------
// The figures table.

export interface Figure {
  scenario: string;
  iterations: number | string;
  products: number | string;
  missing: number | string;
  duplicates: number | string;
  result: string;
  seconds?: number;
}
const figures: Figure[] = [];

export function recordFigure(f: Figure): void {
  figures.push(f);
}

export function figuresTable(): string {
  const head = '| scenario | iterations | products | missing | duplicates | result | seconds |';
  const sep = '|---|---:|---:|---:|---:|---|---:|';
  const rows = figures.map((f) => `| ${f.scenario} | ${f.iterations} | ${f.products} | ${f.missing} | ${f.duplicates} | ${f.result} | ${f.seconds === undefined ? '' : f.seconds.toFixed(1)} |`);
  return [head, sep, ...rows].join('\n');
}

// Root-level hook (this module is imported by every reliability file, and evaluated once): the summary table
// comes out after the last test of the whole run, whichever files were selected.
after(function printFigures() {
  if (!figures.length) return;
  process.stdout.write(`\nReliability figures\n\n${figuresTable()}\n\n`);
});

/** Seconds since `t0` (ms), for the figures table. */
export const secondsSince = (t0: number) => (Date.now() - t0) / 1000;

// ---------------------------------------------------------------------------------------------------------------
// Spawned services.

export interface ServiceEnvInput {
  okki: OkkiSimulator;
  dt: DingtalkSimulator;
  /** sqlite://PATH or redis://... */
  storeUrl: string;
  apiKey: string;
  robot?: { url: string; secret?: string };
  signingSecret?: string;
  mappingFile?: string;
  /** overrides and additions (e.g. YIDA_QPS, OKKI_PAGE_SIZE) */
  extra?: Record<string, string>;
}

/** The env contract of `src/main.ts` pointed at the simulators (no sandbox: credentials are set). */
export function serviceEnv(o: ServiceEnvInput): Record<string, string> {
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    OKKI_BASE_URL: o.okki.url,
    OKKI_CLIENT_ID: o.okki.credentials.clientId,
    OKKI_CLIENT_SECRET: o.okki.credentials.clientSecret,
    OKKI_QPS: '200',
    DINGTALK_ENDPOINT: o.dt.endpoint,
    DINGTALK_PROTOCOL: 'http',
    DINGTALK_APP_KEY: o.dt.credentials.appKey,
    DINGTALK_APP_SECRET: o.dt.credentials.appSecret,
    YIDA_APP_TYPE: o.dt.yida.appType,
    YIDA_SYSTEM_TOKEN: o.dt.yida.systemToken,
    YIDA_USER_ID: o.dt.yida.userId,
    YIDA_FORM_UUID: o.dt.yida.formUuid,
    YIDA_QPS: '200',
    // the simulator's search shows a commit at once: the next run may trust an empty search of a pending start
    YIDA_SEARCH_LAG: '0',
    WEBHOOK_API_KEY: o.apiKey,
    STORE_URL: o.storeUrl,
    // a schedule that never fires during a test: runs start only from the webhook
    SYNC_CRON: '0 0 1 1 *',
    LOG_LEVEL: 'info',
  };
  if (o.robot) { env.ROBOT_WEBHOOK_URL = o.robot.url; if (o.robot.secret) env.ROBOT_SECRET = o.robot.secret; }
  if (o.signingSecret) env.WEBHOOK_SIGNING_SECRET = o.signingSecret;
  if (o.mappingFile) env.MAPPING_FILE = o.mappingFile;
  return { ...env, ...o.extra };
}

/** The secret values of a service env (README: never in logs, errors, run records or reports). */
export function envSecrets(env: Record<string, string>): string[] {
  const out = ['OKKI_CLIENT_SECRET', 'DINGTALK_APP_SECRET', 'YIDA_SYSTEM_TOKEN', 'ROBOT_SECRET', 'WEBHOOK_API_KEY', 'WEBHOOK_SIGNING_SECRET', 'OKKI_WEBHOOK_SECRET']
    .map((k) => env[k]).filter((v): v is string => Boolean(v));
  if (env.ROBOT_WEBHOOK_URL) {
    const token = new URL(env.ROBOT_WEBHOOK_URL).searchParams.get('access_token');
    if (token) out.push(token);
  }
  return out;
}

export interface ExitInfo { code: number | null; signal: NodeJS.Signals | null }

export interface ServiceApi {
  /** POST /webhooks/yida/sync with the API key */
  trigger(body?: Record<string, unknown>): Promise<{ status: number; body: any }>;
  runs(limit?: number): Promise<RunRecord[]>;
  run(id: string): Promise<RunRecord | undefined>;
  /** the cursor text shown on the status page (`GET /`, logged in to the console), null before the first successful run */
  statusCursor(): Promise<string | null>;
  healthz(): Promise<number>;
}

export interface ServiceProcess {
  label: string;
  url: string;
  port: number;
  pid: number;
  env: Record<string, string>;
  child: ChildProcess;
  /** stdout lines (JSON log lines) and stderr lines, as captured so far */
  stdout: string[];
  stderr: string[];
  exited: Promise<ExitInfo>;
  readonly exitInfo: ExitInfo | undefined;
  api: ServiceApi;
  /** SIGKILL and wait for the exit */
  kill(): Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs` */
  stop(graceMs?: number): Promise<ExitInfo>;
  /** parsed JSON log lines */
  logs(): Record<string, unknown>[];
}

const liveChildren = new Set<ChildProcess>();
// A failing test must not leave service processes behind (they would hold ports and sqlite files).
process.once('exit', () => { for (const c of liveChildren) { try { c.kill('SIGKILL'); } catch { /* gone */ } } });

function lineCollector(into: string[]): (chunk: Buffer) => void {
  let rest = '';
  return (chunk) => {
    const text = rest + chunk.toString('utf8');
    const parts = text.split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) if (p) into.push(p);
  };
}

export function makeApi(url: string, apiKey: string): ServiceApi {
  const headers = { 'x-api-key': apiKey };
  const getJson = async (path: string) => {
    const res = await fetch(`${url}${path}`, { headers, signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    async trigger(body = {}) {
      const res = await fetch(`${url}/webhooks/yida/sync`, {
        method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async runs(limit = 100) {
      const r = await getJson(`/runs?limit=${limit}`);
      if (r.status !== 200) throw new Error(`GET /runs answered ${r.status}`);
      return r.body as RunRecord[];
    },
    async run(id) {
      const r = await getJson(`/runs/${encodeURIComponent(id)}`);
      if (r.status === 404) return undefined;
      if (r.status !== 200) throw new Error(`GET /runs/${id} answered ${r.status}`);
      return r.body as RunRecord;
    },
    async statusCursor() {
      // The status page shows run data only to someone logged in to the console: log in with the API key first.
      const login = await fetch(`${url}/console/login`, {
        method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ key: apiKey }).toString(), signal: AbortSignal.timeout(15_000),
      });
      await login.arrayBuffer();
      const session = (login.headers.get('set-cookie') ?? '').split(';')[0];
      if (login.status !== 303 || !session) throw new Error(`console login answered ${login.status}`);
      const res = await fetch(`${url}/`, { headers: { cookie: session }, signal: AbortSignal.timeout(15_000) });
      const html = await res.text();
      const m = /<dd id="cursor">([^<]*)<\/dd>/.exec(html);
      if (!m) throw new Error('status page has no cursor element');
      return /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(m[1]) ? m[1] : null;
    },
    async healthz() {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      return res.status;
    },
  };
}

/**
 * Start `node --import tsx src/main.ts` with `env` (plus PATH/HOME and a free PORT) and wait until /healthz answers.
 * Its output is kept and registered with the audit corpus under `label`.
 */
export async function spawnService(label: string, env: Record<string, string>, opts: { startTimeoutMs?: number; extraSecrets?: () => string[] } = {}): Promise<ServiceProcess> {
  const port = await freePort();
  const fullEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', ...env, PORT: String(port) };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  const stdout: string[] = []; const stderr: string[] = [];
  child.stdout!.on('data', lineCollector(stdout));
  child.stderr!.on('data', lineCollector(stderr));
  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((res) => child.once('exit', (code, signal) => { exitInfo = { code, signal }; liveChildren.delete(child); res(exitInfo); }));
  const url = `http://127.0.0.1:${port}`;
  const secrets = envSecrets(env);
  auditAdd(`${label} (pid ${child.pid}) output`, () => [...secrets, ...(opts.extraSecrets?.() ?? [])], () => [...stdout, ...stderr]);

  const svc: ServiceProcess = {
    label, url, port, pid: child.pid!, env: fullEnv, child, stdout, stderr, exited,
    get exitInfo() { return exitInfo; },
    api: makeApi(url, env.WEBHOOK_API_KEY ?? ''),
    async kill() {
      if (!exitInfo) child.kill('SIGKILL');
      return exited;
    },
    async stop(graceMs = 15_000) {
      if (exitInfo) return exitInfo;
      child.kill('SIGTERM');
      const t = setTimeout(() => { if (!exitInfo) child.kill('SIGKILL'); }, graceMs);
      try { return await exited; } finally { clearTimeout(t); }
    },
    logs() {
      const out: Record<string, unknown>[] = [];
      for (const l of stdout) { try { out.push(JSON.parse(l)); } catch { /* not a log line */ } }
      return out;
    },
  };
  try {
    await waitFor(`${label} to answer /healthz`, async () => {
      if (exitInfo) throw Object.assign(new Error(`${label} exited during start-up (${JSON.stringify(exitInfo)}): ${stderr.slice(-5).join(' | ')}`), { fatal: true });
      return (await svc.api.healthz()) === 200;
    }, { timeoutMs: opts.startTimeoutMs ?? 30_000, intervalMs: 100 });
  } catch (err) {
    await svc.kill();
    if (exitInfo) throw new Error(`${label} exited during start-up (${JSON.stringify(exitInfo)}): ${stderr.slice(-5).join(' | ')}`);
    throw err;
  }
  return svc;
}

/** Throws with the process's last words when it is no longer running. */
export function assertAlive(svc: ServiceProcess): void {
  if (svc.exitInfo) {
    throw new Error(`${svc.label} exited ${JSON.stringify(svc.exitInfo)}; stderr: ${svc.stderr.slice(-8).join(' | ')}; stdout: ${svc.stdout.slice(-5).join(' | ')}`);
  }
}

/** Wait until run `id` is no longer running (bounded), and return its record. */
export async function waitForRunEnd(svc: ServiceProcess, id: string, timeoutMs: number): Promise<RunRecord> {
  return waitFor(`run ${id} to finish`, async () => {
    if (svc.exitInfo) {
      throw Object.assign(new Error(`${svc.label} exited (${JSON.stringify(svc.exitInfo)}) while waiting for run ${id}: stderr ${svc.stderr.slice(-5).join(' | ')} stdout ${svc.stdout.slice(-3).join(' | ')}`), { fatal: true });
    }
    const run = await svc.api.run(id);
    return run && run.status !== 'running' ? run : undefined;
  }, { timeoutMs, intervalMs: 200 });
}

/**
 * Trigger a run after `previous` was recorded finished: it must be a new run at once. (A trigger used to be absorbed
 * into a finished run while its robot report was still being sent; `absorbed` stays in the figures as the regression
 * measure and must be 0.)
 */
export async function triggerFresh(svc: ServiceProcess, previous: string | undefined, body: Record<string, unknown> = {}): Promise<{ runId: string; absorbed: number }> {
  const r = await svc.api.trigger({ wait: false, ...body });
  if (r.status !== 202) throw new Error(`trigger answered ${r.status}: ${JSON.stringify(r.body)}`);
  if (r.body.runId === previous) throw new Error(`the trigger joined the finished run ${previous} instead of starting a new one`);
  return { runId: r.body.runId, absorbed: 0 };
}

/** Lines of a process's output that show a crash or an unhandled rejection. */
export function crashLines(svc: ServiceProcess): string[] {
  const bad = /unhandled ?rejection|uncaught ?exception|UnhandledPromiseRejection|ERR_UNHANDLED|triggerUncaughtException|FATAL ERROR|heap out of memory/i;
  return [...svc.stderr, ...svc.stdout].filter((l) => bad.test(l));
}

// ---------------------------------------------------------------------------------------------------------------
// Yida-side counting.

/** product number → number of Yida instances holding it in `keyField`. */
export function instancesByKey(dt: DingtalkSimulator, keyField: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of dt.instances()) {
    const k = String(i.data[keyField]);
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** missing = expected numbers without an instance; duplicates = extra instances beyond one per number. */
export function tally(dt: DingtalkSimulator, keyField: string, expected: Iterable<string>): { missing: string[]; duplicates: number; duplicated: string[] } {
  const per = instancesByKey(dt, keyField);
  const missing: string[] = [];
  for (const no of expected) if (!per.has(no)) missing.push(no);
  let duplicates = 0; const duplicated: string[] = [];
  for (const [no, n] of per) if (n > 1) { duplicates += n - 1; duplicated.push(no); }
  return { missing, duplicates, duplicated };
}
