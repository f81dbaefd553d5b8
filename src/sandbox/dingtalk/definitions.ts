/**
 * Field definitions a simulated form answers getFormComponentDefinitionList with. By default they are derived from
 * the shipped manifest/mapping.json (so the shipped mapping fits the simulated form) plus the fields the tests and the
 * benchmark write; tests replace them per form to plant unknown fields, wrong components or unmapped required fields.
 */
import { readFileSync } from 'node:fs';

export interface SimFieldDef {
  fieldId: string;
  componentName: string;
  label: string;
  required?: boolean;
  parentId?: string;
}

/** textField_x → TextField, textareaField_x → TextareaField, selectField_x → SelectField ... */
export function componentOf(fieldId: string): string {
  const prefix = fieldId.split('_')[0] ?? fieldId;
  const base = prefix.endsWith('Field') ? prefix : `${prefix}Field`;
  return base.charAt(0).toUpperCase() + base.slice(1);
}

/** the shipped mapping's product-number field, which the form requires */
const REQUIRED = new Set(['textField_lq23ags2', 'textField_lq0sj9h9']);

const EXTRA: SimFieldDef[] = [
  { fieldId: 'textField_productNo', componentName: 'TextField', label: '产品编号' },
  { fieldId: 'textField_name', componentName: 'TextField', label: '名称' },
  { fieldId: 'numberField_price', componentName: 'NumberField', label: '价格' },
  { fieldId: 'selectField_status', componentName: 'SelectField', label: '状态' },
];

let cached: SimFieldDef[] | undefined;

export function defaultFieldDefs(): SimFieldDef[] {
  if (!cached) {
    const fromManifest: SimFieldDef[] = [];
    try {
      const text = readFileSync(new URL('../../../manifest/mapping.json', import.meta.url), 'utf8');
      const parsed = JSON.parse(text) as { request?: Array<{ field?: unknown; label?: unknown }> };
      for (const e of parsed.request ?? []) {
        if (typeof e.field !== 'string') continue;
        fromManifest.push({ fieldId: e.field, componentName: componentOf(e.field), label: typeof e.label === 'string' ? e.label : e.field, required: REQUIRED.has(e.field) });
      }
    } catch { /* no manifest next to the sources (a packaged copy): the extra fields still describe the test form */ }
    const seen = new Set(fromManifest.map((f) => f.fieldId));
    cached = [...fromManifest, ...EXTRA.filter((f) => !seen.has(f.fieldId)).map((f) => ({ ...f, required: false }))];
  }
  return cached.map((f) => ({ ...f }));
}

export function validateFieldDefs(v: unknown): SimFieldDef[] {
  if (!Array.isArray(v)) throw new Error('field definitions: expected an array of {fieldId, componentName, label, required?}');
  return v.map((f, i) => {
    if (!f || typeof f !== 'object' || typeof f.fieldId !== 'string' || !f.fieldId) throw new Error(`field definitions[${i}].fieldId is required`);
    return {
      fieldId: f.fieldId,
      componentName: typeof f.componentName === 'string' && f.componentName ? f.componentName : componentOf(f.fieldId),
      label: typeof f.label === 'string' ? f.label : f.fieldId,
      required: f.required === true,
      ...(typeof f.parentId === 'string' ? { parentId: f.parentId } : {}),
    };
  });
}
