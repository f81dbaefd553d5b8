/**
 * Renamed groups (README "Groups mirror"): the group names mapped into products (`{{一级分组}}`, `{{二级分组}}`,
 * `{{分组路径}}`, ...) come from the group tree, not from the product, so renaming a group in OKKI changes what its
 * products map to without changing their `update_time`, and an incremental window never reads them. Each group's
 * path (the names from the root down to it) is kept as of the last complete run; a group whose path differs now was
 * renamed, moved, removed, or had an ancestor renamed, and the products in it are read again. A group whose path was
 * never kept (new) has no products mapped with an old name.
 */
import type { GroupTree } from '../../core/index.js';
import type { GroupStateStore } from '../../store/types.js';

const SEPARATOR = ' / ';

export interface RenameCheck {
  /** group ids whose path changed since the last complete run */
  renamed: number[];
  /** keep this run's paths: call once the run read everything it had to (the products of renamed groups included) */
  commit(): Promise<void>;
}

export async function checkRenames(tree: GroupTree, state: GroupStateStore): Promise<RenameCheck> {
  const current = new Map<number, string>();
  for (const g of tree.records?.() ?? []) current.set(g.id, tree.path(g.id).join(SEPARATOR));
  const kept = await state.paths();
  // A group OKKI no longer lists counts too: the products still pointing at it now map to no group name.
  const renamed = kept ? [...kept].filter(([id, path]) => current.get(id) !== path).map(([id]) => id) : [];
  const same = kept !== undefined && kept.size === current.size && [...current].every(([id, p]) => kept.get(id) === p);
  return {
    renamed,
    async commit() { if (!same) await state.setPaths(current); },
  };
}
