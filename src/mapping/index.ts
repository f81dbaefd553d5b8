/**
 * The mapping engine: `{field}` / `{{variable|filter}}` / `_function EXPR` templates, Yida type coercion and
 * data-quality rules. See the README section "Mapping" for the language.
 */
import type { Mapping } from '../core/index.js';
import { CompiledMapping } from './mapping.js';
import { compileMapping, readMappingFileWithWarnings } from './parse.js';

export { MappingError } from './errors.js';
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

/** Validates a mapping document. Throws MappingError (code MAPPING_INVALID) listing every problem. */
export function parseMapping(json: unknown, sourceName = '(inline document)'): CompiledMapping {
  return new CompiledMapping(compileMapping(json, sourceName), sourceName);
}

/** Reads and validates a mapping file. Throws MappingError (code MAPPING_INVALID) listing every problem. */
export function loadMapping(path: string, opts: { warn?: (message: string) => void } = {}): CompiledMapping {
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
