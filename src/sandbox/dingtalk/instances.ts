/**
 * The simulator's Yida process instances and Yida's two search dialects:
 * a JSON map is a FUZZY (substring) match, a JSON array of `{key, value, operator}` conditions is exact for `eq`.
 * Instances keep only their parsed form data plus a few scalars, so 10k+ of them stay cheap.
 */
import { randomUUID } from 'node:crypto';

export interface SimInstance {
  processInstanceId: string;
  appType: string;
  formUuid: string;
  processCode?: string;
  title: string;
  data: Record<string, unknown>;
  instanceStatus: 'RUNNING' | 'COMPLETED' | 'TERMINATED' | 'ERROR';
  approvedResult: string;
  originatorUserId: string;
  createTimeGMT: string;
  modifiedTimeGMT: string;
  version: number;
}

export interface SearchFilter {
  formUuid: string;
  instanceStatus?: string;
  /** the raw `searchFieldJson` string as sent */
  searchFieldJson?: string;
}

export class SearchError extends Error {}

type Condition = (data: Record<string, unknown>) => boolean;

const text = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

/** Parse `searchFieldJson` into a predicate; throws SearchError with Yida-like wording when malformed. */
export function parseSearch(searchFieldJson: string | undefined): Condition {
  if (searchFieldJson === undefined || searchFieldJson.trim() === '') return () => true;
  let parsed: unknown;
  try { parsed = JSON.parse(searchFieldJson); } catch { throw new SearchError('searchFieldJson is not valid JSON'); }
  if (Array.isArray(parsed)) {
    const conds: Condition[] = parsed.map((c, i) => {
      if (!c || typeof c !== 'object' || typeof (c as { key?: unknown }).key !== 'string') throw new SearchError(`searchFieldJson[${i}].key is required`);
      const { key, value, operator = 'eq' } = c as { key: string; value?: unknown; operator?: string };
      const want = text(value);
      switch (operator) {
        case 'eq': return (d) => text(d[key]) === want;
        case 'ne': return (d) => text(d[key]) !== want;
        case 'like': return (d) => text(d[key]).includes(want);
        default: throw new SearchError(`searchFieldJson[${i}].operator ${JSON.stringify(operator)} is not supported`);
      }
    });
    return (d) => conds.every((c) => c(d));
  }
  if (parsed && typeof parsed === 'object') {
    // Yida's map form matches text fields by substring: P-001 also finds P-0012.
    const entries = Object.entries(parsed as Record<string, unknown>).map(([k, v]) => [k, text(v)] as const);
    return (d) => entries.every(([k, want]) => text(d[k]).includes(want));
  }
  throw new SearchError('searchFieldJson must be a JSON object or array');
}

export class InstanceStore {
  private readonly byId = new Map<string, SimInstance>();

  get size(): number { return this.byId.size; }

  create(init: Omit<SimInstance, 'processInstanceId' | 'createTimeGMT' | 'modifiedTimeGMT' | 'version' | 'instanceStatus' | 'approvedResult' | 'title'>, createdAt = Date.now()): SimInstance {
    const now = new Date(createdAt).toISOString();
    const inst: SimInstance = {
      ...init,
      processInstanceId: randomUUID(),
      title: `${init.originatorUserId}发起的流程`,
      instanceStatus: 'RUNNING',
      approvedResult: '',
      createTimeGMT: now,
      modifiedTimeGMT: now,
      version: 1,
    };
    this.byId.set(inst.processInstanceId, inst);
    return inst;
  }

  get(id: string): SimInstance | undefined { return this.byId.get(id); }

  /** merge `patch` into the instance's data (Yida's updateFormDataJson semantics) */
  update(id: string, patch: Record<string, unknown>): SimInstance | undefined {
    const inst = this.byId.get(id);
    if (!inst) return undefined;
    inst.data = { ...inst.data, ...patch };
    inst.modifiedTimeGMT = new Date().toISOString();
    inst.version += 1;
    return inst;
  }

  delete(id: string): boolean { return this.byId.delete(id); }

  /** terminateInstance: the process stops where it is */
  terminate(id: string): SimInstance | undefined {
    const inst = this.byId.get(id);
    if (!inst) return undefined;
    if (inst.instanceStatus === 'RUNNING') {
      inst.instanceStatus = 'TERMINATED';
      inst.modifiedTimeGMT = new Date().toISOString();
    }
    return inst;
  }

  /** newest first, like Yida */
  search(filter: SearchFilter): SimInstance[] {
    const match = parseSearch(filter.searchFieldJson);
    const out: SimInstance[] = [];
    for (const inst of this.byId.values()) {
      if (inst.formUuid !== filter.formUuid) continue;
      if (filter.instanceStatus && inst.instanceStatus !== filter.instanceStatus) continue;
      if (match(inst.data)) out.push(inst);
    }
    return out.reverse();
  }

  all(): SimInstance[] { return [...this.byId.values()]; }

  clear(): void { this.byId.clear(); }
}
