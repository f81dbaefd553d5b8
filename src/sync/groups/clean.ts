/**
 * Group data as users expect it before anything is written (README "Groups mirror"): a group with an empty name, or
 * with a name one of its siblings also has, is reported and not written. Both would give the group form (and every
 * picker built on it) entries nobody can tell apart. Names arrive already trimmed (okki/groups.ts); siblings are
 * compared the way people read names: case, full-width and half-width forms alike.
 */
import type { GroupRecord } from '../../core/index.js';

export const GROUP_NAME_EMPTY = 'GROUP_NAME_EMPTY';
export const GROUP_NAME_DUPLICATE = 'GROUP_NAME_DUPLICATE';

export interface GroupIssue {
  group: GroupRecord;
  code: typeof GROUP_NAME_EMPTY | typeof GROUP_NAME_DUPLICATE;
  reason: string;
}

export interface CleanGroups {
  /** the groups that may be written */
  clean: GroupRecord[];
  issues: GroupIssue[];
}

const sameName = (name: string) => name.normalize('NFKC').toLowerCase();

/** Split the groups into those that may be written and those reported (every group of a duplicated name). */
export function cleanGroups(records: readonly GroupRecord[]): CleanGroups {
  const byId = new Map(records.map((g) => [g.id, g]));
  const issues: GroupIssue[] = [];
  const siblings = new Map<string, GroupRecord[]>();
  for (const g of records) {
    if (!g.name) {
      issues.push({ group: g, code: GROUP_NAME_EMPTY, reason: `group ${g.id} has an empty name; it is not written until it has one` });
      continue;
    }
    const key = `${g.parent_id}\u0000${sameName(g.name)}`;
    siblings.set(key, [...(siblings.get(key) ?? []), g]);
  }
  const rejected = new Set(issues.map((i) => i.group.id));
  for (const same of siblings.values()) {
    if (same.length < 2) continue;
    const parent = byId.get(same[0].parent_id);
    const where = same[0].parent_id === 0 || !parent ? 'among the top-level groups' : `under "${parent.name || parent.id}" (group ${parent.id})`;
    for (const g of same) {
      const others = same.filter((o) => o !== g).map((o) => o.id).join(', ');
      issues.push({ group: g, code: GROUP_NAME_DUPLICATE, reason: `group ${g.id} "${g.name}": the same name as group ${others} ${where}; none of them is written until the names differ` });
      rejected.add(g.id);
    }
  }
  return { clean: records.filter((g) => !rejected.has(g.id)), issues };
}
