/**
 * Fencing: a run whose lease expired while it was still writing (a long GC pause, a blocked event loop, a failover)
 * and was taken by another run must not change the ledger any more. Each lease carries a fencing token; every ledger
 * transition of the run checks it in the store (a guarded statement on sqlite, a Lua compare on Redis); a run whose
 * token is stale stops with SYNC_FENCE_STALE.
 *
 * The stall is made visible without waiting for it: the lease row is expired in the store (what the TTL does to a
 * stalled holder), and a second connection (another replica, another process) takes the lease. The heartbeat is far
 * off (30 s lease), so it is the fence, not the heartbeat, that stops the run.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { createStores } from '../src/store/index.js';
import type { Stores } from '../src/store/types.js';
import { SyncEngine, LOCK_NAME } from '../src/sync/engine.js';
import { LedgerWriter } from '../src/sync/writer.js';
import { createMetrics } from '../src/metrics.js';
import { silentLogger } from '../src/log.js';
import type { GroupTree, Mapping, OkkiProduct, ProductPage, ProductSink, ProductSource, SyncWindow } from '../src/core/index.js';

const groups: GroupTree = { name: () => undefined, level1: () => undefined, level2: () => undefined, path: () => [], size: 0 };
const products: OkkiProduct[] = Array.from({ length: 60 }, (_, i) => ({ product_id: i + 1, product_no: `F-${String(i + 1).padStart(3, '0')}`, name: `产品 ${i + 1}` }));

const source: ProductSource = {
  async groups() { return groups; },
  formatTime: (d: Date) => d.toISOString(),
  async *pages(_w: SyncWindow): AsyncIterable<ProductPage> {
    for (let i = 0; i < products.length; i += 10) yield { index: i / 10 + 1, items: products.slice(i, i + 10), rejected: [] };
  },
  async *byProductNos(): AsyncIterable<ProductPage> { /* not used */ },
};

const mapping: Mapping = {
  keyField: 'textField_no',
  referencedProductFields: () => new Set(['product_no', 'name']),
  map(p) { return { ok: true, productNo: p.product_no!, formData: { textField_no: p.product_no, textField_name: p.name }, hash: `h-${p.product_no}` }; },
};

/** Expire a lease row the way its TTL does for a holder that stalled (sqlite, through its own connection). */
function expireLease(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(path);
    db.run('UPDATE leases SET expires_at = 1 WHERE name = ?', [`okki-yida:lock:${LOCK_NAME}`], (err) => { db.close(); if (err) reject(err); else resolve(); });
  });
}

describe('fencing: a run whose lease passed to another run stops, and changes the ledger no more', function () {
  this.timeout(60_000);
  let dir: string;
  let stores: Stores;
  let other: Stores;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fencing-'));
    const path = join(dir, 's.sqlite');
    stores = await createStores({ url: `sqlite://${path}`, kind: 'sqlite', sqlitePath: path });
    other = await createStores({ url: `sqlite://${path}`, kind: 'sqlite', sqlitePath: path });
  });
  afterEach(async () => { await stores.close(); await other.close(); rmSync(dir, { recursive: true, force: true }); });

  it('the stale run ends failed SYNC_FENCE_STALE; after the takeover it starts no write and moves no ledger entry', async () => {
    const path = join(dir, 's.sqlite');
    const creates: Array<{ at: number; key?: string }> = [];
    let takenOverAt = Infinity;
    let ledgerAtTakeover: Record<string, unknown> = {};
    const snapshot = async () => Object.fromEntries(await Promise.all(products.map(async (p) => [p.product_no!, await stores.ledger.get(p.product_no!)] as const)));
    const sink: ProductSink = {
      async create(_data, opts) {
        creates.push({ at: Date.now(), key: opts?.key });
        if (creates.length === 12) {
          // The holder "stalls": its lease expires and another run takes it over while this create is in flight.
          await expireLease(path);
          const token = await other.lock.acquireToken(LOCK_NAME, 'run-on-another-replica', 60_000);
          expect(token, 'the other run took the lease').to.be.a('number');
          ledgerAtTakeover = await snapshot();
          takenOverAt = Date.now();
        }
        await new Promise((r) => setTimeout(r, 20));
        return `inst-${creates.length}`;
      },
      async update() { /* not used */ },
      async findByKey() { return []; },
    };
    const writer = new LedgerWriter({ ledger: stores.ledger, sink, keyField: mapping.keyField, searchLagMs: 0, reconcileDelayMs: -1 });
    const engine = new SyncEngine(
      { source, mapping, writer, stores, metrics: createMetrics(), logger: silentLogger },
      { lookbackSeconds: 1801, timezone: 'Asia/Shanghai', maxInFlight: 4, lockTtlMs: 30_000 },
    );
    try {
      const t = await engine.trigger({ trigger: 'cli' });
      const run = (await engine.waitForRun(t.runId, 30_000))!;
      expect(run.status).to.equal('failed');
      expect(run.error?.code, JSON.stringify(run.error)).to.equal('SYNC_FENCE_STALE');
      expect(creates.filter((c) => c.at > takenOverAt), 'creates started after the takeover').to.deep.equal([]);
      expect(await snapshot(), 'ledger entries changed by the stale run after the takeover').to.deep.equal(ledgerAtTakeover);
      expect(await stores.cursor.get(), 'the stale run did not move the cursor').to.equal(undefined);
      expect(await other.lock.holder(LOCK_NAME), 'the other run still holds the lease').to.equal('run-on-another-replica');
    } finally { await engine.shutdown(); }
  });
});
