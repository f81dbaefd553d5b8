/**
 * The one place where environment variables become a typed, validated Config.
 * Every problem names the variable and what was expected; values are never echoed,
 * because several of them are secrets and a start-up error ends up in logs.
 */
import { z } from 'zod';
import cron from 'node-cron';
import { ConfigError } from './errors.js';
import { isValidTimeZone } from './time.js';
import { keyFromSecret } from './push/codec.js';
import { httpsOrLoopback, isLoopbackHost } from './config-rules.js';

export type Env = Record<string, string | undefined>;

export interface Config {
  port: number;
  host: string;
  /** HTTP_KEEP_ALIVE_TIMEOUT in ms: idle keep-alive connections live longer than a balancer's idle timeout */
  keepAliveTimeoutMs: number;
  /** true when the built-in simulators stand in for OKKI and DingTalk */
  sandbox: boolean;
  /** why sandbox mode is on (for the start-up banner) */
  sandboxReason?: string;
  okki: { baseUrl: string; clientId: string; clientSecret: string; scope: string; pageSize: number; qps: number };
  dingtalk: { appKey: string; appSecret: string; endpoint: string; protocol: 'http' | 'https' };
  yida: {
    appType: string; systemToken: string; userId: string; formUuid: string;
    processCode?: string; language: string; qps: number; concurrency: number;
    /** YIDA_SEARCH_LAG: a pending start younger than this is not started again on an empty search */
    searchLagSeconds: number;
    /** YIDA_TARGET: process instances (startInstance/updateInstance) or a plain form (batch writes) */
    target: 'process' | 'form';
    /** YIDA_BATCH_SIZE: records per batch write on the form target (1–100) */
    batchSize: number;
  };
  robot?: { webhookUrl: string; secret?: string };
  webhook: { apiKey?: string; signingSecret?: string };
  store: { url: string; kind: 'sqlite' | 'redis'; sqlitePath?: string };
  /** cursorMaxAgeSeconds: SYNC_CURSOR_MAX_AGE, an older cursor after a run raises an alert (0: never) */
  sync: { cron: string; timezone: string; lookbackSeconds: number; cursorMaxAgeSeconds: number };
  mappingFile: string;
  publicUrl?: string;
  /** monthly budgets; 0 = unlimited */
  budgets: { dingtalkCalls: number; robotMessages: number };
  /** which runs the robot reports: changes (default), every, failures */
  robotReport: RobotReportMode;
  /** bearer token /metrics asks for (METRICS_TOKEN); absent = /metrics is open */
  metricsToken?: string;
  /** honour X-Forwarded-Proto/-For from a reverse proxy (TRUST_PROXY): https there makes console cookies Secure */
  trustProxy: boolean;
  /** OKKI push events (POST /webhooks/okki): on when OKKI_WEBHOOK_SECRET is set */
  push?: { secret: string; debounceMs: number };
  /** the groups mirror: OKKI's product groups written into a plain Yida form of their own (YIDA_GROUP_FORM_UUID) */
  groups?: { formUuid: string };
  /** the mirror (DESIGN "Mirror"): what gone products become, the delete guard, the sweep's schedule */
  mirror: {
    deletions: 'off' | 'mark' | 'delete';
    discontinued: 'keep' | 'gone';
    deleteMax: number;
    /** SYNC_SWEEP_CRON; null when set to `off` */
    sweepCron: string | null;
  };
}

export const ROBOT_REPORT_MODES = ['changes', 'every', 'failures'] as const;
export type RobotReportMode = (typeof ROBOT_REPORT_MODES)[number];

/** Variables whose values are secrets: never logged, never in errors, run records or reports. */
export const SECRET_VARIABLES = [
  'OKKI_CLIENT_SECRET', 'DINGTALK_APP_SECRET', 'YIDA_SYSTEM_TOKEN', 'ROBOT_SECRET', 'WEBHOOK_API_KEY', 'WEBHOOK_SIGNING_SECRET',
  'OKKI_WEBHOOK_SECRET', 'METRICS_TOKEN',
] as const;

