/**
 * Builds the connector from a validated Config: stores, mapping, OKKI source, Yida writer, robot reporter, engine.
 * The one composition root shared by the service (main.ts), the CLI and the end-to-end tests.
 */
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { detailFieldsFor, loadMapping } from './mapping/index.js';
import { createOkkiSource } from './okki/index.js';
import { createFormSink, createYidaSink } from './yida/index.js';
import { createStores } from './store/index.js';
import { RobotClient, RobotReporter } from './robot/index.js';
import { LedgerWriter } from './sync/writer.js';
import { SyncEngine } from './sync/engine.js';
import type { Stores } from './store/types.js';
import type { Mapping, ProductSink, ProductSource, PullOptions, PushQueue, Reporter } from './core/index.js';
import { ConfigError } from './errors.js';
import { GoneActor } from './sync/gone.js';
import type { MirrorParts } from './sync/mirror-parts.js';
import { PushDrainer } from './push/drainer.js';
import { pushMetrics, type PushMetrics } from './push/metrics.js';
import { quietPushRuns } from './push/quiet-reporter.js';
import { buildGroupPhase, checkGroupMapping } from './connector-groups.js';

/** OKKI push (OKKI_WEBHOOK_SECRET set): what POST /webhooks/okki needs, and the drainer the entry point starts. */
export interface PushIntake {
  secret: string;
  queue: PushQueue;
  drainer: PushDrainer;
  metrics: PushMetrics;
  /** events were queued: the drainer's debounce begins */
  onQueued(): void;
}
import { UsageMeter } from './metering/usage.js';

export interface Connector {
  config: Config;
  engine: SyncEngine;
  stores: Stores;
  mapping: Mapping;
  /** product fields the mapping needs that list items lack: fetched per product via /v1/product/info */
  detailFields: string[];
  /** the OKKI source, with `detailFields` already bound */
  source: ProductSource;
  metrics: Metrics;
  reporter?: Reporter;
  /** metered calls and monthly budgets (GET /usage) */
  usage: UsageMeter;
  /** present when push events are on; `push.drainer.start()` is the entry point's call (the CLI never drains) */
  push?: PushIntake;
  close(): Promise<void>;
}

export interface BuildOptions {
  logger: Logger;
  metrics?: Metrics;
}

/** The source with the fields the mapping needs bound in, so no caller has to carry them. */
function withDetailFields(source: ProductSource, detailFields: readonly string[]): ProductSource {
  const pull = (opts?: PullOptions): PullOptions => ({ detailFields, ...opts });
  return {
    groups: (opts) => source.groups(opts),
    pages: (window, opts) => source.pages(window, pull(opts)),
    byProductNos: (productNos, opts) => source.byProductNos(productNos, pull(opts)),
    ...(source.byProductIds ? { byProductIds: (ids: readonly number[], opts?: PullOptions) => source.byProductIds!(ids, pull(opts)) } : {}),
    groupListed: source.groupListed && ((groupId, opts) => source.groupListed!(groupId, opts)),
    // Not bound: a sweep reads keys only (no detail calls); an audit asks for the fields itself.
    ...(source.catalogue ? { catalogue: (opts?: PullOptions) => source.catalogue!(opts) } : {}),
    formatTime: (instant) => source.formatTime(instant),
  };
}

/** Gone products, sweep and audit. SYNC_DELETIONS=mark needs something to write: the mapping's onDelete entries. */
function mirrorParts(config: Config, p: { mapping: Mapping; sink: ProductSink; stores: Stores; detailFields: readonly string[]; logger: Logger }): MirrorParts {
  const { mapping, sink, stores } = p;
  if (config.mirror.deletions === 'mark' && !mapping.onDeleteFields?.().length) {
    throw new ConfigError([`SYNC_DELETIONS: mark writes the mapping's "onDelete" entries, and ${config.mappingFile} has none (add e.g. "onDelete": [{"field": "selectField_status", "label": "状态", "value": "已停用"}])`]);
  }
  // a batching sink fills its batches with the products worked on at once; the process sink paces below YIDA_CONCURRENCY
  const concurrency = config.yida.target === 'form' ? config.yida.batchSize : config.yida.concurrency * 2;
  const actor = new GoneActor({ ledger: stores.ledger, sink, mapping, keyField: mapping.keyField, policy: config.mirror, logger: p.logger, concurrency });
  return { actor, sink, ledger: stores.ledger, scanLedger: stores.scanLedger, detailFields: p.detailFields };
}

