/**
 * Does the mapping fit the Yida form? Compares the mapping's entries with the form's field definitions (what
 * `getFormComponentDefinitionList` returns, already parsed): field ids the form does not have, components or value
 * types that disagree, required form fields nothing writes. Pure: the definitions come in as data, so the console,
 * `npm run mapping:check` and /readyz share this one judgement.
 */
import { COMPONENT_TYPES, type FieldType } from './coerce.js';

/** One field of the form as the definition list describes it. */
export interface FormFieldDefinition {
  fieldId: string;
  componentName: string;
  label?: string;
  /** true/false when the definition says; absent when it does not (then nothing is claimed about it) */
  required?: boolean;
  /** set for fields inside a container such as a sub-table (TableField) */
  parentId?: string;
}

/** One mapping entry, as CompiledMapping.fields describes it. */
export interface MappedField {
  field: string;
  label: string;
  type: FieldType;
  componentName?: string;
  required: boolean;
}

export type FormCheckKind =
  | 'unknown_field' | 'component_mismatch' | 'type_mismatch' | 'required_unmapped'
  | 'unsupported_component' | 'inside_container' | 'key_not_text';

export interface FormCheckFinding {
  kind: FormCheckKind;
  /** the field id concerned */
  field: string;
  label?: string;
  /** Chinese first, English beside it */
  message: string;
}

export interface FormCheckRow {
  field: string;
  label: string;
  type: FieldType;
  /** the form's component and label for this id, when the form has it */
  formComponent?: string;
  formLabel?: string;
  ok: boolean;
}

export interface FormCheckResult {
  /** true when nothing below is a problem (warnings allowed) */
  ok: boolean;
  /** what makes writes lose data or fail: unknown ids, mismatches, required fields left unmapped */
  problems: FormCheckFinding[];
  /** what deserves a look but does not stop a sync */
  warnings: FormCheckFinding[];
  /** every mapping entry beside what the form says about its id */
  rows: FormCheckRow[];
  /** form fields the mapping does not write (not required ones; required ones are problems) */
  unmapped: FormFieldDefinition[];
  formFieldCount: number;
}

const name = (label: string | undefined, field: string) => (label && label !== field ? `${label} (${field})` : field);

/** Compare a mapping with a form's field definitions. */
export function checkMappingAgainstForm(mapped: readonly MappedField[], form: readonly FormFieldDefinition[], keyField: string): FormCheckResult {
  const byId = new Map<string, FormFieldDefinition>();
  for (const f of form) if (f && typeof f.fieldId === 'string' && f.fieldId && !byId.has(f.fieldId)) byId.set(f.fieldId, f);
  const problems: FormCheckFinding[] = [];
  const warnings: FormCheckFinding[] = [];
  const rows: FormCheckRow[] = [];
  const mappedIds = new Set(mapped.map((m) => m.field));

  for (const m of mapped) {
    const def = byId.get(m.field);
    const who = name(m.label, m.field);
    const before = problems.length;
    if (!def) {
      problems.push({ kind: 'unknown_field', field: m.field, label: m.label, message: `表单中没有字段 ${who} / the form has no field ${who}` });
    } else {
      const formType = COMPONENT_TYPES[def.componentName];
      if (m.componentName && m.componentName !== def.componentName) {
        problems.push({ kind: 'component_mismatch', field: m.field, label: m.label, message: `${who}：映射写的组件是 ${m.componentName}，表单中是 ${def.componentName} / the mapping says ${m.componentName}, the form has ${def.componentName}` });
      } else if (formType === undefined) {
        warnings.push({ kind: 'unsupported_component', field: m.field, label: m.label, message: `${who}：表单组件 ${def.componentName} 不在连接器支持的组件之列，值按 ${m.type} 写入 / the form's component ${def.componentName} is not one the connector knows; values are written as ${m.type}` });
      } else if (formType !== m.type) {
        problems.push({ kind: 'type_mismatch', field: m.field, label: m.label, message: `${who}：映射的类型是 ${m.type}，表单组件 ${def.componentName} 需要 ${formType} / the mapping writes ${m.type}, the form's ${def.componentName} takes ${formType}` });
      }
      if (def.parentId) {
        warnings.push({ kind: 'inside_container', field: m.field, label: m.label, message: `${who} 位于容器 ${def.parentId} 中（如子表单），顶层写入可能无效 / ${who} sits inside ${def.parentId} (a sub-table?); a top-level write may not reach it` });
      }
      if (m.field === keyField && def.componentName !== 'TextField') {
        warnings.push({ kind: 'key_not_text', field: m.field, label: m.label, message: `去重键 ${who} 是 ${def.componentName}，精确查询按单行文本组件构造 / the dedupe key ${who} is a ${def.componentName}; the exact search is built for a TextField` });
      }
    }
    rows.push({ field: m.field, label: m.label, type: m.type, formComponent: def?.componentName, formLabel: def?.label, ok: problems.length === before });
  }

  const unmapped: FormFieldDefinition[] = [];
  for (const def of byId.values()) {
    if (mappedIds.has(def.fieldId)) continue;
    if (def.required === true && !def.parentId) {
      const who = name(def.label, def.fieldId);
      problems.push({ kind: 'required_unmapped', field: def.fieldId, label: def.label, message: `表单必填字段 ${who} 未被映射 / the form requires ${who} and the mapping does not write it` });
    } else {
      unmapped.push(def);
    }
  }
  return { ok: problems.length === 0, problems, warnings, rows, unmapped, formFieldCount: byId.size };
}

/** Plain-text report for the command line: one line per finding, then the field table. */
export function formatFormCheck(r: FormCheckResult): string {
  const lines: string[] = [];
  lines.push(r.ok ? `✓ 映射与表单相符 / the mapping fits the form (${r.rows.length} mapped, ${r.formFieldCount} form fields)`
    : `✗ 映射与表单不符 / the mapping does not fit the form: ${r.problems.length} problem(s)`);
  for (const p of r.problems) lines.push(`  ✗ [${p.kind}] ${p.message}`);
  for (const w of r.warnings) lines.push(`  ! [${w.kind}] ${w.message}`);
  lines.push('');
  for (const row of r.rows) {
    lines.push(`  ${row.ok ? '✓' : '✗'} ${row.field}  ${row.label}  ${row.type}  → ${row.formComponent ? `${row.formComponent}${row.formLabel ? ` "${row.formLabel}"` : ''}` : '(not in the form)'}`);
  }
  if (r.unmapped.length) lines.push('', `  未映射的表单字段 / form fields not mapped: ${r.unmapped.map((u) => name(u.label, u.fieldId)).join(', ')}`);
  return lines.join('\n');
}
