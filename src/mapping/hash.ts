/** Content hash of mapped form data, for change detection in the dedupe ledger. */
import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every depth, so `{a,b}` and `{b,a}` serialise alike; list order is kept
 * because it is meaningful (a multi-select's options). `undefined` members are dropped, as JSON does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return 'null';
}

/** sha256 (hex) of the canonical JSON. */
export function hashFormData(formData: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(formData)).digest('hex');
}
