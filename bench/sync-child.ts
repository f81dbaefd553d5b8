/**
 * One sync run in a process of its own (so its peak RSS is the connector's alone): Config from the environment
 * (loadConfig), buildConnector, trigger (BENCH_MODE = full | incremental), wait, report the run record, the
 * connector's own call/throttle counters and the peak RSS.
 */
import { loadConfig, secretValues } from '../src/config.js';
import { setGlobalSecrets } from '../src/redact.js';
import { createLogger } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';
import { buildConnector } from '../src/connector.js';
import type { RunRecord } from '../src/core/index.js';
import { emitResult, peakRssMb } from './child-protocol.js';

export interface SyncChildResult {
  run: RunRecord;
  wallMs: number;
  rssBeforeMb: number;
  peakRssMb: number;
  counters: Record<string, number>;
}

async function counters(metrics: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    if (!['connector_api_calls_total', 'connector_throttled_total', 'connector_retries_total'].includes(m.name)) continue;
    for (const v of m.values as Array<{ labels: Record<string, string>; value: number }>) {
      const key = `${m.name.replace(/^connector_|_total$/g, '')}{${Object.entries(v.labels).map(([k, x]) => `${k}=${x}`).join(',')}}`;
      out[key] = v.value;
    }
  }
  return out;
}

async function main(): Promise<void> {
  const mode = process.env.BENCH_MODE === 'incremental' ? 'incremental' : 'full';
  const config = loadConfig(process.env);
  setGlobalSecrets(secretValues(config));
  const logger = createLogger({ stream: process.stderr, level: process.env.LOG_LEVEL ?? 'warn' });
  const metrics = createMetrics();
  const connector = await buildConnector(config, { logger, metrics });
  const rssBeforeMb = peakRssMb();
  const started = Date.now();
  const t = await connector.engine.trigger({ trigger: 'cli', mode, requestedBy: 'bench' });
  const run = await connector.engine.waitForRun(t.runId, 30 * 60_000);
  const wallMs = Date.now() - started;
  await connector.close();
  if (!run) throw new Error('the run record disappeared');
  const result: SyncChildResult = { run, wallMs, rssBeforeMb, peakRssMb: peakRssMb(), counters: await counters(metrics) };
  emitResult(result);
}

main().then(() => process.exit(0), (err) => { process.stderr.write(`sync-child: ${(err as Error)?.stack ?? err}\n`); process.exit(1); });
