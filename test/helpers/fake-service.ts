/**
 * A scriptable SyncService for HTTP tests: records every trigger, keeps one run "running" until the test
 * finishes it (so later triggers coalesce), and resolves waitForRun when a run finishes or the timeout passes.
 * Also: the real Koa app served with that fake on 127.0.0.1, and a one-shot HTTP client for the tests.
 */
import { ShuttingDownError } from '../../src/errors.js';
import type { ServiceStatus, SyncService, TriggerRequest, TriggerResult } from '../../src/core/index.js';
import type { RunCounts, RunRecord, RunStatus } from '../../src/core/index.js';
import http from 'node:http';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { createLogger } from '../../src/log.js';
import { createApp, type HttpOptions } from '../../src/http/app.js';
import { startHttpServer, type HttpServerHandle } from '../../src/http/server.js';
import Keyv from 'keyv';
import type { ConsoleDeps } from '../../src/console/index.js';

const ZERO: RunCounts = { fetched: 0, created: 0, updated: 0, unchanged: 0, rejected: 0, failed: 0 };

export interface FakeServiceOptions {
  /** finish each new run immediately with this status (else it stays running until finish()) */
  autoFinish?: Exclude<RunStatus, 'running'>;
  /** finish each new run this many ms after it starts */
  finishAfterMs?: number;
}

export class FakeSyncService implements SyncService {
  readonly triggers: TriggerRequest[] = [];
  readonly runs = new Map<string, RunRecord>();
  accepting = true;
  readiness: { ok: boolean; checks: Record<string, boolean> } = { ok: true, checks: { store: true, config: true, mapping: true } };
  statusValue: ServiceStatus = { cursor: '2024-05-01 08:00:00', runningRunId: null };
  /** when set, trigger() rejects with it */
  triggerError?: Error;
  private running: string | null = null;
  private seq = 0;
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly timers = new Set<NodeJS.Timeout>();

  /** what GET /usage answers */
  usageValue = { month: '2024-05', dingtalk: { calls: 1234, budget: 5000 }, robot: { messages: 87, budget: 3000 } };

  constructor(private readonly opts: FakeServiceOptions = {}) {}

  async usage() { return structuredClone(this.usageValue); }

  async trigger(req: TriggerRequest): Promise<TriggerResult> {
    this.triggers.push(structuredClone(req));
    if (this.triggerError) throw this.triggerError;
    if (!this.accepting) throw new ShuttingDownError('shutting down');
    if (this.running) return { runId: this.running, status: 'running', coalesced: true };
    const id = `run-${String(++this.seq).padStart(4, '0')}`;
    this.addRun({
      id, trigger: req.trigger, mode: req.productNos ? 'targeted' : req.mode ?? 'incremental', status: 'running',
      window: { start: '2024-05-01 07:29:59', end: null }, startedAt: new Date().toISOString(), finishedAt: null,
      counts: { ...ZERO }, failures: [],
      ...(req.requestedBy ? { requestedBy: req.requestedBy } : {}),
      ...(req.productNos ? { productNos: req.productNos } : {}),
    });
    this.running = id;
    if (this.opts.autoFinish) this.finish(id, { status: this.opts.autoFinish });
    else if (this.opts.finishAfterMs !== undefined) {
      const t = setTimeout(() => { this.timers.delete(t); this.finish(id); }, this.opts.finishAfterMs);
      this.timers.add(t);
    }
    return { runId: id, status: 'running', coalesced: false };
  }

  /** Store a run record as-is (for listing, status page and 404 tests). */
  addRun(run: RunRecord): void {
    this.runs.set(run.id, run);
  }

  /** Finish a run (default: succeeded with a few counts) and wake its waiters. */
  finish(id: string, patch: Partial<RunRecord> = {}): RunRecord {
    const run = this.runs.get(id);
    if (!run) throw new Error(`fake service: no run ${id}`);
    const done: RunRecord = {
      ...run,
      status: 'succeeded',
      window: { start: run.window.start, end: '2024-05-01 08:00:00' },
      finishedAt: new Date().toISOString(),
      durationMs: 1234,
      counts: { fetched: 3, created: 1, updated: 1, unchanged: 1, rejected: 0, failed: 0 },
      cursorBefore: '2024-05-01 07:30:00', cursorAfter: '2024-05-01 08:00:00',
      ...patch,
    };
    this.runs.set(id, done);
    if (this.running === id) this.running = null;
    for (const wake of this.waiters.get(id) ?? []) wake();
    this.waiters.delete(id);
    return done;
  }

  async waitForRun(runId: string, timeoutMs: number): Promise<RunRecord | undefined> {
    const run = this.runs.get(runId);
    if (!run || run.status !== 'running') return run;
    await new Promise<void>((resolve) => {
      const set = this.waiters.get(runId) ?? new Set();
      this.waiters.set(runId, set);
      const t = setTimeout(() => { this.timers.delete(t); set.delete(wake); resolve(); }, timeoutMs);
      this.timers.add(t);
      const wake = () => { clearTimeout(t); this.timers.delete(t); resolve(); };
      set.add(wake);
    });
    return this.runs.get(runId);
  }

  async getRun(id: string): Promise<RunRecord | undefined> { return this.runs.get(id); }

  async listRuns(limit: number): Promise<RunRecord[]> {
    return [...this.runs.values()].sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : b.id.localeCompare(a.id))).slice(0, limit);
  }

  async status(): Promise<ServiceStatus> { return { ...this.statusValue, runningRunId: this.running }; }

  async ready(): Promise<{ ok: boolean; checks: Record<string, boolean> }> { return this.readiness; }

  /** Clear pending timers so a test run ends promptly. */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/** A finished run record with every optional field filled, for schema and rendering tests. */
