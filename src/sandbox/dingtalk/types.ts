/** The simulator's public surface: how tests, the sandbox and the benchmark start, drive and inspect it. */
import type { DingtalkApi, DingtalkKnobs } from './knobs.js';
import type { SimInstance } from './instances.js';
import type { SimFormInstance } from './forms.js';
import type { SimFieldDef } from './definitions.js';
import type { RobotConfig, RobotMessage } from './robot.js';
import type { SimRequestRecord, YidaTarget } from './context.js';
import type { SimCalls } from './metering.js';

export interface DingtalkSimulatorOptions {
  /** default 0 (any free port); always bound to 127.0.0.1 */
  port?: number;
  credentials?: { appKey: string; appSecret: string };
  yida?: Partial<YidaTarget>;
  /** what `yida.formUuid` is: a process form (default) or a plain form (the `YIDA_TARGET=form` home) */
  formKind?: 'process' | 'plain';
  /** more plain forms in the app (for example a groups form); added to the `plainForms` knob */
  plainForms?: string[];
  /** field definitions per form uuid (default: derived from manifest/mapping.json) */
  formFields?: Record<string, SimFieldDef[]>;
  robots?: RobotConfig[];
  knobs?: Partial<DingtalkKnobs>;
  /** seed of the fault-injection PRNG (default 1) */
  seed?: number;
  /** how many recent requests `/__sim/requests` keeps (default 5000) */
  requestLogSize?: number;
}

export interface SeedRecord { data: Record<string, unknown>; /** ms or ISO; default now */ createTime?: number | string }

export interface DingtalkSimulator {
  /** `127.0.0.1:PORT`, what the SDK's Config.endpoint takes */
  readonly endpoint: string;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly credentials: { appKey: string; appSecret: string };
  readonly yida: YidaTarget;
  /** a signed-or-not robot URL (without timestamp/sign) for a configured robot token */
  robotUrl(accessToken: string): string;
  /** the signature a client should send, for tests that build URLs by hand */
  robotSign(secret: string, timestamp: number): string;
  /** process instances */
  instances(filter?: { formUuid?: string }): SimInstance[];
  instanceCount(): number;
  /** plain-form instances */
  formInstances(filter?: { formUuid?: string }): SimFormInstance[];
  formInstanceCount(formUuid?: string): number;
  /** put records straight into a plain form (no API call, not metered); returns their ids */
  seedFormInstances(formUuid: string, records: SeedRecord[]): string[];
  formFields(formUuid: string): SimFieldDef[];
  /** replace a form's field definitions; undefined restores the defaults */
  setFormFields(formUuid: string, fields: SimFieldDef[] | undefined): void;
  /** drift as a person in Yida would make it (process or form instance ids); not API calls, not metered */
  plantDelete(id: string): boolean;
  /** a copy of the instance (same data, so the same key) under another id, created later; returns the new id */
  plantDuplicate(id: string, opts?: { createTime?: number | string }): string;
  plantEdit(id: string, patch: Record<string, unknown>): boolean;
  robotMessages(opts?: { all?: boolean; robot?: string }): RobotMessage[];
  requests(filter?: { api?: DingtalkApi }): SimRequestRecord[];
  /** metered DingTalk calls since start or reset (token calls and throttled refusals apart) */
  calls(): SimCalls;
  knobs(): DingtalkKnobs;
  setKnobs(patch: Partial<DingtalkKnobs>): DingtalkKnobs;
  /** every issued token becomes invalid now (InvalidAuthentication on next use) */
  expireTokens(): void;
  /** lift robot blocks and minute budgets */
  unblockRobots(): void;
  /** forget instances, tokens, messages, requests, calls and field overrides; knobs back to the start options */
  reset(): void;
  close(): Promise<void>;
}
