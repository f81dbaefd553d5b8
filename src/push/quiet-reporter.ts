/**
 * Push runs are frequent and usually small: one that changed nothing (every product unchanged, e.g. an OKKI edit to a
 * field the mapping does not use) sends no robot message, so it costs none of DingTalk's monthly message budget. Any
 * other run, and every run of another trigger, is reported as before.
 */
import type { Reporter, RunRecord } from '../core/index.js';

/** counts that are not a change: what was read, and what was read and found as it already was */
const NOT_CHANGES = new Set(['fetched', 'unchanged']);

export function changedSomething(run: RunRecord): boolean {
  if (run.status === 'failed') return true;
  return Object.entries(run.counts).some(([k, v]) => !NOT_CHANGES.has(k) && typeof v === 'number' && v > 0);
}

export function quietPushRuns(inner: Reporter): Reporter {
  return {
    async report(run, extra) {
      if (run.trigger === 'push' && !changedSomething(run)) return { sent: false, skipped: 'push run changed nothing (not reported)' };
      return inner.report(run, extra);
    },
  };
}
