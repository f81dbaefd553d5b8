/**
 * SYNC_DELETIONS=mark end to end (process target): the mapping's onDelete entries are written into a gone product's
 * instance (deleted, or discontinued with SYNC_DISCONTINUED=gone); a product that comes back is written again with
 * its marks cleared (unless a request entry writes them); an audit does not count a marked instance as an orphan;
 * and `mark` without onDelete entries stops start-up.
 */
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FIELDS, liveEnv, robotText, startInProcess, startSims, tempDir, type InProcessService, type Sims } from './helpers/e2e.js';
import type { RunRecord } from '../src/core/index.js';

const STATUS = 'selectField_status';
const DELETED_AT = 'textField_deletedAt';

function markingMapping(path: string, onDelete?: unknown[]): string {
  const spec = JSON.parse(readFileSync(resolve(import.meta.dirname, '..', 'manifest', 'mapping.json'), 'utf8'));
  if (onDelete) spec.onDelete = onDelete;
  writeFileSync(path, JSON.stringify(spec));
  return path;
}

describe('mirror e2e (process target): SYNC_DELETIONS=mark, SYNC_DISCONTINUED=gone', function () {
  this.timeout(90_000);

  let sims: Sims;
  let svc: InProcessService;
  let tmp: ReturnType<typeof tempDir>;

  before(async () => {
    tmp = tempDir('mirror-mark-');
    sims = await startSims({ okki: { products: 20 } });
    const mapping = markingMapping(join(tmp.dir, 'mapping.json'), [
      { field: STATUS, label: '状态', value: '已停用' },
      { field: DELETED_AT, label: '停用时间', value: '{{CURRENT_TIME}}' },
    ]);
    svc = await startInProcess(sims, liveEnv(sims, {
      STORE_URL: `sqlite://${join(tmp.dir, 'store.sqlite')}`, MAPPING_FILE: mapping, SYNC_DELETIONS: 'mark', SYNC_DISCONTINUED: 'gone',
    }));
    expect((await run({})).status).to.equal('succeeded');
  });
  after(async () => { await svc?.close(); await sims?.close(); tmp?.remove(); });

  async function run(body: Record<string, unknown>): Promise<RunRecord> {
    const r = await svc.post({ ...body, wait: true });
    expect(r.status, r.text).to.equal(200);
    return r.json as RunRecord;
  }
  const instanceOf = (no: string) => sims.dt.instances().filter((i) => i.data[FIELDS.productNo] === no);
  const nos = () => [...sims.okki.catalog.all()].filter((p) => p.enable_flag !== 0).map((p) => p.product_no as string);
  let sweptNo = '';
  let discontinuedNo = '';

  it('a deleted and a discontinued product are marked: onDelete written, instance kept, once', async () => {
    const [deleted, discontinued] = nos();
    discontinuedNo = discontinued;
    sims.okki.catalog.delete([deleted], 'flag');
    sims.okki.catalog.discontinue([discontinued]);
    const r = await run({});
    expect(r.status, JSON.stringify(r.failures)).to.equal('succeeded');
    expect(r.counts.marked).to.equal(2);
    expect(r.counts.deleted).to.equal(0);
    for (const no of [deleted, discontinued]) {
      const [inst, ...more] = instanceOf(no);
      expect(more, no).to.have.length(0);
      expect(inst.data[STATUS], no).to.equal('已停用');
      expect(inst.data[DELETED_AT], no).to.match(/^\d{4}-\d{2}-\d{2}/);
      expect(await svc.connector.stores.ledger.get(no)).to.include({ state: 'done', gone: 'marked' });
    }
    expect(robotText(sims.dt.robotMessages().at(-1)?.body)).to.include('标记 **2**');
    const again = await run({ mode: 'full' });
    expect(again.counts.marked ?? 0).to.equal(0);
  });

  it('a marked product that comes back (on sale again) is written again with its marks cleared', async () => {
    const discontinued = discontinuedNo;
    sims.okki.catalog.discontinue([discontinued], false);
    const r = await run({});
    expect(r.counts.updated).to.equal(1);
    const [inst] = instanceOf(discontinued);
    expect(inst.data[STATUS]).to.equal('');
    expect(inst.data[DELETED_AT]).to.equal('');
    expect(await svc.connector.stores.ledger.get(discontinued)).to.not.have.property('gone');
  });

  it('a sweep marks a product removed from the list; an audit does not call a marked instance an orphan', async () => {
    const removed = nos()[2];
    sweptNo = removed;
    sims.okki.catalog.delete([removed], 'remove');
    const sweep = await run({ mode: 'sweep' });
    expect(sweep.counts.marked).to.equal(1);
    expect(instanceOf(removed)[0].data[STATUS]).to.equal('已停用');
    const audit = await run({ mode: 'audit' });
    // the flag-deleted one is listed as deleted, the removed one is not listed: both are marked on purpose
    for (const k of ['missing', 'duplicates', 'stale', 'orphans'] as const) expect(audit.audit![k], k).to.deep.equal({ count: 0, product_nos: [] });
  });

  it('a product restored in OKKI after the sweep marked it is synced again into the same instance, marks cleared', async () => {
    const removed = sweptNo;
    const [before] = instanceOf(removed);
    expect(sims.okki.catalog.restore([removed])).to.deep.equal([removed]);
    const r = await run({});
    expect(r.counts).to.include({ updated: 1, created: 0 });
    const [inst, ...more] = instanceOf(removed);
    expect(more).to.have.length(0);
    expect(inst.processInstanceId).to.equal(before.processInstanceId);
    expect(inst.data[STATUS]).to.equal('');
  });

  it('SYNC_DELETIONS=mark with a mapping without onDelete stops start-up, naming the variable', async () => {
    const mapping = markingMapping(join(tmp.dir, 'plain.json'));
    let err: unknown;
    try {
      const s = await startInProcess(sims, liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 'other.sqlite')}`, MAPPING_FILE: mapping, SYNC_DELETIONS: 'mark' }));
      await s.close();
    } catch (e) { err = e; }
    expect(err).to.be.instanceOf(Error);
    expect((err as { code?: string }).code).to.equal('CONFIG_INVALID');
    expect(String(err)).to.include('SYNC_DELETIONS').and.include('onDelete');
  });
});
