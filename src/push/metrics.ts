/** Push metrics, registered on the service's registry beside the others (`connector_push_*`). */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface PushMetrics {
  /** deliveries to POST /webhooks/okki by outcome: queued, duplicate, test, empty, unauthorized, malformed, too_large, queue_unavailable */
  deliveries: Counter<'outcome'>;
  /** product entries handed to runs, by how the run ended for them: done, retry, dropped */
  drained: Counter<'outcome'>;
  /** entries waiting in the queue (as last seen by this replica's drainer) */
  queued: Gauge;
}

const cache = new WeakMap<Registry, PushMetrics>();

/** One set per registry (the route and the drainer share it). */
export function pushMetrics(registry: Registry): PushMetrics {
  let m = cache.get(registry);
  if (!m) {
    const r = [registry];
    m = {
      deliveries: new Counter({ name: 'connector_push_deliveries_total', help: 'OKKI push deliveries, by outcome', labelNames: ['outcome'], registers: r }),
      drained: new Counter({ name: 'connector_push_products_total', help: 'Queued products handed to runs, by outcome', labelNames: ['outcome'], registers: r }),
      queued: new Gauge({ name: 'connector_push_queue_size', help: 'Products waiting in the push queue', registers: r }),
    };
    cache.set(registry, m);
  }
  return m;
}
