/**
 * The drainer's decisions against a real sqlite queue and a scripted engine (FakeSyncService): what a run is triggered
 * with, what is acknowledged and what is handed back after the run (failed run, failed writes, rejections), waiting
 * out a run it joined, dropping after the last retry, and draining at start what an earlier process queued.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStores } from '../src/store/index.js';
import type { Stores } from '../src/store/types.js';
import type { PushEvent } from '../src/core/index.js';
import { createLogger } from '../src/log.js';
import { PushDrainer } from '../src/push/drainer.js';
import { FakeSyncService } from './helpers/fake-service.js';
import { eventually } from './helpers/e2e.js';

const logger = createLogger({ level: 'silent' });
const up = (productNo: string): PushEvent => ({ productNo, kind: 'upsert' });
const del = (productNo: string): PushEvent => ({ productNo, kind: 'delete' });

describe('push drainer', function () {
  this.timeout(30_000);
  const dir = mkdtempSync(join(tmpdir(), 'push-drainer-'));
  let stores: Stores;
  let service: FakeSyncService;
  let drainer: PushDrainer | undefined;
  let n = 0;

  beforeEach(async () => {
    const p = join(dir, `d${++n}.sqlite`);
    stores = await createStores({ url: `sqlite://${p}`, kind: 'sqlite', sqlitePath: p });
    service = new FakeSyncService();
  });
  afterEach(async () => {
    await drainer?.stop();
    drainer = undefined;
    service.dispose();
    await stores.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const make = (opts: Partial<ConstructorParameters<typeof PushDrainer>[1]> = {}) =>
    (drainer = new PushDrainer({ queue: stores.pushQueue, service, logger }, { debounceMs: 20, pollMs: 100, retryDelaysMs: [50, 100], ...opts }));
  const pending = async () => { const s = await stores.pushQueue.stats(); return s.pending + s.claimed; };

  it('drains at start what was queued before; upserts and deletes as two target lists; acknowledged after the run', async () => {
    await stores.pushQueue.enqueue('m1', [up('P-1'), up('P-2'), del('P-3')]);
    const d = make();
    await d.start();
    await eventually('a trigger', () => service.triggers[0]);
    expect(service.triggers[0]).to.deep.include({ trigger: 'push', productNos: ['P-1', 'P-2'], deletedProductNos: ['P-3'], requestedBy: 'OKKI push' });
    expect(await pending(), 'still queued while the run lives').to.equal(3);
    service.finish([...service.runs.keys()][0]);
    await eventually('the queue empty', async () => ((await pending()) === 0 ? true : undefined));
    expect(service.triggers).to.have.length(1);
  });

  it('a burst becomes one run after the debounce; at most maxPerRun products per run', async () => {
    service = new FakeSyncService({ autoFinish: 'succeeded' });
    const d = drainer = new PushDrainer({ queue: stores.pushQueue, service, logger }, { debounceMs: 150, maxPerRun: 3, pollMs: 10_000 });
    await d.start();
    for (let i = 1; i <= 7; i++) { await stores.pushQueue.enqueue(`m${i}`, [up(`P-${i}`)]); d.notify(); }
    await eventually('the queue empty', async () => ((await pending()) === 0 ? true : undefined));
    expect(service.triggers.map((t) => t.productNos)).to.deep.equal([['P-1', 'P-2', 'P-3'], ['P-4', 'P-5', 'P-6'], ['P-7']]);
  });

  it('a failed run hands every product back; retried after the delay; dropped after the last retry', async () => {
    service = new FakeSyncService({ autoFinish: 'failed' });
    drainer = new PushDrainer({ queue: stores.pushQueue, service, logger }, { debounceMs: 0, pollMs: 30, retryDelaysMs: [50, 100] });
    await stores.pushQueue.enqueue('m1', [up('P-1')]);
    await drainer.start();
    await eventually('three attempts, then the queue empty', async () => (service.triggers.length >= 3 && (await pending()) === 0 ? true : undefined), 10_000, 20);
    await new Promise((r) => setTimeout(r, 300));
    expect(service.triggers).to.have.length(3); // first try + 2 retries, then dropped (the poll is the backstop)
  });

  it('after a partial run only write failures are retried; rejections and gone products are acknowledged', async () => {
    drainer = make();
    await stores.pushQueue.enqueue('m1', [up('P-1'), up('P-2'), up('P-3'), up('P-4')]);
    await drainer.start();
    await eventually('a trigger', () => service.triggers[0]);
    service.finish([...service.runs.keys()][0], {
      status: 'partial',
      failures: [
        { product_no: 'P-1', code: 'YIDA_THROTTLED', reason: 'still throttled' },
        { product_no: 'P-2', code: 'MAPPING_REJECTED', reason: 'name empty' },
      ],
    });
    await eventually('a second run for P-1 only', () => service.triggers[1]);
    expect(service.triggers[1].productNos).to.deep.equal(['P-1']);
    service.finish([...service.runs.keys()][1]);
    await eventually('the queue empty', async () => ((await pending()) === 0 ? true : undefined));
  });

  it('a trigger that joined a run in progress waits for it, then starts its own run', async () => {
    const first = await service.trigger({ trigger: 'schedule' }); // someone else's run holds the engine
    drainer = make();
    await stores.pushQueue.enqueue('m1', [up('P-9')]);
    await drainer.start();
    await eventually('the push trigger (joined)', () => service.triggers[1]);
    await new Promise((r) => setTimeout(r, 100));
    expect(await pending(), 'not acknowledged by the other run').to.equal(1);
    service.finish(first.runId);
    await eventually('its own run', () => service.triggers[2]);
    expect(service.triggers[2].productNos).to.deep.equal(['P-9']);
    service.finish([...service.runs.keys()].at(-1)!);
    await eventually('the queue empty', async () => ((await pending()) === 0 ? true : undefined));
  });

  it('an event for a product whose run is in progress is kept for the next run', async () => {
    drainer = make();
    await stores.pushQueue.enqueue('m1', [up('P-1')]);
    await drainer.start();
    await eventually('a trigger', () => service.triggers[0]);
    await stores.pushQueue.enqueue('m2', [up('P-1')]); // changed again while its run reads it
    drainer.notify();
    service.finish([...service.runs.keys()][0]);
    await eventually('a second run for P-1', () => service.triggers[1]);
    expect(service.triggers[1].productNos).to.deep.equal(['P-1']);
    service.finish([...service.runs.keys()][1]);
    await eventually('the queue empty', async () => ((await pending()) === 0 ? true : undefined));
  });
});
