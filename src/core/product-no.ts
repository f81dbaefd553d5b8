/**
 * Product numbers, normalised in one place. OKKI's key is `product_no`; it reaches us from list pages, product info,
 * push events, the webhook body and the command line, as a string (with stray spaces, from a person or a form) or,
 * in loose answers, as a number. Every path turns it into the same text, so the ledger, Yida searches and dedupe
 * agree on what one product is.
 */

/** The product number a value stands for: a trimmed non-empty string, or a finite number as text; else undefined. */
export function normalizeProductNo(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const s = value.trim();
  return s === '' ? undefined : s;
}

/** Normalised product numbers, first occurrence kept, blanks and non-numbers dropped. */
export function productNoList(values: readonly unknown[]): string[] {
  const out = new Set<string>();
  for (const v of values) {
    const no = normalizeProductNo(v);
    if (no !== undefined) out.add(no);
  }
  return [...out];
}

/**
 * A key field's value as the ledger and the sink's searches use it: numbers as text, text as it is; undefined when
 * empty (a product whose key maps to nothing cannot be written or found).
 */
export function keyText(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

/** An OKKI product id as the ledger keeps it (ids arrive as numbers or text); undefined when there is none. */
export function productIdText(v: unknown): string | undefined {
  return v === undefined || v === null || v === '' ? undefined : String(v);
}
