/**
 * The REAL @alicloud/dingtalk SDK aimed at a DingTalk simulator, with the `...WithOptions` calls the simulator tests
 * make written once (token header, runtime options). Used by test/dingtalk-simulator*.test.ts only.
 */
import oauthMod, * as $oauth from '@alicloud/dingtalk/dist/oauth2_1_0/client.js';
import yidaMod, * as $yida from '@alicloud/dingtalk/dist/yida_1_0/client.js';
import * as openapi from '@alicloud/openapi-client';
import * as teaUtil from '@alicloud/tea-util';
import type { DingtalkSimulator } from '../../src/sandbox/dingtalk/index.js';

export { $yida };
const OAuthClient = ((oauthMod as any).default ?? oauthMod) as typeof oauthMod.default;
const YidaClient = ((yidaMod as any).default ?? yidaMod) as typeof yidaMod.default;
const Config = ((openapi as any).Config ?? (openapi as any).default.Config) as typeof openapi.Config;
export const RuntimeOptions = ((teaUtil as any).RuntimeOptions ?? (teaUtil as any).default.RuntimeOptions) as typeof teaUtil.RuntimeOptions;

export async function rejection(p: Promise<unknown>): Promise<any> {
  try { await p; } catch (e) { return e; }
  throw new Error('expected the call to fail');
}

export type Yida = InstanceType<typeof YidaClient>;

