/** What the push queue's backends share: one entry per product number for a message's events. */
import type { PushEvent } from '../core/index.js';

/**
 * A message's events, one per product number, in first-seen order: `delete` wins over an upsert of the same product
 * (OKKI does not promise the order of its events), the last known product_id is kept.
 */
export function coalesce(events: readonly PushEvent[]): PushEvent[] {
  const byNo = new Map<string, PushEvent>();
  for (const e of events) {
    const cur = byNo.get(e.productNo);
    const kind = cur?.kind === 'delete' || e.kind === 'delete' ? 'delete' : 'upsert';
    const productId = e.productId ?? cur?.productId;
    byNo.set(e.productNo, { productNo: e.productNo, kind, ...(productId === undefined ? {} : { productId }) });
  }
  return [...byNo.values()];
}
