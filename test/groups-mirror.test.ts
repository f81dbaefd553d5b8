/**
 * The groups mirror end to end, over real sockets: the composition root with the real @alicloud/dingtalk SDK against
 * the DingTalk simulator (the group form is a plain form of the app, the products go to the process form), the real
 * OKKI client against the OKKI simulator, the real Koa app. Scenarios run in order on one catalogue, as a day goes:
 * the first run, nothing changed, a group renamed, dirty group data, a group deleted, a short group list, too many
 * deletions at once.
 */
import { expect } from 'chai';
import { FIELDS, robotText, tempDir, type InProcessService, type Sims } from './helpers/e2e.js';
import type { OkkiGroup } from '../src/sandbox/okki/index.js';
import { G, formWrites, groupRecords, productRecords, recordsById, runNow, startGroupsService, type Target } from './helpers/groups-e2e.js';

for (const target of ['process', 'form'] as Target[]) describe(`groups mirror e2e (products on the ${target} target): groups into their own form, renames into products`, function () {
  this.timeout(60_000);
  let sims: Sims;
  let svc: InProcessService;
  let tmp: ReturnType<typeof tempDir>;

  before(async () => {
    tmp = tempDir('groups-e2e-');
    ({ sims, svc } = await startGroupsService(tmp, { SYNC_DELETIONS: 'delete', SYNC_DELETE_MAX: '3' }, target));
  });
  after(async () => {
    await svc?.close();
    await sims?.close();
    tmp?.remove();
  });

  const okkiGroups = () => sims.okki.catalog.groups;
  const setGroups = (fn: (gs: OkkiGroup[]) => OkkiGroup[]) => sims.okki.catalog.setGroups(fn(okkiGroups().map((g) => ({ ...g }))));
  const lastRobotText = () => robotText(sims.dt.robotMessages().at(-1)?.body);

  it('the first run writes one record per group: id, name, parent name, layer and path from the root', async () => {
    const run = await runNow(svc);
    expect(run.status, JSON.stringify(run)).to.equal('succeeded');
    expect(run.groups).to.deep.include({ listed: 12, created: 12, updated: 0, unchanged: 0, rejected: 0, failed: 0 });
    const byId = recordsById(sims);
    expect(byId.size).to.equal(12);
    const groups = new Map(okkiGroups().map((g) => [g.id, g]));
    for (const g of okkiGroups()) {
      const recs = byId.get(String(g.id))!;
      expect(recs, `group ${g.id}`).to.have.length(1);
      const parent = groups.get(g.parent_id);
      expect(recs[0]).to.deep.include({ [G.name]: g.name, [G.layer]: g.layer, [G.path]: parent ? `${parent.name} / ${g.name}` : g.name });
      if (parent) expect(recs[0][G.parent]).to.equal(parent.name);
      else expect(recs[0]).to.not.have.property(G.parent); // empty fields are left out of a new record
    }
    expect(lastRobotText()).to.include('分组').and.include('新增 **12**');
  });

  it('a second run writes no group (and no form call at all)', async () => {
    const before = formWrites(sims);
    const run = await runNow(svc);
    expect(run.groups).to.deep.include({ created: 0, updated: 0, unchanged: 12 });
    expect(run.groups!.renamed).to.equal(undefined);
    expect(formWrites(sims)).to.equal(before);
  });

  it('a renamed group updates its record, its sub-groups\' records, and the products in them, although no product changed', async () => {
    const root = okkiGroups().find((g) => g.parent_id === 0 && okkiGroups().some((c) => c.parent_id === g.id))!;
    const affected = new Set([root.id, ...okkiGroups().filter((c) => c.parent_id === root.id).map((c) => c.id)]);
    const products = [...sims.okki.catalog.all()];
    const inAffected = products.filter((p) => affected.has(p.group_id)).map((p) => p.product_no);
    expect(inAffected.length, 'the seeded catalogue has products under this root').to.be.greaterThan(0);
    const updateTimes = new Map(products.map((p) => [p.product_no, p.update_time]));
    setGroups((gs) => gs.map((g) => (g.id === root.id ? { ...g, name: `${g.name}（新）` } : g)));

    const run = await runNow(svc);
    expect(run.status, JSON.stringify(run.failures)).to.equal('succeeded');
    expect(run.groups).to.deep.include({ updated: affected.size, unchanged: 12 - affected.size });
    expect(run.groups!.renamed).to.deep.include({ groups: affected.size, productsRead: inAffected.length });
    expect(run.counts.updated).to.equal(inAffected.length);
    expect(run.counts.created).to.equal(0);
    for (const p of sims.okki.catalog.all()) expect(p.update_time, 'OKKI products did not change').to.equal(updateTimes.get(p.product_no));
    const records = productRecords(sims, target);
    expect(records).to.have.length(products.length);
    for (const data of records) {
      const no = String(data[FIELDS.productNo]);
      if (inAffected.includes(no)) expect(data[FIELDS.level1], no).to.equal(`${root.name}（新）`);
      else expect(String(data[FIELDS.level1]), no).to.not.include('（新）');
    }
    const rec = recordsById(sims).get(String(root.id))![0];
    expect(rec[G.name]).to.equal(`${root.name}（新）`);
    for (const c of okkiGroups().filter((x) => x.parent_id === root.id)) {
      expect(recordsById(sims).get(String(c.id))![0]).to.include({ [G.parent]: `${root.name}（新）`, [G.path]: `${root.name}（新） / ${c.name}` });
    }
    expect(lastRobotText()).to.include('改名的分组');

    // Kept: the next run reads nothing again and writes nothing.
    const next = await runNow(svc);
    expect(next.counts.updated).to.equal(0);
    expect(next.groups).to.deep.include({ updated: 0, unchanged: 12 });
    expect(next.groups!.renamed).to.equal(undefined);
  });

  it('an empty group name and a name repeated among siblings are reported with their codes, never written', async () => {
    const children = okkiGroups().filter((g) => g.parent_id !== 0);
    const [a, b] = children.filter((g) => g.parent_id === children[0].parent_id);
    expect(b, 'two siblings').to.exist;
    const empty = okkiGroups().find((g) => g.parent_id === 0)!;
    const before = recordsById(sims);
    setGroups((gs) => gs.map((g) => (g.id === b.id ? { ...g, name: ` ${a.name} ` } : g.id === empty.id ? { ...g, name: '  ' } : g)));

    const run = await runNow(svc);
    expect(run.status).to.equal('partial');
    expect(run.groups!.rejected).to.equal(3);
    const byGroup = new Map(run.failures.filter((f) => f.group_id !== undefined).map((f) => [f.group_id, f]));
    expect(byGroup.get(empty.id)).to.include({ code: 'GROUP_NAME_EMPTY', product_no: null });
    expect(byGroup.get(a.id)).to.include({ code: 'GROUP_NAME_DUPLICATE' });
    expect(byGroup.get(b.id)!.reason).to.include(a.name).and.include(String(a.id));
    // Their records keep what they held: nothing dirty was written.
    const after = recordsById(sims);
    for (const id of [a.id, b.id, empty.id]) expect(after.get(String(id)), `group ${id}`).to.deep.equal(before.get(String(id)));
    const text = lastRobotText();
    expect(text).to.include(`分组 ${b.id}`).and.include('GROUP\\_NAME\\_DUPLICATE').and.include('GROUP\\_NAME\\_EMPTY');

    // Fixed in OKKI: written on the next run.
    setGroups((gs) => gs.map((g) => (g.id === b.id ? { ...g, name: `${a.name}二` } : g.id === empty.id ? { ...g, name: '恢复' } : g)));
    const fixed = await runNow(svc);
    expect(fixed.status, JSON.stringify(fixed.failures)).to.equal('succeeded');
    expect(recordsById(sims).get(String(b.id))![0][G.name]).to.equal(`${a.name}二`);
    expect(recordsById(sims).get(String(empty.id))![0][G.name]).to.equal('恢复');
  });

  it('a group gone from OKKI\'s list has its record deleted (SYNC_DELETIONS=delete), once', async () => {
    const leaf = okkiGroups().find((g) => g.parent_id !== 0)!;
    setGroups((gs) => gs.filter((g) => g.id !== leaf.id));
    const run = await runNow(svc);
    expect(run.groups!.gone).to.deep.include({ found: 1, group_ids: [leaf.id], deleted: 1, marked: 0, kept: 0 });
    expect(recordsById(sims).has(String(leaf.id))).to.equal(false);
    expect(recordsById(sims).size).to.equal(11);
    expect(await svc.connector.stores.groupLedger.get(String(leaf.id))).to.equal(undefined);
    expect(lastRobotText()).to.include('已删除的分组');
    const next = await runNow(svc);
    expect(next.groups!.gone).to.equal(undefined);
  });

  it('a short group list deletes nothing: OKKI, asked by id, still has the missing groups', async () => {
    sims.okki.setKnobs({ groupListFraction: 0.8 }); // 11 groups → 9 listed
    try {
      const before = groupRecords(sims).length;
      const run = await runNow(svc);
      expect(run.groups!.gone).to.deep.include({ found: 2, deleted: 0, stillInOkki: 2 });
      expect(groupRecords(sims).length).to.equal(before);
    } finally { sims.okki.setKnobs({ groupListFraction: 1 }); }
  });

  it('more gone groups than SYNC_DELETE_MAX: none is deleted, the run is partial with DELETE_GUARD, the report says how to confirm', async () => {
    const before = groupRecords(sims).length;
    const gone = okkiGroups().filter((g) => g.parent_id !== 0).slice(0, 4).map((g) => g.id);
    setGroups((gs) => gs.filter((g) => !gone.includes(g.id)));
    const run = await runNow(svc);
    expect(run.status).to.equal('partial');
    expect(run.groups!.gone).to.deep.include({ found: 4, deleted: 0, guarded: { count: 4, max: 3, confirm: '{"mode":"sweep","confirmDeletes":true}' } });
    expect(run.failures.find((f) => f.code === 'DELETE_GUARD')!.reason).to.include('SYNC_DELETE_MAX (3)');
    expect(groupRecords(sims).length).to.equal(before);
    expect(lastRobotText()).to.include('删除保护');
  });
});
