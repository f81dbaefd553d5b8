/**
 * Item validation with the real API's looseness in mind: numbers may come as strings and unknown fields are kept.
 * What cannot be synced (no product_no) becomes a rejected record, never an exception.
 */
import { normalizeProductNo, type OkkiProduct, type RejectedRecord } from '../core/index.js';

export type ItemCheck = { ok: true; item: OkkiProduct } | { ok: false; rejected: RejectedRecord };

function toInt(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) return Number(v);
  return undefined;
}

export function checkItem(raw: unknown): ItemCheck {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, rejected: { product_no: null, product_id: null, code: 'OKKI_ITEM_INVALID', reason: 'list item is not an object' } };
  }
  const item = { ...(raw as Record<string, unknown>) } as OkkiProduct;
  const id = toInt(item.product_id);
  if (id !== undefined) item.product_id = id;
  const gid = toInt(item.group_id);
  if (gid !== undefined) item.group_id = gid;
  const no = item.product_no as unknown;
  const productNo = normalizeProductNo(no);
  if (!productNo) {
    const reason = no === undefined || no === null ? 'product_no is missing' : typeof no === 'string' ? 'product_no is empty' : `product_no is not a string (${typeof no})`;
    return { ok: false, rejected: { product_no: null, product_id: id ?? null, code: 'OKKI_ITEM_INVALID', reason } };
  }
  item.product_no = productNo;
  return { ok: true, item };
}

/** The identity used to recognise a row across re-reads: product_id, else product_no, else the row's text. */
export function rowKey(raw: unknown): string | number {
  if (raw && typeof raw === 'object') {
    const r = raw as Record<string, unknown>;
    const id = toInt(r.product_id);
    if (id !== undefined) return id;
    const no = typeof r.product_no === 'string' ? normalizeProductNo(r.product_no) : undefined;
    if (no !== undefined) return `no:${no}`;
  }
  return `raw:${JSON.stringify(raw)}`;
}
