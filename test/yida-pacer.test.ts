/**
 * The adaptive pacer against a limit it cannot see, in virtual time: a server that admits L requests per sliding
 * second and throttles the rest. The figures are counted, not timed, so the test is deterministic.
 */
import { expect } from 'chai';
import { AdaptivePacer } from '../src/yida/pacer.js';

function simulate(opts: { limit: number; ceiling: number; requests: number; latencyMs: number; concurrency: number }) {
  let t = 0;
  const pacer = new AdaptivePacer({ maxRate: opts.ceiling, now: () => t });
  const admitted: number[] = [];
  let throttled = 0;
  let done = 0;
  // each worker: reserve a slot, send at that time, learn the answer latencyMs later
  const workers = Array.from({ length: opts.concurrency }, () => 0);
  while (done < opts.requests) {
    const w = workers.indexOf(Math.min(...workers));
    t = workers[w];
    const sendAt = t + pacer.reserve();
    while (admitted.length && admitted[0] <= sendAt - 1000) admitted.shift();
    const ok = admitted.length < opts.limit;
    if (ok) admitted.push(sendAt);
    t = sendAt + opts.latencyMs;
    if (ok) { pacer.onSuccess(); done++; } else { pacer.onThrottled(); throttled++; t += 250; }
    workers[w] = t;
  }
  const seconds = Math.max(...workers) / 1000;
  if (process.env.PACER_DEBUG) console.log(opts, { throttled, seconds });
  return { rate: opts.requests / seconds, fraction: opts.requests / seconds / opts.limit, throttledPer1000: (throttled * 1000) / opts.requests, estimate: pacer.limitEstimate };
}

describe('AdaptivePacer against a hidden limit (virtual time)', () => {
  it('finds a limit far below its ceiling in one step and then stays just under it', () => {
    const r = simulate({ limit: 40, ceiling: 1000, requests: 4000, latencyMs: 50, concurrency: 8 });
    expect(r.estimate).to.be.within(30, 45);
    expect(r.fraction).to.be.greaterThan(0.9);
    expect(r.throttledPer1000).to.be.lessThan(20);
  });

  it('with the ceiling set at the limit it loses little to throttling', () => {
    const r = simulate({ limit: 20, ceiling: 20, requests: 2000, latencyMs: 50, concurrency: 8 });
    expect(r.fraction).to.be.greaterThan(0.9);
    expect(r.throttledPer1000).to.be.lessThan(20);
  });

  it('never throttles when the limit is above the ceiling, and runs at the ceiling', () => {
    const r = simulate({ limit: 100, ceiling: 50, requests: 2000, latencyMs: 20, concurrency: 8 });
    expect(r.throttledPer1000).to.equal(0);
    expect(r.rate).to.be.within(48, 50.5);
  });

  it('cuts multiplicatively when nothing got through to estimate from', () => {
    let t = 0;
    const p = new AdaptivePacer({ maxRate: 20, now: () => t });
    p.onThrottled();
    expect(p.rate).to.equal(14);
    expect(p.limitEstimate).to.equal(undefined);
    t += 500; p.onThrottled();
    expect(p.rate, 'one cut per observation window').to.equal(14);
  });
});
