/**
 * What the groups mirror keeps beside its ledger (`group-ledger:<id>`): which groups may have a record in the group
 * form (so that a group gone from OKKI's list is found without scanning the store), and the group paths as of the last
 * run that finished its re-reads (so that a renamed group is noticed, and the products in it read again, on the next
 * run). Both are small: one entry per group.
 */
import type Keyv from 'keyv';
import type { GroupStateStore } from './types.js';
import { StoreArgumentError } from './keyv.js';

const KNOWN_KEY = 'groups:known';
const PATHS_KEY = 'groups:paths';

const ids = (v: unknown): number[] => (Array.isArray(v) ? v.filter((x): x is number => Number.isInteger(x)) : []);

export class KeyvGroupStateStore implements GroupStateStore {
  constructor(private readonly kv: Keyv) {}

  async known(): Promise<Set<number>> {
    return new Set(ids(await this.kv.get(KNOWN_KEY)));
  }

  async addKnown(add: Iterable<number>): Promise<void> {
    const known = await this.known();
    const before = known.size;
    for (const id of add) {
      if (!Number.isInteger(id)) throw new StoreArgumentError('group state: group ids are whole numbers');
      known.add(id);
    }
    if (known.size !== before) await this.kv.set(KNOWN_KEY, [...known].sort((a, b) => a - b));
  }

  async removeKnown(remove: Iterable<number>): Promise<void> {
    const known = await this.known();
    let changed = false;
    for (const id of remove) changed = known.delete(id) || changed;
    if (changed) await this.kv.set(KNOWN_KEY, [...known].sort((a, b) => a - b));
  }

  async paths(): Promise<Map<number, string> | undefined> {
    const v: unknown = await this.kv.get(PATHS_KEY);
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    const out = new Map<number, string>();
    for (const [k, p] of Object.entries(v as Record<string, unknown>)) if (/^\d+$/.test(k) && typeof p === 'string') out.set(Number(k), p);
    return out;
  }

  async setPaths(paths: ReadonlyMap<number, string>): Promise<void> {
    await this.kv.set(PATHS_KEY, Object.fromEntries([...paths].map(([id, p]) => [String(id), p])));
  }
}
