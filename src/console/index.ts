/**
 * The operator console (`/console`): composition from a built connector. main.ts calls `buildConsole` and hands the
 * result to createApp; tests do the same against the simulators.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Connector } from '../connector.js';
import { previewMapping } from '../mapping/preview.js';
import { createYidaReader, type YidaReader } from '../yida/reader.js';
import { createFormReader } from '../yida/form-reader.js';
import type { MappedField } from '../mapping/form-check.js';
import type { ConsoleDeps } from './deps.js';
import { createProductLookup } from './lookup.js';
import { MappingMonitor } from './mapping-monitor.js';
import { startProgressFeed } from './progress-feed.js';
import type { UsageView } from './pages/overview.js';
import { daysInMonth, wallClockOf } from '../time.js';
import { dayCounter } from '../metering/usage.js';

export { registerConsole, consoleViewer } from './routes.js';
export type { ConsoleDeps } from './deps.js';
export { MappingMonitor } from './mapping-monitor.js';

export interface ConsoleHandle {
  deps: ConsoleDeps;
  monitor: MappingMonitor;
  reader: YidaReader;
  close(): void;
}

export interface BuildConsoleOptions {
  logger: Logger;
  metrics?: Metrics;
  nextScheduledRun?: () => Date | null;
  /** month-to-date usage (metering), when the connector has it */
  usage?: () => Promise<UsageView | undefined>;
  /** check the mapping against the form shortly after start-up (default true) */
  checkMapping?: boolean;
}

/** Mapping entries as the form check reads them (CompiledMapping.fields; other Mapping implementations have none). */
export function mappedFields(mapping: unknown): MappedField[] {
  return (mapping as { fields?: MappedField[] }).fields ?? [];
}

/**
 * Month-to-date usage with cumulative figures per day. Days before per-day counting began (an older store) are
 * folded into the month's start, so the line still ends at the month's total.
 */
export async function usageView(connector: Pick<Connector, 'usage' | 'stores'>, timezone: string, now = new Date()): Promise<UsageView> {
  const r = await connector.usage.report();
  const raw = await connector.stores.usage.get(r.month).catch(() => ({} as Record<string, number>));
  const wc = wallClockOf(now, timezone);
  const cumulative = (target: 'dingtalk' | 'robot', total: number) => {
    const days = Array.from({ length: wc.day }, (_, i) => raw[dayCounter(target, i + 1)] ?? 0);
    let sum = Math.max(0, total - days.reduce((a, b) => a + b, 0));
    return days.map((n) => (sum += n));
  };
  return {
    month: r.month,
    dingtalk: { ...r.dingtalk, daily: cumulative('dingtalk', r.dingtalk.calls) },
    robot: { ...r.robot, daily: cumulative('robot', r.robot.messages) },
    day: wc.day, daysInMonth: daysInMonth(wc.year, wc.month),
  };
}

export function buildConsole(connector: Connector, config: Config, opts: BuildConsoleOptions): ConsoleHandle {
  const { stores, mapping, source, engine } = connector;
  // A plain form (YIDA_TARGET=form) is read through the form-data search; process instances through getInstances.
  const readerOf = config.yida.target === 'form' ? createFormReader : createYidaReader;
  const reader = readerOf({ dingtalk: config.dingtalk, yida: config.yida }, { logger: opts.logger, metrics: opts.metrics ?? connector.metrics, meter: connector.usage });
  const monitor = new MappingMonitor({
    fetchForm: () => reader.formDefinition(),
    mapping: { keyField: mapping.keyField, fields: mappedFields(mapping) },
    logger: opts.logger,
  });
  if (opts.checkMapping !== false) monitor.start();
  const stopFeed = startProgressFeed(engine as never, stores.kv, { logger: opts.logger });
  const labels = new Map(mappedFields(mapping).map((f) => [f.field, f.label]));

  const deps: ConsoleDeps = {
    service: engine,
    kv: stores.kv,
    cursor: () => stores.cursor.get(),
    lookup: createProductLookup({
      source, mapping, ledger: stores.ledger, yida: reader, cursor: () => stores.cursor.get(),
      timezone: config.sync.timezone, detailFields: connector.detailFields,
    }),
    monitor,
    // A few products from the top of the catalogue: one list call, then each one's full record (detail calls only
    // for those few), mapped as the next run would map them. Nothing is written.
    async preview(limit) {
      const now = new Date();
      const nos: string[] = [];
      for await (const page of source.pages({ end: now })) {
        for (const p of page.items) if (typeof p.product_no === 'string' && nos.length < limit) nos.push(p.product_no);
        if (nos.length >= limit) break;
      }
      const products = [];
      for await (const page of source.byProductNos(nos, { detailFields: connector.detailFields })) products.push(...page.items);
      const ctx = { groups: await source.groups(), lastSyncTime: await stores.cursor.get().catch(() => undefined), now, timezone: config.sync.timezone };
      return { items: previewMapping(mapping, products, ctx), labels };
    },
    usage: opts.usage ?? (() => usageView(connector, config.sync.timezone)),
    nextScheduledRun: opts.nextScheduledRun,
    mappingFile: config.mappingFile,
    timezone: config.sync.timezone,
    sandbox: config.sandbox,
    apiKey: config.webhook.apiKey,
    streams: new Set(),
  };
  return {
    deps, monitor, reader,
    close() {
      monitor.stop();
      stopFeed();
      for (const end of [...deps.streams!]) end();
    },
  };
}