const DEFAULTS = {
  PORT: '3000',
  HTTP_KEEP_ALIVE_TIMEOUT: '65',
  OKKI_BASE_URL: 'https://api-sandbox.xiaoman.cn',
  OKKI_SCOPE: 'product',
  OKKI_PAGE_SIZE: '100',
  OKKI_QPS: '5',
  DINGTALK_ENDPOINT: 'api.dingtalk.com',
  DINGTALK_PROTOCOL: 'https',
  YIDA_LANGUAGE: 'zh_CN',
  YIDA_QPS: '15',
  YIDA_CONCURRENCY: '8',
  YIDA_SEARCH_LAG: '60',
  STORE_URL: 'sqlite://./data/connector.sqlite',
  SYNC_CRON: '*/10 * * * *',
  SYNC_TIMEZONE: 'Asia/Shanghai',
  SYNC_LOOKBACK: '00:30:01',
  SYNC_CURSOR_MAX_AGE: '02:00:00',
  SYNC_DELETIONS: 'off',
  SYNC_DISCONTINUED: 'keep',
  SYNC_DELETE_MAX: '20',
  SYNC_SWEEP_CRON: '0 3 * * *',
  MAPPING_FILE: 'manifest/mapping.json',
  DINGTALK_MONTHLY_CALL_BUDGET: '5000',
  ROBOT_MONTHLY_MESSAGE_BUDGET: '3000',
  ROBOT_REPORT: 'changes',
} as const;

const intIn = (name: string, min: number, max: number) =>
  z.string().trim().regex(/^\d+$/, `${name}: expected a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name}: expected a whole number from ${min} to ${max}`);

const numIn = (name: string, min: number, max: number) =>
  z.string().trim().regex(/^\d+(\.\d+)?$/, `${name}: expected a number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name}: expected a number from ${min} to ${max}`);

const httpUrl = (name: string) =>
  z.string().trim().refine((s) => {
    try { const u = new URL(s); return u.protocol === 'http:' || u.protocol === 'https:'; } catch { return false; }
  }, `${name}: expected an absolute http(s) URL`);

