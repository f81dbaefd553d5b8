/**
 * Sandbox mode: both simulators on loopback, a seeded catalogue, and a Config pointed at them. Used by `npm start`
 * and `npm run sync` when no OKKI/DingTalk credentials are set (or SANDBOX=1).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { startOkkiSimulator, type OkkiSimulator } from './okki/index.js';
import { startDingtalkSimulator, type DingtalkSimulator } from './dingtalk/index.js';
import { readMappingFileWithWarnings } from '../mapping/parse.js';

export interface Sandbox {
  config: Config;
  okki: OkkiSimulator;
  dingtalk: DingtalkSimulator;
  /** point the OKKI simulator's push at the service (`POST /webhooks/okki`), as `npm run okki:subscribe` would */
  pushTo(serviceUrl: string): void;
  /** log the loud banner with the URLs to look at */
  announce(serviceUrl: string): void;
  close(): Promise<void>;
}

export interface SandboxOptions {
  logger: Logger;
  /** STORE_URL was set explicitly (it is ignored in sandbox mode, with a warning) */
  storeUrlSet: boolean;
  /** OKKI_QPS was set explicitly: keep it; otherwise the sandbox reads faster than the cautious production default */
  okkiQpsSet?: boolean;
  products?: number;
  seed?: number;
}

/** the simulator has no read limit; 5/s would make the first backfill (one detail call per product) take a minute */
export const SANDBOX_OKKI_QPS = 50;

/** the simulated app's plain form the groups mirror writes in sandbox mode */
export const SANDBOX_GROUP_FORM_UUID = 'FORM-SANDBOX-GROUPS';

/** The mapping file has a `groups` block (an unreadable file is reported when the connector loads it). */
function mappingHasGroups(path: string): boolean {
  try {
    const doc = readMappingFileWithWarnings(path).document;
    return Boolean(doc && typeof doc === 'object' && 'groups' in doc);
  } catch { return false; }
}

export async function startSandbox(base: Config, opts: SandboxOptions): Promise<Sandbox> {
  const okki = await startOkkiSimulator({ seed: opts.seed ?? 20261125, products: opts.products ?? 300 });
  const robotToken = `sandbox-robot-${randomBytes(8).toString('hex')}`;
  const robotSecret = `SEC${randomBytes(16).toString('hex')}`;
  // The groups mirror is on when the mapping says what goes into a group form (the shipped one does): a plain form
  // of the simulated app stands for it. YIDA_TARGET=form: the product form is a plain form too (batch writes).
  const groupForm = base.groups?.formUuid ?? (mappingHasGroups(base.mappingFile) ? SANDBOX_GROUP_FORM_UUID : undefined);
  const dingtalk = await startDingtalkSimulator({
    robots: [{ accessToken: robotToken, secret: robotSecret, name: 'sandbox' }], plainForms: groupForm ? [groupForm] : [],
    formKind: base.yida.target === 'form' ? 'plain' : 'process',
  });

  // The simulators start empty every time, so a ledger or cursor kept from an earlier run would point at instances
  // that no longer exist. The sandbox therefore always works on a store of its own, fresh at each start and removed
  // at close; it never touches a configured store (which could be a real one).
  const storeDir = mkdtempSync(join(tmpdir(), 'okki-yida-sandbox-'));
  const sqlitePath = join(storeDir, 'sandbox.sqlite');
  const store: Config['store'] = { url: `sqlite://${sqlitePath}`, kind: 'sqlite', sqlitePath };

  const config: Config = {
    ...base,
    sandbox: true,
    okki: { ...base.okki, qps: opts.okkiQpsSet ? base.okki.qps : SANDBOX_OKKI_QPS, baseUrl: okki.url, clientId: okki.credentials.clientId, clientSecret: okki.credentials.clientSecret, scope: okki.credentials.scope },
    dingtalk: { ...base.dingtalk, endpoint: dingtalk.endpoint, protocol: 'http', ...dingtalk.credentials },
    yida: { ...base.yida, ...dingtalk.yida },
    robot: { webhookUrl: dingtalk.robotUrl(robotToken), secret: robotSecret },
    store,
    // Push is on in the sandbox: the OKKI simulator signs and encrypts with this key (a fresh one unless set).
    push: { secret: base.push?.secret ?? randomBytes(32).toString('base64'), debounceMs: base.push?.debounceMs ?? 500 },
    groups: groupForm ? { formUuid: groupForm } : undefined,
  };
  const local = (url: string) => url.replace('://0.0.0.0', '://127.0.0.1');
  const instancesPath = base.yida.target === 'form' ? '/__sim/forms/instances' : '/__sim/instances';

  return {
    config, okki, dingtalk,
    pushTo(serviceUrl: string) {
      okki.push.configure({ callbackUrl: `${local(serviceUrl)}/webhooks/okki`, securityConfig: config.push!.secret });
    },
    announce(serviceUrl: string) {
      const svc = local(serviceUrl);
      const sample = String([...okki.catalog.all()][0]?.product_no ?? 'P-000001');
      const lines = [
        '',
        '==================================================================================',
        ` SANDBOX MODE (${base.sandboxReason ?? 'sandbox'}): NOT talking to real OKKI or DingTalk.`,
        ` Built-in simulators on loopback with ${okki.catalog.size} seeded products.`,
        ` Operator console:    ${svc}/console   (no key needed in sandbox mode unless WEBHOOK_API_KEY is set)`,
        ` Trigger a sync:      curl -X POST ${svc}/webhooks/yida/sync -H 'Content-Type: application/json' -d '{}'`,
        ` Yida instances:      ${dingtalk.url}${instancesPath}`,
        ` Robot messages:      ${dingtalk.url}/__sim/robot/messages`,
        ...(groupForm ? [` Group form records:  ${dingtalk.url}/__sim/forms/instances?formUuid=${groupForm}`] : []),
        ` OKKI products:       ${okki.url}/__sim/products`,
        ` OKKI push is on: a product changed in the OKKI simulator reaches Yida in a second or two. Try it:`,
        `   curl -X POST ${okki.url}/__sim/edit -H 'Content-Type: application/json' -d '{"product_no":"${sample}","name":"改个名字"}'`,
        `   curl -s ${dingtalk.url}${instancesPath} | grep -o '"[^"]*改个名字[^"]*"'`,
        `   (deliveries: ${okki.url}/__sim/push/deliveries; push runs: ${svc}/ and GET /runs)`,
        ` Store:               ${store.url} (fresh; removed at exit)`,
        ...(opts.storeUrlSet ? [' STORE_URL is ignored in sandbox mode: the simulators start empty, so the sandbox keeps its own store.'] : []),
        ' Set OKKI_CLIENT_ID/SECRET, DINGTALK_APP_KEY/SECRET and YIDA_* to use the real APIs.',
        '==================================================================================',
        '',
      ];
      process.stderr.write(`${lines.join('\n')}\n`);
      opts.logger.warn({ sandbox: true, okki: okki.url, dingtalk: dingtalk.url, service: svc }, 'SANDBOX MODE: using the built-in simulators, not real OKKI/DingTalk');
    },
    async close() {
      await Promise.allSettled([okki.close(), dingtalk.close()]);
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
