/**
 * The service entry point (`npm start`): config → (sandbox simulators) → connector → HTTP + schedule, and a graceful
 * shutdown on SIGTERM/SIGINT.
 */
import type { Config } from './config.js';
import { redact } from './redact.js';
import { ConnectorError, errorMessage } from './errors.js';
import { createLogger } from './log.js';
import { createMetrics } from './metrics.js';
import { readConfig, startRuntime } from './startup.js';
import { createApp, startHttpServer } from './http/index.js';
import { startSchedule } from './schedule.js';
import { createCronCoordinator } from './store/index.js';
import { buildConsole } from './console/index.js';
import { installCrashHandlers } from './crash.js';

// Before anything else: a crash from here on is reported redacted, and the process exits 1.
installCrashHandlers();

async function main(): Promise<void> {
  let base: Config;
  try {
    base = readConfig(process.env);
  } catch (err) {
    process.stderr.write(`okki-yida-connector: ${errorMessage(err)}\n`);
    process.exit(1);
  }
  const logger = createLogger();
  installCrashHandlers({ logger });
  let nextRun: (() => Date | null) | undefined;
  const metrics = createMetrics({ defaultMetrics: true });
  const runtime = await startRuntime(base, { logger, metrics });
  const { config, connector, sandbox } = runtime;
  const nextScheduledRun = () => nextRun?.() ?? null;
  const consoleHandle = buildConsole(connector, config, { logger, metrics, nextScheduledRun });
  const app = createApp({ config, service: connector.engine, metrics, logger, nextScheduledRun, push: connector.push, console: consoleHandle.deps });
  const http = await startHttpServer(app, { port: config.port, host: config.host, keepAliveTimeoutMs: config.keepAliveTimeoutMs });
  // Events acknowledged before a restart are drained now.
  await connector.push?.drainer.start();
  const coordinator = connector.stores.kind === 'redis' ? createCronCoordinator(connector.stores.lock, `replica-${process.pid}`) : undefined;
  const task = startSchedule(connector.engine, { cron: config.sync.cron, timezone: config.sync.timezone, coordinator }, logger);
  nextRun = () => task.getNextRun();
  // The nightly sweep finds products deleted in OKKI; with SYNC_DELETIONS=off it would change nothing, so it is not run.
  const sweepTask = config.mirror.sweepCron && config.mirror.deletions !== 'off'
    ? startSchedule(connector.engine, { cron: config.mirror.sweepCron, timezone: config.sync.timezone, coordinator, mode: 'sweep', name: 'okki-yida-sweep' }, logger)
    : undefined;

  logger.info({ url: http.url, host: config.host, cron: config.sync.cron, sweepCron: sweepTask ? config.mirror.sweepCron : null, store: connector.stores.kind, sandbox: config.sandbox, mapping: config.mappingFile, push: Boolean(connector.push) }, 'okki-yida-connector listening');
  if (sandbox) {
    sandbox.pushTo(http.url);
    sandbox.announce(http.url);
    connector.engine.trigger({ trigger: 'startup', requestedBy: 'sandbox start-up' })
      .catch((err) => logger.warn({ err: errorMessage(err) }, 'sandbox start-up run did not start'));
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) { logger.warn({ signal }, 'second signal: exiting now'); process.exit(1); }
    stopping = true;
    logger.info({ signal }, 'shutting down: no new triggers, letting in-flight writes settle');
    await task.stop();
    await sweepTask?.stop();
    consoleHandle.close();
    const drained = connector.push?.drainer.stop();
    await connector.engine.shutdown();
    await drained;
    await http.close();
    await runtime.close().catch((err) => logger.warn({ err: errorMessage(err) }, 'closing the connector failed'));
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

function fatal(err: unknown): never {
  const code = err instanceof ConnectorError ? `${err.code}: ` : '';
  process.stderr.write(`okki-yida-connector: start-up failed: ${code}${redact(errorMessage(err))}\n`);
  process.exit(1);
}

main().catch((err) => fatal(err));
