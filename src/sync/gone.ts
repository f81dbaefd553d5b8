/**
 * A targeted read's pages with the products that are *gone* taken out: a target OKKI does not have (`OKKI_NOT_FOUND`)
 * that the plan expects may be missing is not a rejection but a deleted product, collected in `gone` for the run record
 * (and for what SYNC_DELETIONS does with deleted products).
 */
import type { ProductPage } from '../core/index.js';

export const NOT_FOUND_CODE = 'OKKI_NOT_FOUND';

export async function* withoutGone(pages: AsyncIterable<ProductPage>, goneIfMissing: ReadonlySet<string> | undefined, gone: string[]): AsyncGenerator<ProductPage> {
  for await (const page of pages) {
    if (!goneIfMissing?.size) { yield page; continue; }
    const rejected = page.rejected.filter((r) => {
      if (r.code !== NOT_FOUND_CODE || r.product_no === null || !goneIfMissing.has(r.product_no)) return true;
      gone.push(r.product_no);
      return false;
    });
    yield { ...page, rejected };
  }
}
