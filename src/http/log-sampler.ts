/**
 * Refused requests (401 from a scanner, 400s from a misconfigured connector) can arrive by the thousand: each would
 * be a log line. Per error code, the first `perWindow` in a window are logged; the rest are counted, and the first line
 * logged after the window says how many were left out (`suppressed`). Metrics still count every request.
 */
export interface SampleDecision { log: boolean; suppressed: number }

export class LogSampler {
  private readonly windows = new Map<string, { start: number; logged: number; suppressed: number }>();

  constructor(private readonly perWindow = 10, private readonly windowMs = 60_000, private readonly now: () => number = Date.now) {}

  /** Should this occurrence of `key` be logged? `suppressed`: how many of `key` were not, since the last logged one. */
  take(key: string): SampleDecision {
    const t = this.now();
    let w = this.windows.get(key);
    if (!w || t - w.start >= this.windowMs) {
      const carried = w?.suppressed ?? 0;
      w = { start: t, logged: 0, suppressed: 0 };
      this.windows.set(key, w);
      // Keys are error codes (a few dozen at most); an old window is simply replaced.
      w.logged++;
      return { log: true, suppressed: carried };
    }
    if (w.logged < this.perWindow) {
      w.logged++;
      const suppressed = w.suppressed;
      w.suppressed = 0;
      return { log: true, suppressed };
    }
    w.suppressed++;
    return { log: false, suppressed: 0 };
  }
}
