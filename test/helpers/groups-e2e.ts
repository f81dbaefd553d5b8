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

const FORM_WRITES: DingtalkApi[] = [
  'yida.saveFormData', 'yida.updateFormData', 'yida.deleteFormData',
  'yida.batchSaveFormData', 'yida.batchUpdateFormDataByInstanceMap', 'yida.batchRemovalByFormInstanceIdList',
];
/** write calls to plain forms so far */
export const formWrites = (sims: Sims) => FORM_WRITES.reduce((n, api) => n + sims.dt.requests({ api }).length, 0);
/** records the group form's save calls committed (one call may save a batch) */
export const savedRecords = (sims: Sims) => (['yida.saveFormData', 'yida.batchSaveFormData'] as DingtalkApi[])
  .flatMap((api) => sims.dt.requests({ api })).reduce((n, r) => n + (r.committedCount ?? 0), 0);
export const groupRecords = (sims: Sims) => sims.dt.formInstances({ formUuid: GROUP_FORM });
/** group id → records holding it */
export function recordsById(sims: Sims): Map<string, Array<Record<string, unknown>>> {
  const m = new Map<string, Array<Record<string, unknown>>>();
  for (const r of groupRecords(sims)) { const k = String(r.data[G.id]); m.set(k, [...(m.get(k) ?? []), r.data]); }
  return m;
}

export type Target = 'process' | 'form';

/** Both simulators and the service; the products go to a process form or (YIDA_TARGET=form) a plain form. */
export async function startGroupsService(tmp: { dir: string }, env: Record<string, string> = {}, target: Target = 'process'): Promise<{ sims: Sims; svc: InProcessService }> {
  const sims = await startSims({ okki: { products: 30, groups: 12 }, dt: target === 'form' ? { formKind: 'plain' } : {} });
  sims.dt.setKnobs({ plainForms: target === 'form' ? [sims.dt.yida.formUuid, GROUP_FORM] : [GROUP_FORM] });
  const svc = await startInProcess(sims, liveEnv(sims, {
    STORE_URL: `sqlite://${join(tmp.dir, 'store.sqlite')}`, YIDA_GROUP_FORM_UUID: GROUP_FORM, ROBOT_REPORT: 'every',
    ...(target === 'form' ? { YIDA_TARGET: 'form' } : {}), ...env,
  }));
  return { sims, svc };
}

/** The product records in Yida (process instances, or the product form's records), as their data. */
export function productRecords(sims: Sims, target: Target): Array<Record<string, unknown>> {
  return target === 'form' ? sims.dt.formInstances({ formUuid: sims.dt.yida.formUuid }).map((r) => r.data) : sims.dt.instances().map((i) => i.data);
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
