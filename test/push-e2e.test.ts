/**
 * OKKI push end to end over real sockets: the OKKI simulator's emitter signs, encrypts and POSTs product events to the
 * connector's POST /webhooks/okki (the real composition root, real SDK against the DingTalk simulator), which queues
 * them in the store and drains them into targeted runs. Nothing is triggered by hand after the first backfill.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import {
  startSims, startInProcess, liveEnv, tempDir, eventually, instancesByProductNo, robotText, FIELDS, type Sims, type InProcessService,
} from './helpers/e2e.js';
import { newSecurityConfig } from './helpers/okki-push.js';
import type { RunRecord } from '../src/core/index.js';

async function runs(svc: InProcessService): Promise<RunRecord[]> {
  return (await svc.get('/runs?limit=100')).json as RunRecord[];
}
const pushRuns = async (svc: InProcessService) => (await runs(svc)).filter((r) => r.trigger === 'push');
const nameInYida = (sims: Sims, productNo: string) => sims.dt.instances().find((i) => i.data[FIELDS.productNo] === productNo)?.data[FIELDS.name];
/** The push runs once the queue is empty and the drainer idle (an entry changed during its run gets a run of its own). */
const settledPushRuns = async (svc: InProcessService) => {
  const push = svc.connector.push!;
  const s = await push.queue.stats();
  if (s.pending + s.claimed > 0) return undefined;
  await push.drainer.idle();
  const list = await pushRuns(svc);
  return list.some((r) => r.status === 'running') ? undefined : list;
};

