/**
 * What DingTalk would bill: every Yida API call that reached the API counts against the monthly quota, whatever its
 * answer; calls refused by QPS throttling do not, and token calls are on the exempt list. Robot messages are counted
 * on their own (they spend the webhook-message quota, not the API one).
 */
import type { DingtalkApi } from './knobs.js';

export interface ApiCallCount { calls: number; throttled: number }

export interface SimCalls {
  /** metered DingTalk API calls: Yida calls that were not refused by throttling */
  metered: number;
  /** throttled refusals (403 QpsLimit or 400 requestTooFast): not metered */
  throttled: number;
  /** access-token calls: not metered */
  token: number;
  /** robot send attempts (the webhook-message quota) */
  robot: number;
  /** per API: calls that were metered (token/robot: answered) and throttled refusals */
  byApi: Partial<Record<DingtalkApi, ApiCallCount>>;
}

export class Meter {
  private byApi = new Map<DingtalkApi, ApiCallCount>();

  count(api: DingtalkApi, throttled: boolean): void {
    const c = this.byApi.get(api) ?? { calls: 0, throttled: 0 };
    if (throttled) c.throttled += 1; else c.calls += 1;
    this.byApi.set(api, c);
  }

  snapshot(): SimCalls {
    const out: SimCalls = { metered: 0, throttled: 0, token: 0, robot: 0, byApi: {} };
    for (const [api, c] of this.byApi) {
      out.byApi[api] = { ...c };
      out.throttled += c.throttled;
      if (api === 'oauth2.accessToken') out.token += c.calls;
      else if (api === 'robot.send') out.robot += c.calls;
      else out.metered += c.calls;
    }
    return out;
  }

  clear(): void { this.byApi = new Map(); }
}
