/** The sync cursor: the end of the last fully covered window, kept as an ISO instant. */
import type Keyv from 'keyv';
import type { CursorStore } from './types.js';
import { ConnectorError } from '../errors.js';
import { StoreArgumentError } from './keyv.js';

const KEY = 'cursor';

/** The stored cursor is not an instant: someone edited the store by hand, or a bug wrote it. */
export class CursorCorruptError extends ConnectorError {
  constructor() { super('STORE_CURSOR_CORRUPT', 'The stored sync cursor is not a valid ISO instant; fix or delete the "cursor" record'); }
}

export class KeyvCursorStore implements CursorStore {
  constructor(private readonly kv: Keyv, private readonly key: string = KEY) {}

  async get(): Promise<Date | undefined> {
    const raw: unknown = await this.kv.get(this.key);
    if (raw === undefined || raw === null) return undefined;
    // Refusing (rather than treating it as absent) keeps a damaged cursor from silently triggering a full backfill.
    if (typeof raw !== 'string') throw new CursorCorruptError();
    const d = new Date(raw);
    if (Number.isNaN(d.getTime())) throw new CursorCorruptError();
    return d;
  }

  async set(instant: Date): Promise<void> {
    if (!(instant instanceof Date) || Number.isNaN(instant.getTime())) throw new StoreArgumentError('cursor: expected a valid Date');
    await this.kv.set(this.key, instant.toISOString());
  }
}
