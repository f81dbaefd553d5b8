/**
 * Which DingTalk API a request is, by method and path exactly as @alicloud/dingtalk 2.2.27 sends them
 * (read from dist/yida_1_0/client.js and checked against a loopback probe). Two routes carry appType/formUuid in the path.
 */
import type { DingtalkApi } from './knobs.js';

export interface RouteMatch { api: DingtalkApi; params: Record<string, string> }

const EXACT: Record<string, DingtalkApi> = {
  'POST /v1.0/oauth2/accessToken': 'oauth2.accessToken',
  'POST /v1.0/yida/processes/instances/start': 'yida.startInstance',
  'PUT /v1.0/yida/processes/instances': 'yida.updateInstance',
  'POST /v1.0/yida/processes/instanceIds': 'yida.getInstanceIdList',
  'POST /v1.0/yida/processes/instances': 'yida.getInstances',
  'DELETE /v1.0/yida/processes/instances': 'yida.deleteInstance',
  'PUT /v1.0/yida/processes/instances/terminate': 'yida.terminateInstance',
  'POST /v1.0/yida/forms/instances': 'yida.saveFormData',
  'PUT /v1.0/yida/forms/instances': 'yida.updateFormData',
  'DELETE /v1.0/yida/forms/instances': 'yida.deleteFormData',
  'POST /v1.0/yida/forms/instances/batchSave': 'yida.batchSaveFormData',
  'PUT /v1.0/yida/forms/instances/datas': 'yida.batchUpdateFormDataByInstanceMap',
  'POST /v1.0/yida/forms/instances/advances/queryAll': 'yida.searchFormDataSecondGeneration',
  'POST /v1.0/yida/forms/instances/ids/query': 'yida.batchGetFormDataByIdList',
  'POST /v1.0/yida/forms/instances/batchRemove': 'yida.batchRemovalByFormInstanceIdList',
  'POST /robot/send': 'robot.send',
};

const PATTERNS: Array<{ method: string; re: RegExp; api: DingtalkApi }> = [
  { method: 'POST', re: /^\/v1\.0\/yida\/forms\/instances\/ids\/([^/]+)\/([^/]+)$/, api: 'yida.searchFormDataIdList' },
  { method: 'GET', re: /^\/v1\.0\/yida\/forms\/definitions\/([^/]+)\/([^/]+)$/, api: 'yida.getFormComponentDefinitionList' },
];

export function routeOf(method: string, path: string): RouteMatch | undefined {
  const api = EXACT[`${method} ${path}`];
  if (api) return { api, params: {} };
  for (const p of PATTERNS) {
    const m = p.method === method ? p.re.exec(path) : null;
    if (m) return { api: p.api, params: { appType: decodeURIComponent(m[1]), formUuid: decodeURIComponent(m[2]) } };
  }
  return undefined;
}
