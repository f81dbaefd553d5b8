/** What the engine needs for the mirror (gone products, sweep, audit), put together by the composition root. */
import type { ProductSink } from '../core/index.js';
import type { Ledger } from '../store/types.js';
import type { GoneActor } from './gone.js';
import type { LedgerScan } from './sweep.js';

export interface MirrorParts {
  actor: GoneActor;
  /** the sink the audit reads whole and repairs through (the writer writes through it too) */
  sink: ProductSink;
  ledger: Ledger;
  scanLedger: LedgerScan;
  /** product fields list items lack that the mapping needs: the audit fetches them (an ordinary run's source has them bound) */
  detailFields?: readonly string[];
}
