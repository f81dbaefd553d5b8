/**
 * Micro-batching behind a per-item interface: callers add one item and get a promise for its own result; items are
 * sent together when `size` are waiting, when the first of them has waited `lingerMs`, or on `flush()`. The writer
 * keeps writing one product at a time while Yida sees one call per hundred.
 *
 * `send` settles every entry it is given (resolve or reject); if it throws, every entry it was given that is still
 * unsettled is rejected with that error, so no caller waits for ever.
 */
export interface BatchEntry<In, Out> {
  readonly input: In;
  resolve(value: Out): void;
  reject(err: unknown): void;
  /** true once resolved or rejected */
  readonly settled: boolean;
}

export interface BatcherOptions<In, Out> {
  /** items per batch (YIDA_BATCH_SIZE) */
  size: number;
  /** the longest the first item of a batch waits for more (default 50 ms) */
  lingerMs?: number;
  send(entries: BatchEntry<In, Out>[]): Promise<void>;
  /** an item that must not share a batch with one already waiting (e.g. two updates of one instance) */
  conflicts?(a: In, b: In): boolean;
}

export class MicroBatcher<In, Out> {
  private waiting: BatchEntry<In, Out>[] = [];
  private timer?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly lingerMs: number;

  constructor(private readonly opts: BatcherOptions<In, Out>) {
    if (!Number.isInteger(opts.size) || opts.size < 1) throw new TypeError('batch size: expected a whole number ≥ 1');
    this.lingerMs = opts.lingerMs ?? 50;
  }

  /** items waiting to be sent */
  get pending(): number { return this.waiting.length; }

  add(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      if (this.opts.conflicts && this.waiting.some((e) => this.opts.conflicts!(e.input, input))) this.sendNow();
      let settled = false;
      this.waiting.push({
        input,
        resolve: (v) => { if (!settled) { settled = true; resolve(v); } },
        reject: (e) => { if (!settled) { settled = true; reject(e); } },
        get settled() { return settled; },
      });
      if (this.waiting.length >= this.opts.size) this.sendNow();
      else if (!this.timer) {
        this.timer = setTimeout(() => { this.timer = undefined; this.sendNow(); }, this.lingerMs);
        this.timer.unref();
      }
    });
  }

  /** send what is waiting now; resolves when every batch sent so far has settled */
  async flush(): Promise<void> {
    this.sendNow();
    await Promise.all([...this.inFlight]);
  }

  private sendNow(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    while (this.waiting.length) {
      const batch = this.waiting.splice(0, this.opts.size);
      const p: Promise<void> = this.opts.send(batch)
        .catch((err) => { for (const e of batch) e.reject(err); })
        .then(() => { for (const e of batch) e.reject(new Error('batch sent without a result for this record (a bug)')); })
        .finally(() => { this.inFlight.delete(p); });
      this.inFlight.add(p);
    }
  }
}