/** a client pair on one simulator, and helpers that fill in the app target and the token header */
export function sdkFor(sim: DingtalkSimulator, timeoutMs = 3000) {
  const cfg = () => new Config({ protocol: 'http', endpoint: sim.endpoint, readTimeout: timeoutMs, connectTimeout: timeoutMs });
  const oauth = new OAuthClient(cfg());
  const yida = new YidaClient(cfg());
  const rt = (readTimeout = timeoutMs) => new RuntimeOptions({ readTimeout, connectTimeout: Math.max(readTimeout, timeoutMs) });
  const token = async () => (await oauth.getAccessTokenWithOptions(new $oauth.GetAccessTokenRequest(sim.credentials), {}, rt())).body!.accessToken!;
  const target = () => ({ appType: sim.yida.appType, systemToken: sim.yida.systemToken, userId: sim.yida.userId });
  const h = (cls: any, t: string) => new cls({ xAcsDingtalkAccessToken: t });
  return {
    yida, oauth, rt, token, target,
    save: async (t: string, formUuid: string, data: Record<string, unknown>) => (await yida.saveFormDataWithOptions(
      new $yida.SaveFormDataRequest({ ...target(), formUuid, language: 'zh_CN', formDataJson: JSON.stringify(data) }), h($yida.SaveFormDataHeaders, t), rt())).body!.result!,
    update: async (t: string, formInstanceId: string, patch: Record<string, unknown>) => yida.updateFormDataWithOptions(
      new $yida.UpdateFormDataRequest({ ...target(), formInstanceId, language: 'zh_CN', updateFormDataJson: JSON.stringify(patch), useLatestVersion: true }), h($yida.UpdateFormDataHeaders, t), rt()),
    batchSave: async (t: string, formUuid: string, datas: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}, readTimeout?: number) => (await yida.batchSaveFormDataWithOptions(
      new $yida.BatchSaveFormDataRequest({ ...target(), formUuid, formDataJsonList: datas.map((d) => JSON.stringify(d)), noExecuteExpression: true, asynchronousExecution: false, ...extra }),
      h($yida.BatchSaveFormDataHeaders, t), rt(readTimeout))).body!.result!,
    batchUpdate: async (t: string, formUuid: string, map: Record<string, Record<string, unknown>>, extra: Record<string, unknown> = {}) => (await yida.batchUpdateFormDataByInstanceMapWithOptions(
      new $yida.BatchUpdateFormDataByInstanceMapRequest({ ...target(), formUuid, updateFormDataJsonMap: Object.fromEntries(Object.entries(map).map(([k, v]) => [k, JSON.stringify(v)])), noExecuteExpression: true, ...extra }),
      h($yida.BatchUpdateFormDataByInstanceMapHeaders, t), rt())).body!.result!,
    search: async (t: string, formUuid: string, o: { searchCondition?: unknown; pageNumber?: number; pageSize?: number; orderConfigJson?: unknown } & Record<string, unknown> = {}) => (await yida.searchFormDataSecondGenerationWithOptions(
      new $yida.SearchFormDataSecondGenerationRequest({
        ...target(), formUuid, pageNumber: 1, pageSize: 100, ...o,
        searchCondition: o.searchCondition === undefined ? undefined : typeof o.searchCondition === 'string' ? o.searchCondition : JSON.stringify(o.searchCondition),
        orderConfigJson: o.orderConfigJson === undefined ? undefined : typeof o.orderConfigJson === 'string' ? o.orderConfigJson : JSON.stringify(o.orderConfigJson),
      }), h($yida.SearchFormDataSecondGenerationHeaders, t), rt())).body!,
    idList: async (t: string, formUuid: string, o: { searchFieldJson?: string; pageNumber?: number; pageSize?: number } & Record<string, unknown> = {}, appType = sim.yida.appType) => (await yida.searchFormDataIdListWithOptions(
      appType, formUuid, new $yida.SearchFormDataIdListRequest({ systemToken: sim.yida.systemToken, userId: sim.yida.userId, pageNumber: 1, pageSize: 100, ...o }), h($yida.SearchFormDataIdListHeaders, t), rt())).body!,
    batchGet: async (t: string, formUuid: string, ids: string[], needFormInstanceValue = true) => (await yida.batchGetFormDataByIdListWithOptions(
      new $yida.BatchGetFormDataByIdListRequest({ ...target(), formUuid, formInstanceIdList: ids, needFormInstanceValue }), h($yida.BatchGetFormDataByIdListHeaders, t), rt())).body!.result!,
    remove: async (t: string, formInstanceId: string) => yida.deleteFormDataWithOptions(
      new $yida.DeleteFormDataRequest({ ...target(), formInstanceId, language: 'zh_CN' }), h($yida.DeleteFormDataHeaders, t), rt()),
    batchRemove: async (t: string, formUuid: string, ids: string[]) => yida.batchRemovalByFormInstanceIdListWithOptions(
      new $yida.BatchRemovalByFormInstanceIdListRequest({ ...target(), formUuid, formInstanceIdList: ids, asynchronousExecution: false, executeExpression: false }), h($yida.BatchRemovalByFormInstanceIdListHeaders, t), rt()),
    definitions: async (t: string, formUuid: string, appType = sim.yida.appType) => (await yida.getFormComponentDefinitionListWithOptions(
      appType, formUuid, new $yida.GetFormComponentDefinitionListRequest({ systemToken: sim.yida.systemToken, userId: sim.yida.userId, language: 'zh_CN' }), h($yida.GetFormComponentDefinitionListHeaders, t), rt())).body!.result!,
    start: async (t: string, data: Record<string, unknown>, formUuid = sim.yida.formUuid) => (await yida.startInstanceWithOptions(
      new $yida.StartInstanceRequest({ ...target(), formUuid, language: 'zh_CN', formDataJson: JSON.stringify(data) }), h($yida.StartInstanceHeaders, t), rt())).body!.result!,
    deleteInstance: async (t: string, processInstanceId: string) => yida.deleteInstanceWithOptions(
      new $yida.DeleteInstanceRequest({ ...target(), processInstanceId, language: 'zh_CN' }), h($yida.DeleteInstanceHeaders, t), rt()),
    terminateInstance: async (t: string, processInstanceId: string) => yida.terminateInstanceWithOptions(
      new $yida.TerminateInstanceRequest({ ...target(), processInstanceId, language: 'zh_CN' }), h($yida.TerminateInstanceHeaders, t), rt()),
  };
}
