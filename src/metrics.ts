/** Prometheus metrics (prom-client), one registry per service instance so tests can run several side by side. */
import { Registry, Counter, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  /** runs finished, by status */
  runs: Counter<'status' | 'trigger'>;
  /** products by outcome: created, updated, unchanged, rejected, failed */
  products: Counter<'outcome'>;
  /** outbound API calls by target (okki, yida, dingtalk_token, robot) and status (HTTP status or error code) */
  apiCalls: Counter<'target' | 'status'>;
  /** throttling answers received, by target */
  throttles: Counter<'target'>;
  /** retries performed, by target */
  retries: Counter<'target'>;
  runDuration: Histogram<'mode'>;
  running: Gauge;
  webhookRequests: Counter<'status'>;
  /** calls that cost quota: metered DingTalk calls, robot messages, OKKI requests (metering/meter.ts) */
  meteredCalls: Counter<'target'>;
  /** month-to-date usage as last read from the store (shared by replicas), by target */
  usageMonthToDate: Gauge<'target'>;
  /** monthly budget by target; 0 = unlimited */
  usageBudget: Gauge<'target'>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'connector_' });
  const r = [registry];
  return {
    registry,
    runs: new Counter({ name: 'connector_runs_total', help: 'Sync runs finished, by status', labelNames: ['status', 'trigger'], registers: r }),
    products: new Counter({ name: 'connector_products_total', help: 'Products processed, by outcome', labelNames: ['outcome'], registers: r }),
    apiCalls: new Counter({ name: 'connector_api_calls_total', help: 'Outbound API calls, by target and status', labelNames: ['target', 'status'], registers: r }),
    throttles: new Counter({ name: 'connector_throttled_total', help: 'Throttling answers received, by target', labelNames: ['target'], registers: r }),
    retries: new Counter({ name: 'connector_retries_total', help: 'Retries performed, by target', labelNames: ['target'], registers: r }),
    runDuration: new Histogram({ name: 'connector_run_duration_seconds', help: 'Run duration', labelNames: ['mode'], buckets: [0.5, 1, 5, 15, 60, 300, 900, 3600], registers: r }),
    running: new Gauge({ name: 'connector_run_in_progress', help: '1 while this instance runs a sync', registers: r }),
    webhookRequests: new Counter({ name: 'connector_webhook_requests_total', help: 'Webhook calls, by answer status', labelNames: ['status'], registers: r }),
    meteredCalls: new Counter({ name: 'connector_metered_calls_total', help: 'Calls that cost quota: dingtalk = metered DingTalk API calls (no token calls, no throttled refusals), robot = robot messages accepted, okki = OKKI requests', labelNames: ['target'], registers: r }),
    usageMonthToDate: new Gauge({ name: 'connector_usage_month_to_date', help: 'Month-to-date usage shared by all replicas (dingtalk calls, robot messages, okki calls)', labelNames: ['target'], registers: r }),
    usageBudget: new Gauge({ name: 'connector_usage_monthly_budget', help: 'Monthly budget (0 = unlimited)', labelNames: ['target'], registers: r }),
  };
}
