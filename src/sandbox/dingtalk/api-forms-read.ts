/**
 * Plain-form reads: the exact search (searchFormDataSecondGeneration), the id search, reads by id, and the form's
 * field definitions. Searches go through the lagging index and refuse to page past `searchWindow` rows, as Yida's
 * open search does (invalidState.openSearch.cursorExceedFiveThousand).
 */
import type { DingtalkApi } from './knobs.js';
import { HttpAnswer, dtError, ok, paging, stringList } from './http.js';
import { formatGmt, type SimFormInstance } from './forms.js';
import { SearchError, parseCondition, parseTime, type Predicate, type SearchView } from './search-condition.js';
import type { SimContext, SimRequestRecord } from './context.js';

/** batchGetFormDataByIdList: ids per call */
export const BATCH_GET_MAX = 100;

const user = (userId: string) => ({ userId, name: { nameInChinese: '模拟用户', nameInEnglish: 'Sim User', type: 'i18n' } });

function instanceJson(ctx: SimContext, id: string, formUuid: string, v: SearchView, seq: number, modifier: string, withData = true) {
  const p = ctx.knobs.gmtPrecision;
  return {
    formInstanceId: id, formUuid, id: seq,
    ...(withData ? { formData: v.data } : {}),
    createTimeGMT: formatGmt(v.createdAt, p), modifiedTimeGMT: formatGmt(v.modifiedAt, p),
    creatorUserId: v.creatorUserId, modifier, originator: user(v.creatorUserId), modifyUser: user(modifier),
  };
}

/** the request-level time filters (createFromTimeGMT ... modifiedToTimeGMT), inclusive; a bare date "To" is its last ms */
function timeFilter(ctx: SimContext, body: Record<string, unknown>): Predicate {
  const off = ctx.knobs.naiveTimeOffsetMinutes;
  const checks: Predicate[] = [];
  for (const [field, which, end] of [
    ['createFromTimeGMT', 'createdAt', false], ['createToTimeGMT', 'createdAt', true],
    ['modifiedFromTimeGMT', 'modifiedAt', false], ['modifiedToTimeGMT', 'modifiedAt', true],
  ] as const) {
    const raw = body[field];
    if (raw === undefined || raw === null || raw === '') continue;
    const t = parseTime(raw, off, end);
    if (!Number.isFinite(t)) throw new SearchError(`${field}: ${JSON.stringify(raw)} is not a time`);
    checks.push(end ? (v) => v[which] <= t : (v) => v[which] >= t);
  }
  if (typeof body.originatorId === 'string' && body.originatorId) { const o = body.originatorId; checks.push((v) => v.creatorUserId === o); }
  return (v) => checks.every((c) => c(v));
}

/** `searchInOperator`: what happens to an `in` condition on a field (not a built-in time) */
function inOperator(ctx: SimContext, cond: string | undefined): string | undefined {
  if (!cond || ctx.knobs.searchInOperator === 'apply') return cond;
  let parsed: unknown;
  try { parsed = JSON.parse(cond); } catch { return cond; }
  if (!Array.isArray(parsed)) return cond;
  const isIn = (c: unknown) => (c as { operator?: unknown })?.operator === 'in' && !/time|gmt/i.test(String((c as { key?: unknown })?.key));
  if (!parsed.some(isIn)) return cond;
  if (ctx.knobs.searchInOperator === 'refuse') throw new SearchError('operator in is not supported for this field');
  return JSON.stringify(parsed.filter((c) => !isIn(c)));
}

function searchPage(ctx: SimContext, formUuid: string, body: Record<string, unknown>, cond: string | undefined, condField: string, order: string | undefined, pg: { page: number; size: number }) {
  const match = parseCondition(inOperator(ctx, cond), ctx.knobs.naiveTimeOffsetMinutes, condField);
  const time = timeFilter(ctx, body);
  const hits = ctx.forms.search({ formUuid, match: (v) => time(v) && match(v), order });
  return { total: hits.length, page: hits.slice((pg.page - 1) * pg.size, pg.page * pg.size) };
}

