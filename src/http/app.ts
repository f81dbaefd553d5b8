/** Builds the Koa app: cross-cutting middleware first, then the webhook, runs and operator routes. */
import Koa from 'koa';
import Router from '@koa/router';
import type { Config } from '../config.js';
import type { SyncService } from '../core/index.js';
import type { Metrics } from '../metrics.js';
import type { Logger } from '../log.js';
import { createAuthenticator } from './auth.js';
import { DEFAULT_JSON_BODY } from './json-body.js';
import { errorHandler, jsonFallback, requestContext, type HttpState } from './middleware.js';
import { registerWebhookRoute } from './routes/webhook.js';
import { registerRunsRoutes } from './routes/runs.js';
import { registerOkkiPushRoute, type OkkiPushRouteOptions } from './routes/okki-webhook.js';
import { registerOpsRoutes } from './routes/ops.js';
import { registerUsageRoute } from './routes/usage.js';
import { consoleViewer, registerConsole, type ConsoleDeps } from '../console/index.js';

export interface HttpOptions {
  /** largest accepted webhook body (bytes); the README's HTTP surface fixes 64 KiB */
  bodyLimitBytes: number;
  /** the whole webhook body must arrive within this time (slow senders get 408) */
  bodyTimeoutMs: number;
  /** how long `wait:true` waits for the run */
  waitTimeoutMs: number;
  /** accepted clock distance of a ddpaas signature timestamp, either way */
  signatureWindowMs: number;
  /** how many recent ddpaas signatures are remembered against replays */
  replayCapacity: number;
  now: () => number;
}

export const DEFAULT_HTTP_OPTIONS: HttpOptions = {
  bodyLimitBytes: DEFAULT_JSON_BODY.limitBytes,
  bodyTimeoutMs: DEFAULT_JSON_BODY.timeoutMs,
  waitTimeoutMs: 20_000,
  signatureWindowMs: 5 * 60_000,
  replayCapacity: 10_000,
  now: Date.now,
};

export interface AppDeps {
  config: Config;
  service: SyncService;
  metrics: Metrics;
  logger: Logger;
  /** when the schedule fires next, for the status page (wired by the entry point) */
  nextScheduledRun?: () => Date | null;
  /** the operator console (/console); absent: no console, and `/` shows no run data */
  console?: ConsoleDeps;
  /** limits and clock; tests shorten the timeouts */
  options?: Partial<HttpOptions>;
  /** OKKI push intake (OKKI_WEBHOOK_SECRET set): POST /webhooks/okki exists only then */
  push?: Pick<OkkiPushRouteOptions, 'secret' | 'queue' | 'onQueued' | 'metrics'>;
}

function resolveOptions(partial: Partial<HttpOptions> = {}): HttpOptions {
  const o = { ...DEFAULT_HTTP_OPTIONS, ...partial };
  const positiveInt = ['bodyLimitBytes', 'bodyTimeoutMs', 'waitTimeoutMs', 'signatureWindowMs', 'replayCapacity'] as const;
  for (const k of positiveInt) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new RangeError(`createApp: options.${k} must be a positive whole number (got ${String(o[k])})`);
  }
  if (typeof o.now !== 'function') throw new TypeError('createApp: options.now must be a function returning epoch milliseconds');
  return o;
}

export function createApp(deps: AppDeps): Koa<HttpState> {
  const { config, service, metrics, logger } = deps;
  if (!config || !service || !metrics || !logger) throw new TypeError('createApp: config, service, metrics and logger are all required');
  const options = resolveOptions(deps.options);

  const authenticate = createAuthenticator({
    apiKey: config.webhook.apiKey,
    signingSecret: config.webhook.signingSecret,
    sandbox: config.sandbox,
    signatureWindowMs: options.signatureWindowMs,
    replayCapacity: options.replayCapacity,
    now: options.now,
  });

  const router = new Router<HttpState>();
  registerWebhookRoute(router, {
    service, authenticate,
    body: { limitBytes: options.bodyLimitBytes, timeoutMs: options.bodyTimeoutMs },
    waitTimeoutMs: options.waitTimeoutMs,
  });
  if (deps.push) registerOkkiPushRoute(router, { ...deps.push, now: options.now });
  registerRunsRoutes(router, { service, authenticate });
  registerUsageRoute(router, { service, authenticate });
  const consoleAuth = deps.console ? registerConsole(router, deps.console) : undefined;
  registerOpsRoutes(router, {
    service, metrics, timezone: config.sync.timezone, sandbox: config.sandbox, nextScheduledRun: deps.nextScheduledRun,
    metricsToken: config.metricsToken, viewer: consoleAuth && consoleViewer(consoleAuth),
    mappingFit: deps.console?.monitor && (() => deps.console!.monitor!.readiness()),
  });

  const app = new Koa<HttpState>();
  // Behind a reverse proxy (TRUST_PROXY=1): X-Forwarded-Proto says whether the browser used https (Secure cookies).
  app.proxy = config.trustProxy === true;
  // Errors are answered and logged by errorHandler; this catches what escapes it (e.g. a socket error mid-write).
  app.silent = true;
  app.on('error', (err: unknown) => logger.warn({ err }, 'http error outside a request handler'));
  app.use(requestContext(logger, metrics));
  app.use(errorHandler());
  app.use(jsonFallback());
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
