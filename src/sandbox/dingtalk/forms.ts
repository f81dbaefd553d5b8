/**
 * Instances of plain (non-process) Yida forms, kept apart from process instances as Yida keeps them. Searches see a
 * record through an index that can lag behind the store (`searchLagMs`, fixed for each write when it is made): a fresh
 * record is invisible, a fresh edit shows the previous values, a fresh deletion is still found. Reads by id
 * (batchGet) are never lagged.
 */
import { randomBytes } from 'node:crypto';
import { parseOrder, type Predicate, type SearchView } from './search-condition.js';

/** one state of a record; `visibleAt`: when the search index has it */
interface Version { data: Record<string, unknown>; at: number; visibleAt: number }

export interface SimFormInstance {
  formInstanceId: string;
  appType: string;
  formUuid: string;
  data: Record<string, unknown>;
  creatorUserId: string;
  modifierUserId: string;
  /** ms since epoch */
  createdAt: number;
  modifiedAt: number;
  version: number;
  /** insertion order (a tie-break when times are equal) */
  seq: number;
}

interface Stored extends SimFormInstance { history: Version[]; /** a deleted record leaves the index at this time */ goneAt?: number }

export interface FormQuery {
  formUuid: string;
  match: Predicate;
  order?: string;
  now?: number;
}

export function newFormInstanceId(): string {
  return `FINST-${randomBytes(20).toString('base64').replace(/[^A-Za-z0-9]/g, '').toUpperCase().slice(0, 24)}${randomBytes(4).toString('hex').toUpperCase()}`;
}

/** DingTalk writes these as "2021-05-01T10:00Z" in its examples; the precision is a knob */
export function formatGmt(ms: number, precision: 'minute' | 'second' | 'millisecond'): string {
  const iso = new Date(ms).toISOString();
  if (precision === 'millisecond') return iso;
  return precision === 'second' ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 16)}Z`;
}

const publicView = (s: Stored): SimFormInstance => {
  const { history: _h, goneAt: _g, ...rest } = s;
  return { ...rest, data: { ...rest.data } };
};

export class FormStore {
  private readonly byId = new Map<string, Stored>();
  /** deleted records still visible to a lagging index */
  private tombstones: Stored[] = [];
  private seq = 0;

  get size(): number { return this.byId.size; }

  /** `lagMs`: how long until searches see it; `createdAt` (seeding, drift) may lie in the past */
  create(init: { appType: string; formUuid: string; data: Record<string, unknown>; userId: string; createdAt?: number; lagMs?: number }): SimFormInstance {
    const now = Date.now();
    const at = init.createdAt ?? now;
    const s: Stored = {
      formInstanceId: newFormInstanceId(), appType: init.appType, formUuid: init.formUuid, data: init.data,
      creatorUserId: init.userId, modifierUserId: init.userId, createdAt: at, modifiedAt: at, version: 1, seq: ++this.seq,
      history: [{ data: init.data, at, visibleAt: now + (init.lagMs ?? 0) }],
    };
    this.byId.set(s.formInstanceId, s);
    return publicView(s);
  }

  get(id: string): SimFormInstance | undefined { const s = this.byId.get(id); return s && publicView(s); }
  has(id: string): boolean { return this.byId.has(id); }

  /** merge `patch` into the record (updateFormDataJson semantics); undefined when there is no such record */
  update(id: string, patch: Record<string, unknown>, userId: string, lagMs = 0): SimFormInstance | undefined {
    const s = this.byId.get(id);
    if (!s) return undefined;
    const now = Date.now();
    s.data = { ...s.data, ...patch };
    s.modifiedAt = Math.max(now, s.modifiedAt);
    s.modifierUserId = userId;
    s.version += 1;
    s.history.push({ data: s.data, at: s.modifiedAt, visibleAt: now + lagMs });
    // Versions older than the newest one the index already has are never seen again.
    let indexed = 0;
    s.history.forEach((h, i) => { if (h.visibleAt <= now) indexed = i; });
    if (indexed > 0) s.history.splice(0, indexed);
    return publicView(s);
  }

  /** `lagMs`: how long searches still find it */
  delete(id: string, lagMs = 0): boolean {
    const s = this.byId.get(id);
    if (!s) return false;
    this.byId.delete(id);
    if (lagMs > 0) { s.goneAt = Date.now() + lagMs; this.tombstones.push(s); }
    return true;
  }

  /** the version of `s` the search index holds at `now`, or undefined when it holds none */
  private visible(s: Stored, now: number): (SearchView & { seq: number; id: string }) | undefined {
    if (s.goneAt !== undefined && s.goneAt <= now) return undefined;
    let v: Version | undefined;
    for (const h of s.history) if (h.visibleAt <= now) v = h;
    if (!v) return undefined;
    return { data: v.data, createdAt: s.createdAt, modifiedAt: v.at, creatorUserId: s.creatorUserId, seq: s.seq, id: s.formInstanceId };
  }

  /** the ids a search finds, ordered; each with the version it sees */
  search(q: FormQuery): Array<{ id: string; view: SearchView }> {
    const now = q.now ?? Date.now();
    const order = parseOrder(q.order); // throws SearchError before any work
    this.tombstones = this.tombstones.filter((t) => (t.goneAt ?? 0) > now);
    const hits: Array<SearchView & { seq: number; id: string }> = [];
    for (const s of [...this.byId.values(), ...this.tombstones]) {
      if (s.formUuid !== q.formUuid) continue;
      const v = this.visible(s, now);
      if (v && q.match(v)) hits.push(v);
    }
    hits.sort(order);
    return hits.map((h) => ({ id: h.id, view: { data: h.data, createdAt: h.createdAt, modifiedAt: h.modifiedAt, creatorUserId: h.creatorUserId } }));
  }

  all(formUuid?: string): SimFormInstance[] {
    return [...this.byId.values()].filter((s) => !formUuid || s.formUuid === formUuid).map(publicView);
  }

  clear(): void { this.byId.clear(); this.tombstones = []; this.seq = 0; }
}