describe('OKKI push end to end (the simulator pushes to the service)', function () {
  this.timeout(120_000);
  let sims: Sims;
  let svc: InProcessService;
  let tmp: ReturnType<typeof tempDir>;
  const secret = newSecurityConfig();

  before(async () => {
    sims = await startSims();
    tmp = tempDir('push-e2e-');
    svc = await startInProcess(sims, liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 's.sqlite')}`, OKKI_WEBHOOK_SECRET: secret, PUSH_DEBOUNCE_MS: '150' }));
    // what `npm run okki:subscribe` sets up at OKKI; retries shortened from 10/30/60 s
    sims.okki.push.configure({ callbackUrl: `${svc.url}/webhooks/okki`, securityConfig: secret });
    sims.okki.setKnobs({ push: { retryDelaysMs: [200, 400, 800] } });
    const first = await svc.post({ mode: 'full', wait: true });
    expect(first.json.status).to.equal('succeeded');
  });
  after(async () => {
    await svc?.close();
    await sims?.close();
    tmp?.remove();
  });
  beforeEach(async () => {
    await eventually('a quiet push queue', () => settledPushRuns(svc));
    sims.okki.push.clearDeliveries();
  });

  it('an edit in OKKI reaches the Yida instance through one targeted push run', async () => {
    const no = [...sims.okki.catalog.all()][3].product_no as string;
    const before = (await pushRuns(svc)).length;
    sims.okki.catalog.edit(no, { name: '推送改名 A' });
    await eventually('the new name in Yida', () => (nameInYida(sims, no) === '推送改名 A' ? true : undefined), 20_000, 50);
    await sims.okki.push.settled();
    expect(sims.okki.push.deliveries.map((d) => d.state)).to.deep.equal(['delivered']);
    const list = await eventually('the push run to finish', () => settledPushRuns(svc));
    expect(list.length).to.equal(before + 1);
    expect(list[0]).to.include({ mode: 'targeted', status: 'succeeded', requestedBy: 'OKKI push' });
    expect(list[0].productNos).to.deep.equal([no]);
    expect(list[0].counts).to.include({ fetched: 1, updated: 1 });
    expect(instancesByProductNo(sims.dt).get(no)).to.equal(1);
  });

  it('a product created in OKKI gets its one instance', async () => {
    sims.okki.catalog.upsert([{ product_no: 'PUSH-NEW-1', name: '推送新品', group_id: sims.okki.catalog.groups[0].id }]);
    await eventually('the new product in Yida', () => (nameInYida(sims, 'PUSH-NEW-1') === '推送新品' ? true : undefined), 20_000, 50);
    expect(instancesByProductNo(sims.dt).get('PUSH-NEW-1')).to.equal(1);
  });

  it('a burst of edits to a few products is coalesced: each product written once per run, the last value wins', async () => {
    const nos = [...sims.okki.catalog.all()].slice(5, 10).map((p) => p.product_no as string);
    const before = (await pushRuns(svc)).length;
    const writesBefore = sims.dt.requests({ api: 'yida.updateInstance' }).length;
    for (let round = 1; round <= 4; round++) for (const no of nos) sims.okki.catalog.edit(no, { name: `连改 ${round}` });
    await sims.okki.push.settled();
    expect(sims.okki.push.deliveries).to.have.length(20);
    await eventually('every product at its last value', () => (nos.every((no) => nameInYida(sims, no) === '连改 4') ? true : undefined), 20_000, 50);
    const list = await eventually('push runs to finish', () => settledPushRuns(svc));
    const newRuns = list.length - before;
    const writes = sims.dt.requests({ api: 'yida.updateInstance' }).length - writesBefore;
    // 20 events: far fewer runs than events, and never more writes than runs × products
    expect(newRuns).to.be.within(1, 4);
    expect(writes).to.be.at.most(newRuns * nos.length);
    for (const no of nos) expect(instancesByProductNo(sims.dt).get(no)).to.equal(1);
  });

  it('duplicate deliveries of one message start nothing new', async () => {
    const no = [...sims.okki.catalog.all()][12].product_no as string;
    sims.okki.setKnobs({ push: { duplicateRate: 1 } });
    try {
      const before = (await pushRuns(svc)).length;
      sims.okki.catalog.edit(no, { name: '重复投递' });
      await sims.okki.push.settled();
      const ds = sims.okki.push.deliveries;
      expect(ds).to.have.length(2);
      expect(ds[0].message_id).to.equal(ds[1].message_id);
      expect(ds.every((d) => d.state === 'delivered')).to.equal(true);
      await eventually('the name in Yida', () => (nameInYida(sims, no) === '重复投递' ? true : undefined), 20_000, 50);
      const list = await eventually('push runs to finish', () => settledPushRuns(svc));
      await new Promise((r) => setTimeout(r, 600)); // a second run would start after the debounce
      expect((await pushRuns(svc)).length).to.equal(before + 1);
      expect(list[0].counts.updated).to.equal(1);
    } finally {
      sims.okki.setKnobs({ push: { duplicateRate: 0 } });
    }
  });

  it('a product deleted in OKKI is gone (not a rejection); with SYNC_DELETIONS unset its instance stays, quietly', async () => {
    const no = [...sims.okki.catalog.all()][16].product_no as string;
    const robotBefore = sims.dt.robotMessages().length;
    const writesBefore = sims.dt.requests().length;
    expect(sims.okki.catalog.delete([no])).to.deep.equal([no]);
    await sims.okki.push.settled();
    expect(sims.okki.push.deliveries.map((d) => [d.biz[0].biz_type, d.state])).to.deep.equal([['xiaoman.crm.product.delete', 'delivered']]);
    const list = await eventually('the push run', async () => { const l = await settledPushRuns(svc); return l && l[0]?.deletedProductNos?.[0] === no ? l : undefined; });
    expect(list[0]).to.include({ status: 'succeeded', mode: 'targeted' });
    expect(list[0].gone?.found).to.deep.equal({ count: 1, product_nos: [no] });
    expect(list[0].gone).to.include({ kept: 1, deleted: 0, marked: 0 });
    expect(list[0].counts).to.include({ rejected: 0, created: 0, updated: 0 });
    expect(instancesByProductNo(sims.dt).get(no)).to.equal(1);
    expect(sims.dt.requests().slice(writesBefore).filter((r) => /yida\.(start|update|delete)/.test(r.api ?? ''))).to.deep.equal([]);
    expect(sims.dt.robotMessages().length).to.equal(robotBefore);
  });

  it('out of order: an update delivered after the delete of the same product writes nothing and re-creates nothing', async () => {
    const no = [...sims.okki.catalog.all()][17].product_no as string;
    sims.okki.setKnobs({ push: { holdMs: 100, order: 'reverse' } });
    try {
      const writesBefore = sims.dt.requests().length;
      sims.okki.catalog.edit(no, { name: '删前改名' });
      sims.okki.catalog.delete([no]);
      await sims.okki.push.settled();
      expect(sims.okki.push.deliveries.map((d) => d.biz[0].biz_type)).to.deep.equal(['xiaoman.crm.product.delete', 'xiaoman.crm.product.update']);
      const list = await eventually('the push runs', async () => { const l = await settledPushRuns(svc); return l && (l[0]?.gone?.found.product_nos ?? []).includes(no) ? l : undefined; });
      expect(list[0].counts).to.include({ rejected: 0, created: 0, updated: 0 });
      expect(sims.dt.requests().slice(writesBefore).filter((r) => /yida\.(start|update)/.test(r.api ?? ''))).to.deep.equal([]);
      expect(instancesByProductNo(sims.dt).get(no)).to.equal(1);
      expect(nameInYida(sims, no)).not.to.equal('删前改名');
    } finally {
      sims.okki.setKnobs({ push: { holdMs: 0, order: 'inOrder' } });
    }
  });

  it('a push run that changed nothing sends no robot message; one that changed something does', async () => {
    const no = [...sims.okki.catalog.all()][14].product_no as string;
    const robotBefore = sims.dt.robotMessages().length;
    sims.okki.push.emit('update', [no]); // an event without a change in what the mapping reads
    await sims.okki.push.settled();
    const list = await eventually('the push run', async () => { const l = await settledPushRuns(svc); return l && l[0]?.productNos?.[0] === no ? l : undefined; });
    expect(list[0].counts).to.include({ unchanged: 1, updated: 0, created: 0 });
    expect(sims.dt.robotMessages().length).to.equal(robotBefore);
    sims.okki.catalog.edit(no, { name: '有变化' });
    await eventually('a robot message for the change', () => (sims.dt.robotMessages().length > robotBefore ? true : undefined), 20_000, 50);
    expect(robotText(sims.dt.robotMessages().at(-1)!.body)).to.include('OKKI 推送');
  });
});

describe('OKKI push end to end with SYNC_DELETIONS=delete', function () {
  this.timeout(120_000);
  let sims: Sims;
  let svc: InProcessService;
  let tmp: ReturnType<typeof tempDir>;
  const secret = newSecurityConfig();

  before(async () => {
    sims = await startSims();
    tmp = tempDir('push-e2e-del-');
    svc = await startInProcess(sims, liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 's.sqlite')}`, OKKI_WEBHOOK_SECRET: secret, PUSH_DEBOUNCE_MS: '150', SYNC_DELETIONS: 'delete' }));
    sims.okki.push.configure({ callbackUrl: `${svc.url}/webhooks/okki`, securityConfig: secret });
    const first = await svc.post({ mode: 'full', wait: true });
    expect(first.json.status).to.equal('succeeded');
  });
  after(async () => {
    await svc?.close();
    await sims?.close();
    tmp?.remove();
  });

  it('a product deleted in OKKI loses its Yida instance; restored, it gets a new one', async () => {
    const no = [...sims.okki.catalog.all()][2].product_no as string;
    expect(instancesByProductNo(sims.dt).get(no)).to.equal(1);
    sims.okki.catalog.delete([no]);
    await eventually('the instance removed', () => (instancesByProductNo(sims.dt).has(no) ? undefined : true), 20_000, 50);
    const list = await eventually('the push run', () => settledPushRuns(svc));
    expect(list[0].gone).to.include({ deleted: 1 });
    expect(list[0].counts.deleted).to.equal(1);
    sims.okki.catalog.restore([no]);
    await eventually('a new instance', () => (instancesByProductNo(sims.dt).get(no) === 1 ? true : undefined), 20_000, 50);
  });
});
