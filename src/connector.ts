/**
 * Builds the connector from a validated Config: stores, mapping, OKKI source, Yida writer, robot reporter, engine.
 * The one composition root shared by the service (main.ts), the CLI and the end-to-end tests.
 */
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { loadMapping, LIST_MISSING_FIELDS } from './mapping/index.js';
import { createOkkiSource } from './okki/index.js';
import { createYidaSink } from './yida/index.js';
import { createStores } from './store/index.js';
import { RobotClient, RobotReporter } from './robot/index.js';
import { LedgerWriter } from './sync/writer.js';
import { SyncEngine } from './sync/engine.js';
import type { Stores } from './store/types.js';
import type { Mapping, ProductSource, Reporter } from './sync/types.js';

export interface Connector {
  config: Config;
  engine: SyncEngine;
  stores: Stores;
  mapping: Mapping;
  /** product fields the mapping needs that list items lack: fetched per product via /v1/product/info */
  detailFields: string[];
  source: ProductSource;
  metrics: Metrics;
  reporter?: Reporter;
  close(): Promise<void>;
}

export interface BuildOptions {
  logger: Logger;
  metrics?: Metrics;
  nextScheduledRun?: () => Date | null;
}

export async function buildConnector(config: Config, opts: BuildOptions): Promise<Connector> {
  const { logger } = opts;
  const metrics = opts.metrics ?? createMetrics();
  // The mapping is read first: a bad mapping file stops start-up before anything connects.
  const mapping = loadMapping(config.mappingFile);
  const detailFields = [...mapping.referencedProductFields()].filter((f) => (LIST_MISSING_FIELDS as readonly string[]).includes(f));
  const stores = await createStores(config.store, { logger });
  const source = createOkkiSource({ ...config.okki, timezone: config.sync.timezone }, { logger, metrics });
  const sink = createYidaSink({ dingtalk: config.dingtalk, yida: config.yida }, { logger, metrics });
  const writer = new LedgerWriter({ ledger: stores.ledger, sink, keyField: mapping.keyField, logger, metrics, searchLagMs: config.yida.searchLagSeconds * 1000 });
  const reporter: RobotReporter | undefined = config.robot
    ? new RobotReporter({
      client: new RobotClient({ webhookUrl: config.robot.webhookUrl, secret: config.robot.secret, logger }),
      publicUrl: config.publicUrl, logger,
    })
    : undefined;
  const engine = new SyncEngine(
    { source, mapping, writer, stores, reporter, metrics, logger, nextScheduledRun: opts.nextScheduledRun },
    {
      lookbackSeconds: config.sync.lookbackSeconds, timezone: config.sync.timezone,
      maxInFlight: Math.max(32, config.yida.concurrency * 4), detailFields, sandbox: config.sandbox,
    },
  );
  // Runs left `running` by a process that died are recorded as interrupted, and a lease one left is freed, before any
  // trigger is taken: otherwise every trigger would join a run that will never finish.
  await engine.recover();
  return {
    config, engine, stores, mapping, detailFields, source, metrics, reporter,
    async close() {
      await engine.shutdown();
      await reporter?.close();
      await stores.close();
    },
  };
}
