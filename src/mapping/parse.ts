/**
 * Mapping file → compiled entries. Validates everything up front and reports every problem at once, each
 * naming the entry (index, label, field id) and, for template errors, the character position in the value.
 */
import { readFileSync } from 'node:fs';
import { COMPONENT_TYPES, componentFromFieldId, FIELD_TYPES, type FieldType } from './coerce.js';
import { MappingError } from './errors.js';
import { parseExpression, type Expr } from './expression.js';
import { parseTemplate, type Problem, type Template } from './template.js';
import { isPlainObject } from './values.js';
import { MappingSyntaxError, parseMappingText, type MappingText } from './file-forms.js';

export type CompiledValue = { kind: 'template'; template: Template } | { kind: 'function'; expr: Expr };

export interface CompiledEntry {
  index: number;
  field: string;
  label: string;
  type: FieldType;
  componentName?: string;
  required: boolean;
  /** the template text as written, for messages */
  source: string;
  value: CompiledValue;
}

export interface CompiledMappingSpec {
  keyField: string;
  entries: CompiledEntry[];
  /** what SYNC_DELETIONS=mark writes into a gone product's instance (same entry format as request) */
  onDelete: CompiledEntry[];
}

const TOP_LEVEL_KEYS = ['request', 'keyField', 'onDelete', 'groups', '$schema', 'description'];
const ENTRY_KEYS = ['field', 'label', 'type', 'componentName', 'value', 'required', 'description'];
/** the whole-value marker for a function expression */
const FUNCTION_PREFIX = /^\s*_function(?=\s|$)/;
/** a value that is exactly the product number: the default key field */
const PRODUCT_NO_VALUE = /^\s*\{\s*product_no\s*\}\s*$/;

const allowedKey = (allowed: string[], k: string) => allowed.includes(k) || k.startsWith('_');

