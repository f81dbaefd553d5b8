/**
 * Yida process-instance routes: start, update, the two searches, delete and terminate. Process instances live apart
 * from plain-form instances; these routes refuse a plain form's uuid, as Yida does.
 */
import type { DingtalkApi } from './knobs.js';
import { HttpAnswer, dtError, ok, paging, parseFormJson, requireString, unavailable } from './http.js';
import { SearchError, type SimInstance } from './instances.js';
import type { SimContext, SimRequestRecord } from './context.js';

export const instanceView = (i: SimInstance) => ({
  processInstanceId: i.processInstanceId, title: i.title, formUuid: i.formUuid, processCode: i.processCode,
  data: i.data, instanceStatus: i.instanceStatus, approvedResult: i.approvedResult,
  createTimeGMT: i.createTimeGMT, modifiedTimeGMT: i.modifiedTimeGMT, version: i.version,
  originator: { userId: i.originatorUserId, name: { nameInChinese: '模拟用户', nameInEnglish: 'Sim User', type: 'i18n' } },
  actionExecutor: [],
});

export async function handleProcess(ctx: SimContext, api: DingtalkApi, body: Record<string, unknown>, query: URLSearchParams, rec: SimRequestRecord): Promise<HttpAnswer> {
  const { knobs, processes: store, yida } = ctx;
  switch (api) {
    case 'yida.startInstance': {
      const bad = ctx.checkTarget(body, 'process'); if (bad) return bad;
      const data = parseFormJson('formDataJson', body.formDataJson); if (data instanceof HttpAnswer) return data;
      // the form's rules hold for a process form too (fieldMaxLength): a refused start creates nothing
      const refused = ctx.ruleBreak(data, ''); if (refused) return refused;
      const inst = store.create({
        appType: yida.appType, formUuid: String(body.formUuid), data, originatorUserId: yida.userId,
        processCode: typeof body.processCode === 'string' ? body.processCode : undefined,
      });
      if (ctx.chance(knobs.commitThen500Rate)) { rec.committed = true; return unavailable(); }
      if (ctx.chance(knobs.hangRate)) { rec.committed = true; await ctx.hang(knobs.hangMs); }
      return (await ctx.afterCommit(api, rec, true)) ?? ok({ result: inst.processInstanceId });
    }
    case 'yida.updateInstance': {
      const bad = ctx.checkTarget(body); if (bad) return bad;
      const id = requireString(body, 'processInstanceId'); if (id instanceof HttpAnswer) return id;
      const patch = parseFormJson('updateFormDataJson', body.updateFormDataJson); if (patch instanceof HttpAnswer) return patch;
      const refused = ctx.ruleBreak(patch, ''); if (refused) return refused;
      if (!store.update(id, patch)) return dtError(400, 'InvalidParameter.ProcessInstanceId', `流程实例 ${id} 不存在`);
      return (await ctx.afterCommit(api, rec, true)) ?? ok({});
    }
    case 'yida.getInstanceIdList':
    case 'yida.getInstances': {
      const bad = ctx.checkTarget(body, 'process'); if (bad) return bad;
      const pg = paging(query.get('pageNumber') ?? undefined, query.get('pageSize') ?? undefined); if (pg instanceof HttpAnswer) return pg;
      let found: SimInstance[];
      try {
        found = store.search({
          formUuid: String(body.formUuid),
          instanceStatus: typeof body.instanceStatus === 'string' && body.instanceStatus ? body.instanceStatus : undefined,
          searchFieldJson: typeof body.searchFieldJson === 'string' ? body.searchFieldJson : undefined,
        });
      } catch (e) {
        if (e instanceof SearchError) return dtError(400, 'InvalidParameter.SearchFieldJson', e.message);
        throw e;
      }
      const slice = found.slice((pg.page - 1) * pg.size, pg.page * pg.size);
      const data = api === 'yida.getInstanceIdList' ? slice.map((i) => i.processInstanceId) : slice.map(instanceView);
      return (await ctx.afterCommit(api, rec, false)) ?? ok({ pageNumber: pg.page, totalCount: found.length, data });
    }
    case 'yida.deleteInstance':
    case 'yida.terminateInstance': {
      // Both send every parameter in the query string (SDK: query[...], bodyType none).
      const q = Object.fromEntries(query);
      const bad = ctx.checkTarget(q); if (bad) return bad;
      const id = requireString(q, 'processInstanceId'); if (id instanceof HttpAnswer) return id;
      const done = api === 'yida.deleteInstance' ? store.delete(id) : !!store.terminate(id);
      if (!done && !(api === 'yida.deleteInstance' && knobs.deleteMissing === 'ok')) {
        return dtError(400, 'InvalidParameter.ProcessInstanceId', `流程实例 ${id} 不存在`);
      }
      return (await ctx.afterCommit(api, rec, done)) ?? ok({});
    }
    default:
      return dtError(404, 'NotFound', 'api not found');
  }
}
