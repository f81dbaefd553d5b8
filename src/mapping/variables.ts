/** The `{{NAME}}` context variables and the `|filter`s a placeholder can pass its value through. */
import type { MappingContext } from '../core/index.js';
import { ValueProblem } from './errors.js';
import { formatDate, formatDateTime, wallClockOf } from '../time.js';
import { isEmpty, quote, toInstant } from './values.js';

/** What one evaluation reads from: the product being mapped and the run's context. */
export interface EvalEnv {
  product: Record<string, unknown>;
  ctx: MappingContext;
}

export interface VariableDef {
  /** the ASCII name; Chinese aliases resolve to the same definition */
  name: string;
  aliases: readonly string[];
  /** product fields this variable reads (so the source fetches them) */
  productFields: readonly string[];
  read(env: EvalEnv): unknown;
}

/** Separator of `{{分组路径}}`: spaced, so that group names containing `/` stay readable. */
export const GROUP_PATH_SEPARATOR = ' / ';

const groupId = (env: EvalEnv) => env.product.group_id as number | string | undefined;

const VARIABLES: readonly VariableDef[] = [
  { name: 'group.level1', aliases: ['一级分组'], productFields: ['group_id'], read: (env) => env.ctx.groups.level1(groupId(env)) },
  { name: 'group.level2', aliases: ['二级分组'], productFields: ['group_id'], read: (env) => env.ctx.groups.level2(groupId(env)) },
  {
    name: 'group.path', aliases: ['分组路径'], productFields: ['group_id'],
    read: (env) => {
      const path = env.ctx.groups.path(groupId(env));
      return Array.isArray(path) && path.length > 0 ? path.join(GROUP_PATH_SEPARATOR) : null;
    },
  },
  {
    // the parent of the group (a group record in the mapping's `groups` block: its own parent); none for a root
    name: 'group.parent', aliases: ['父分组'], productFields: ['group_id'],
    read: (env) => {
      const path = env.ctx.groups.path(groupId(env));
      return Array.isArray(path) && path.length >= 2 ? path[path.length - 2] : null;
    },
  },
  {
    // the product's own group_name covers a group the tree does not know yet (created after the tree was read)
    name: 'group.name', aliases: ['分组名称'], productFields: ['group_id', 'group_name'],
    read: (env) => env.ctx.groups.name(groupId(env)) ?? env.product.group_name,
  },
  { name: 'LAST_SYNC_TIME', aliases: [], productFields: [], read: (env) => env.ctx.lastSyncTime ?? null },
  { name: 'CURRENT_TIME', aliases: [], productFields: [], read: (env) => env.ctx.now },
];

const byName = new Map<string, VariableDef>();
for (const v of VARIABLES) for (const n of [v.name, ...v.aliases]) byName.set(n, v);

export function lookupVariable(name: string): VariableDef | undefined {
  return byName.get(name);
}

export const VARIABLE_NAMES: readonly string[] = [...byName.keys()];

export interface FilterDef {
  name: string;
  apply(value: unknown, env: EvalEnv): unknown;
}

function instantFor(filter: string, value: unknown, env: EvalEnv): Date {
  const d = toInstant(value, env.ctx.timezone);
  if (!d) throw new ValueProblem(`${quote(value)} is not a date or time (filter |${filter})`);
  return d;
}

/** Empty stays empty through every filter: a missing LAST_SYNC_TIME is not an error, just no value. */
const FILTERS: readonly FilterDef[] = [
  { name: 'datetime', apply: (v, env) => (isEmpty(v) ? null : formatDateTime(wallClockOf(instantFor('datetime', v, env), env.ctx.timezone))) },
  { name: 'date', apply: (v, env) => (isEmpty(v) ? null : formatDate(wallClockOf(instantFor('date', v, env), env.ctx.timezone))) },
  { name: 'timestamp', apply: (v, env) => (isEmpty(v) ? null : instantFor('timestamp', v, env).getTime()) },
];

export function lookupFilter(name: string): FilterDef | undefined {
  return FILTERS.find((f) => f.name === name);
}

export const FILTER_NAMES: readonly string[] = FILTERS.map((f) => f.name);