export async function buildConnector(config: Config, opts: BuildOptions): Promise<Connector> {
  const { logger } = opts;
  const metrics = opts.metrics ?? createMetrics();
  // The mapping is read first: a bad mapping file stops start-up before anything connects.
  const mapping = loadMapping(config.mappingFile, { warn: (message) => logger.warn({ mapping: config.mappingFile }, message) });
  const detailFields = detailFieldsFor(mapping);
  checkGroupMapping(config, mapping);
  const stores = await createStores(config.store, { logger });
  const usage = new UsageMeter({ store: stores.usage, timezone: config.sync.timezone, budgets: config.budgets, metrics, logger });
  const source = withDetailFields(createOkkiSource({ ...config.okki, timezone: config.sync.timezone }, { logger, metrics, meter: usage }), detailFields);
  const yidaCfg = { dingtalk: config.dingtalk, yida: config.yida };
  // YIDA_TARGET: one process instance per product, or a plain form written in batches (same port, same writer)
  const sink = config.yida.target === 'form'
    ? createFormSink(yidaCfg, mapping.keyField, { logger, metrics, meter: usage })
    : createYidaSink(yidaCfg, { logger, metrics, meter: usage });
  const writer = new LedgerWriter({
    ledger: stores.ledger, sink, keyField: mapping.keyField, logger, metrics, searchLagMs: config.yida.searchLagSeconds * 1000, parkScope: [config.yida.appType, config.yida.formUuid, config.yida.processCode ?? ''].join('|'), clearMarks: mapping.clearMarks?.(),
  });
  const mirror = mirrorParts(config, { mapping, sink, stores, detailFields, logger });
  const reporter: RobotReporter | undefined = config.robot
    ? new RobotReporter({
      client: new RobotClient({ webhookUrl: config.robot.webhookUrl, secret: config.robot.secret, logger, meter: usage }),
      publicUrl: config.publicUrl, logger, mode: config.robotReport,
    })
    : undefined;
  const groups = buildGroupPhase(config, { mapping, stores, source, meter: usage, metrics, logger });
  const engine = new SyncEngine(
    { source, mapping, writer, stores, reporter: reporter && quietPushRuns(reporter), usage, groups, metrics, logger, mirror },
    {
      lookbackSeconds: config.sync.lookbackSeconds, timezone: config.sync.timezone, cursorMaxAgeSeconds: config.sync.cursorMaxAgeSeconds,
      // a batching sink needs enough writes in flight to fill its batches (several at once)
      maxInFlight: config.yida.target === 'form' ? Math.max(32, config.yida.batchSize * 4) : Math.max(32, config.yida.concurrency * 4),
    },
  );
  // Runs left `running` by a process that died are recorded as interrupted, and a lease one left is freed, before any
  // trigger is taken: otherwise every trigger would join a run that will never finish.
  await engine.recover();
  const drainer = config.push && new PushDrainer({ queue: stores.pushQueue, service: engine, logger, metrics: pushMetrics(metrics.registry) }, { debounceMs: config.push.debounceMs });
  const push: PushIntake | undefined = config.push && drainer
    ? { secret: config.push.secret, queue: stores.pushQueue, drainer, metrics: pushMetrics(metrics.registry), onQueued: () => drainer.notify() }
    : undefined;
  return {
    config, engine, stores, mapping, detailFields, source, metrics, reporter, usage, push,
    async close() {
      // The drainer settles its batch (hands it back if the shutdown stopped its run) before the store closes.
      const drained = drainer?.stop();
      await engine.shutdown();
      await drained;
      await reporter?.close();
      await usage.close();
      await stores.close();
    },
  };
}
