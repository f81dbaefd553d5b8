/**
 * Plain-form writes: save/update/delete one record, and the batch forms (batchSave, batchUpdate by instance map,
 * batchRemove). Batches can commit a prefix and then fail (`prefixThen500Rates`), and a record that breaks a form
 * rule is refused on its own (keepRunningAfterException) or takes the batch down (`batchRefusal`).
 */
import type { DingtalkApi } from './knobs.js';
import { HttpAnswer, dtError, ok, parseFormJson, requireString, stringList, unavailable } from './http.js';
import type { SimContext, SimRequestRecord } from './context.js';

/** batchRemovalByFormInstanceIdList: at most 500 ids per call (rules off) */
export const BATCH_REMOVE_MAX = 500;

const isEmpty = (v: unknown) => v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);

function committed(rec: SimRequestRecord, n: number): void {
  rec.committedCount = (rec.committedCount ?? 0) + n;
  if (n > 0) rec.committed = true;
}

export async function handleFormWrite(ctx: SimContext, api: DingtalkApi, body: Record<string, unknown>, query: URLSearchParams, rec: SimRequestRecord): Promise<HttpAnswer> {
  const { forms, yida, knobs } = ctx;
  switch (api) {
    case 'yida.saveFormData': {
      const bad = ctx.checkTarget(body, 'plain'); if (bad) return bad;
      const data = parseFormJson('formDataJson', body.formDataJson); if (data instanceof HttpAnswer) return data;
      const refused = ctx.ruleBreak(data, ''); if (refused) return refused;
      const inst = forms.create({ appType: yida.appType, formUuid: String(body.formUuid), data, userId: yida.userId, lagMs: knobs.searchLagMs });
      committed(rec, 1);
      return (await ctx.afterCommit(api, rec, true)) ?? ok({ result: inst.formInstanceId });
    }
    case 'yida.updateFormData': {
      const bad = ctx.checkTarget(body); if (bad) return bad;
      const id = requireString(body, 'formInstanceId'); if (id instanceof HttpAnswer) return id;
      const patch = parseFormJson('updateFormDataJson', body.updateFormDataJson); if (patch instanceof HttpAnswer) return patch;
      if (!forms.has(id)) return dtError(400, 'InvalidParameter.FormInstanceId', `表单实例 ${id} 不存在`);
      const refused = ctx.ruleBreak(patch, ''); if (refused) return refused;
      forms.update(id, patch, yida.userId, knobs.searchLagMs);
      committed(rec, 1);
      return (await ctx.afterCommit(api, rec, true)) ?? ok({});
    }
    case 'yida.deleteFormData': {
      const q = Object.fromEntries(query); // sent in the query string (SDK: query[...], bodyType none)
      const bad = ctx.checkTarget(q); if (bad) return bad;
      const id = requireString(q, 'formInstanceId'); if (id instanceof HttpAnswer) return id;
      const done = forms.delete(id, knobs.searchLagMs);
      if (!done && knobs.deleteMissing === 'error') return dtError(400, 'InvalidParameter.FormInstanceId', `表单实例 ${id} 不存在`);
      committed(rec, done ? 1 : 0);
      return (await ctx.afterCommit(api, rec, done)) ?? ok({});
    }
    case 'yida.batchSaveFormData': return batchSave(ctx, api, body, rec);
    case 'yida.batchUpdateFormDataByInstanceMap': return batchUpdate(ctx, api, body, rec);
    case 'yida.batchRemovalByFormInstanceIdList': {
      const bad = ctx.checkTarget(body, 'plain'); if (bad) return bad;
      const ids = stringList(body, 'formInstanceIdList', BATCH_REMOVE_MAX); if (ids instanceof HttpAnswer) return ids;
      const formUuid = String(body.formUuid);
      // Ids that are not (or no longer) in this form are skipped: the answer has no per-id result.
      const present = ids.filter((id) => forms.get(id)?.formUuid === formUuid);
      const prefix = ctx.prefixFault(api, present.length);
      for (const id of present.slice(0, prefix ?? present.length)) forms.delete(id, knobs.searchLagMs);
      committed(rec, prefix ?? present.length);
      if (prefix !== undefined) return unavailable();
      return (await ctx.afterCommit(api, rec, present.length > 0)) ?? ok({});
    }
    default:
      return dtError(404, 'NotFound', 'api not found');
  }
}