function windowRefusal(ctx: SimContext, pg: { page: number; size: number }): HttpAnswer | undefined {
  if ((pg.page - 1) * pg.size + pg.size <= ctx.knobs.searchWindow) return undefined;
  return dtError(400, 'invalidState.openSearch.cursorExceedFiveThousand', `分页查询最多返回前 ${ctx.knobs.searchWindow} 条数据，请缩小查询范围`);
}

export async function handleFormRead(ctx: SimContext, api: DingtalkApi, body: Record<string, unknown>, query: URLSearchParams, params: Record<string, string>, rec: SimRequestRecord): Promise<HttpAnswer> {
  const { forms } = ctx;
  try {
    switch (api) {
      case 'yida.searchFormDataSecondGeneration': {
        const bad = ctx.checkTarget(body, 'plain'); if (bad) return bad;
        const pg = paging(body.pageNumber, body.pageSize); if (pg instanceof HttpAnswer) return pg;
        const refused = windowRefusal(ctx, pg); if (refused) return refused;
        const formUuid = String(body.formUuid);
        const { total, page } = searchPage(ctx, formUuid, body, str(body.searchCondition), 'searchCondition', str(body.orderConfigJson), pg);
        const data = page.map(({ id, view }) => {
          const cur = forms.get(id);
          return instanceJson(ctx, id, formUuid, view, cur?.seq ?? 0, cur?.modifierUserId ?? view.creatorUserId);
        });
        return (await ctx.afterCommit(api, rec, false)) ?? ok({ pageNumber: pg.page, totalCount: total, data });
      }
      case 'yida.searchFormDataIdList': {
        const target = { ...body, appType: params.appType, formUuid: params.formUuid };
        const bad = ctx.checkTarget(target, 'plain'); if (bad) return bad;
        const pg = paging(query.get('pageNumber') ?? undefined, query.get('pageSize') ?? undefined); if (pg instanceof HttpAnswer) return pg;
        const refused = windowRefusal(ctx, pg); if (refused) return refused;
        const { total, page } = searchPage(ctx, params.formUuid, body, str(body.searchFieldJson), 'searchFieldJson', undefined, pg);
        return (await ctx.afterCommit(api, rec, false)) ?? ok({ pageNumber: pg.page, totalCount: total, data: page.map((h) => h.id) });
      }
      case 'yida.batchGetFormDataByIdList': {
        const bad = ctx.checkTarget(body, 'plain'); if (bad) return bad;
        const ids = stringList(body, 'formInstanceIdList', BATCH_GET_MAX); if (ids instanceof HttpAnswer) return ids;
        const formUuid = String(body.formUuid);
        const found = ids.map((id) => forms.get(id)).filter((i): i is SimFormInstance => !!i && i.formUuid === formUuid);
        const withData = body.needFormInstanceValue !== false;
        const result = found.map((i) => instanceJson(ctx, i.formInstanceId, formUuid, i, i.seq, i.modifierUserId, withData));
        return (await ctx.afterCommit(api, rec, false)) ?? ok({ result });
      }
      case 'yida.getFormComponentDefinitionList': {
        const q = { ...Object.fromEntries(query), appType: params.appType };
        const bad = ctx.checkTarget(q); if (bad) return bad;
        if (!ctx.kindOf(params.formUuid)) return dtError(400, 'InvalidParameter.FormUuid', `表单 ${params.formUuid} 不存在`);
        return (await ctx.afterCommit(api, rec, false)) ?? ok({ result: ctx.fieldsOf(params.formUuid) });
      }
      default:
        return dtError(404, 'NotFound', 'api not found');
    }
  } catch (e) {
    if (e instanceof SearchError) return dtError(400, 'InvalidParameter.SearchCondition', e.message);
    throw e;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
