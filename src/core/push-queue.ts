/**
 * The push queue port: OKKI product events kept in the store (sqlite or Redis) from the moment they are acknowledged
 * until the run that carried them finished. Implemented by `store/push-queue-*.ts`; filled by `POST /webhooks/okki`,
 * emptied by the drainer (`push/drainer.ts`).
 *
 * The queue holds one entry per product number, not one per event: a burst of edits to one product is one entry (the
 * run reads the product's current state from OKKI anyway). Every event gives its entry a new `seq`; a claimed entry
 * that received a newer event while its run was in progress is not removed on ack but handed back, because that run
 * may have read the product before the change.
 *
 * `delete` sticks while an entry waits: an update delivered after a delete (OKKI does not promise order) cannot turn a
 * deleted product back into an upsert. The run asks OKKI either way; a product OKKI still has is synced as usual.
 */
export type PushKind = 'upsert' | 'delete';

/** One product event as queued: what changed, not how (the run reads the product from OKKI). */
export interface PushEvent {
  productNo: string;
  productId?: number;
  kind: PushKind;
}

export interface QueuedProduct {
  productNo: string;
  productId?: number;
  kind: PushKind;
  /** order of the latest event for it (monotonic per store) */
  seq: number;
  /** epoch ms the entry was first queued (latency figures, oldest-first draining) */
  firstAt: number;
  /** how many runs already tried it and handed it back */
  attempts: number;
}

export interface EnqueueResult {
  /** the message id was seen before: nothing was queued */
  duplicate: boolean;
  /** product entries created or refreshed */
  queued: number;
}

export interface QueueStats {
  /** entries waiting for a run */
  pending: number;
  /** entries claimed by a run in progress */
  claimed: number;
  /** epoch ms since which the longest-waiting entry has been due, when one waits */
  oldestAt?: number;
}

export interface PushQueue {
  /**
   * Queue a message's events, durably, unless its message id was queued before. Atomic against a crash and against
   * concurrent deliveries: either the events are queued and the id remembered, or a retry of the message queues them.
   */
  enqueue(messageId: string, events: readonly PushEvent[], now?: number): Promise<EnqueueResult>;
  /**
   * Take up to `max` entries no one holds (oldest first, skipping those not due yet) for `leaseMs`. Atomic: two
   * replicas never hold one entry. Returns [] when nothing is due.
   */
  claim(owner: string, max: number, leaseMs: number, now?: number): Promise<QueuedProduct[]>;
  /** keep holding the owner's entries */
  renew(owner: string, productNos: readonly string[], leaseMs: number, now?: number): Promise<void>;
  /** the run finished these: remove each unless a newer event arrived meanwhile (then it waits again) */
  ack(owner: string, productNos: readonly string[]): Promise<void>;
  /** hand entries back (the run failed): due again after `delayMs`, with one more attempt counted */
  release(owner: string, productNos: readonly string[], delayMs?: number, now?: number): Promise<void>;
  /** hand back every entry whose holder is gone (sqlite at start-up: the store is single-process) */
  releaseAll?(): Promise<number>;
  stats(now?: number): Promise<QueueStats>;
}

/** How long a message id is remembered against OKKI's retries (10 s, 30 s, 60 s) and replays: a day. */
export const MESSAGE_ID_TTL_MS = 24 * 3600_000;
