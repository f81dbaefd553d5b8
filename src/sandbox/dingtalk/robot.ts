/**
 * The custom group robot (`/robot/send`): signature check, the per-robot minute budget with its 10-minute block,
 * msgUuid idempotency, and a record of every message (accepted or refused) for tests to read.
 * Answers are always HTTP 200 with `{errcode, errmsg}`, as DingTalk does.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SlidingWindow } from './window-counter.js';

export interface RobotConfig {
  accessToken: string;
  /** the 加签 secret; absent = the robot accepts unsigned messages */
  secret?: string;
  /** label used in recorded messages (access tokens are secrets, so records never carry them) */
  name?: string;
}

export interface RobotMessage {
  robot: string;
  at: number;
  accepted: boolean;
  errcode: number;
  errmsg: string;
  /** true only when a sign was present and matched the robot's secret */
  signatureVerified: boolean;
  msgtype?: string;
  msgUuid?: string;
  body: unknown;
}

export interface RobotAnswer { errcode: number; errmsg: string }

/** DingTalk's robot signature: urlencode(base64(HMAC-SHA256(secret, `${timestamp}\n${secret}`))). Returns it NOT url-encoded. */
export function robotSign(secret: string, timestamp: number | string): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
}

const MSG_TYPES = new Set(['text', 'markdown', 'link', 'actionCard', 'feedCard']);
const HOUR = 3600_000;

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a); const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class RobotHub {
  private readonly robots = new Map<string, Required<Pick<RobotConfig, 'name'>> & RobotConfig>();
  private readonly minute = new SlidingWindow(60_000);
  private readonly blockedUntil = new Map<string, number>();
  private readonly seenUuids = new Map<string, Set<string>>();
  messages: RobotMessage[] = [];

  constructor(robots: readonly RobotConfig[], private readonly limits: () => { perMinute: number; blockMs: number }) {
    robots.forEach((r, i) => this.add(r, i));
  }

  add(r: RobotConfig, index = this.robots.size): void {
    if (!r.accessToken) throw new Error('robot accessToken is required');
    this.robots.set(r.accessToken, { ...r, name: r.name ?? `robot-${index}` });
  }

  has(accessToken: string): boolean { return this.robots.has(accessToken); }

  send(query: URLSearchParams, rawBody: string, now = Date.now()): RobotAnswer {
    const token = query.get('access_token') ?? '';
    const robot = this.robots.get(token);
    if (!robot) return { errcode: 300005, errmsg: 'token is not exist' };

    let body: unknown;
    try { body = JSON.parse(rawBody); } catch { body = undefined; }
    const msgtype = body && typeof body === 'object' ? (body as { msgtype?: unknown }).msgtype : undefined;
    const msgUuid = body && typeof body === 'object' && typeof (body as { msgUuid?: unknown }).msgUuid === 'string' ? (body as { msgUuid: string }).msgUuid : undefined;
    const record = (ans: RobotAnswer, signatureVerified: boolean): RobotAnswer => {
      this.messages.push({
        robot: robot.name, at: now, accepted: ans.errcode === 0, ...ans, signatureVerified,
        msgtype: typeof msgtype === 'string' ? msgtype : undefined, msgUuid, body,
      });
      return ans;
    };

    let verified = false;
    if (robot.secret) {
      const ts = query.get('timestamp') ?? '';
      const sign = query.get('sign') ?? '';
      if (!/^\d{10,16}$/.test(ts) || Math.abs(now - Number(ts)) > HOUR) {
        return record({ errcode: 310000, errmsg: 'invalid timestamp, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]' }, false);
      }
      // URLSearchParams already decoded the sign once, which is exactly the urlencode DingTalk asks for.
      if (!sign || !safeEqual(sign, robotSign(robot.secret, ts))) {
        return record({ errcode: 310000, errmsg: 'sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]' }, false);
      }
      verified = true;
    }

    if (typeof msgtype !== 'string' || !MSG_TYPES.has(msgtype)) {
      return record({ errcode: 40035, errmsg: '缺少参数 json' }, verified);
    }
    const content = (body as Record<string, unknown>)[msgtype];
    if (!content || typeof content !== 'object') return record({ errcode: 40035, errmsg: `缺少参数 ${msgtype}` }, verified);
    if (msgtype === 'markdown' && (typeof (content as { title?: unknown }).title !== 'string' || typeof (content as { text?: unknown }).text !== 'string')) {
      return record({ errcode: 40035, errmsg: '缺少参数 markdown.title/markdown.text' }, verified);
    }
    if (msgtype === 'text' && typeof (content as { content?: unknown }).content !== 'string') {
      return record({ errcode: 40035, errmsg: '缺少参数 text.content' }, verified);
    }

    const seen = this.seenUuids.get(token) ?? new Set<string>();
    this.seenUuids.set(token, seen);
    if (msgUuid && seen.has(msgUuid)) return { errcode: 0, errmsg: 'ok' }; // idempotent replay: not delivered twice

    const { perMinute, blockMs } = this.limits();
    const blocked = this.blockedUntil.get(token) ?? 0;
    if (blocked > now) return record({ errcode: 410100, errmsg: 'send too fast, exceed 20 times per minute, robot is blocked for 10 minutes' }, verified);
    if (!this.minute.tryTake(token, perMinute, now)) {
      this.blockedUntil.set(token, now + blockMs);
      return record({ errcode: 410100, errmsg: 'send too fast, exceed 20 times per minute, robot is blocked for 10 minutes' }, verified);
    }
    if (msgUuid) seen.add(msgUuid);
    return record({ errcode: 0, errmsg: 'ok' }, verified);
  }

  /** lift blocks and forget rate history (tests) */
  unblock(): void { this.blockedUntil.clear(); this.minute.clear(); }

  reset(): void { this.unblock(); this.seenUuids.clear(); this.messages = []; }
}
