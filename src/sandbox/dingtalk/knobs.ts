/**
 * The simulator's fault and pacing knobs. Tests and the benchmark turn them at run time
 * (programmatically or through POST /__sim/knobs); every value is validated so a typo fails loudly
 * instead of silently leaving a fault switched off.
 */

/** The DingTalk APIs the simulator serves; QPS limits, error rates and latency apply per API. */
export const DINGTALK_APIS = [
  'oauth2.accessToken',
  'yida.startInstance',
  'yida.updateInstance',
  'yida.getInstanceIdList',
  'yida.getInstances',
  'robot.send',
] as const;
export type DingtalkApi = (typeof DINGTALK_APIS)[number];

export interface DingtalkKnobs {
  /** every answer waits a uniform random time in [min, max] ms */
  latencyMs: [number, number];
  /** requests per second per app per API (sliding 1 s window); absent = unlimited */
  qpsLimits: Partial<Record<DingtalkApi, number>>;
  /** how throttling is answered: the gateway's 403 QpsLimit (default) or Yida's own 400 requestTooFast */
  throttleStyle: 'gateway403' | 'yida400';
  /** probability of an HTTP 500 that did NOT execute the call */
  errorRates: Partial<Record<DingtalkApi, number>>;
  /** probability that startInstance creates the instance and then answers 500 (the ambiguous write) */
  commitThen500Rate: number;
  /** probability that startInstance creates the instance and answers only after `hangMs` (past the client timeout) */
  hangRate: number;
  hangMs: number;
  /** lifetime of newly issued access tokens, seconds (DingTalk: 7200) */
  tokenTtlSeconds: number;
  /** custom robot budget: messages per rolling minute, then blocked for `robotBlockMs` */
  robotPerMinute: number;
  robotBlockMs: number;
}

export function defaultKnobs(): DingtalkKnobs {
  return {
    latencyMs: [0, 0],
    qpsLimits: {},
    throttleStyle: 'gateway403',
    errorRates: {},
    commitThen500Rate: 0,
    hangRate: 0,
    hangMs: 10_000,
    tokenTtlSeconds: 7200,
    robotPerMinute: 20,
    robotBlockMs: 10 * 60_000,
  };
}

export class KnobError extends Error {}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function rate(name: string, v: unknown): number {
  if (!isNum(v) || v < 0 || v > 1) throw new KnobError(`${name}: expected a probability from 0 to 1`);
  return v;
}

function perApi(name: string, v: unknown, check: (n: string, x: unknown) => number): Partial<Record<DingtalkApi, number>> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new KnobError(`${name}: expected an object keyed by API name (${DINGTALK_APIS.join(', ')})`);
  const out: Partial<Record<DingtalkApi, number>> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!(DINGTALK_APIS as readonly string[]).includes(k)) throw new KnobError(`${name}.${k}: unknown API; expected one of ${DINGTALK_APIS.join(', ')}`);
    if (x === null || x === undefined) continue; // null clears a limit
    out[k as DingtalkApi] = check(`${name}.${k}`, x);
  }
  return out;
}

/** Validate a partial knob update and merge it over `current`. Per-API maps replace the whole map. */
export function mergeKnobs(current: DingtalkKnobs, patch: unknown): DingtalkKnobs {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw new KnobError('knobs: expected a JSON object');
  const next: DingtalkKnobs = { ...current, latencyMs: [...current.latencyMs], qpsLimits: { ...current.qpsLimits }, errorRates: { ...current.errorRates } };
  for (const [key, v] of Object.entries(patch as Record<string, unknown>)) {
    switch (key) {
      case 'latencyMs': {
        const pair = isNum(v) ? [v, v] : v;
        if (!Array.isArray(pair) || pair.length !== 2 || !pair.every(isNum) || pair[0] < 0 || pair[1] < pair[0]) {
          throw new KnobError('latencyMs: expected a number or [min, max] with 0 <= min <= max');
        }
        next.latencyMs = [pair[0], pair[1]];
        break;
      }
      case 'qpsLimits':
        next.qpsLimits = perApi(key, v, (n, x) => { if (!isNum(x) || x <= 0) throw new KnobError(`${n}: expected a positive number`); return x; });
        break;
      case 'errorRates':
        next.errorRates = perApi(key, v, rate);
        break;
      case 'throttleStyle':
        if (v !== 'gateway403' && v !== 'yida400') throw new KnobError('throttleStyle: expected gateway403 or yida400');
        next.throttleStyle = v;
        break;
      case 'commitThen500Rate':
      case 'hangRate':
        next[key] = rate(key, v);
        break;
      case 'hangMs':
      case 'robotBlockMs':
        if (!isNum(v) || v < 0) throw new KnobError(`${key}: expected a non-negative number of milliseconds`);
        next[key] = v;
        break;
      case 'tokenTtlSeconds':
        if (!isNum(v) || v <= 0) throw new KnobError('tokenTtlSeconds: expected a positive number of seconds');
        next.tokenTtlSeconds = v;
        break;
      case 'robotPerMinute':
        if (!isNum(v) || v < 1 || !Number.isInteger(v)) throw new KnobError('robotPerMinute: expected a whole number >= 1');
        next.robotPerMinute = v;
        break;
      default:
        throw new KnobError(`${key}: unknown knob; expected one of ${Object.keys(defaultKnobs()).join(', ')}`);
    }
  }
  return next;
}
