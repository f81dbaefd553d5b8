/**
 * The groups mirror's pure parts: the mapping file's `groups` block (compiled by the same rules as `request`), the
 * group records rebuilt from OKKI's flat list, the cleaning rules (empty names, names repeated among siblings) and the
 * rename check over a real store.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { MappingError, loadMapping, parseMapping, compileGroupMapping } from '../src/mapping/index.js';
import { buildGroupTree } from '../src/okki/index.js';
import { cleanGroups } from '../src/sync/groups/clean.js';
import { checkRenames } from '../src/sync/groups/renames.js';
import { createStores } from '../src/store/index.js';
import type { GroupRecord, MappingContext } from '../src/core/index.js';
import { tempDir } from './helpers/e2e.js';
import { redisAvailable, startRedis } from './helpers/redis.js';
import type { Stores } from '../src/store/types.js';
import { renderRunReport } from '../src/robot/report.js';
import { hasNews } from '../src/robot/policy.js';
import { emptyCounts, emptyGroupSummary, type RunRecord } from '../src/core/index.js';

const PRODUCT_REQUEST = [{ field: 'textField_no', label: '编号', value: '{product_no}' }];
const GROUPS = {
  request: [
    { field: 'textField_gid', label: '分组ID', value: '{id}' },
    { field: 'textField_name', label: '分组名称', value: '{name}', required: true },
    { field: 'textField_parent', label: '上级分组', value: '{{父分组}}' },
    { field: 'numberField_layer', label: '层级', value: '{layer}' },
    { field: 'textField_path', label: '分组路径', value: '{{分组路径}}' },
  ],
};
const raw = [
  { id: 1, name: '  饮具\n', parent_id: 0, layer: 1 },
  { id: 2, name: '杯子', parent_id: 1, layer: 2 },
  { id: 3, name: '保温杯', parent_id: 2 },
  { id: '4', name: '家居', parent_id: '0', layer: '1' },
];
const tree = buildGroupTree(raw);
const ctx: MappingContext = { groups: tree, now: new Date('2026-01-01T00:00:00Z'), timezone: 'Asia/Shanghai' };
const rec = (id: number) => tree.records!().find((g) => g.id === id)!;
const problemsOf = (fn: () => unknown): string[] => {
  try { fn(); } catch (err) { expect(err).to.be.instanceOf(MappingError); return (err as MappingError).problems; }
  throw new Error('expected a MappingError');
};

describe('groups mirror: mapping, records, cleaning', () => {
  describe('group records from OKKI\'s flat list', () => {
    it('gives numeric ids and parents, clean names, and the layer from the tree when OKKI gives none', () => {
      expect(rec(1)).to.include({ id: 1, name: '饮具', parent_id: 0, layer: 1 });
      expect(rec(3)).to.include({ id: 3, name: '保温杯', parent_id: 2, layer: 3 });
      expect(rec(4)).to.include({ id: 4, name: '家居', parent_id: 0, layer: 1 });
      expect(tree.path(3)).to.deep.equal(['饮具', '杯子', '保温杯']);
    });
  });

  describe('the groups block', () => {
    it('maps a group: id as text (the key), name, parent name, layer, path from the root', () => {
      const m = parseMapping({ request: PRODUCT_REQUEST, groups: GROUPS }).groups!;
      expect(m.keyField).to.equal('textField_gid');
      const r = m.map(rec(3), ctx);
      expect(r.ok).to.equal(true);
      if (!r.ok) return;
      expect(r.key).to.equal('3');
      expect(r.formData).to.deep.equal({ textField_gid: '3', textField_name: '保温杯', textField_parent: '杯子', numberField_layer: 3, textField_path: '饮具 / 杯子 / 保温杯' });
      const root = m.map(rec(1), ctx);
      expect(root.ok && root.formData.textField_parent).to.equal(null);
    });

    it('is optional, and the shipped mapping has one', () => {
      expect(parseMapping({ request: PRODUCT_REQUEST }).groups).to.equal(undefined);
      const shipped = loadMapping('manifest/mapping.json');
      expect(shipped.groups?.keyField).to.be.a('string');
      expect(shipped.groups!.map(rec(2), ctx).ok).to.equal(true);
    });

    it('names each problem under groups., together with the request\'s own problems', () => {
      const problems = problemsOf(() => parseMapping({
        request: [{ field: 'textField_no', value: '{{没有}}' }],
        groups: { request: [{ field: 'textField_gid', value: '{id}' }, { field: 'textField_x', value: '{{一级分组x}}' }, { field: 'textField_gid', value: '{name}' }], extra: 1 },
      }));
      expect(problems.some((p) => /^request\[0\]/.test(p))).to.equal(true);
      expect(problems.some((p) => /^groups: unknown key "extra"/.test(p))).to.equal(true);
      expect(problems.some((p) => /^groups\.request\[1\] .*unknown variable "一级分组x"/.test(p))).to.equal(true);
      expect(problems.some((p) => /^groups\.request\[2\] .*duplicate target field "textField_gid"/.test(p))).to.equal(true);
    });

    it('needs an entry whose value is exactly {id}, and onDelete must not write it', () => {
      expect(problemsOf(() => compileGroupMapping({ request: [{ field: 'textField_n', value: '{name}' }] }))[0]).to.match(/missing key field.*"\{id\}"/);
      expect(problemsOf(() => compileGroupMapping({ request: [] }))[0]).to.match(/groups\.request: expected a non-empty array/);
      expect(problemsOf(() => compileGroupMapping([]))[0]).to.match(/^groups: expected an object/);
      const p = problemsOf(() => compileGroupMapping({ ...GROUPS, onDelete: [{ field: 'textField_gid', value: 'x' }] }));
      expect(p[0]).to.match(/^groups\.onDelete\[0\] .*\(textField_gid\): must not write the key field/);
      const q = problemsOf(() => compileGroupMapping({ ...GROUPS, onDelete: [{ field: 'textField_state', value: 'ok' }, { field: 'textField_s2', value: '{{nope}}' }] }));
      expect(q).to.have.length(1);
      expect(q[0]).to.match(/^groups\.onDelete\[1\] \(textField_s2\): .*unknown variable "nope"/);
    });

    it('with onDelete: marks without the key, and every live record carries the marks cleared (one hash whatever the history)', () => {
      const m = compileGroupMapping({ ...GROUPS, onDelete: [{ field: 'textField_state', label: '状态', value: '已删除' }, { field: 'textField_name', value: '（已删除）{name}' }] });
      expect(m.hasMarks).to.equal(true);
      const mark = m.markData(rec(2), ctx)!;
      expect(mark.ok && mark.formData).to.deep.equal({ textField_state: '已删除', textField_name: '（已删除）杯子' });
      expect(m.clearMarks()).to.deep.equal({ textField_state: '' });
      const live = m.map(rec(2), ctx);
      expect(live.ok && live.formData.textField_state).to.equal('');
      const plain = compileGroupMapping(GROUPS).map(rec(2), ctx);
      expect(plain.ok && live.ok && plain.hash !== live.hash).to.equal(true);
      expect(compileGroupMapping(GROUPS).markData(rec(2), ctx)).to.equal(undefined);
    });

    it('rejects a group whose required name is empty, with the reason', () => {
      const m = compileGroupMapping(GROUPS);
      const r = m.map({ id: 9, name: '', parent_id: 0, layer: 1 }, ctx);
      expect(r.ok).to.equal(false);
      expect(!r.ok && r.reason).to.match(/分组名称 \(textField_name\): required value is empty/);
    });
  });

  describe('cleaning', () => {
    const g = (id: number, name: string, parent_id = 0): GroupRecord => ({ id, name, parent_id, layer: parent_id ? 2 : 1 });

    it('reports an empty name and every group of a name repeated among siblings; keeps the rest', () => {
      const { clean, issues } = cleanGroups([g(1, '饮具'), g(2, '杯子', 1), g(3, '杯子', 1), g(4, '杯子', 9), g(5, ''), g(6, '杯子')]);
      expect(clean.map((x) => x.id)).to.deep.equal([1, 4, 6]);
      expect(issues.map((i) => [i.group.id, i.code])).to.deep.equal([[5, 'GROUP_NAME_EMPTY'], [2, 'GROUP_NAME_DUPLICATE'], [3, 'GROUP_NAME_DUPLICATE']]);
      expect(issues[1].reason).to.match(/group 2 "杯子": the same name as group 3 under "饮具" \(group 1\)/);
    });

    it('compares names as people read them: case and full-width forms alike', () => {
      const { issues } = cleanGroups([g(1, 'Cups'), g(2, 'cups'), g(3, 'ＣＵＰＳ'), g(4, 'Mugs')]);
      expect(issues.map((i) => i.group.id).sort()).to.deep.equal([1, 2, 3]);
      expect(issues[0].reason).to.match(/among the top-level groups/);
    });
  });

  describe('renames', () => {
    let tmp: ReturnType<typeof tempDir>;
    beforeEach(() => { tmp = tempDir('groups-renames-'); });
    afterEach(() => tmp.remove());

    it('finds groups whose path changed (a renamed ancestor, a removed group included) once paths were kept; new groups are not renamed', async () => {
      const path = join(tmp.dir, 's.sqlite');
      const stores = await createStores({ url: `sqlite://${path}`, kind: 'sqlite', sqlitePath: path });
      try {
        const first = await checkRenames(tree, stores.groupState);
        expect(first.renamed).to.deep.equal([]);
        await first.commit();
        expect((await checkRenames(tree, stores.groupState)).renamed).to.deep.equal([]);
        // 1 renamed (2 and 3 under it change path too), 4 removed, 5 new
        const renamedTree = buildGroupTree([{ ...raw[0], name: '餐具' }, raw[1], raw[2], { id: 5, name: '新', parent_id: 0 }]);
        const second = await checkRenames(renamedTree, stores.groupState);
        expect(second.renamed.sort()).to.deep.equal([1, 2, 3, 4]);
        // Not kept until the run says it read everything: asked again, the same renames.
        expect((await checkRenames(renamedTree, stores.groupState)).renamed.sort()).to.deep.equal([1, 2, 3, 4]);
        await second.commit();
        expect((await checkRenames(renamedTree, stores.groupState)).renamed).to.deep.equal([]);
        expect((await stores.groupState.paths())!.get(3)).to.equal('餐具 / 杯子 / 保温杯');
      } finally { await stores.close(); }
    });
  });

  describe('the group ledger and state, on sqlite and Redis', () => {
    for (const kind of ['sqlite', 'redis'] as const) {
      it(`${kind}: a key space apart from the products' (a product numbered like a group id is another entry; a sweep's ledger scan never sees groups)`, async function () {
        if (kind === 'redis' && !redisAvailable()) this.skip();
        this.timeout(20_000);
        const tmp = tempDir('groups-store-');
        const redis = kind === 'redis' ? await startRedis() : undefined;
        let stores: Stores | undefined;
        try {
          const path = join(tmp.dir, 's.sqlite');
          stores = await createStores(redis ? { url: redis.url, kind: 'redis' } : { url: `sqlite://${path}`, kind: 'sqlite', sqlitePath: path });
          const entry = (hash: string) => ({ hash, state: 'done' as const, instanceId: `i-${hash}`, syncedAt: new Date().toISOString() });
          await stores.groupLedger.set('12', entry('group'));
          await stores.ledger.set('12', entry('product'));
          expect((await stores.groupLedger.get('12'))!.hash).to.equal('group');
          expect((await stores.ledger.get('12'))!.hash).to.equal('product');
          const scanned: string[] = [];
          for await (const page of stores.scanLedger()) for (const [no, e] of page) scanned.push(`${no}:${e.hash}`);
          expect(scanned).to.deep.equal(['12:product']);
          await stores.groupState.addKnown([3, 1, 2]);
          await stores.groupState.removeKnown([2]);
          expect([...await stores.groupState.known()].sort()).to.deep.equal([1, 3]);
          expect(await stores.groupState.paths()).to.equal(undefined);
          await stores.groupState.setPaths(new Map([[1, '饮具'], [3, '饮具 / 杯子']]));
          expect([...(await stores.groupState.paths())!]).to.deep.equal([[1, '饮具'], [3, '饮具 / 杯子']]);
        } finally {
          await stores?.close();
          await redis?.stop();
          tmp.remove();
        }
      });
    }
  });

  describe('the robot report', () => {
    const run = (extra: Partial<RunRecord>): RunRecord => ({
      id: 'run-1', trigger: 'schedule', mode: 'incremental', status: 'succeeded', window: { start: null, end: null },
      startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:01Z', counts: emptyCounts(), failures: [], ...extra,
    });

    it('shows what the groups mirror did, names a group\'s failure by the group, and a group change is news', () => {
      const groups = { ...emptyGroupSummary(40), updated: 2, unchanged: 37, rejected: 1, renamed: { groups: 2, group_ids: [1, 2], productsRead: 9 } };
      const text = renderRunReport(run({ status: 'partial', groups, failures: [{ product_no: null, group_id: 12, code: 'GROUP_NAME_EMPTY', reason: 'group 12 has an empty name' }] })).text;
      expect(text).to.include('**分组**：OKKI 共 40 个；新增 **0** · 更新 **2** · 未变 **37** · 拒绝 **1**');
      expect(text).to.include('改名的分组**：2 个，重新读取其产品 9 条');
      expect(text).to.include('- 分组 12：GROUP\\_NAME\\_EMPTY group 12 has an empty name');
      expect(hasNews(run({ groups: { ...emptyGroupSummary(3), unchanged: 3 } }))).to.equal(false);
      expect(hasNews(run({ groups: { ...emptyGroupSummary(3), unchanged: 2, updated: 1 } }))).to.equal(true);
      const gone = { found: 3, group_ids: [7, 8, 9], marked: 0, deleted: 0, kept: 0, guarded: { count: 3, max: 2, confirm: '{"mode":"sweep","confirmDeletes":true}' } };
      expect(renderRunReport(run({ groups: { ...emptyGroupSummary(3), gone } })).text).to.include('已删除的分组**：3 个（7、8、9）').and.include('删除保护');
    });
  });
});
