/**
 * Product-level truth for one product number: the OKKI record, what the mapping makes of it, the ledger entry, what
 * Yida holds now (exact search by key), and the difference between the mapped values and Yida's. Each part fails on
 * its own (OKKI down does not hide the ledger), and nothing here writes anything.
 */
import type { Ledger, LedgerEntry } from '../store/types.js';
import type { GroupTree, Mapping, MappingResult, OkkiProduct, ProductSource } from '../core/index.js';
import type { YidaInstanceView } from '../yida/reader.js';
import { errorMessage } from '../errors.js';

export interface LookupDeps {
  source: Pick<ProductSource, 'groups' | 'byProductNos'>;
  mapping: Mapping;
  ledger: Ledger;
  /** absent: the Yida side is not looked at */
  yida?: { instancesByKey(keyField: string, value: string): Promise<YidaInstanceView[]> };
  cursor: () => Promise<Date | undefined>;
  timezone: string;
  detailFields?: readonly string[];
  /** how long the group tree is reused between lookups (default 5 min: one OKKI call, not one per lookup) */
  groupsTtlMs?: number;
}

export type Part<T> = { ok: true; value: T } | { ok: false; error: string };

export interface DiffRow { field: string; label: string; mapped: unknown; yida: unknown; same: boolean }

export interface ProductLookup {
  productNo: string;
  okki: Part<OkkiProduct | undefined>;
  /** rejection or form data (with hash) */
  mapped?: MappingResult;
  ledger: Part<LedgerEntry | undefined>;
  yida: Part<YidaInstanceView[]>;
  diff?: DiffRow[];
  /** the ledger's hash equals the mapped hash: the next run would not write it */
  inStep?: boolean;
}

const isEmpty = (v: unknown) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

/** Loose equality of a mapped value and what Yida returns: `12.5` = `"12.5"`, `null` = absent, lists by content. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (isEmpty(a) && isEmpty(b)) return true;
  if (isEmpty(a) || isEmpty(b)) return false;
  const norm = (v: unknown) => (Array.isArray(v) ? JSON.stringify(v.map(String)) : typeof v === 'object' ? JSON.stringify(v) : String(v).trim());
  if (norm(a) === norm(b)) return true;
  const na = Number(a);
  const nb = Number(b);
  return typeof a !== 'boolean' && typeof b !== 'boolean' && Number.isFinite(na) && Number.isFinite(nb) && String(a).trim() !== '' && String(b).trim() !== '' && na === nb;
}

export function diffFormData(formData: Record<string, unknown>, yidaData: Record<string, unknown> | undefined, labels: Map<string, string>): DiffRow[] {
  return Object.keys(formData).map((field) => {
    const yida = yidaData?.[field];
    return { field, label: labels.get(field) ?? field, mapped: formData[field], yida, same: yidaData !== undefined && sameValue(formData[field], yida) };
  });
}

export function createProductLookup(deps: LookupDeps): (productNo: string) => Promise<ProductLookup> {
  const ttl = deps.groupsTtlMs ?? 5 * 60_000;
  let groups: { tree: GroupTree; at: number } | undefined;
  const tree = async () => {
    if (!groups || Date.now() - groups.at > ttl) groups = { tree: await deps.source.groups(), at: Date.now() };
    return groups.tree;
  };
  const labels = new Map<string, string>();
  const fields = (deps.mapping as { fields?: { field: string; label: string }[] }).fields ?? [];
  for (const f of fields) labels.set(f.field, f.label);

  const part = async <T>(work: () => Promise<T>): Promise<Part<T>> => {
    try { return { ok: true, value: await work() }; } catch (err) { return { ok: false, error: errorMessage(err) }; }
  };

  return async (productNo: string) => {
    const no = productNo.trim();
    let [okki, ledger, yida] = await Promise.all([
      part(async () => {
        for await (const page of deps.source.byProductNos([no], { detailFields: deps.detailFields })) {
          if (page.items[0]) return page.items[0];
          if (page.rejected[0] && !/not.?found|NOT_FOUND/i.test(`${page.rejected[0].code} ${page.rejected[0].reason}`)) throw new Error(`${page.rejected[0].code}: ${page.rejected[0].reason}`);
        }
        return undefined;
      }),
      part(() => deps.ledger.get(no)),
      deps.yida ? part(() => deps.yida!.instancesByKey(deps.mapping.keyField, no)) : Promise.resolve<Part<YidaInstanceView[]>>({ ok: false, error: 'not looked up' }),
    ]);
    const out: ProductLookup = { productNo: no, okki, ledger, yida };
    if (okki.ok && okki.value) {
      try {
        out.mapped = deps.mapping.map(okki.value, { groups: await tree(), lastSyncTime: await deps.cursor().catch(() => undefined), now: new Date(), timezone: deps.timezone });
      } catch (err) {
        out.okki = { ok: false, error: `groups: ${errorMessage(err)}` };
      }
    }
    if (out.mapped?.ok) {
      // A transformed key field (`SKU-{product_no}`): the ledger and Yida know the product by the value Yida holds.
      const held = out.mapped.formData[deps.mapping.keyField];
      if (typeof held === 'string' && held !== '' && held !== no) {
        out.ledger = ledger = await part(() => deps.ledger.get(held));
        if (deps.yida) out.yida = yida = await part(() => deps.yida!.instancesByKey(deps.mapping.keyField, held));
      }
      const first = yida.ok ? yida.value[0] : undefined;
      if (yida.ok) out.diff = diffFormData(out.mapped.formData, first?.data, labels);
      if (ledger.ok && ledger.value) out.inStep = ledger.value.state === 'done' && ledger.value.hash === out.mapped.hash;
    }
    return out;
  };
}