function excerpt(text: string, max = 80): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max - 1)}…` : text);
}

function compileValue(source: string, problems: Problem[]): CompiledValue | undefined {
  const before = problems.length;
  const fn = FUNCTION_PREFIX.exec(source);
  if (fn) {
    const start = fn[0].length;
    if (source.slice(start).trim() === '') {
      problems.push({ message: 'expected an expression after "_function"', pos: source.length });
      return undefined;
    }
    const expr = parseExpression(source, start, problems);
    return expr && problems.length === before ? { kind: 'function', expr } : undefined;
  }
  const template = parseTemplate(source, problems);
  return problems.length === before ? { kind: 'template', template } : undefined;
}

/** Validates a parsed mapping document. Throws MappingError listing every problem. */
export function compileMapping(json: unknown, sourceName = '(inline document)'): CompiledMappingSpec {
  const problems: string[] = [];
  const fail = (): never => { throw new MappingError(sourceName, problems); };
  if (!isPlainObject(json)) {
    problems.push('expected a JSON object like {"request": [{"field": ..., "label": ..., "type": ..., "value": ...}]}, a bare array of such entries, or the text "request":[...] as an integration platform shows it');
    return fail();
  }
  for (const k of Object.keys(json)) {
    if (!allowedKey(TOP_LEVEL_KEYS, k)) problems.push(`unknown top-level key "${k}" (allowed: ${TOP_LEVEL_KEYS.join(', ')}; keys starting with _ are comments)`);
  }
  const keyFieldOption = json.keyField;
  if (keyFieldOption !== undefined && (typeof keyFieldOption !== 'string' || keyFieldOption.trim() === '')) {
    problems.push('keyField: expected the Yida field id (a non-empty string) that holds the product number');
  }
  const request = json.request;
  if (!Array.isArray(request) || request.length === 0) {
    problems.push('request: expected a non-empty array of field entries');
    return fail();
  }

  const entries = compileEntries('request', request, problems);
  const seen = new Set(request.map((raw) => (isPlainObject(raw) && typeof raw.field === 'string' ? raw.field.trim() : '')).filter(Boolean));
  let onDelete: CompiledEntry[] = [];
  if (json.onDelete !== undefined) {
    if (!Array.isArray(json.onDelete)) problems.push('onDelete: expected an array of field entries like request\'s (what SYNC_DELETIONS=mark writes)');
    else onDelete = compileEntries('onDelete', json.onDelete, problems);
  }

  let keyField: string | undefined;
  if (typeof keyFieldOption === 'string' && keyFieldOption.trim()) {
    keyField = keyFieldOption.trim();
    if (!seen.has(keyField)) problems.push(`keyField "${keyField}" is not the field of any request entry`);
  } else {
    const keyEntry = request.find((raw) => isPlainObject(raw) && typeof raw.value === 'string' && PRODUCT_NO_VALUE.test(raw.value) && typeof raw.field === 'string');
    if (keyEntry) keyField = ((keyEntry as Record<string, unknown>).field as string).trim();
    else problems.push('missing key field: set "keyField" or map one entry\'s value to exactly "{product_no}" (the ledger and Yida searches need it)');
  }
  const key = entries.find((e) => e.field === keyField);
  if (key && key.type !== 'string') problems.push(`request[${key.index}] "${key.label}" (${key.field}): the key field must have type string, not ${key.type}`);
  // Marking a gone product must leave its key alone: the key is how its instance is found again when it comes back.
  for (const e of onDelete) if (e.field === keyField) problems.push(`onDelete[${e.index}] "${e.label}" (${e.field}): must not write the key field`);

  if (problems.length > 0) return fail();
  return { keyField: keyField!, entries, onDelete };
}

/** The entries of one block (`request`, `onDelete`): every problem names the block, index, label and field. */
function compileEntries(block: string, list: readonly unknown[], problems: string[]): CompiledEntry[] {
  const entries: CompiledEntry[] = [];
  const seen = new Map<string, number>();
  list.forEach((raw, index) => {
    if (!isPlainObject(raw)) {
      problems.push(`${block}[${index}]: expected an object with field, label, type and value`);
      return;
    }
    const field = typeof raw.field === 'string' ? raw.field.trim() : '';
    const label = typeof raw.label === 'string' && raw.label.trim() ? raw.label.trim() : field;
    const where = `${block}[${index}]${typeof raw.label === 'string' && raw.label.trim() ? ` "${raw.label.trim()}"` : ''}${field ? ` (${field})` : ''}`;
    const before = problems.length;
    const problem = (msg: string) => problems.push(`${where}: ${msg}`);

    for (const k of Object.keys(raw)) {
      if (!allowedKey(ENTRY_KEYS, k)) problem(`unknown key "${k}" (allowed: ${ENTRY_KEYS.join(', ')})`);
    }
    if (typeof raw.field !== 'string' || !/^\S+$/.test(raw.field)) problem('field: expected the Yida field id, e.g. "textField_lq0sj9h9"');
    if (raw.label !== undefined && typeof raw.label !== 'string') problem('label: expected a string');
    if (raw.required !== undefined && typeof raw.required !== 'boolean') problem('required: expected true or false');

    let type: FieldType | undefined;
    if (raw.type !== undefined) {
      if (typeof raw.type === 'string' && (FIELD_TYPES as readonly string[]).includes(raw.type)) type = raw.type as FieldType;
      else problem(`type: expected one of ${FIELD_TYPES.join(', ')}, got ${JSON.stringify(raw.type)}`);
    }
    let componentName: string | undefined;
    if (raw.componentName !== undefined) {
      if (typeof raw.componentName !== 'string' || !raw.componentName.trim()) problem('componentName: expected a Yida component name such as TextField');
      else {
        componentName = raw.componentName.trim();
        const implied = COMPONENT_TYPES[componentName];
        if (implied && type && implied !== type) problem(`type "${type}" does not fit componentName ${componentName} (which takes ${implied})`);
        if (!implied && raw.type === undefined) {
          problem(`componentName: unknown component "${componentName}"; give a "type" or use one of ${Object.keys(COMPONENT_TYPES).join(', ')}`);
        }
        type ??= implied;
      }
    }
    const inferred = componentFromFieldId(field);
    type ??= raw.type === undefined && !componentName && inferred ? COMPONENT_TYPES[inferred] : undefined;
    type ??= 'string';

    let value: CompiledValue | undefined;
    if (typeof raw.value !== 'string') {
      problem(`value: expected a template string such as "{name}", got ${raw.value === undefined ? 'nothing' : JSON.stringify(raw.value)}`);
    } else {
      const valueProblems: Problem[] = [];
      value = compileValue(raw.value, valueProblems);
      for (const p of valueProblems) problem(`value ${excerpt(raw.value)}: ${p.message} at char ${p.pos + 1}`);
    }

    if (field) {
      const first = seen.get(field);
      if (first !== undefined) problem(`duplicate target field "${field}" (already mapped by ${block}[${first}])`);
      else seen.set(field, index);
    }
    if (problems.length === before && value) {
      entries.push({
        index, field, label, type, componentName, required: raw.required === true, source: raw.value as string, value,
      });
    }
  });

  return entries;
}

/**
 * Reads a mapping file in any of its forms (file-forms.ts); unreadable files and syntax errors are MappingErrors too
 * (with line and column). `warnings` are for the operator (start-up log).
 */
export function readMappingFileWithWarnings(path: string): MappingText {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new MappingError(path, [`cannot read the mapping file (${code})`]);
  }
  try {
    return parseMappingText(text);
  } catch (e) {
    if (e instanceof MappingSyntaxError) throw new MappingError(path, [e.message]);
    throw e;
  }
}
