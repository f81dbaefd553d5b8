/** A compiled mapping: one OKKI product + run context → Yida form data, or a rejected record with a reason. */
import { keyText, normalizeProductNo, type Mapping, type MappingContext, type MappingResult, type OkkiProduct, type RejectedRecord } from '../core/index.js';
import { coerce, type FieldType } from './coerce.js';
import { ValueProblem } from './errors.js';
import { evaluateExpression, expressionFields } from './expression.js';
import { hashFormData } from './hash.js';
import type { CompiledEntry, CompiledMappingSpec } from './parse.js';
import { evaluateTemplate, templateFields } from './template.js';
import { isPlainObject, orNull, quote } from './values.js';
import type { EvalEnv } from './variables.js';

export const REJECTED_CODE = 'MAPPING_REJECTED';

/** What an operator sees of one field (for previews and docs). */
export interface MappedFieldInfo {
  field: string;
  label: string;
  type: FieldType;
  componentName?: string;
  required: boolean;
  template: string;
}

function reject(productNo: string | null, productId: number | null, reason: string): MappingResult {
  const rejected: RejectedRecord = { product_no: productNo, product_id: productId, code: REJECTED_CODE, reason };
  return { ok: false, rejected };
}


export class CompiledMapping implements Mapping {
  readonly keyField: string;
  readonly source: string;
  private readonly entries: readonly CompiledEntry[];
  private readonly onDelete: readonly CompiledEntry[];
  private readonly referenced: ReadonlySet<string>;
  private readonly keyEntry: CompiledEntry | undefined;
  private readonly keyIsNumber: boolean;

  constructor(spec: CompiledMappingSpec, source: string) {
    this.keyField = spec.keyField;
    this.entries = spec.entries;
    this.keyEntry = spec.entries.find((x) => x.field === spec.keyField);
    const k = this.keyEntry;
    this.keyIsNumber = !!k && k.type === 'string' && k.value.kind === 'template' && /^\s*\{\s*product_no\s*\}\s*$/.test(k.source);
    this.onDelete = spec.onDelete ?? [];
    this.source = source;
    const fields = new Set<string>(['product_no']);
    for (const e of spec.entries) {
      if (e.value.kind === 'template') templateFields(e.value.template, fields);
      else expressionFields(e.value.expr, fields);
    }
    this.referenced = fields;
  }

  get fields(): MappedFieldInfo[] {
    return this.entries.map((e) => ({
      field: e.field, label: e.label, type: e.type, componentName: e.componentName, required: e.required || e.field === this.keyField, template: e.source,
    }));
  }

  referencedProductFields(): Set<string> {
    return new Set(this.referenced);
  }

  requestFields(): readonly string[] {
    return this.entries.map((e) => e.field);
  }

  onDeleteFields(): readonly string[] {
    return this.onDelete.map((e) => e.field);
  }

  /**
   * The onDelete entries for a gone product. Templates see what is known of it (often only its number: a product
   * OKKI no longer has cannot be read); a value that cannot be evaluated is left out rather than failing the mark.
   */
  markData(product: OkkiProduct, ctx: MappingContext): Record<string, unknown> | undefined {
    if (!this.onDelete.length) return undefined;
    const out: Record<string, unknown> = {};
    const env: EvalEnv = { product, ctx };
    for (const e of this.onDelete) {
      const r = this.valueOrNothing(e, env, ctx.timezone);
      if (r) out[e.field] = r.value;
    }
    return out;
  }

  /** An entry's raw value (null when empty); throws ValueProblem when it cannot be evaluated. */
  private raw(e: CompiledEntry, env: EvalEnv): unknown {
    return orNull(e.value.kind === 'template' ? evaluateTemplate(e.value.template, env) : evaluateExpression(e.value.expr, env));
  }

  /** An entry's value in its type; undefined when it cannot be evaluated or coerced (for values that may be left out). */
  private valueOrNothing(e: CompiledEntry, env: EvalEnv, timezone: string): { value: unknown } | undefined {
    try {
      const v = this.raw(e, env);
      if (v === null) return { value: null };
      const c = coerce(v, e.type, timezone);
      return c.ok ? { value: c.value } : undefined;
    } catch (err) {
      if (err instanceof ValueProblem) return undefined;
      throw err;
    }
  }

  /** onDelete fields no request entry writes, each set to its type's empty value (a product that came back). */
  clearMarks(): Record<string, unknown> {
    const written = new Set(this.entries.map((e) => e.field));
    const out: Record<string, unknown> = {};
    for (const e of this.onDelete) {
      if (written.has(e.field)) continue;
      out[e.field] = e.type === 'string' ? '' : e.type === 'array' ? [] : null;
    }
    return out;
  }

  /**
   * The key field's value for a product, evaluated alone (what the ledger and Yida are keyed by): the mirror needs it
   * for products it does not write (gone ones, known by little more than their number). Undefined when it cannot be
   * evaluated or is empty.
   */
  keyOf(product: OkkiProduct, ctx: MappingContext): string | undefined {
    if (!this.keyEntry || !isPlainObject(product)) return undefined;
    const r = this.valueOrNothing(this.keyEntry, { product, ctx }, ctx.timezone);
    return r ? keyText(r.value) : undefined;
  }

  /** Does the key field hold the product number unchanged (`{product_no}` as text)? Then a key is a product number. */
  keyIsProductNo(): boolean {
    return this.keyIsNumber;
  }

  /** Never throws: whatever the product holds, the answer is form data or a rejection with a reason. */
  map(product: OkkiProduct, ctx: MappingContext): MappingResult {
    let productNo: string | null = null;
    let productId: number | null = null;
    try {
      if (!isPlainObject(product)) return reject(null, null, `product is not an object: ${quote(product)}`);
      productId = typeof product.product_id === 'number' && Number.isFinite(product.product_id) ? product.product_id : null;
      const pn = normalizeProductNo(product.product_no);
      if (pn === undefined) {
        const raw = product.product_no;
        return reject(null, productId, raw === undefined || raw === null || raw === '' ? 'product has no product_no' : `product_no ${quote(raw)} is not a product number`);
      }
      productNo = pn;
      const env: EvalEnv = { product, ctx };
      const formData: Record<string, unknown> = {};
      const problems: string[] = [];
      for (const e of this.entries) {
        const where = e.label === e.field ? e.field : `${e.label} (${e.field})`;
        let v: unknown;
        try {
          v = this.raw(e, env);
        } catch (err) {
          if (!(err instanceof ValueProblem)) throw err;
          problems.push(`${where}: ${err.message}`);
          continue;
        }
        if (v !== null) {
          const c = coerce(v, e.type, ctx.timezone);
          if (!c.ok) { problems.push(`${where}: ${c.problem}`); continue; }
          v = c.value;
        }
        if (v === null && (e.required || e.field === this.keyField)) {
          problems.push(`${where}: required value is empty (${quote(e.source, 40)})`);
          continue;
        }
        formData[e.field] = v;
      }
      if (problems.length > 0) return reject(productNo, productId, problems.join('; '));
      return { ok: true, productNo, formData, hash: hashFormData(formData) };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return reject(productNo, productId, `mapping failed: ${message.slice(0, 200)}`);
    }
  }
}
