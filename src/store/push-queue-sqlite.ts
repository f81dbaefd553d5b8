/**
 * The push queue on sqlite: two tables beside keyv's, in the same file. Every operation is one SQL statement (atomic
 * and durable when it returns: sqlite commits and syncs each statement), except enqueue, whose two statements are
 * ordered so that a crash between them loses nothing (see enqueue). The sqlite store serves one process, so an
 * in-process mutex is enough to serialise the duplicate check with the insert.
 */
import { MESSAGE_ID_TTL_MS, type PushEvent, type EnqueueResult, type PushQueue, type QueuedProduct, type QueueStats } from '../core/index.js';
import { coalesce } from './push-queue-common.js';

export type SqlQuery = (sql: string, ...params: unknown[]) => Promise<Array<Record<string, unknown>>>;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS push_queue (
    ns TEXT NOT NULL, product_no TEXT NOT NULL, product_id INTEGER, kind TEXT NOT NULL, seq INTEGER NOT NULL,
    first_at INTEGER NOT NULL, due_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT, lease_until INTEGER, claimed_seq INTEGER,
    PRIMARY KEY (ns, product_no))`,
  'CREATE INDEX IF NOT EXISTS push_queue_due ON push_queue (ns, due_at)',
  `CREATE TABLE IF NOT EXISTS push_messages (
    ns TEXT NOT NULL, message_id TEXT NOT NULL, at INTEGER NOT NULL, events TEXT, PRIMARY KEY (ns, message_id))`,
  // Remembering a message id queues its events in the same statement, so in the same transaction: one commit per
  // batch of messages, and no state where the id is remembered but its events are not (or the other way round).
  `CREATE TRIGGER IF NOT EXISTS push_messages_queue AFTER INSERT ON push_messages WHEN NEW.events IS NOT NULL BEGIN
    INSERT INTO push_queue (ns, product_no, product_id, kind, seq, first_at, due_at, attempts)
      SELECT NEW.ns, json_extract(value, '$.productNo'), json_extract(value, '$.productId'), json_extract(value, '$.kind'),
             (SELECT COALESCE(MAX(seq), 0) + 1 FROM push_queue WHERE ns = NEW.ns), NEW.at, NEW.at, 0
      FROM json_each(NEW.events) WHERE true
      ON CONFLICT (ns, product_no) DO UPDATE SET
        kind = CASE WHEN push_queue.kind = 'delete' OR excluded.kind = 'delete' THEN 'delete' ELSE 'upsert' END,
        product_id = COALESCE(excluded.product_id, push_queue.product_id),
        seq = excluded.seq,
        due_at = MIN(push_queue.due_at, excluded.due_at);
    UPDATE push_messages SET events = NULL WHERE rowid = NEW.rowid;
  END`,
];

interface Pending { messageId: string; events: PushEvent[]; now: number; resolve(r: EnqueueResult): void; reject(err: unknown): void }

/** messages per statement (4 parameters each, well under sqlite's limit of 32,766) */
const MAX_BATCH = 200;

/** how often old message ids are pruned */
const PRUNE_EVERY_MS = 10 * 60_000;

function row(r: Record<string, unknown>): QueuedProduct {
  return {
    productNo: String(r.product_no),
    ...(r.product_id === null || r.product_id === undefined ? {} : { productId: Number(r.product_id) }),
    kind: r.kind === 'delete' ? 'delete' : 'upsert',
    seq: Number(r.seq), firstAt: Number(r.first_at), attempts: Number(r.attempts),
  };
}

export class SqlitePushQueue implements PushQueue {
  private ready?: Promise<void>;
  private tail: Promise<unknown> = Promise.resolve();
  private lastPrune = 0;
  private readonly waiting: Pending[] = [];

  constructor(private readonly query: SqlQuery, private readonly ns: string, private readonly messageTtlMs = MESSAGE_ID_TTL_MS) {}

  private init(): Promise<void> {
    this.ready ??= (async () => { for (const s of SCHEMA) await this.query(s); })().catch((err) => { this.ready = undefined; throw err; });
    return this.ready;
  }

  /** Serialise within this process (the sqlite store's only process). */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(async () => { await this.init(); return work(); });
    this.tail = next.catch(() => undefined);
    return next;
  }

  /**
   * Group commit: deliveries that arrive while a write is in flight are written together in the next statement, so a
   * burst costs one disk sync per batch rather than one per message.
   */
  enqueue(messageId: string, events: readonly PushEvent[], now = Date.now()): Promise<EnqueueResult> {
    const list = coalesce(events);
    return new Promise((resolve, reject) => {
      this.waiting.push({ messageId, events: list, now, resolve, reject });
      if (this.waiting.length === 1) void this.exclusive(() => this.writeBatch());
    });
  }

  private async writeBatch(): Promise<void> {
    const batch = this.waiting.splice(0, MAX_BATCH);
    if (this.waiting.length) void this.exclusive(() => this.writeBatch());
    if (!batch.length) return;
    try {
      const values = batch.map(() => '(?, ?, ?, ?)').join(', ');
      const params = batch.flatMap((m) => [this.ns, m.messageId, m.now, JSON.stringify(m.events)]);
      const rows = await this.query(`INSERT INTO push_messages (ns, message_id, at, events) VALUES ${values} ON CONFLICT DO NOTHING RETURNING message_id`, ...params);
      const fresh = new Set(rows.map((r) => String(r.message_id)));
      for (const m of batch) {
        // the first of two deliveries of one message in the same batch is the one inserted
        const isNew = fresh.delete(m.messageId);
        m.resolve(isNew ? { duplicate: false, queued: m.events.length } : { duplicate: true, queued: 0 });
      }
    } catch (err) {
      for (const m of batch) m.reject(err);
      return;
    }
    const now = batch[batch.length - 1].now;
    if (now - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.query('DELETE FROM push_messages WHERE ns = ? AND at < ?', this.ns, now - this.messageTtlMs).catch(() => undefined);
    }
  }

  claim(owner: string, max: number, leaseMs: number, now = Date.now()): Promise<QueuedProduct[]> {
    return this.exclusive(async () => {
      const rows = await this.query(
        `UPDATE push_queue SET owner = ?1, lease_until = ?2, claimed_seq = seq
         WHERE ns = ?3 AND product_no IN (
           SELECT product_no FROM push_queue WHERE ns = ?3 AND due_at <= ?4 AND (owner IS NULL OR lease_until <= ?4)
           ORDER BY first_at, product_no LIMIT ?5)
         RETURNING product_no, product_id, kind, seq, first_at, attempts`,
        owner, now + leaseMs, this.ns, now, max,
      );
      return rows.map(row).sort((a, b) => a.firstAt - b.firstAt || (a.productNo < b.productNo ? -1 : 1));
    });
  }

  renew(owner: string, productNos: readonly string[], leaseMs: number, now = Date.now()): Promise<void> {
    return this.exclusive(async () => {
      await this.query('UPDATE push_queue SET lease_until = ? WHERE ns = ? AND owner = ? AND product_no IN (SELECT value FROM json_each(?))', now + leaseMs, this.ns, owner, JSON.stringify(productNos));
    });
  }

  ack(owner: string, productNos: readonly string[]): Promise<void> {
    return this.exclusive(async () => {
      const nos = JSON.stringify(productNos);
      await this.query('DELETE FROM push_queue WHERE ns = ? AND owner = ? AND seq = claimed_seq AND product_no IN (SELECT value FROM json_each(?))', this.ns, owner, nos);
      // What is left got a newer event during the run: it waits again, due now.
      await this.query('UPDATE push_queue SET owner = NULL, lease_until = NULL, claimed_seq = NULL, attempts = 0 WHERE ns = ? AND owner = ? AND product_no IN (SELECT value FROM json_each(?))', this.ns, owner, nos);
    });
  }

  release(owner: string, productNos: readonly string[], delayMs = 0, now = Date.now()): Promise<void> {
    return this.exclusive(async () => {
      await this.query(
        'UPDATE push_queue SET owner = NULL, lease_until = NULL, claimed_seq = NULL, attempts = attempts + 1, due_at = ? WHERE ns = ? AND owner = ? AND product_no IN (SELECT value FROM json_each(?))',
        now + delayMs, this.ns, owner, JSON.stringify(productNos),
      );
    });
  }

  releaseAll(): Promise<number> {
    return this.exclusive(async () => {
      const rows = await this.query('UPDATE push_queue SET owner = NULL, lease_until = NULL, claimed_seq = NULL WHERE ns = ? AND owner IS NOT NULL RETURNING product_no', this.ns);
      return rows.length;
    });
  }

  stats(now = Date.now()): Promise<QueueStats> {
    return this.exclusive(async () => {
      const [r] = await this.query(
        'SELECT SUM(CASE WHEN owner IS NULL OR lease_until <= ? THEN 1 ELSE 0 END) AS pending, SUM(CASE WHEN owner IS NOT NULL AND lease_until > ? THEN 1 ELSE 0 END) AS claimed, MIN(CASE WHEN owner IS NULL OR lease_until <= ? THEN due_at END) AS oldest FROM push_queue WHERE ns = ?',
        now, now, now, this.ns,
      );
      return { pending: Number(r?.pending ?? 0), claimed: Number(r?.claimed ?? 0), ...(r?.oldest == null ? {} : { oldestAt: Number(r.oldest) }) };
    });
  }
}
