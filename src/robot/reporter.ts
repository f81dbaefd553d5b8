/**
 * The Reporter the sync engine calls after each run: one robot message per run, within the robot's budget.
 * When the budget is spent (or DingTalk blocked the robot), reports wait in a bounded queue and go out
 * together as ONE coalesced message as soon as the budget allows — never dropped silently.
 * report() never throws: a robot problem is logged and returned, it never fails a run.
 */
import type { Config } from '../config.js';
import { errorCode, errorMessage } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { ReportExtra, Reporter, RunRecord } from '../core/index.js';
import type { RobotReportMode } from '../config.js';
import { decide } from './policy.js';
import type { CallMeter } from '../core/metering.js';
import { resolveRetryPolicy, retrying, type RetryPolicy } from '../outbound/index.js';
import { RobotClient, type RobotMarkdown } from './client.js';
import { RobotBlockedError, RobotOptionsError } from './errors.js';
import { renderCoalescedReport, renderRunReport, type CoalescedItem } from './report.js';

export interface RobotReporterOptions {
  client: Pick<RobotClient, 'sendMarkdown' | 'availableInMs'>;
  publicUrl?: string;
  logger?: Logger;
  /** failures listed per message (default 10) */
  maxFailures?: number;
  /** most runs kept in detail while waiting for budget; older ones are still counted in the coalesced message */
  maxQueued?: number;
  /** tries per report on transient failures (default 3), spaced retryDelayMs × attempt apart (default 1000) */
  attempts?: number;
  retryDelayMs?: number;
  /** which runs are reported (ROBOT_REPORT, whose default is changes; this class reports every run unless told) */
  mode?: RobotReportMode;
}

export type ReportResult = { sent: boolean; error?: string; skipped?: string };

export class RobotReporter implements Reporter {
  private readonly client: RobotReporterOptions['client'];
  private readonly publicUrl?: string;
  private readonly retry: RetryPolicy;
  private readonly logger: Logger;
  private readonly maxFailures: number;
  private readonly maxQueued: number;
  private readonly mode: RobotReportMode;
  private queue: CoalescedItem[] = [];
  private omitted = 0;
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private closed = false;

  constructor(opts: RobotReporterOptions) {
    if (!opts?.client) throw new RobotOptionsError('RobotReporter: expected a client');
    const maxQueued = opts.maxQueued ?? 100;
    if (!Number.isInteger(maxQueued) || maxQueued < 1) throw new RobotOptionsError('RobotReporter maxQueued: expected a whole number ≥ 1');
    this.client = opts.client;
    this.publicUrl = opts.publicUrl;
    this.logger = opts.logger ?? silentLogger;
    this.maxFailures = opts.maxFailures ?? 10;
    this.maxQueued = maxQueued;
    const retryDelayMs = opts.retryDelayMs ?? 1000;
    // the robot's own policy: few tries, spaced linearly (a report is worth little once the run is old news)
    this.retry = resolveRetryPolicy({ limit: (opts.attempts ?? 3) - 1, delay: (n) => retryDelayMs * n, jitter: 0, backoffLimit: Infinity });
    this.mode = opts.mode ?? 'every';
  }

  /** Reports waiting for budget. */
  get pending(): number { return this.queue.length + this.omitted; }

  async report(run: RunRecord, extra: ReportExtra = {}): Promise<ReportResult> {
    try {
      if (this.closed) return { sent: false, error: 'ROBOT_CLOSED: reporter is shut down' };
      const decision = decide(run, this.mode, extra.quota);
      if (!decision.send) {
        this.logger.debug({ runId: run.id, reason: decision.reason }, 'run not reported');
        return { sent: false, skipped: decision.reason };
      }
      const item: CoalescedItem = { run, consecutiveFailures: extra.consecutiveFailures, quota: extra.quota };
      if (this.queue.length === 0 && this.omitted === 0 && this.client.availableInMs() === 0) {
        const msg = this.single(item);
        try {
          // A transient failure (network, 5xx, DingTalk busy) is tried again a little later, while the budget allows;
          // msgUuid = run id makes a repeat of a message that did arrive harmless, hence 'idempotent'.
          await retrying(() => this.client.sendMarkdown(msg), {
            policy: this.retry, kind: 'idempotent',
            classify: (err) => (errorCode(err) === 'ROBOT_SEND_FAILED' && !this.closed && this.client.availableInMs() === 0 ? { kind: 'ambiguous' } : { kind: 'fatal' }),
          });
          return { sent: true };
        } catch (err) {
          if (!(err instanceof RobotBlockedError) && errorCode(err) !== 'ROBOT_BUDGET_EXHAUSTED') return this.failed(run.id, err);
          // Blocked or out of budget after all: fall through to the queue so the report still goes out later.
        }
      }
      this.enqueue(item);
      const waitS = Math.ceil(this.client.availableInMs() / 1000);
      this.logger.info({ runId: run.id, pending: this.pending, waitS }, 'robot budget used up: report queued and will be sent coalesced');
      return { sent: false, error: `ROBOT_QUEUED: robot budget (20/min) used up; report queued, sent coalesced in about ${waitS} s` };
    } catch (err) {
      return this.failed(run.id, err);
    }
  }

