/**
 * The mapping file's `groups` block: how an OKKI product group becomes a record of the group form
 * (YIDA_GROUP_FORM_UUID). Same entry format and template language as `request`; the templates read the group record
 * (`{id}`, `{name}`, `{parent_id}`, `{layer}`, and OKKI's other group fields) and the group variables, which here
 * describe the group itself: `{{父分组}}` its parent's name, `{{分组路径}}` the names from the root down to it,
 * `{{一级分组}}` / `{{二级分组}}` its level-1 / level-2 ancestors. The key is the entry whose value is exactly `{id}`.
 *
 * ```json
 * {"groups": {"request": [
 *   {"field": "textField_gid",  "label": "分组ID",   "value": "{id}"},
 *   {"field": "textField_name", "label": "分组名称", "value": "{name}", "required": true},
 *   {"field": "textField_path", "label": "分组路径", "value": "{{分组路径}}"}
 * ], "onDelete": [{"field": "selectField_state", "label": "状态", "value": "已删除"}]}}
 * ```
 *
 * The entries are compiled by the same compiler as `request` (one set of rules, one set of messages), each problem
 * named `groups.request[i]` / `groups.onDelete[i]`; a group is mapped by the same code as a product, with the group
 * id standing in for the product number.
 */
import type { GroupMapping, GroupMappingResult, GroupRecord, MappingContext } from '../core/index.js';
import { MappingError } from './errors.js';
import { CompiledMapping } from './mapping.js';
import { hashFormData } from './hash.js';
import { compileMapping } from './parse.js';
import { isPlainObject } from './values.js';

const BLOCK_KEYS = ['request', 'onDelete', 'description', '$comment'];
/** a value that is exactly the group id: the default key field */
const ID_VALUE = /^\s*\{\s*id\s*\}\s*$/;

/** The record as the shared mapping code reads it: the group id stands in for the product number and the group. */
function asProduct(group: GroupRecord): Record<string, unknown> {
  return { ...group, product_no: String(group.id), group_id: group.id };
}

export class CompiledGroupMapping implements GroupMapping {
  readonly keyField: string;
  readonly fields: readonly string[];
  readonly hasMarks: boolean;

  constructor(private readonly compiled: CompiledMapping) {
    this.keyField = compiled.keyField;
    this.fields = compiled.requestFields();
    this.hasMarks = compiled.onDeleteFields().length > 0;
  }

  /**
   * The group's record. With an `onDelete` block, the fields only it writes are part of every record, empty: a marked
   * group that comes back has its marks cleared, and a group's hash does not depend on its history.
   */
  map(group: GroupRecord, ctx: MappingContext): GroupMappingResult {
    const r = this.compiled.map(asProduct(group), ctx);
    if (!r.ok) return { ok: false, reason: r.rejected.reason };
    const cleared = this.clearMarks();
    if (!Object.keys(cleared).length) return { ok: true, key: r.productNo, formData: r.formData, hash: r.hash };
    const formData = { ...cleared, ...r.formData };
    return { ok: true, key: r.productNo, formData, hash: hashFormData(formData) };
  }

  /** The `onDelete` entries for a gone group (a value that cannot be evaluated is left out, as for products). */
  markData(group: GroupRecord, ctx: MappingContext): GroupMappingResult | undefined {
    const formData = this.compiled.markData(asProduct(group), ctx);
    if (!formData) return undefined;
    return { ok: true, key: String(group.id), formData, hash: hashFormData(formData) };
  }

  clearMarks(): Record<string, unknown> {
    return this.compiled.clearMarks();
  }
}

/** The shared compiler's `request[3]` / `onDelete[3]` → `groups.request[3]` / `groups.onDelete[3]`. */
function renamed(problems: readonly string[]): string[] {
  return problems.map((p) => {
    const out = p.replace(/(^|[^.\w])(request|onDelete)(\[\d+\]|:)/g, '$1groups.$2$3');
    return out.startsWith('groups.') ? out : `groups: ${out}`;
  });
}

/**
 * Compile the `groups` block of a mapping document. Throws MappingError (MAPPING_INVALID) listing every problem, each
 * under `groups.`.
 */
export function compileGroupMapping(block: unknown, source = '(inline document)'): CompiledGroupMapping {
  const problems: string[] = [];
  const fail = (): never => { throw new MappingError(source, problems); };
  if (!isPlainObject(block)) {
    problems.push('groups: expected an object like {"request": [{"field": ..., "label": ..., "value": "{id}"}, ...]}');
    return fail();
  }
  for (const k of Object.keys(block)) {
    if (!BLOCK_KEYS.includes(k) && !k.startsWith('_')) problems.push(`groups: unknown key "${k}" (allowed: ${BLOCK_KEYS.join(', ')}; keys starting with _ are comments)`);
  }
  const request = block.request;
  if (!Array.isArray(request) || request.length === 0) {
    problems.push('groups.request: expected a non-empty array of field entries (the same format as request)');
    return fail();
  }
  // The key is the group id itself, as text: the ledger's key and the value searched for in the form are one string.
  const keyEntry = request.find((e) => isPlainObject(e) && typeof e.value === 'string' && ID_VALUE.test(e.value) && typeof e.field === 'string');
  if (!keyEntry) {
    problems.push('groups: missing key field: map one entry\'s value to exactly "{id}"; the group ledger and the form searches need it');
    return fail();
  }
  const keyField = String((keyEntry as Record<string, unknown>).field).trim();
  let compiled: CompiledMapping | undefined;
  try {
    const doc = { request, keyField, ...(block.onDelete !== undefined ? { onDelete: block.onDelete } : {}) };
    compiled = new CompiledMapping(compileMapping(doc, source), source);
  } catch (err) {
    if (!(err instanceof MappingError)) throw err;
    problems.push(...renamed(err.problems));
  }
  if (problems.length || !compiled) return fail();
  return new CompiledGroupMapping(compiled);
}
