/**
 * Product groups: OKKI's flat list rebuilt into a tree with level1/level2/path lookups; damaged data
 * (missing parents, cycles, odd ids) never crashes or hangs and is reported once.
 */
import { expect } from 'chai';
import { startOkkiSimulator, type OkkiSimulator } from '../src/sandbox/okki/index.js';
import { buildGroupTree, type GroupWarning } from '../src/okki/index.js';
import { sourceFor, memoryLogger } from './helpers/okki.js';

const g = (id: number | string, name: string, parent_id: number | string = 0, layer = 1) => ({ id, name, parent_id, layer });

describe('OKKI product groups', () => {
  describe('tree', () => {
    const tree = buildGroupTree([g(1, '电子产品'), g(2, '手机配件', 1, 2), g(3, '充电器', 2, 3), g(4, '家居用品')]);

    it('names the root as level1 and the level-2 ancestor as level2', () => {
      expect(tree.level1(3)).to.equal('电子产品');
      expect(tree.level2(3)).to.equal('手机配件');
      expect(tree.level2(2)).to.equal('手机配件');
      expect(tree.level1(2)).to.equal('电子产品');
      expect(tree.name(3)).to.equal('充电器');
      expect(tree.path(3)).to.deep.equal(['电子产品', '手机配件', '充电器']);
    });

    it('gives a root no level2, and unknown or empty ids nothing', () => {
      expect(tree.level1(4)).to.equal('家居用品');
      expect(tree.level2(4)).to.equal(undefined);
      expect(tree.path(999)).to.deep.equal([]);
      expect(tree.level1(undefined)).to.equal(undefined);
      expect(tree.level1(null)).to.equal(undefined);
      expect(tree.name('')).to.equal(undefined);
      expect(tree.size).to.equal(4);
    });

    it('accepts ids and parent ids given as strings, and lookups by string', () => {
      const t = buildGroupTree([g('10', '根'), g('11', '子', '10', 2)]);
      expect(t.path('11')).to.deep.equal(['根', '子']);
      expect(t.level1(11)).to.equal('根');
    });

    it('treats a group whose parent is missing as a root, and says so', () => {
      const warnings: GroupWarning[] = [];
      const t = buildGroupTree([g(1, '电子产品'), g(5, '孤儿', 77, 2), g(6, '孤儿的子', 5, 3)], (w) => warnings.push(w));
      expect(t.path(6)).to.deep.equal(['孤儿', '孤儿的子']);
      expect(t.level1(5)).to.equal('孤儿');
      expect(t.level2(5)).to.equal(undefined);
      expect(warnings).to.deep.equal([{ kind: 'missing_parent', groupId: 5, parentId: 77 }]);
    });

    it('breaks parent cycles instead of hanging, including a group that is its own parent', () => {
      const warnings: GroupWarning[] = [];
      const t = buildGroupTree([g(1, 'A', 2, 2), g(2, 'B', 3, 2), g(3, 'C', 1, 2), g(4, '自指', 4, 1), g(5, 'D', 3, 3)], (w) => warnings.push(w));
      for (const id of [1, 2, 3, 5]) {
        const p = t.path(id);
        expect(p.length).to.be.within(1, 4);
        expect(new Set(p).size).to.equal(p.length);
      }
      expect(t.path(5).at(-1)).to.equal('D');
      expect(t.path(4)).to.deep.equal(['自指']);
      expect(warnings.filter((w) => w.kind === 'cycle')).to.have.length(1);
    });

    it('skips entries without an id and lets a repeated id win last', () => {
      const warnings: GroupWarning[] = [];
      const t = buildGroupTree([{ name: '无id' }, null, g(1, '旧名'), g(1, '新名')], (w) => warnings.push(w));
      expect(t.size).to.equal(1);
      expect(t.name(1)).to.equal('新名');
      expect(warnings.map((w) => w.kind).sort()).to.deep.equal(['duplicate_id', 'invalid_group', 'invalid_group']);
    });

    it('handles a long chain and an empty list', () => {
      const chain = Array.from({ length: 2000 }, (_, i) => g(i + 1, `n${i + 1}`, i, i + 1));
      const t = buildGroupTree(chain);
      expect(t.path(2000)).to.have.length(2000);
      expect(t.level2(2000)).to.equal('n2');
      expect(buildGroupTree([]).size).to.equal(0);
    });
  });

  describe('from the simulator', () => {
    let sim: OkkiSimulator;
    afterEach(async () => { await sim.close(); });

    it('rebuilds the generated two-level tree', async () => {
      sim = await startOkkiSimulator({ seed: 8, products: 10, groups: 20 });
      const tree = await sourceFor(sim).groups();
      expect(tree.size).to.equal(20);
      const product = sim.catalog.get('P-000001')!;
      const group = sim.catalog.groups.find((x) => x.id === product.group_id)!;
      expect(tree.name(product.group_id)).to.equal(group.name);
      const leaf = sim.catalog.groups.find((x) => x.layer === 2)!;
      const root = sim.catalog.groups.find((x) => x.id === leaf.parent_id)!;
      expect(tree.path(leaf.id)).to.deep.equal([root.name, leaf.name]);
    });

    it('warns once per damaged group, however often the groups are read', async () => {
      sim = await startOkkiSimulator({ seed: 8, products: 1 });
      sim.catalog.setGroups([g(1, '电子产品'), g(2, '孤儿', 99, 2)] as any);
      const { logger, lines } = memoryLogger();
      const source = sourceFor(sim, {}, { logger });
      const tree = await source.groups();
      await source.groups();
      expect(tree.level1(2)).to.equal('孤儿');
      expect(lines().filter((l) => /parent that does not exist/.test(String(l.msg)))).to.have.length(1);
    });
  });
});
