/**
 * Keeps the latest answer to "does the mapping fit the Yida form?" for /readyz and the console's mapping page.
 * Reading the form's definition is a metered DingTalk call, so it is never made per probe: once shortly after
 * start-up, then once a day, and when an operator asks (no more often than every `minGapMs`).
 */
import { checkMappingAgainstForm, type FormCheckResult, type FormFieldDefinition, type MappedField } from '../mapping/form-check.js';
import type { Logger } from '../log.js';
import { errorCode, errorMessage } from '../errors.js';
import { redact } from '../redact.js';

export interface MappingCheckState {
  checkedAt: string;
  result?: FormCheckResult;
  /** why the form could not be read (the mapping's fit is then unknown) */
  error?: { code: string; message: string };
}

export interface MappingMonitorOptions {
  fetchForm: () => Promise<FormFieldDefinition[]>;
  mapping: { keyField: string; fields?: MappedField[] };
  logger?: Logger;
  /** between automatic checks (default 24 h) */
  intervalMs?: number;
  /** an operator's re-check is refused within this time of the last (default 10 s) */
  minGapMs?: number;
  now?: () => number;
}

export class MappingMonitor {
  private state?: MappingCheckState;
  private inflight?: Promise<MappingCheckState>;
  private timer?: NodeJS.Timeout;
  private lastAt = 0;
  private readonly now: () => number;

  constructor(private readonly opts: MappingMonitorOptions) {
    this.now = opts.now ?? Date.now;
  }

  latest(): MappingCheckState | undefined { return this.state; }

  /** Check now (or join the check under way). */
  check(): Promise<MappingCheckState> {
    if (this.inflight) return this.inflight;
    this.lastAt = this.now();
    this.inflight = this.run().finally(() => { this.inflight = undefined; });
    return this.inflight;
  }

  /** An operator's "check again": the last answer is reused when it is younger than `minGapMs` (each check is a metered call). */
  recheck(): Promise<MappingCheckState> {
    if (this.state && !this.inflight && this.now() - this.lastAt < (this.opts.minGapMs ?? 10_000)) return Promise.resolve(this.state);
    return this.check();
  }

  private async run(): Promise<MappingCheckState> {
    const checkedAt = new Date(this.now()).toISOString();
    try {
      const form = await this.opts.fetchForm();
      const result = checkMappingAgainstForm(this.opts.mapping.fields ?? [], form, this.opts.mapping.keyField);
      this.state = { checkedAt, result };
      if (!result.ok) this.opts.logger?.warn({ problems: result.problems.map((p) => `${p.kind} ${p.field}`) }, 'the mapping does not fit the Yida form');
    } catch (err) {
      this.state = { checkedAt, error: { code: errorCode(err), message: redact(errorMessage(err)) } };
      this.opts.logger?.warn({ code: this.state.error!.code, err: this.state.error!.message }, 'could not read the Yida form definition to check the mapping');
    }
    return this.state;
  }

  /** First check after `delayMs`, then every interval. */
  start(delayMs = 2_000): void {
    const every = this.opts.intervalMs ?? 24 * 3600_000;
    const first = setTimeout(() => {
      void this.check();
      this.timer = setInterval(() => void this.check(), every);
      this.timer.unref();
    }, delayMs);
    first.unref();
    this.timer = first;
  }

  stop(): void { clearTimeout(this.timer); clearInterval(this.timer); }

  /**
   * For /readyz: false only when the form was read and the mapping does not fit it (an unreadable form says nothing
   * about the mapping, and must not take the service out of rotation).
   */
  readiness(): { ok: boolean; problems?: string[] } {
    const r = this.state?.result;
    if (!r || r.ok) return { ok: true };
    return { ok: false, problems: r.problems.map((p) => `${p.kind}: ${p.field}${p.label && p.label !== p.field ? ` (${p.label})` : ''}`) };
  }
}
