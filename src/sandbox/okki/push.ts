/**
 * The OKKI simulator's push emitter: when products change it POSTs signed, encrypted messages to the configured
 * callback, the way OKKI Pro does (reference/okki-openapi.md, "Message push"). A delivery succeeds when the callback
 * answers HTTP 200 with `data.message_id` equal to the message's; otherwise it is retried after each of
 * `retryDelaysMs` (OKKI: 10 s, 30 s, 60 s) and then dropped. Every message is kept (bounded) for inspection.
 */
import { randomBytes } from 'node:crypto';
import type { PushKnobs } from './knobs.js';
import { encryptPayload, newSecurityConfig, signBody } from './push-crypto.js';
import type { ChangeKind } from './store.js';

export const PRODUCT_SUBSCRIBE_TYPE = 'crm.product';
export const TEST_BIZ_TYPE = 'xiaoman.open.callback.test';
export const productBizType = (kind: ChangeKind) => `xiaoman.crm.product.${kind}`;
export const PRODUCT_BIZ_TYPES = (['create', 'update', 'delete'] as const).map(productBizType);

export interface PushConfig { callbackUrl: string; securityConfig: string; securityMethod: 'AES-256-GCM'; verified: boolean }
export interface BizEntry { biz_type: string; biz_data: unknown }
export interface DeliveryAttempt { at: number; status: number; ok: boolean; error?: string }
export type DeliveryState = 'pending' | 'retrying' | 'delivered' | 'dropped';
export interface Delivery {
  seq: number;
  message_id: string;
  biz: BizEntry[];
  state: DeliveryState;
  attempts: DeliveryAttempt[];
  /** a second delivery of an earlier message (the duplicate knob), same message_id */
  duplicate?: boolean;
  test?: boolean;
  createdAt: number;
}

const LOG_SIZE = 10_000;

export class PushEmitter {
  config: PushConfig | null = null;
  /** subscribe_type → biz types */
  readonly subscriptions = new Map<string, string[]>();
  private log: Delivery[] = [];
  private seq = 0;
  private held: BizEntry[] = [];
  private holdTimer: NodeJS.Timeout | undefined;
  private queue: Delivery[] = [];
  private inFlight = 0;
  private timers = new Set<NodeJS.Timeout>();
  private aborts = new Set<AbortController>();
  private waiters: Array<() => void> = [];
  /** bumped by stop(): attempts started before it schedule nothing more */
  private epoch = 0;

  constructor(private knobs: () => PushKnobs, private random: () => number) {}