async function batchSave(ctx: SimContext, api: DingtalkApi, body: Record<string, unknown>, rec: SimRequestRecord): Promise<HttpAnswer> {
  const { forms, yida, knobs } = ctx;
  const bad = ctx.checkTarget(body, 'plain'); if (bad) return bad;
  const list = stringList(body, 'formDataJsonList', knobs.batchMax); if (list instanceof HttpAnswer) return list;
  const datas: Array<Record<string, unknown>> = [];
  for (const [i, json] of list.entries()) {
    const d = parseFormJson(`formDataJsonList[${i}]`, json); if (d instanceof HttpAnswer) return d;
    datas.push(d);
  }
  const keepRunning = body.keepRunningAfterException === true;
  let toSave = datas;
  let refusal: HttpAnswer | undefined;
  for (const [i, d] of datas.entries()) {
    const broke = ctx.ruleBreak(d, `formDataJsonList[${i}]: `);
    if (!broke) continue;
    if (keepRunning) { toSave = toSave.filter((x) => x !== d); continue; }
    // Without keepRunningAfterException the batch stops at the bad record; whether the records before it stay
    // saved is not documented, so it is a knob.
    refusal = broke;
    toSave = knobs.batchRefusal === 'commitPrefix' ? datas.slice(0, i) : [];
    break;
  }
  const prefix = ctx.prefixFault(api, toSave.length);
  const ids = toSave.slice(0, prefix ?? toSave.length)
    .map((data) => forms.create({ appType: yida.appType, formUuid: String(body.formUuid), data, userId: yida.userId, lagMs: knobs.searchLagMs }).formInstanceId);
  committed(rec, ids.length);
  if (prefix !== undefined) return unavailable();
  if (refusal) return refusal;
  return (await ctx.afterCommit(api, rec, ids.length > 0)) ?? ok({ result: ctx.resultOrder(ids) });
}

async function batchUpdate(ctx: SimContext, api: DingtalkApi, body: Record<string, unknown>, rec: SimRequestRecord): Promise<HttpAnswer> {
  const { forms, yida, knobs } = ctx;
  const bad = ctx.checkTarget(body, 'plain'); if (bad) return bad;
  const map = body.updateFormDataJsonMap;
  if (!map || typeof map !== 'object' || Array.isArray(map) || Object.keys(map).length === 0) return dtError(400, 'MissingParameter', '缺少参数 updateFormDataJsonMap');
  const entries = Object.entries(map as Record<string, unknown>);
  if (entries.length > knobs.batchMax) return dtError(400, 'InvalidParameter', `updateFormDataJsonMap 单次最多 ${knobs.batchMax} 条，实际 ${entries.length} 条`);
  const patches: Array<[string, Record<string, unknown>]> = [];
  for (const [id, json] of entries) {
    const p = parseFormJson(`updateFormDataJsonMap.${id}`, json); if (p instanceof HttpAnswer) return p;
    if (body.ignoreEmpty === true) for (const k of Object.keys(p)) if (isEmpty(p[k])) delete p[k];
    patches.push([id, p]);
  }
  const formUuid = String(body.formUuid);
  // Unknown ids and records that break a form rule are left out; the answer lists only the ids updated.
  const updatable = patches.filter(([id, p]) => forms.get(id)?.formUuid === formUuid && !ctx.ruleBreak(p, ''));
  const prefix = ctx.prefixFault(api, updatable.length);
  const done = updatable.slice(0, prefix ?? updatable.length).map(([id, p]) => { forms.update(id, p, yida.userId, knobs.searchLagMs); return id; });
  committed(rec, done.length);
  if (prefix !== undefined) return unavailable();
  return (await ctx.afterCommit(api, rec, done.length > 0)) ?? ok({ result: ctx.resultOrder(done) });
}