/** `HH:MM:SS` or a number of seconds. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const m = /^(\d{1,3}):([0-5]\d):([0-5]\d)$/.exec(t);
  if (!m) return undefined;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

function read(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

/**
 * Parse and validate. Collects every problem before failing so an operator fixes them in one go.
 * Throws ConfigError whose message lists `VARIABLE: what was expected` lines.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const get = (name: keyof typeof DEFAULTS) => read(env, name) ?? DEFAULTS[name];
  function check<T>(name: string, schema: z.ZodType<T>, value: string | undefined): T {
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    problems.push(r.error.issues[0]?.message.startsWith(name) ? r.error.issues[0].message : `${name}: ${r.error.issues[0]?.message ?? 'invalid'}`);
    return undefined as T;
  }

  const port = check('PORT', intIn('PORT', 0, 65535), get('PORT'));
  const keepAliveSeconds = check('HTTP_KEEP_ALIVE_TIMEOUT', intIn('HTTP_KEEP_ALIVE_TIMEOUT', 1, 3600), get('HTTP_KEEP_ALIVE_TIMEOUT'));

  // Sandbox mode only when no credential variable at all is set (or SANDBOX=1): a deployment that set some of them and
  // lost others (a missing secret mount) must stop and say which, not start a simulator with an open webhook.
  const sandboxForced = /^(1|true|yes)$/i.test(read(env, 'SANDBOX') ?? '');
  const credVars = ['OKKI_CLIENT_ID', 'OKKI_CLIENT_SECRET', 'DINGTALK_APP_KEY', 'DINGTALK_APP_SECRET', 'YIDA_APP_TYPE', 'YIDA_SYSTEM_TOKEN', 'YIDA_USER_ID', 'YIDA_FORM_UUID'] as const;
  const setCreds = credVars.filter((v) => read(env, v) !== undefined);
  const sandbox = sandboxForced || setCreds.length === 0;
  const sandboxReason = sandboxForced ? 'SANDBOX=1' : setCreds.length === 0 ? 'no OKKI/DingTalk/Yida credentials are set' : undefined;
  if (!sandbox) {
    const given = `${setCreds.join(', ')} ${setCreds.length === 1 ? 'is' : 'are'} set`;
    for (const v of credVars) if (!setCreds.includes(v)) problems.push(`${v}: required, because ${given} (set all of them; or none, or SANDBOX=1, for sandbox mode)`);
  }
  // The simulators' open webhook stays on this machine unless HOST says otherwise.
  const host = read(env, 'HOST')?.trim() ?? (sandbox ? '127.0.0.1' : '0.0.0.0');

  const okkiBaseUrl = check('OKKI_BASE_URL', httpUrl('OKKI_BASE_URL'), get('OKKI_BASE_URL'));
  // Outside sandbox mode credentials and tokens travel to these: https, except to a loopback fake (tests, local proxies).
  if (!sandbox && okkiBaseUrl !== undefined && !httpsOrLoopback(okkiBaseUrl)) problems.push('OKKI_BASE_URL: expected an https URL (plain http only to a loopback host: 127.0.0.0/8 or [::1])');
  const pageSize = check('OKKI_PAGE_SIZE', intIn('OKKI_PAGE_SIZE', 1, 1000), get('OKKI_PAGE_SIZE'));
  const okkiQps = check('OKKI_QPS', numIn('OKKI_QPS', 0.1, 1000), get('OKKI_QPS'));

  const endpoint = get('DINGTALK_ENDPOINT').trim();
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(endpoint)) problems.push('DINGTALK_ENDPOINT: expected host[:port] without a scheme, e.g. api.dingtalk.com or 127.0.0.1:8080');
  const protocol = get('DINGTALK_PROTOCOL').trim().toLowerCase();
  if (protocol !== 'http' && protocol !== 'https') problems.push('DINGTALK_PROTOCOL: expected http or https');
  else if (!sandbox && protocol === 'http' && !isLoopbackHost(endpoint.replace(/:\d{1,5}$/, ''))) problems.push('DINGTALK_PROTOCOL: expected https (http only with a loopback DINGTALK_ENDPOINT: 127.0.0.0/8 or [::1])');

  const yidaQps = check('YIDA_QPS', numIn('YIDA_QPS', 0.1, 1000), get('YIDA_QPS'));
  const concurrency = check('YIDA_CONCURRENCY', intIn('YIDA_CONCURRENCY', 1, 256), get('YIDA_CONCURRENCY'));
  const yidaTarget = (read(env, 'YIDA_TARGET') ?? 'process').trim().toLowerCase();
  if (yidaTarget !== 'process' && yidaTarget !== 'form') problems.push('YIDA_TARGET: expected process (a process form: one startInstance per product) or form (a plain form: batch writes)');
  const batchSize = check('YIDA_BATCH_SIZE', intIn('YIDA_BATCH_SIZE', 1, 100), read(env, 'YIDA_BATCH_SIZE') ?? '100');
  const searchLag = parseDuration(get('YIDA_SEARCH_LAG'));
  if (searchLag === undefined) problems.push('YIDA_SEARCH_LAG: expected HH:MM:SS or a number of seconds');

  const robotUrl = read(env, 'ROBOT_WEBHOOK_URL');
  if (robotUrl !== undefined && check('ROBOT_WEBHOOK_URL', httpUrl('ROBOT_WEBHOOK_URL'), robotUrl) !== undefined) {
    if (!new URL(robotUrl.trim()).searchParams.get('access_token')) problems.push('ROBOT_WEBHOOK_URL: expected an access_token query parameter');
    else if (!sandbox && !httpsOrLoopback(robotUrl.trim())) problems.push('ROBOT_WEBHOOK_URL: expected an https URL (plain http only to a loopback host: 127.0.0.0/8 or [::1])');
  }
  if (robotUrl === undefined && read(env, 'ROBOT_SECRET') !== undefined) problems.push('ROBOT_SECRET: set without ROBOT_WEBHOOK_URL');

  const storeUrl = get('STORE_URL').trim();
  let store: Config['store'] = { url: storeUrl, kind: 'sqlite' };
  if (/^sqlite:\/\//i.test(storeUrl)) {
    const path = storeUrl.replace(/^sqlite:\/\//i, '');
    if (!path) problems.push('STORE_URL: expected sqlite://PATH with a file path');
    store = { url: storeUrl, kind: 'sqlite', sqlitePath: path };
  } else if (/^rediss?:\/\//i.test(storeUrl)) {
    store = { url: storeUrl, kind: 'redis' };
  } else {
    problems.push('STORE_URL: expected sqlite://PATH or redis://[user:password@]host:port[/db]');
  }

  const cronExpr = get('SYNC_CRON').trim();
  if (!cron.validate(cronExpr)) problems.push('SYNC_CRON: expected a cron expression with five or six fields, e.g. */10 * * * *');
  const timezone = get('SYNC_TIMEZONE').trim();
  if (!isValidTimeZone(timezone)) problems.push('SYNC_TIMEZONE: expected an IANA time zone such as Asia/Shanghai');
  const lookback = parseDuration(get('SYNC_LOOKBACK'));
  if (lookback === undefined) problems.push('SYNC_LOOKBACK: expected HH:MM:SS or a number of seconds');
  const cursorMaxAge = parseDuration(get('SYNC_CURSOR_MAX_AGE'));
  if (cursorMaxAge === undefined) problems.push('SYNC_CURSOR_MAX_AGE: expected HH:MM:SS or a number of seconds (0 turns the alert off)');

  const publicUrl = read(env, 'PUBLIC_URL');
  if (publicUrl !== undefined) check('PUBLIC_URL', httpUrl('PUBLIC_URL'), publicUrl);

  const apiKey = read(env, 'WEBHOOK_API_KEY');
  if (apiKey !== undefined && apiKey.length < 16) problems.push('WEBHOOK_API_KEY: expected at least 16 characters');
  const metricsToken = read(env, 'METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.trim().length < 16) problems.push('METRICS_TOKEN: expected at least 16 characters');
  const trustProxy = read(env, 'TRUST_PROXY');
  if (trustProxy !== undefined && !/^(1|0|true|false|yes|no)$/i.test(trustProxy.trim())) problems.push('TRUST_PROXY: expected 1 or 0');

  const dingtalkBudget = check('DINGTALK_MONTHLY_CALL_BUDGET', intIn('DINGTALK_MONTHLY_CALL_BUDGET', 0, 1_000_000_000), get('DINGTALK_MONTHLY_CALL_BUDGET'));
  const robotBudget = check('ROBOT_MONTHLY_MESSAGE_BUDGET', intIn('ROBOT_MONTHLY_MESSAGE_BUDGET', 0, 1_000_000_000), get('ROBOT_MONTHLY_MESSAGE_BUDGET'));
  const robotReport = get('ROBOT_REPORT').trim().toLowerCase();
  if (!(ROBOT_REPORT_MODES as readonly string[]).includes(robotReport)) problems.push(`ROBOT_REPORT: expected one of ${ROBOT_REPORT_MODES.join(', ')}`);
  const pushSecret = read(env, 'OKKI_WEBHOOK_SECRET')?.trim();
  if (pushSecret !== undefined && !keyFromSecret(pushSecret)) problems.push('OKKI_WEBHOOK_SECRET: expected the security_config OKKI returned when the callback was created (base64 of 32 bytes; npm run okki:subscribe prints it)');
  const pushDebounceMs = check('PUSH_DEBOUNCE_MS', intIn('PUSH_DEBOUNCE_MS', 0, 60_000), read(env, 'PUSH_DEBOUNCE_MS') ?? '500');

  const groupFormUuid = read(env, 'YIDA_GROUP_FORM_UUID')?.trim();
  if (groupFormUuid !== undefined && groupFormUuid === read(env, 'YIDA_FORM_UUID')?.trim()) problems.push('YIDA_GROUP_FORM_UUID: expected a form of its own for the product groups, not the product form (YIDA_FORM_UUID)');
  const deletions = get('SYNC_DELETIONS').trim().toLowerCase();
  if (!['off', 'mark', 'delete'].includes(deletions)) problems.push('SYNC_DELETIONS: expected off, mark or delete');
  const discontinued = get('SYNC_DISCONTINUED').trim().toLowerCase();
  if (!['keep', 'gone'].includes(discontinued)) problems.push('SYNC_DISCONTINUED: expected keep or gone');
  const deleteMax = check('SYNC_DELETE_MAX', intIn('SYNC_DELETE_MAX', 0, 1_000_000), get('SYNC_DELETE_MAX'));
  const sweepCron = get('SYNC_SWEEP_CRON').trim();
  const sweepOff = /^off$/i.test(sweepCron);
  if (!sweepOff && !cron.validate(sweepCron)) problems.push('SYNC_SWEEP_CRON: expected a cron expression with five or six fields, e.g. 0 3 * * *, or off');

  if (problems.length) throw new ConfigError(problems);

  return {
    port, host, sandbox, sandboxReason, keepAliveTimeoutMs: keepAliveSeconds * 1000,
    okki: {
      baseUrl: okkiBaseUrl.replace(/\/+$/, ''),
      clientId: read(env, 'OKKI_CLIENT_ID') ?? '',
      clientSecret: read(env, 'OKKI_CLIENT_SECRET') ?? '',
      scope: get('OKKI_SCOPE').trim(),
      pageSize, qps: okkiQps,
    },
    dingtalk: {
      appKey: read(env, 'DINGTALK_APP_KEY') ?? '',
      appSecret: read(env, 'DINGTALK_APP_SECRET') ?? '',
      endpoint, protocol: protocol as 'http' | 'https',
    },
    yida: {
      appType: read(env, 'YIDA_APP_TYPE') ?? '',
      systemToken: read(env, 'YIDA_SYSTEM_TOKEN') ?? '',
      userId: read(env, 'YIDA_USER_ID') ?? '',
      formUuid: read(env, 'YIDA_FORM_UUID') ?? '',
      processCode: read(env, 'YIDA_PROCESS_CODE'),
      language: get('YIDA_LANGUAGE').trim(),
      qps: yidaQps, concurrency, searchLagSeconds: searchLag!,
      target: yidaTarget as 'process' | 'form', batchSize,
    },
    robot: robotUrl ? { webhookUrl: robotUrl.trim(), secret: read(env, 'ROBOT_SECRET') } : undefined,
    webhook: { apiKey, signingSecret: read(env, 'WEBHOOK_SIGNING_SECRET') },
    store,
    sync: { cron: cronExpr, timezone, lookbackSeconds: lookback!, cursorMaxAgeSeconds: cursorMaxAge! },
    mappingFile: get('MAPPING_FILE'),
    publicUrl: publicUrl?.trim().replace(/\/+$/, ''),
    budgets: { dingtalkCalls: dingtalkBudget, robotMessages: robotBudget },
    robotReport: robotReport as RobotReportMode,
    metricsToken: metricsToken?.trim(),
    trustProxy: /^(1|true|yes)$/i.test(trustProxy?.trim() ?? ''),
    push: pushSecret ? { secret: pushSecret, debounceMs: pushDebounceMs } : undefined,
    groups: groupFormUuid ? { formUuid: groupFormUuid } : undefined,
    mirror: {
      deletions: deletions as Config['mirror']['deletions'], discontinued: discontinued as Config['mirror']['discontinued'],
      deleteMax, sweepCron: sweepOff ? null : sweepCron,
    },
  };
}

/** Every secret value this config holds (including the robot's access_token and a store password). */
export function secretValues(config: Config): string[] {
  const values = [
    config.okki.clientSecret, config.dingtalk.appSecret, config.yida.systemToken,
    config.robot?.secret, config.webhook.apiKey, config.webhook.signingSecret, config.push?.secret, config.metricsToken,
  ];
  if (config.robot) {
    try { values.push(new URL(config.robot.webhookUrl).searchParams.get('access_token') ?? undefined); } catch { /* validated already */ }
  }
  try { const u = new URL(config.store.url); values.push(decodeURIComponent(u.password) || undefined); } catch { /* sqlite path */ }
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length >= 4))];
}
