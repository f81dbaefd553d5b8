/**
 * The groups mirror under failures and in every deletion mode, over real sockets (real SDK, both simulators):
 * exactly one record per group when saveFormData commits and answers 500, records already in the form adopted,
 * SYNC_DELETIONS=mark (marks written once, cleared when the group comes back) and off, a guarded deletion confirmed
 * by a sweep, and an audit that reports planted drift exactly and, after repair, nothing.
 */
import { expect } from 'chai';
import { tempDir, robotText, type InProcessService, type Sims } from './helpers/e2e.js';
import {
  G, GROUP_FORM, groupRecords, mappingWithGroupMarks, recordsById, runNow, savedRecords, setGroups, startGroupsService,
} from './helpers/groups-e2e.js';

describe('groups mirror e2e: failures, deletion modes, sweep, audit', function () {
  this.timeout(90_000);
  let sims: Sims | undefined;
  let svc: InProcessService | undefined;
  let tmp: ReturnType<typeof tempDir>;

  beforeEach(() => { tmp = tempDir('groups-modes-'); });
  afterEach(async () => {
    await svc?.close();
    await sims?.close();
    svc = undefined; sims = undefined;
    tmp.remove();
  });
  const start = async (env: Record<string, string> = {}) => {
    ({ sims, svc } = await startGroupsService(tmp, env));
    return { sims: sims!, svc: svc! };
  };
  const onePerGroup = (s: Sims) => {
    const byId = recordsById(s);
    expect([...byId.keys()].sort()).to.deep.equal(s.okki.catalog.groups.map((g) => String(g.id)).sort());
    for (const [id, recs] of byId) expect(recs, `group ${id}`).to.have.length(1);
  };

  it('a batch save commits and answers 500 every time: still exactly one record per group, reconciled by search', async () => {
    const { sims: s, svc: v } = await start();
    s.dt.setKnobs({ commitThen500Rates: { 'yida.batchSaveFormData': 1, 'yida.saveFormData': 1 } });
    const run = await runNow(v);
    expect(run.groups, JSON.stringify(run.failures)).to.deep.include({ created: 12, failed: 0 });
    expect(savedRecords(s)).to.equal(12);
    expect(s.dt.requests({ api: 'yida.batchSaveFormData' }).length, 'the groups went out in batches').to.be.below(12);
    onePerGroup(s);
    s.dt.setKnobs({ commitThen500Rates: {} });
    const again = await runNow(v);
    expect(again.groups).to.deep.include({ created: 0, updated: 0, unchanged: 12 });
    onePerGroup(s);
  });

  it('records already in the group form are adopted on the first run, not created again', async () => {
    const { sims: s, svc: v } = await start();
    const [a, b] = s.okki.catalog.groups;
    s.dt.seedFormInstances(GROUP_FORM, [{ data: { [G.id]: String(a.id), [G.name]: 'old' } }, { data: { [G.id]: String(b.id), [G.name]: b.name } }]);
    const run = await runNow(v);
    expect(run.groups).to.deep.include({ created: 10, updated: 2 });
    expect(savedRecords(s)).to.equal(10);
    onePerGroup(s);
    expect(recordsById(s).get(String(a.id))![0][G.name]).to.equal(a.name);
  });

  it('SYNC_DELETIONS=mark writes groups.onDelete into a gone group\'s record once, and clears it when the group comes back', async () => {
    const mapping = mappingWithGroupMarks(tmp.dir, [{ field: 'textField_grp0st06', label: '状态', value: '已删除' }]);
    const { sims: s, svc: v } = await start({ SYNC_DELETIONS: 'mark', MAPPING_FILE: mapping });
    await runNow(v);
    const all = s.okki.catalog.groups.map((g) => ({ ...g }));
    const leaf = all.find((g) => g.parent_id !== 0)!;
    expect(recordsById(s).get(String(leaf.id))![0].textField_grp0st06).to.equal('');

    setGroups(s, (gs) => gs.filter((g) => g.id !== leaf.id));
    const run = await runNow(v);
    expect(run.groups!.gone).to.deep.include({ found: 1, marked: 1, deleted: 0 });
    const marked = recordsById(s).get(String(leaf.id))!;
    expect(marked).to.have.length(1);
    expect(marked[0]).to.include({ textField_grp0st06: '已删除', [G.name]: leaf.name });
    const updates = s.dt.requests({ api: 'yida.updateFormData' }).length;
    const next = await runNow(v);
    expect(next.groups!.gone, 'marked once').to.equal(undefined);
    expect(s.dt.requests({ api: 'yida.updateFormData' }).length).to.equal(updates);

    s.okki.catalog.setGroups(all);
    const back = await runNow(v);
    expect(back.groups).to.deep.include({ created: 0, updated: 1 });
    expect(recordsById(s).get(String(leaf.id))![0].textField_grp0st06).to.equal('');
    onePerGroup(s);
  });

  it('SYNC_DELETIONS=off keeps a gone group\'s record and says so', async () => {
    const { sims: s, svc: v } = await start({ SYNC_DELETIONS: 'off' });
    await runNow(v);
    const leaf = s.okki.catalog.groups.find((g) => g.parent_id !== 0)!;
    setGroups(s, (gs) => gs.filter((g) => g.id !== leaf.id));
    const run = await runNow(v);
    expect(run.groups!.gone).to.deep.include({ found: 1, kept: 1, deleted: 0, marked: 0 });
    expect(recordsById(s).has(String(leaf.id))).to.equal(true);
  });

  it('guarded deletions are carried out by a confirmed sweep', async () => {
    const { sims: s, svc: v } = await start({ SYNC_DELETIONS: 'delete', SYNC_DELETE_MAX: '1' });
    await runNow(v);
    const gone = s.okki.catalog.groups.filter((g) => g.parent_id !== 0).slice(0, 2).map((g) => g.id);
    setGroups(s, (gs) => gs.filter((g) => !gone.includes(g.id)));
    const guarded = await runNow(v);
    expect(guarded.groups!.gone!.guarded).to.include({ count: 2, max: 1 });
    expect(groupRecords(s)).to.have.length(12);
    const confirmed = await runNow(v, { mode: 'sweep', confirmDeletes: true });
    expect(confirmed.groups!.gone, JSON.stringify(confirmed.failures)).to.deep.include({ found: 2, deleted: 2 });
    expect(groupRecords(s)).to.have.length(10);
    for (const id of gone) expect(recordsById(s).has(String(id))).to.equal(false);
  });

  it('an audit reports planted drift in the group form exactly; repaired, the next audit is clean', async () => {
    const { sims: s, svc: v } = await start({ SYNC_DELETIONS: 'delete' });
    await runNow(v);
    const recs = groupRecords(s);
    const key = (i: number) => String(recs[i].data[G.id]);
    s.dt.plantDelete(recs[0].formInstanceId);
    s.dt.plantDuplicate(recs[1].formInstanceId);
    s.dt.plantEdit(recs[2].formInstanceId, { [G.name]: '手工改过' });
    s.dt.seedFormInstances(GROUP_FORM, [{ data: { [G.id]: '987654', [G.name]: '没有这个分组' } }]);

    const audit = await runNow(v, { mode: 'audit' });
    const a = audit.groups!.audit!;
    expect(a.missing).to.deep.equal({ count: 1, keys: [key(0)] });
    expect(a.duplicates).to.deep.equal({ count: 1, keys: [key(1)] });
    expect(a.stale).to.deep.equal({ count: 1, keys: [key(2)] });
    expect(a.orphans).to.deep.equal({ count: 1, keys: ['987654'] });
    expect(a).to.include({ records: 13, groups: 12 });
    expect(robotText(s.dt.robotMessages().at(-1)?.body)).to.include('分组核对');
    expect(groupRecords(s), 'an audit without repair touches nothing').to.have.length(13);

    const repair = await runNow(v, { mode: 'audit', repair: true });
    expect(repair.groups!.audit!.repaired).to.deep.equal({ created: 1, updated: 1, duplicatesRemoved: 1, orphansMarked: 0, orphansDeleted: 1, failed: 0 });
    onePerGroup(s);
    const clean = await runNow(v, { mode: 'audit' });
    const c = clean.groups!.audit!;
    expect([c.missing.count, c.duplicates.count, c.stale.count, c.orphans.count]).to.deep.equal([0, 0, 0, 0]);
    // The ledger holds what the form holds: the next ordinary run writes nothing.
    const next = await runNow(v);
    expect(next.groups).to.deep.include({ created: 0, updated: 0, unchanged: 12 });
  });
});