  /** Set the callback (POST/PUT /v1/webhook). A new config gets a fresh key unless one is given. */
  configure(callbackUrl: string, securityConfig?: string): PushConfig {
    const url = new URL(callbackUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('callback_url must be an http(s) URL');
    if (securityConfig !== undefined && Buffer.from(securityConfig, 'base64').length !== 32) throw new TypeError('security_config must be base64 of 32 bytes');
    const keep = securityConfig ?? this.config?.securityConfig ?? newSecurityConfig();
    this.config = { callbackUrl, securityConfig: keep, securityMethod: 'AES-256-GCM', verified: false };
    return this.config;
  }

  regenerateSecret(): string {
    if (!this.config) throw new TypeError('no callback configured');
    this.config.securityConfig = newSecurityConfig();
    return this.config.securityConfig;
  }

  remove(): void { this.config = null; }

  subscribe(type: string, bizTypes: string[]): void { this.subscriptions.set(type, [...new Set(bizTypes)]); }
  unsubscribe(type: string): boolean { return this.subscriptions.delete(type); }

  private subscribed(bizType: string): boolean {
    return this.subscriptions.get(PRODUCT_SUBSCRIBE_TYPE)?.includes(bizType) ?? false;
  }

  /** A product changed: queue its event when a callback and a matching subscription exist. */
  productChanged(kind: ChangeKind, product: { product_id: number | string; product_no: string }, force = false): boolean {
    const bizType = productBizType(kind);
    if (!this.config || !this.subscribed(bizType)) return false;
    const k = this.knobs();
    if (!force && k.lossRate > 0 && this.random() < k.lossRate) return false;
    const data = { product_id: product.product_id, product_no: product.product_no };
    const asString = k.bizDataAs === 'string' || (k.bizDataAs === 'mixed' && this.random() < 0.5);
    this.held.push({ biz_type: bizType, biz_data: asString ? JSON.stringify(data) : data });
    this.holdTimer ??= setTimeout(() => this.flush(), k.holdMs);
    return true;
  }

  /** Turn the held events into messages (batched, ordered per the knobs) and queue them for delivery. */
  private flush(): void {
    this.holdTimer = undefined;
    const k = this.knobs();
    const events = this.held; this.held = [];
    const messages: BizEntry[][] = [];
    for (let i = 0; i < events.length; i += k.batchSize) messages.push(events.slice(i, i + k.batchSize));
    if (k.order === 'reverse') messages.reverse();
    if (k.order === 'shuffle') {
      for (let i = messages.length - 1; i > 0; i--) { const j = Math.floor(this.random() * (i + 1)); [messages[i], messages[j]] = [messages[j], messages[i]]; }
    }
    for (const biz of messages) {
      const d = this.record(newMessageId(), biz);
      this.queue.push(d);
      if (k.duplicateRate > 0 && this.random() < k.duplicateRate) this.queue.push(this.record(d.message_id, biz, { duplicate: true }));
    }
    this.pump();
  }

  private record(messageId: string, biz: BizEntry[], extra: Partial<Delivery> = {}): Delivery {
    const d: Delivery = { seq: ++this.seq, message_id: messageId, biz, state: 'pending', attempts: [], createdAt: Date.now(), ...extra };
    this.log.push(d);
    if (this.log.length > LOG_SIZE) this.log.splice(0, this.log.length - LOG_SIZE);
    return d;
  }

  private pump(): void {
    const k = this.knobs();
    while (this.inFlight < k.concurrency && this.queue.length) {
      const d = this.queue.shift()!;
      this.inFlight++;
      void this.attempt(d).finally(() => { this.inFlight--; this.pump(); this.notify(); });
    }
    this.notify();
  }

  private async attempt(d: Delivery): Promise<void> {
    const epoch = this.epoch;
    const result = await this.send(d);
    d.attempts.push(result);
    if (epoch !== this.epoch) { if (!result.ok) d.state = 'dropped'; else d.state = 'delivered'; return; }
    if (result.ok) { d.state = 'delivered'; return; }
    const delays = this.knobs().retryDelaysMs;
    const n = d.attempts.length - 1;
    if (d.test || n >= delays.length || !this.config) { d.state = 'dropped'; return; }
    d.state = 'retrying';
    const t = setTimeout(() => { this.timers.delete(t); this.queue.push(d); this.pump(); }, delays[n]);
    this.timers.add(t);
  }

  /** One POST to the callback; ok when it answers 200 with data.message_id (and, for the test event, data.data). */
  private async send(d: Delivery): Promise<DeliveryAttempt> {
    const at = Date.now();
    const cfg = this.config;
    if (!cfg) return { at, status: 0, ok: false, error: 'no callback configured' };
    const k = this.knobs();
    let data = encryptPayload(JSON.stringify({ biz: d.biz }), cfg.securityConfig);
    if (k.corrupt === 'ciphertext') data = flipBase64(data);
    const body = JSON.stringify({ message_id: d.message_id, data });
    const ts = String(Math.floor(Date.now() / 1000) - (k.corrupt === 'timestamp' ? 600 : 0));
    let sig = signBody(cfg.securityConfig, ts, body);
    if (k.corrupt === 'signature') sig = signBody(newSecurityConfig(), ts, body);
    const ac = new AbortController();
    this.aborts.add(ac);
    const timer = setTimeout(() => ac.abort(), k.timeoutMs);
    try {
      const res = await fetch(cfg.callbackUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature': sig, 'x-timestamp': ts }, body, signal: ac.signal });
      const text = await res.text();
      let answer: { data?: { message_id?: unknown; data?: unknown } } | undefined;
      try { answer = JSON.parse(text); } catch { /* judged below */ }
      const idOk = res.status === 200 && answer?.data?.message_id === d.message_id;
      const testOk = !d.test || JSON.stringify(answer?.data?.data) === JSON.stringify(d.biz[0].biz_data);
      const ok = idOk && testOk;
      return { at, status: res.status, ok, ...(ok ? {} : { error: !idOk ? 'answer lacks data.message_id equal to the message_id' : 'test answer lacks data.data equal to the biz_data' }) };
    } catch (err) {
      return { at, status: 0, ok: false, error: ac.signal.aborted ? `no answer within ${k.timeoutMs} ms` : (err as Error).message };
    } finally {
      clearTimeout(timer);
      this.aborts.delete(ac);
    }
  }

  /** OKKI's test event (POST /v1/webhook/test): one attempt, answered with whether the callback verified it. */
  async sendTest(): Promise<Delivery> {
    const d = this.record(newMessageId(), [{ biz_type: TEST_BIZ_TYPE, biz_data: `test_${randomBytes(6).toString('hex')}` }], { test: true });
    await this.attempt(d);
    if (d.state === 'delivered' && this.config) this.config.verified = true;
    return d;
  }

  get deliveries(): Delivery[] { return this.log.map((d) => ({ ...d, attempts: d.attempts.slice() })); }
  clearDeliveries(): void { this.log = this.log.filter((d) => d.state === 'pending' || d.state === 'retrying'); }

  /** Nothing held, queued, in flight or waiting for a retry. */
  get idle(): boolean {
    return !this.holdTimer && this.queue.length === 0 && this.inFlight === 0 && this.timers.size === 0;
  }

  /** Resolves when the emitter is idle (every message delivered or dropped). */
  settled(timeoutMs = 30_000): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.waiters = this.waiters.filter((w) => w !== done); reject(new Error(`push not settled within ${timeoutMs} ms`)); }, timeoutMs);
      const done = () => { clearTimeout(t); resolve(); };
      this.waiters.push(done);
    });
  }

  private notify(): void {
    if (!this.idle) return;
    const w = this.waiters; this.waiters = [];
    for (const f of w) f();
  }

  /** Stop everything pending (timers, held events, in-flight requests) and forget the log. */
  stop(): void {
    this.epoch++;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const ac of this.aborts) ac.abort();
    this.held = []; this.queue = [];
  }

  reset(config: PushConfig | null, subscriptions: Map<string, string[]>): void {
    this.stop();
    this.log = [];
    this.config = config ? { ...config } : null;
    this.subscriptions.clear();
    for (const [k, v] of subscriptions) this.subscriptions.set(k, v.slice());
    this.notify();
  }
}

function newMessageId(): string {
  // OKKI's look: msg_ + 14 hex digits + '.' + 8 digits (msg_68d6527b8e41f8.33205216)
  return `msg_${randomBytes(7).toString('hex')}.${String(randomBytes(4).readUInt32BE() % 100_000_000).padStart(8, '0')}`;
}

function flipBase64(b64: string): string {
  const buf = Buffer.from(b64, 'base64');
  buf[buf.length - 1] ^= 0xff;
  return buf.toString('base64');
}
