/**
 * The mapping engine: `{field}` / `{{variable|filter}}` / `_function EXPR` templates, Yida type coercion and
 * data-quality rules. See the README section "Mapping" for the language.
 */
import type { Mapping } from '../core/index.js';
import { CompiledMapping } from './mapping.js';
import { compileMapping, readMappingFileWithWarnings } from './parse.js';
import { compileGroupMapping, CompiledGroupMapping } from './groups.js';
import { MappingError } from './errors.js';
import { isPlainObject } from './values.js';

export { MappingError } from './errors.js';
export { compileGroupMapping, CompiledGroupMapping } from './groups.js';
export { CompiledMapping, REJECTED_CODE, type MappedFieldInfo } from './mapping.js';
export { hashFormData, canonicalJson } from './hash.js';
export { previewMapping, formatPreview, type PreviewItem } from './preview.js';
export { COMPONENT_TYPES, FIELD_TYPES, type FieldType } from './coerce.js';
export { VARIABLE_NAMES, FILTER_NAMES, GROUP_PATH_SEPARATOR } from './variables.js';
export { FUNCTION_NAMES } from './functions.js';
export { parseMappingText } from './file-forms.js';

/**
 * Product fields that `/v1/product/list` items lack; the source fetches them from `/v1/product/info`,
 * but only when the mapping references them (one extra request per product is expensive).
 */
export const LIST_MISSING_FIELDS: readonly string[] = ['product_type', 'sku_items'];

/** A mapping with its optional `groups` block (the groups mirror's, used when YIDA_GROUP_FORM_UUID is set). */
export type LoadedMapping = CompiledMapping & { readonly groups?: CompiledGroupMapping };

/**
 * Validates a mapping document, its `groups` block included (also when no group form is configured: a typo is found
 * before it matters). Throws MappingError (code MAPPING_INVALID) listing every problem.
 */
export function parseMapping(json: unknown, sourceName = '(inline document)'): LoadedMapping {
  const problems: string[] = [];
  const attempt = <T>(fn: () => T): T | undefined => {
    try { return fn(); } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  };
  const products = attempt(() => new CompiledMapping(compileMapping(json, sourceName), sourceName));
  const block = isPlainObject(json) ? json.groups : undefined;
  const groups = block === undefined ? undefined : attempt(() => compileGroupMapping(block, sourceName));
  if (problems.length || !products) throw new MappingError(sourceName, problems);
  return Object.assign(products, { groups });
}

/** Reads and validates a mapping file. Throws MappingError (code MAPPING_INVALID) listing every problem. */
export function loadMapping(path: string, opts: { warn?: (message: string) => void } = {}): LoadedMapping {
  const { document, warnings } = readMappingFileWithWarnings(path);
  const mapping = parseMapping(document, path);
  for (const w of warnings) opts.warn?.(w);
  return mapping;
}

/** The `detailFields` to pass to `ProductSource`: referenced fields that list items do not carry. */
export function detailFieldsFor(mapping: Mapping): string[] {
  const referenced = mapping.referencedProductFields();
  return LIST_MISSING_FIELDS.filter((f) => referenced.has(f));
}
