/** The mapping port: how a source product becomes the sink's form data (implemented by `mapping/`). */
import type { GroupTree, OkkiProduct, RejectedRecord } from './product.js';

/** Context the mapping reads `{{variables}}` from. */
export interface MappingContext {
  groups: GroupTree;
  /** the cursor before this run (LAST_SYNC_TIME); undefined on the first run */
  lastSyncTime?: Date;
  /** run start (CURRENT_TIME) */
  now: Date;
  /** wall-clock zone for formatting dates (SYNC_TIMEZONE) */
  timezone: string;
}

export type MappingResult =
  | { ok: true; productNo: string; formData: Record<string, unknown>; hash: string }
  | { ok: false; rejected: RejectedRecord };

export interface Mapping {
  /** the Yida field id that holds the product number (the dedupe key on the Yida side) */
  readonly keyField: string;
  map(product: OkkiProduct, ctx: MappingContext): MappingResult;
  /** top-level product field names the templates reference (`{fob.price_min}` → `fob`) */
  referencedProductFields(): Set<string>;
  /**
   * The mapping's `onDelete` entries evaluated for a gone product (SYNC_DELETIONS=mark): the fields written into its
   * instance. `product` is what is known of it (at least its product number). Undefined when the mapping has none.
   */
  markData?(product: OkkiProduct, ctx: MappingContext): Record<string, unknown> | undefined;
  /** the Yida field ids the onDelete entries write (empty: the mapping cannot mark) */
  onDeleteFields?(): readonly string[];
  /**
   * For a marked product that comes back: its onDelete fields that no `request` entry writes, cleared (each to the
   * empty value of its type). Empty when the mapping has no onDelete entries.
   */
  clearMarks?(): Record<string, unknown>;
  /**
   * The key field's value for a product, evaluated alone: what the ledger and the sink are keyed by (the product number
   * unless the key field transforms it). The mirror needs it for gone products, known by little more than their number.
   */
  keyOf?(product: OkkiProduct, ctx: MappingContext): string | undefined;
  /** Does the key field hold the product number unchanged? Then a ledger key is a product number. */
  keyIsProductNo?(): boolean;
  /** the Yida field ids the `request` entries write (an audit compares these) */
  requestFields?(): readonly string[];
}
