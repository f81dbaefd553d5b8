/**
 * What the route families share: the target app, the stores, the knobs, the fault dice and the checks every Yida
 * call repeats (who is calling, which app and form). One per simulator.
 */
import type http from 'node:http';
import { BATCH_APIS, type DingtalkApi, type DingtalkKnobs } from './knobs.js';
import { HttpAnswer, dtError, requireString, unavailable } from './http.js';
import { InstanceStore } from './instances.js';
import { FormStore } from './forms.js';
import { defaultFieldDefs, type SimFieldDef } from './definitions.js';

export interface YidaTarget { appType: string; systemToken: string; userId: string; formUuid: string }

export interface SimRequestRecord {
  at: number;
  method: string;
  /** path without the query string (robot queries carry the access token) */
  path: string;
  api?: DingtalkApi;
  status: number;
  /** DingTalk error code or robot errcode, when the answer was an error */
  code?: string;
  /** a write that changed data although the answer was an error, is late or was lost (status 0 until answered) */
  committed?: boolean;
  /** batch writes: how many records the call committed */
  committedCount?: number;
  /** refused by QPS throttling (not metered by DingTalk) */
  throttled?: boolean;
}

export type FormKind = 'process' | 'plain';

export class SimContext {
  readonly processes = new InstanceStore();
  readonly forms = new FormStore();
  readonly tokens = new Map<string, { appKey: string; expiresAt: number }>();
  readonly pendingTimers = new Set<NodeJS.Timeout>();
  private readonly fieldDefs = new Map<string, SimFieldDef[]>();

  constructor(
    readonly yida: YidaTarget,
    private readonly getKnobs: () => DingtalkKnobs,
    readonly random: () => number,
  ) {}

  get knobs(): DingtalkKnobs { return this.getKnobs(); }

  chance(p: number | undefined): boolean { return !!p && this.random() < p; }

  /** which kind of form a uuid is; undefined = no such form in this app */
  kindOf(formUuid: string): FormKind | undefined {
    if (this.knobs.plainForms.includes(formUuid)) return 'plain';
    return formUuid === this.yida.formUuid ? 'process' : undefined;
  }

  fieldsOf(formUuid: string): SimFieldDef[] { return (this.fieldDefs.get(formUuid) ?? defaultFieldDefs()).map((f) => ({ ...f })); }
  setFields(formUuid: string, defs: SimFieldDef[] | undefined): void { if (defs) this.fieldDefs.set(formUuid, defs); else this.fieldDefs.delete(formUuid); }
  clearFields(): void { this.fieldDefs.clear(); }

  authenticate(req: http.IncomingMessage): { appKey: string } | HttpAnswer {
    const raw = req.headers['x-acs-dingtalk-access-token'];
    const token = Array.isArray(raw) ? raw[0] : raw;
    const t = token ? this.tokens.get(token) : undefined;
    if (!t) return dtError(400, 'InvalidAuthentication', '不合法的access_token');
    if (t.expiresAt <= Date.now()) return dtError(401, 'InvalidAuthentication', '不合法的access_token');
    return { appKey: t.appKey };
  }

  /**
   * appType/systemToken/userId (and formUuid when `form` says which kind it must be) as Yida checks them.
   * `fields` is the body, or the query string for the routes that send their parameters there.
   */
  checkTarget(fields: Record<string, unknown>, form?: FormKind): HttpAnswer | undefined {
    for (const f of ['appType', 'systemToken', 'userId', ...(form ? ['formUuid'] : [])]) {
      const v = requireString(fields, f);
      if (v instanceof HttpAnswer) return v;
    }
    if (fields.appType !== this.yida.appType) return dtError(400, 'InvalidParameter.AppType', `应用 ${String(fields.appType)} 不存在`);
    if (fields.systemToken !== this.yida.systemToken) return dtError(400, 'InvalidParameter.SystemToken', 'systemToken 不正确，请在应用设置中查看应用秘钥');
    if (fields.userId !== this.yida.userId) return dtError(400, 'InvalidParameter.UserId', `用户 ${String(fields.userId)} 不存在或不是应用成员`);
    if (form) {
      const uuid = String(fields.formUuid);
      const kind = this.kindOf(uuid);
      if (!kind) return dtError(400, 'InvalidParameter.FormUuid', `表单 ${uuid} 不存在`);
      if (kind !== form) return dtError(400, 'InvalidParameter.FormUuid', form === 'plain' ? `表单 ${uuid} 是流程表单，请使用流程实例接口` : `表单 ${uuid} 不是流程表单`);
    }
    return undefined;
  }

  /** wait `ms` (a call that hangs), cancelled when the simulator closes */
  hang(ms: number): Promise<void> {
    return new Promise<void>((resolve) => { const timer = setTimeout(() => { this.pendingTimers.delete(timer); resolve(); }, ms); this.pendingTimers.add(timer); });
  }

  /**
   * After a call has executed (and committed whatever it writes): the per-API knobs may still turn its answer into a
   * 500, a late answer or a reset connection. Returns the replacement answer, or undefined to answer normally.
   */
  async afterCommit(api: DingtalkApi, rec: SimRequestRecord, wrote: boolean): Promise<HttpAnswer | undefined> {
    const k = this.knobs;
    if (this.chance(k.commitThen500Rates[api])) { if (wrote) rec.committed = true; return unavailable(); }
    if (this.chance(k.resetRates[api])) { if (wrote) rec.committed = true; return new HttpAnswer(0, null, 'reset', true); }
    if (this.chance(k.hangRates[api])) { if (wrote) rec.committed = true; await this.hang(k.hangMs); }
    return undefined;
  }

  /** batch APIs: how many of `n` records to commit before answering 500, or undefined for no such fault this call */
  prefixFault(api: DingtalkApi, n: number): number | undefined {
    if (!(BATCH_APIS as readonly string[]).includes(api)) return undefined;
    if (!this.chance(this.knobs.prefixThen500Rates[api as (typeof BATCH_APIS)[number]])) return undefined;
    const p = this.knobs.batchPrefix;
    if (p === 'none' || n <= 1) return 0;
    if (p === 'half') return Math.floor(n / 2);
    if (p === 'random') return Math.floor(this.random() * n);
    return Math.min(p, n - 1);
  }

  /** the order ids are answered in (`batchResultOrder`) */
  resultOrder<T>(items: T[]): T[] {
    if (this.knobs.batchResultOrder === 'input') return items;
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) { const j = Math.floor(this.random() * (i + 1)); [out[i], out[j]] = [out[j], out[i]]; }
    return out;
  }

  /** a form rule a record breaks (`fieldMaxLength`), as Yida's error, or undefined */
  ruleBreak(data: Record<string, unknown>, where: string): HttpAnswer | undefined {
    for (const [field, max] of Object.entries(this.knobs.fieldMaxLength)) {
      const v = data[field];
      if (typeof v === 'string' && [...v].length > max) {
        return dtError(400, 'exceedLengthLimit', `${where}${field} 的内容超出长度限制（最多 ${max} 个字符）`);
      }
    }
    return undefined;
  }

  cancelTimers(): void { for (const t of this.pendingTimers) clearTimeout(t); this.pendingTimers.clear(); }
}
