/** A tiny GroupTree over a flat list, the way OKKI's /v1/product/groups delivers it (for mapping tests). */
import type { GroupTree } from '../../src/core/index.js';

export function groupTree(list: Array<{ id: number; name: string; parent_id: number }>): GroupTree {
  const byId = new Map(list.map((g) => [g.id, g]));
  const chain = (id: unknown): string[] => {
    const out: string[] = [];
    let g = byId.get(Number(id));
    for (let guard = 0; g && guard < 16; guard++) { out.unshift(g.name); g = byId.get(g.parent_id); }
    return out;
  };
  return { name: (id) => byId.get(Number(id))?.name, level1: (id) => chain(id)[0], level2: (id) => chain(id)[1], path: chain, size: byId.size };
}
