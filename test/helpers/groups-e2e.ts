/**
 * Fixtures of the groups mirror's end-to-end tests: both simulators (the group form a plain form of the app), the
 * service built from env with YIDA_GROUP_FORM_UUID, and readers of the group form.
 */
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { liveEnv, startInProcess, startSims, type InProcessService, type Sims } from './e2e.js';
import type { RunRecord } from '../../src/core/index.js';
import type { DingtalkApi } from '../../src/sandbox/dingtalk/knobs.js';
import type { OkkiGroup } from '../../src/sandbox/okki/index.js';

export const GROUP_FORM = 'FORM-TEST-GROUPS';
/** the shipped mapping's groups block */
export const G = { id: 'textField_grp0id01', name: 'textField_grp0nm02', parent: 'textField_grp0pa03', layer: 'numberField_grp0lv04', path: 'textField_grp0pt05' } as const;

const FORM_WRITES: DingtalkApi[] = ['yida.saveFormData', 'yida.updateFormData', 'yida.deleteFormData'];
export const formWrites = (sims: Sims) => FORM_WRITES.reduce((n, api) => n + sims.dt.requests({ api }).length, 0);
export const groupRecords = (sims: Sims) => sims.dt.formInstances({ formUuid: GROUP_FORM });
/** group id → records holding it */
export function recordsById(sims: Sims): Map<string, Array<Record<string, unknown>>> {
  const m = new Map<string, Array<Record<string, unknown>>>();
  for (const r of groupRecords(sims)) { const k = String(r.data[G.id]); m.set(k, [...(m.get(k) ?? []), r.data]); }
  return m;
}

export async function startGroupsService(tmp: { dir: string }, env: Record<string, string> = {}): Promise<{ sims: Sims; svc: InProcessService }> {
  const sims = await startSims({ okki: { products: 30, groups: 12 } });
  sims.dt.setKnobs({ plainForms: [GROUP_FORM] });
  const svc = await startInProcess(sims, liveEnv(sims, {
    STORE_URL: `sqlite://${join(tmp.dir, 'store.sqlite')}`, YIDA_GROUP_FORM_UUID: GROUP_FORM, ROBOT_REPORT: 'every', ...env,
  }));
  return { sims, svc };
}

export async function runNow(svc: InProcessService, body: Record<string, unknown> = {}): Promise<RunRecord> {
  const r = await svc.post({ ...body, wait: true });
  expect(r.status, r.text).to.equal(200);
  return r.json as RunRecord;
}

/** Change OKKI's groups in the simulator (a copy of each is handed to `fn`). */
export function setGroups(sims: Sims, fn: (gs: OkkiGroup[]) => OkkiGroup[]): void {
  sims.okki.catalog.setGroups(fn(sims.okki.catalog.groups.map((g) => ({ ...g }))));
}

/**
 * The shipped mapping with `groups.onDelete` entries added (and a product `onDelete`, which SYNC_DELETIONS=mark
 * requires), written to `dir`.
 */
export function mappingWithGroupMarks(dir: string, onDelete: Array<Record<string, unknown>>): string {
  const spec = JSON.parse(readFileSync(resolve(import.meta.dirname, '..', '..', 'manifest', 'mapping.json'), 'utf8')) as Record<string, unknown> & { groups: Record<string, unknown> };
  spec.groups = { ...spec.groups, onDelete };
  spec.onDelete = [{ field: 'textField_state', label: '状态', value: '已停用' }];
  const path = join(dir, 'mapping-groups.json');
  writeFileSync(path, JSON.stringify(spec));
  return path;
}