export function sampleRun(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id: 'run-sample', trigger: 'schedule', requestedBy: 'replica-a', mode: 'incremental', status: 'partial',
    window: { start: '2024-05-01 07:29:59', end: '2024-05-01 08:00:00' },
    startedAt: '2024-05-01T00:00:00.000Z', finishedAt: '2024-05-01T00:00:05.000Z', durationMs: 5000,
    counts: { fetched: 10, created: 4, updated: 3, unchanged: 1, rejected: 1, failed: 1 },
    failures: [
      { product_no: null, code: 'OKKI_ITEM_INVALID', reason: 'product_no missing' },
      { product_no: 'P-009', code: 'YIDA_WRITE_FAILED', reason: 'secret-ish failure reason' },
    ],
    failuresTotal: 2, productNos: ['P-001'], cursorBefore: null, cursorAfter: '2024-05-01 08:00:00',
    error: { code: 'X', message: 'y' }, report: { sent: false, error: 'robot down' },
    ...overrides,
  };
}

// ---- the fake service behind the real Koa app on a loopback socket ----


export const TEST_API_KEY = 'test-api-key-0123456789abcdef';
export const TEST_SIGNING_SECRET = 'test-signing-secret-xyz';

/** A production-mode config (credentials set, so not sandbox) aimed at nothing: the HTTP layer never calls out. */
export function testConfig(overrides: { apiKey?: string | null; signingSecret?: string; sandbox?: boolean } = {}): Config {
  const cfg = loadConfig({
    OKKI_CLIENT_ID: 'id', OKKI_CLIENT_SECRET: 'okki-secret-value', DINGTALK_APP_KEY: 'key', DINGTALK_APP_SECRET: 'ding-secret-value',
    YIDA_APP_TYPE: 'APP_X', YIDA_SYSTEM_TOKEN: 'yida-token-value', YIDA_USER_ID: 'u1', YIDA_FORM_UUID: 'FORM-1',
    STORE_URL: 'sqlite://./data/never-opened.sqlite',
  });
  return {
    ...cfg,
    sandbox: overrides.sandbox ?? false,
    webhook: {
      apiKey: overrides.apiKey === null ? undefined : overrides.apiKey ?? TEST_API_KEY,
      signingSecret: overrides.signingSecret,
    },
  };
}

export interface TestApp {
  service: FakeSyncService;
  metrics: Metrics;
  url: string;
  handle: HttpServerHandle;
  /** every log line the app wrote */
  logs: string[];
  /** what the status page shows as the next scheduled run */
  nextRun: Date | null;
  close(): Promise<void>;
}

export async function startFakeServiceApp(opts: {
  config?: Config; service?: FakeSyncService; options?: Partial<HttpOptions>;
  /** extra console wiring (the console itself is always there, on an in-memory store) */
  console?: Partial<ConsoleDeps>;
} = {}): Promise<TestApp> {
  const service = opts.service ?? new FakeSyncService();
  const metrics = createMetrics();
  const logs: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { logs.push(String(chunk)); cb(); } });
  const logger = createLogger({ level: 'debug', stream: sink });
  const schedule = { next: new Date('2024-05-01T00:10:00Z') as Date | null };
  const config = opts.config ?? testConfig();
  const consoleDeps: ConsoleDeps = {
    service, kv: new Keyv(), cursor: async () => undefined, mappingFile: config.mappingFile, timezone: config.sync.timezone,
    sandbox: config.sandbox, apiKey: config.webhook.apiKey, nextScheduledRun: () => schedule.next,
    lookup: async () => { throw new Error('product lookup is not wired in this test app'); },
    ...opts.console,
  };
  const app = createApp({ config, service, metrics, logger, options: opts.options, nextScheduledRun: () => schedule.next, console: consoleDeps });
  const handle = await startHttpServer(app, { port: 0, host: '127.0.0.1' });
  return {
    service, metrics, url: handle.url, handle, logs,
    get nextRun() { return schedule.next; },
    set nextRun(v: Date | null) { schedule.next = v; },
    async close() { service.dispose(); await handle.close({ graceMs: 500 }); },
  };
}

/** Log in to the console of a test app; returns the Cookie header to send. */
export async function consoleLogin(baseUrl: string, key: string = TEST_API_KEY): Promise<{ cookie: string }> {
  const res = await request(baseUrl, {
    method: 'POST', path: '/console/login', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ key, next: '/console' }).toString(),
  });
  const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const session = set.map((c) => c.split(';')[0]!).find((c) => c.startsWith('oyc_session=') && c.length > 'oyc_session='.length);
  if (res.status !== 303 || !session) throw new Error(`console login failed: ${res.status} ${res.text.slice(0, 200)}`);
  return { cookie: session };
}

export interface TestResponse { status: number; headers: http.IncomingHttpHeaders; text: string; json: any }

/** One HTTP request on a fresh connection (no agent pooling, so tests never share sockets). */
export function request(baseUrl: string, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<TestResponse> {
  const url = new URL(opts.path, baseUrl);
  if (url.hostname !== '127.0.0.1') throw new Error('tests talk to 127.0.0.1 only');
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body); else req.end();
  });
}

/** POST JSON to the webhook with the test key unless headers say otherwise. */
export function postWebhook(baseUrl: string, body: unknown, headers: Record<string, string> = { 'x-api-key': TEST_API_KEY }): Promise<TestResponse> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return request(baseUrl, { method: 'POST', path: '/webhooks/yida/sync', headers: { 'content-type': 'application/json', ...headers }, body: text });
}
