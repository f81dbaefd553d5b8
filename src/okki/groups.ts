/**
 * OKKI's flat `/v1/product/groups` list rebuilt into a tree. Damaged data never crashes or hangs it:
 * a group whose parent is missing, or that sits on a parent cycle, is treated as a root (and reported once).
 */
import type { GroupRecord, GroupTree } from '../core/index.js';

export interface GroupWarning { kind: 'missing_parent' | 'cycle' | 'invalid_group' | 'duplicate_id'; groupId?: unknown; parentId?: unknown }

/**
 * A group name as users expect it: surrounding whitespace dropped and inner runs of whitespace (newlines, tabs, double
 * spaces) made one space. A missing name is ''.
 */
export function cleanGroupName(v: unknown): string {
  if (v === undefined || v === null) return '';
  return String(v).replace(/\s+/g, ' ').trim();
}

function toId(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) return Number(v);
  return undefined;
}

export function buildGroupTree(raw: readonly unknown[], warn: (w: GroupWarning) => void = () => {}): GroupTree {
  const nodes = new Map<number, { name: string; parent: number }>();
  const raws = new Map<number, Record<string, unknown>>();
  for (const g of raw) {
    const r = (g && typeof g === 'object' ? g : {}) as Record<string, unknown>;
    const id = toId(r.id ?? r.group_id);
    if (id === undefined) { warn({ kind: 'invalid_group', groupId: r.id }); continue; }
    if (nodes.has(id)) warn({ kind: 'duplicate_id', groupId: id });
    nodes.set(id, { name: r.name === undefined || r.name === null ? String(id) : cleanGroupName(r.name), parent: toId(r.parent_id) ?? 0 });
    raws.set(id, r);
  }

  const paths = new Map<number, string[]>();
  const resolve = (start: number): string[] => {
    // iterative walk up: collect the chain until a known path, a root, a missing parent or a cycle
    const chain: number[] = [];
    const onChain = new Set<number>();
    let cur: number | undefined = start;
    let prefix: string[] = [];
    while (cur !== undefined) {
      const known = paths.get(cur);
      if (known) { prefix = known; break; }
      chain.push(cur); onChain.add(cur);
      const parent: number = nodes.get(cur)!.parent;
      if (parent === 0 || parent === cur) break;
      if (!nodes.has(parent)) { warn({ kind: 'missing_parent', groupId: cur, parentId: parent }); break; }
      if (onChain.has(parent)) { warn({ kind: 'cycle', groupId: cur, parentId: parent }); break; }
      cur = parent;
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      prefix = [...prefix, nodes.get(chain[i])!.name];
      paths.set(chain[i], prefix);
    }
    return paths.get(start)!;
  };
  for (const id of nodes.keys()) if (!paths.has(id)) resolve(id);

  const lookup = (groupId: number | string | undefined | null): string[] | undefined => {
    const id = toId(groupId);
    return id === undefined ? undefined : paths.get(id);
  };
  // The records the groups mirror writes: OKKI's fields, with clean names and numeric ids (layer from the tree when
  // OKKI gives none). Built on first use: a run without the groups mirror never pays for it.
  let records: GroupRecord[] | undefined;
  const recordsOf = (): GroupRecord[] => {
    records ??= [...raws].map(([id, r]) => {
      const layer = toId(r.layer);
      return { ...r, id, name: cleanGroupName(r.name), parent_id: nodes.get(id)!.parent, layer: layer !== undefined && layer > 0 ? layer : paths.get(id)!.length };
    });
    return records;
  };
  return {
    records: () => recordsOf(),
    name: (g) => { const id = toId(g); return id === undefined ? undefined : nodes.get(id)?.name; },
    level1: (g) => lookup(g)?.[0],
    level2: (g) => { const p = lookup(g); return p && p.length >= 2 ? p[1] : undefined; },
    path: (g) => [...(lookup(g) ?? [])],
    size: nodes.size,
  };
}
