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
  'yida.deleteInstance',
  'yida.terminateInstance',
  'yida.saveFormData',
  'yida.updateFormData',
  'yida.deleteFormData',
  'yida.batchSaveFormData',
  'yida.batchUpdateFormDataByInstanceMap',
  'yida.batchRemovalByFormInstanceIdList',
  'yida.searchFormDataSecondGeneration',
  'yida.searchFormDataIdList',
  'yida.batchGetFormDataByIdList',
  'yida.getFormComponentDefinitionList',
  'robot.send',
] as const;
export type DingtalkApi = (typeof DINGTALK_APIS)[number];

/** the batch write APIs, where a prefix of the records can be committed before a failure */
export const BATCH_APIS = ['yida.batchSaveFormData', 'yida.batchUpdateFormDataByInstanceMap', 'yida.batchRemovalByFormInstanceIdList'] as const;
export type BatchApi = (typeof BATCH_APIS)[number];

type PerApi = Partial<Record<DingtalkApi, number>>;

export interface DingtalkKnobs {
  /** every answer waits a uniform random time in [min, max] ms */
  latencyMs: [number, number];
  /** requests per second per app per API (sliding 1 s window); absent = unlimited. The "hidden" QPS limit. */
  qpsLimits: PerApi;
  /** how throttling is answered: the gateway's 403 QpsLimit (default) or Yida's own 400 requestTooFast */
  throttleStyle: 'gateway403' | 'yida400';
  /** probability of an HTTP 500 that did NOT execute the call */
  errorRates: PerApi;
  /** startInstance only (kept for older tests): probability it creates the instance and then answers 500 */
  commitThen500Rate: number;
  /** startInstance only: probability it creates the instance and answers only after `hangMs` */
  hangRate: number;
  hangMs: number;
  /** per API: the call executes completely, then answers 500 (the ambiguous write) */
  commitThen500Rates: PerApi;
  /** per API: the call executes, then the answer comes only after `hangMs` (past the client's timeout) */
  hangRates: PerApi;
  /** per API: the call executes, then the connection is reset without an answer (a lost answer) */
  resetRates: PerApi;
  /** batch APIs: probability that a prefix of the records is committed and the call then answers 500 */
  prefixThen500Rates: Partial<Record<BatchApi, number>>;
  /** how long that prefix is: random (0..n-1 records, uniform), half, none, or a fixed count (capped at n-1) */
  batchPrefix: 'random' | 'half' | 'none' | number;
  /** form rule: longest accepted string per field id; a longer value is refused with exceedLengthLimit */
  fieldMaxLength: Record<string, number>;
  /**
   * batchSaveFormData without keepRunningAfterException, when a record breaks a form rule:
   * rejectAll = nothing is saved, 400 exceedLengthLimit; commitPrefix = the records before it are saved, then 400
   */
  batchRefusal: 'rejectAll' | 'commitPrefix';
  /** order of the ids a batch answers: input order, or shuffled (the order is not documented) */
  batchResultOrder: 'input' | 'shuffled';
  /**
   * the `in` operator on a text field in a form search (Yida documents eq/like for text): honoured (`apply`), refused
   * with 400 InvalidParameter.SearchCondition (`refuse`), or silently dropped from the condition (`ignore`)
   */
  searchInOperator: 'apply' | 'refuse' | 'ignore';
  /** records per batchSaveFormData / batchUpdateFormDataByInstanceMap call; more is refused */
  batchMax: number;
  /** a record committed or changed less than this long ago is not yet seen by searches (the old version is) */
  searchLagMs: number;
  /** searches refuse to page past this many rows (Yida: 5000, invalidState.openSearch.cursorExceedFiveThousand) */
  searchWindow: number;
  /** precision of the createTimeGMT/modifiedTimeGMT of form instances ("2021-05-01T10:00Z" in DingTalk's examples) */
  gmtPrecision: 'minute' | 'second' | 'millisecond';
  /** offset of date strings without a zone in searches and time filters, minutes east of UTC (Beijing: 480) */
  naiveTimeOffsetMinutes: number;
  /** deleteFormData / deleteInstance of an id that does not exist: an error (default) or a quiet success */
  deleteMissing: 'error' | 'ok';
  /** form uuids that are plain (non-process) forms: form routes accept them, process routes refuse them */
  plainForms: string[];
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
    commitThen500Rates: {},
    hangRates: {},
    resetRates: {},
    prefixThen500Rates: {},
    batchPrefix: 'random',
    fieldMaxLength: {},
    batchRefusal: 'rejectAll',
    batchResultOrder: 'input',
    searchInOperator: 'apply',
    batchMax: 100,
    searchLagMs: 0,
    searchWindow: 5000,
    gmtPrecision: 'minute',
    naiveTimeOffsetMinutes: 480,
    deleteMissing: 'error',
    plainForms: [],
    tokenTtlSeconds: 7200,
    robotPerMinute: 20,
    robotBlockMs: 10 * 60_000,
  };
}