  /** Send what is queued now if the budget allows (also used at shutdown). Never throws. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = this.doFlush().finally(() => { this.flushing = undefined; });
    return this.flushing;
  }

  /** Stop the timer; a last flush is attempted when budget allows. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending > 0) this.logger.warn({ pending: this.pending }, 'robot reports still queued at shutdown were not sent');
  }

  private single(item: CoalescedItem): RobotMarkdown {
    const r = renderRunReport(item.run, { publicUrl: this.publicUrl, consecutiveFailures: item.consecutiveFailures, maxFailures: this.maxFailures, quota: item.quota });
    return { ...r, msgUuid: item.run.id };
  }

  private enqueue(item: CoalescedItem): void {
    this.queue.push(item);
    while (this.queue.length > this.maxQueued) { this.queue.shift(); this.omitted += 1; }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    const wait = Math.max(this.client.availableInMs(), 50);
    this.timer = setTimeout(() => { this.timer = undefined; void this.flush(); }, wait);
    this.timer.unref();
  }

  private async doFlush(): Promise<void> {
    if (this.queue.length === 0 && this.omitted === 0) return;
    if (this.client.availableInMs() > 0) { this.schedule(); return; }
    const items = this.queue;
    const omitted = this.omitted;
    this.queue = [];
    this.omitted = 0;
    const msg: RobotMarkdown = items.length === 1 && omitted === 0
      ? this.single(items[0]!)
      : { ...renderCoalescedReport(items, { publicUrl: this.publicUrl, omitted, maxFailures: this.maxFailures }), msgUuid: `batch-${items[0]?.run.id ?? 'x'}-${items.length + omitted}` };
    try {
      await this.client.sendMarkdown(msg);
      this.logger.info({ runs: items.map((i) => i.run.id), omitted }, 'queued robot reports sent as one message');
    } catch (err) {
      if (err instanceof RobotBlockedError || errorCode(err) === 'ROBOT_BUDGET_EXHAUSTED') {
        // Put them back in front of anything queued meanwhile; the next attempt waits for the budget or the block.
        this.queue = [...items, ...this.queue];
        this.omitted += omitted;
        while (this.queue.length > this.maxQueued) { this.queue.shift(); this.omitted += 1; }
        this.schedule();
        return;
      }
      this.logger.error({ code: errorCode(err), err: errorMessage(err), runs: items.map((i) => i.run.id), omitted }, 'queued robot reports could not be sent');
    }
  }

  private failed(runId: string, err: unknown): ReportResult {
    const code = errorCode(err);
    const message = `${code}: ${errorMessage(err)}`;
    this.logger.warn({ runId, code, err: errorMessage(err) }, 'robot report not sent');
    return { sent: false, error: message };
  }
}

/** A reporter for when no robot is configured: reports nothing, claims nothing. */
export class NoRobotReporter implements Reporter {
  async report(): Promise<ReportResult> { return { sent: false }; }
}

/** From config: a RobotReporter when ROBOT_WEBHOOK_URL is set, otherwise a NoRobotReporter. */
export function createRobotReporter(config: Pick<Config, 'robot' | 'publicUrl'> & Partial<Pick<Config, 'robotReport'>>, deps: { logger?: Logger; fetch?: typeof fetch; meter?: CallMeter } = {}): RobotReporter | NoRobotReporter {
  if (!config.robot) return new NoRobotReporter();
  const client = new RobotClient({ webhookUrl: config.robot.webhookUrl, secret: config.robot.secret, logger: deps.logger, fetch: deps.fetch, meter: deps.meter });
  return new RobotReporter({ client, publicUrl: config.publicUrl, logger: deps.logger, mode: config.robotReport });
}
