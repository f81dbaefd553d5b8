/**
 * The naive baseline: what a hand-written sync script does. One request at a time, no pacing, no retries, no ledger
 * (a re-run duplicates everything). It does the same work as the connector's full run so the times compare: the
 * real OKKI token/groups/list/info endpoints over fetch, the same mapping, and the real @alicloud/dingtalk SDK for the
 * DingTalk token and startInstance. A failed call is counted and the product skipped, as such scripts do.
 */
import { loadConfig } from '../src/config.js';
import { loadMapping } from '../src/mapping/index.js';
import { buildGroupTree } from '../src/okki/groups.js';
import { OAuthClient, YidaClient, $oauth, $yida, sdkConfig, runtimeOptions } from '../src/yida/sdk.js';
import type { OkkiProduct } from '../src/core/index.js';
import { emitResult, peakRssMb } from './child-protocol.js';

export interface NaiveChildResult {
  products: number;
  written: number;
  failures: number;
  failureCodes: Record<string, number>;
  wallMs: number;
  peakRssMb: number;
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const mapping = loadMapping(config.mappingFile);
  const base = config.okki.baseUrl;
  const started = Date.now();

  const tokenRes = await fetch(`${base}/v1/oauth2/access_token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: config.okki.clientId, client_secret: config.okki.clientSecret, scope: config.okki.scope }),
  });
  const okkiToken = ((await tokenRes.json()) as { access_token: string }).access_token;
  const okkiGet = async (path: string, query: Record<string, string | number>) => {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
    const res = await fetch(`${base}${path}?${qs}`, { headers: { authorization: `Bearer ${okkiToken}` } });
    const body = (await res.json()) as { code?: number; data?: unknown; message?: string };
    if (res.status !== 200 || (body.code !== 0 && body.code !== 200)) throw Object.assign(new Error(`OKKI ${path}: ${res.status} ${body.message ?? ''}`), { code: `okki_${res.status}_${body.code}` });
    return body.data;
  };

  const timeouts = { readTimeoutMs: 10_000, connectTimeoutMs: 10_000 };
  const oauth = new OAuthClient(sdkConfig(config.dingtalk, timeouts));
  const tok = await oauth.getAccessTokenWithOptions(new $oauth.GetAccessTokenRequest({ appKey: config.dingtalk.appKey, appSecret: config.dingtalk.appSecret }), {}, runtimeOptions(timeouts));
  const accessToken = tok.body?.accessToken ?? '';
  const yida = new YidaClient(sdkConfig(config.dingtalk, timeouts));

  const groups = buildGroupTree((await okkiGet('/v1/product/groups', {})) as unknown[]);
  const ctx = { groups, now: new Date(), timezone: config.sync.timezone };
  const needsType = mapping.referencedProductFields().has('product_type');

  let products = 0; let written = 0; let failures = 0;
  const failureCodes: Record<string, number> = {};
  const fail = (err: unknown) => {
    failures++;
    const code = String((err as { code?: unknown })?.code ?? (err as Error)?.name ?? 'error');
    failureCodes[code] = (failureCodes[code] ?? 0) + 1;
  };
  const count = config.okki.pageSize;
  // start_index is a page number (1-based), not a row offset
  for (let pageNo = 1; ; pageNo++) {
    const page = (await okkiGet('/v1/product/list', { start_index: pageNo, count })) as { list: OkkiProduct[] };
    for (const item of page.list) {
      products++;
      try {
        const product = needsType ? { ...item, ...((await okkiGet('/v1/product/info', { product_no: String(item.product_no) })) as OkkiProduct) } : item;
        const m = mapping.map(product, ctx);
        if (!m.ok) { fail({ code: m.rejected.code }); continue; }
        await yida.startInstanceWithOptions(
          new $yida.StartInstanceRequest({
            appType: config.yida.appType, systemToken: config.yida.systemToken, userId: config.yida.userId,
            language: config.yida.language, formUuid: config.yida.formUuid, formDataJson: JSON.stringify(m.formData),
          }),
          new $yida.StartInstanceHeaders({ xAcsDingtalkAccessToken: accessToken }),
          runtimeOptions(timeouts),
        );
        written++;
      } catch (err) {
        fail(err);
      }
    }
    if (page.list.length < count) break;
  }
  const result: NaiveChildResult = { products, written, failures, failureCodes, wallMs: Date.now() - started, peakRssMb: peakRssMb() };
  emitResult(result);
}

main().then(() => process.exit(0), (err) => { process.stderr.write(`naive-child: ${(err as Error)?.stack ?? err}\n`); process.exit(1); });