export class KnobError extends Error {}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function rate(name: string, v: unknown): number {
  if (!isNum(v) || v < 0 || v > 1) throw new KnobError(`${name}: expected a probability from 0 to 1`);
  return v;
}

function nonNegative(name: string, v: unknown, whole = false): number {
  if (!isNum(v) || v < 0 || (whole && !Number.isInteger(v))) throw new KnobError(`${name}: expected a non-negative ${whole ? 'whole number' : 'number'}`);
  return v;
}

function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (!(allowed as readonly unknown[]).includes(v)) throw new KnobError(`${name}: expected one of ${allowed.join(', ')}`);
  return v as T;
}

function perApi(name: string, v: unknown, check: (n: string, x: unknown) => number, apis: readonly string[] = DINGTALK_APIS): PerApi {
  if (!isObj(v)) throw new KnobError(`${name}: expected an object keyed by API name (${apis.join(', ')})`);
  const out: PerApi = {};
  for (const [k, x] of Object.entries(v)) {
    if (!apis.includes(k)) throw new KnobError(`${name}.${k}: unknown API; expected one of ${apis.join(', ')}`);
    if (x === null || x === undefined) continue; // null clears an entry
    out[k as DingtalkApi] = check(`${name}.${k}`, x);
  }
  return out;
}

/** Validate a partial knob update and merge it over `current`. Per-API maps replace the whole map. */
export function mergeKnobs(current: DingtalkKnobs, patch: unknown): DingtalkKnobs {
  if (!isObj(patch)) throw new KnobError('knobs: expected a JSON object');
  const next: DingtalkKnobs = structuredClone(current);
  for (const [key, v] of Object.entries(patch)) {
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
      case 'errorRates': case 'commitThen500Rates': case 'hangRates': case 'resetRates':
        next[key] = perApi(key, v, rate);
        break;
      case 'prefixThen500Rates':
        next.prefixThen500Rates = perApi(key, v, rate, BATCH_APIS);
        break;
      case 'throttleStyle': next.throttleStyle = oneOf(key, v, ['gateway403', 'yida400'] as const); break;
      case 'batchRefusal': next.batchRefusal = oneOf(key, v, ['rejectAll', 'commitPrefix'] as const); break;
      case 'batchResultOrder': next.batchResultOrder = oneOf(key, v, ['input', 'shuffled'] as const); break;
      case 'searchInOperator': next.searchInOperator = oneOf(key, v, ['apply', 'refuse', 'ignore'] as const); break;
      case 'gmtPrecision': next.gmtPrecision = oneOf(key, v, ['minute', 'second', 'millisecond'] as const); break;
      case 'deleteMissing': next.deleteMissing = oneOf(key, v, ['error', 'ok'] as const); break;
      case 'batchPrefix':
        next.batchPrefix = isNum(v) ? nonNegative(key, v, true) : oneOf(key, v, ['random', 'half', 'none'] as const);
        break;
      case 'commitThen500Rate': case 'hangRate':
        next[key] = rate(key, v);
        break;
      case 'hangMs': case 'robotBlockMs': case 'searchLagMs':
        next[key] = nonNegative(`${key} (milliseconds)`, v);
        break;
      case 'batchMax': case 'searchWindow': case 'robotPerMinute':
        if (!isNum(v) || v < 1 || !Number.isInteger(v)) throw new KnobError(`${key}: expected a whole number >= 1`);
        next[key] = v;
        break;
      case 'naiveTimeOffsetMinutes':
        if (!isNum(v) || Math.abs(v) > 14 * 60) throw new KnobError(`${key}: expected minutes east of UTC, -840..840`);
        next.naiveTimeOffsetMinutes = v;
        break;
      case 'tokenTtlSeconds':
        if (!isNum(v) || v <= 0) throw new KnobError('tokenTtlSeconds: expected a positive number of seconds');
        next.tokenTtlSeconds = v;
        break;
      case 'fieldMaxLength': {
        if (!isObj(v)) throw new KnobError('fieldMaxLength: expected an object {fieldId: maxLength}');
        const out: Record<string, number> = {};
        for (const [f, n] of Object.entries(v)) if (n !== null) out[f] = nonNegative(`fieldMaxLength.${f}`, n, true);
        next.fieldMaxLength = out;
        break;
      }
      case 'plainForms':
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x !== '')) throw new KnobError('plainForms: expected an array of form uuids');
        next.plainForms = [...new Set(v as string[])];
        break;
      default:
        throw new KnobError(`${key}: unknown knob; expected one of ${Object.keys(defaultKnobs()).join(', ')}`);
    }
  }
  return next;
}
