/**
 * DingTalk custom group robot: signed POSTs to the webhook, errcode checked, within the robot's 20 messages/minute.
 * The webhook URL holds the access_token and the URL we send to holds the signature: neither ever reaches an error
 * message or a log line (every text that leaves this module passes through a local redactor).
 */
import { makeRedactor } from '../redact.js';
import { errorMessage } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { SlidingWindowBudget } from './budget.js';
import { signedRobotUrl } from './sign.js';
import { noMeter, type CallMeter } from '../core/metering.js';
import { RobotBlockedError, RobotBudgetError, RobotOptionsError, RobotRejectedError, RobotSendError } from './errors.js';

export const ROBOT_MESSAGES_PER_MINUTE = 20;
/** DingTalk blocks an over-eager robot for 10 minutes. */
const BLOCK_MS = 10 * 60 * 1000;
const DEFAULT_TIMEOUT_MS = 10_000;

export interface RobotMarkdown {
  title: string;
  text: string;
  /** idempotency key: DingTalk drops a second message with the same msgUuid */
  msgUuid?: string;
  at?: { atMobiles?: string[]; atUserIds?: string[]; isAtAll?: boolean };
}

export interface RobotClientOptions {
  /** full webhook URL with `access_token` */
  webhookUrl: string;
  /** the robot's 加签 secret (SEC...), when the robot uses signing */
  secret?: string;
  timeoutMs?: number;
  /** messages per minute (DingTalk allows 20) */
  perMinute?: number;
  logger?: Logger;
  now?: () => number;
  fetch?: typeof fetch;
  /** ticked once per message DingTalk accepted (the monthly webhook-message quota) */
  meter?: CallMeter;
}

export class RobotClient {
  private readonly webhookUrl: string;
  private readonly secret?: string;
  private readonly timeoutMs: number;
  private readonly budget: SlidingWindowBudget;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly fetchImpl: typeof fetch;
  private readonly scrub: (text: string) => string;
  private blockedUntil = 0;
  private readonly meter: CallMeter;

  constructor(opts: RobotClientOptions) {
    // webhookUrl and secret come from the validated Config (ROBOT_WEBHOOK_URL, ROBOT_SECRET): trusted, not checked again
    const url = new URL(opts.webhookUrl);
    const token = url.searchParams.get('access_token') ?? '';
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 120_000) throw new RobotOptionsError('robot timeoutMs: expected a whole number of milliseconds from 1 to 120000');
    const perMinute = opts.perMinute ?? ROBOT_MESSAGES_PER_MINUTE;
    if (!Number.isInteger(perMinute) || perMinute < 1) throw new RobotOptionsError('robot perMinute: expected a whole number ≥ 1');

    this.webhookUrl = url.toString();
    this.secret = opts.secret;
    this.timeoutMs = timeoutMs;
    this.now = opts.now ?? Date.now;
    this.budget = new SlidingWindowBudget(perMinute, 60_000, this.now);
    this.logger = opts.logger ?? silentLogger;
    this.fetchImpl = opts.fetch ?? fetch;
    this.meter = opts.meter ?? noMeter;
    this.scrub = makeRedactor([token, opts.secret].filter((s): s is string => !!s));
  }

  /** 0 when a message may be sent now; otherwise ms until the budget (or a DingTalk block) allows one. */
  availableInMs(): number {
    return Math.max(this.budget.waitMs(), Math.max(0, this.blockedUntil - this.now()));
  }

  /** Where messages go, safe to log: origin and path only. */
  get target(): string {
    const u = new URL(this.webhookUrl);
    return `${u.origin}${u.pathname}`;
  }

  /**
   * Send one markdown message. Rejects with RobotBudgetError (nothing sent) when over budget, RobotRejectedError,
   * RobotBlockedError or RobotSendError.
   */
  async sendMarkdown(msg: RobotMarkdown): Promise<void> {
    if (!msg || typeof msg.title !== 'string' || typeof msg.text !== 'string' || msg.text === '') throw new RobotOptionsError('robot message: expected a title and a non-empty text');
    const wait = this.availableInMs();
    if (wait > 0 || !this.budget.tryTake()) throw new RobotBudgetError(Math.max(wait, 1));
    const body: Record<string, unknown> = {
      msgtype: 'markdown',
      markdown: { title: msg.title, text: msg.text },
      at: { atMobiles: msg.at?.atMobiles ?? [], atUserIds: msg.at?.atUserIds ?? [], isAtAll: msg.at?.isAtAll ?? false },
    };
    if (msg.msgUuid) body.msgUuid = msg.msgUuid;
    await this.post(body);
  }

  private async post(body: Record<string, unknown>): Promise<void> {
    const url = signedRobotUrl(this.webhookUrl, this.secret, this.now());
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      const reason = timedOut ? `no answer within ${this.timeoutMs} ms` : this.describe(err);
      throw new RobotSendError(`DingTalk robot request to ${this.target} failed: ${reason}`);
    }
    const raw = await res.text().catch(() => '');
    if (!res.ok) throw new RobotSendError(`DingTalk robot answered HTTP ${res.status}`, { status: res.status });
    let parsed: { errcode?: unknown; errmsg?: unknown };
    try { parsed = JSON.parse(raw) as typeof parsed; } catch { throw new RobotSendError('DingTalk robot answered with a body that is not JSON', { status: res.status }); }
    const errcode = Number(parsed?.errcode);
    const errmsg = this.scrub(String(parsed?.errmsg ?? '')).slice(0, 200);
    if (errcode === 0) { this.meter.tick('robot'); this.logger.debug({ target: this.target }, 'robot message sent'); return; }
    if (errcode === 310000) throw new RobotRejectedError(errcode, errmsg);
    if (errcode === 410100 || errcode === 130101) {
      this.blockedUntil = this.now() + BLOCK_MS;
      throw new RobotBlockedError(errcode, errmsg);
    }
    throw new RobotSendError(`DingTalk robot answered errcode ${Number.isFinite(errcode) ? errcode : 'missing'}: ${errmsg}`, { errcode: Number.isFinite(errcode) ? errcode : null });
  }

  private describe(err: unknown): string {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return this.scrub(`${errorMessage(err)}${cause}`).slice(0, 300);
  }
}
