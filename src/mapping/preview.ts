/** Dry-run view of a mapping: what a few products would become, without writing anything anywhere. */
import type { Mapping, MappingContext, OkkiProduct, ProductPage, RejectedRecord } from '../core/index.js';
import { CompiledMapping } from './mapping.js';
import { safeJson } from './values.js';

export interface PreviewItem {
  product_no: string | null;
  formData?: Record<string, unknown>;
  hash?: string;
  rejected?: RejectedRecord;
}

export function previewMapping(mapping: Mapping, products: Iterable<OkkiProduct>, ctx: MappingContext): PreviewItem[] {
  const out: PreviewItem[] = [];
  for (const product of products) {
    const r = mapping.map(product, ctx);
    if (r.ok) out.push({ product_no: r.productNo, formData: r.formData, hash: r.hash });
    else out.push({ product_no: r.rejected.product_no, rejected: r.rejected });
  }
  return out;
}

/** The first `limit` products of a read as they would be written (rejected ones with why), page by page. */
export async function* previewPages(pages: AsyncIterable<ProductPage>, mapping: Mapping, ctx: MappingContext, limit: number): AsyncGenerator<PreviewItem> {
  if (limit < 1) return;
  let shown = 0;
  for await (const page of pages) {
    const items = [...page.rejected.map((r) => ({ product_no: r.product_no, rejected: r })), ...previewMapping(mapping, page.items, ctx)];
    for (const item of items) {
      yield item;
      if (++shown >= limit) return;
    }
  }
}

/** Human-readable preview for the CLI: one block per product, fields shown with their labels. */
export function formatPreview(items: readonly PreviewItem[], mapping: Mapping): string {
  const labels = new Map<string, string>();
  if (mapping instanceof CompiledMapping) for (const f of mapping.fields) labels.set(f.field, f.label);
  const lines: string[] = [];
  for (const item of items) {
    const head = item.product_no ?? '(no product_no)';
    if (item.rejected) {
      lines.push(`✗ ${head}  rejected [${item.rejected.code}]: ${item.rejected.reason}`);
      continue;
    }
    lines.push(`✓ ${head}  hash ${item.hash?.slice(0, 12) ?? ''}`);
    for (const [field, value] of Object.entries(item.formData ?? {})) {
      const label = labels.get(field);
      lines.push(`    ${label && label !== field ? `${label} (${field})` : field}: ${value === null ? 'null (empty)' : safeJson(value)}`);
    }
  }
  return lines.join('\n');
}
