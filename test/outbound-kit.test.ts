/**
 * The outbound-call kit: the retry policy's validator and defaults, the retry loop's rules (Retry-After, throttling,
 * writes never repeated after an ambiguous failure), and the single-flight token cache whose fetch no caller's abort
 * cancels. A loopback HTTP server stands in for a remote API where a real answer matters.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DEFAULT_RETRY_POLICY, TokenCache, backoffMs, exponential, httpFailure, parseRetryAfter, resolveRetryPolicy, retrying,
  type Failure, type RetryPolicy,
} from '../src/outbound/index.js';
import { redact, addSecret } from '../src/redact.js';

const fast = (over: Partial<RetryPolicy> = {}) => resolveRetryPolicy({ delay: () => 1, jitter: 0, ...over });
class Transient extends Error {}
class Throttled extends Error { constructor(readonly retryAfterMs?: number) { super('throttled'); } }
class Fatal extends Error {}
const classify = (err: unknown): Failure =>
  err instanceof Throttled ? { kind: 'throttled', retryAfterMs: err.retryAfterMs }
    : err instanceof Transient ? { kind: 'ambiguous' }
      : { kind: 'fatal' };

describe('outbound kit: retry policy', () => {
  it('documents its defaults: 5 retries, 5 throttle retries, 500 ms doubling to 30 s, half jitter, Retry-After up to 60 s', () => {
    const p = resolveRetryPolicy();
    expect(p.limit).to.equal(5);
    expect(p.throttleLimit).to.equal(5);
    expect(p.methods).to.deep.equal(['read', 'idempotent']);
    expect(p.statusCodes).to.include.members([429, 500, 502, 503, 504, 599]);
    expect(p.statusCodes).to.not.include.members([400, 401, 404, 408]);
    expect(p.afterStatusCodes).to.deep.equal([413, 429, 503]);
    expect(p.maxRetryAfter).to.equal(60_000);
    expect(p.backoffLimit).to.equal(30_000);
    expect(p.jitter).to.equal(0.5);
    const noJitter = resolveRetryPolicy({ jitter: 0 });
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(noJitter, n))).to.deep.equal([500, 1000, 2000, 4000, 8000]);
    expect(backoffMs(noJitter, 20)).to.equal(30_000);
    expect(backoffMs(p, 2, () => 1)).to.equal(500);
    expect(backoffMs(p, 2, () => 0)).to.equal(1000);
    expect(backoffMs(resolveRetryPolicy({ delay: exponential(100, 3), jitter: 0 }), 3)).to.equal(900);
  });

  it('rejects a wrong field with a message naming the field, what was expected and what was given', () => {
    expect(() => resolveRetryPolicy({ limit: -1 })).to.throw(TypeError, 'retry policy: expected `limit` to be a whole number ≥ 0 or Infinity, got `-1` (number)');
    expect(() => resolveRetryPolicy({ limit: 1.5 })).to.throw('expected `limit` to be a whole number ≥ 0 or Infinity, got `1.5` (number)');
    expect(() => resolveRetryPolicy({ throttleLimit: '3' as unknown as number })).to.throw('expected `throttleLimit` to be a whole number ≥ 0 or Infinity, got `"3"` (string)');
    expect(() => resolveRetryPolicy({ methods: ['post'] as never })).to.throw("expected `methods` to be an array of 'read', 'idempotent', 'write', got `[\"post\"]` (object)");
    expect(() => resolveRetryPolicy({ statusCodes: [700] })).to.throw('expected `statusCodes` to be an array of HTTP statuses (100–599), got `[700]` (object)');
    expect(() => resolveRetryPolicy({ jitter: 2 })).to.throw('expected `jitter` to be a number from 0 to 1, got `2` (number)');
    expect(() => resolveRetryPolicy({ delay: 5 as never })).to.throw('expected `delay` to be a function of the retry number returning milliseconds, got `5` (number)');
    expect(() => resolveRetryPolicy({ delay: () => -1 })).to.throw('expected `delay(1)` to be a number of milliseconds ≥ 0, got `-1` (number)');
    expect(() => resolveRetryPolicy({ maxRetryAfter: NaN })).to.throw('expected `maxRetryAfter`');
    expect(() => resolveRetryPolicy({ maxElapsed: 0 })).to.throw('expected `maxElapsed` to be a number of milliseconds > 0 or Infinity, got `0` (number)');
    // undefined fields keep the base's value; Infinity is a valid limit
    expect(resolveRetryPolicy({ limit: undefined }).limit).to.equal(5);
    expect(resolveRetryPolicy({ limit: Infinity }).limit).to.equal(Infinity);
    expect(Object.isFrozen(DEFAULT_RETRY_POLICY)).to.equal(true);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('2')).to.equal(2000);
    expect(parseRetryAfter('0.5')).to.equal(500);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).to.equal(6000);
    expect(parseRetryAfter('soon')).to.equal(undefined);
    expect(parseRetryAfter(null)).to.equal(undefined);
  });

  it('maps HTTP statuses: 429 is throttling, 5xx ambiguous, other 4xx fatal; Retry-After only on afterStatusCodes', () => {
    const p = resolveRetryPolicy();
    expect(httpFailure(p, 429, 1000)).to.deep.equal({ kind: 'throttled', retryAfterMs: 1000 });
    expect(httpFailure(p, 503, 1000)).to.deep.equal({ kind: 'ambiguous', retryAfterMs: 1000 });
    expect(httpFailure(p, 500, 1000)).to.deep.equal({ kind: 'ambiguous' });
    expect(httpFailure(p, 400)).to.deep.equal({ kind: 'fatal' });
    expect(httpFailure(resolveRetryPolicy({ statusCodes: [408] }), 408)).to.deep.equal({ kind: 'ambiguous' });
  });
});

describe('outbound kit: retry loop', () => {
  it('repeats a read on ambiguous failures up to limit, then gives up with the adapter\'s error and the counts', async () => {
    let calls = 0;
    const err = await retrying(async () => { calls++; throw new Transient('5xx'); }, {
      policy: fast({ limit: 3 }), kind: 'read', classify,
      giveUp: (e, info) => Object.assign(new Error('gave up'), { info, last: e }),
    }).catch((e: unknown) => e as Error & { info: Record<string, unknown>; last: unknown });
    expect(calls).to.equal(4);
    expect(err.message).to.equal('gave up');
    expect(err.info).to.include({ attempts: 4, transient: 4, throttled: 0, reason: 'exhausted' });
    expect(err.last).to.be.instanceOf(Transient);
  });

  it('never repeats a write (the default kind) after an ambiguous failure, but does repeat it when throttled', async () => {
    let calls = 0;
    const reason = await retrying(async () => { calls++; throw new Transient('timeout'); }, {
      policy: fast(), classify, giveUp: (_e, info) => info.reason,
    }).catch((r: unknown) => r);
    expect(calls).to.equal(1);
    expect(reason).to.equal('not_retryable');

    calls = 0;
    const out = await retrying(async () => { if (++calls < 3) throw new Throttled(); return 'created'; }, { policy: fast(), kind: 'write', classify });
    expect(out).to.equal('created');
    expect(calls).to.equal(3);
    // a policy may opt writes in, ky-style
    calls = 0;
    await retrying(async () => { if (++calls < 2) throw new Transient(); }, { policy: fast({ methods: ['read', 'idempotent', 'write'] }), classify });
    expect(calls).to.equal(2);
  });

  it('counts throttling apart from other failures, and stops at once on a fatal one', async () => {
    let calls = 0;
    const seq = [new Throttled(), new Transient(), new Throttled(), new Throttled()];
    const info = await retrying(async () => { throw seq[calls++] ?? new Throttled(); }, {
      policy: fast({ limit: 1, throttleLimit: 3 }), kind: 'read', classify, giveUp: (_e, i) => i,
    }).catch((i: unknown) => i as Record<string, unknown>);
    expect(info).to.include({ reason: 'exhausted', throttled: 4, transient: 1, attempts: 5 });
    calls = 0;
    await retrying(async () => { calls++; throw new Fatal(); }, { policy: fast(), kind: 'read', classify }).catch(() => undefined);
    expect(calls).to.equal(1);
  });

  it('gives a refused token one immediate repeat outside the budget, and stops on a second refusal', async () => {
    let calls = 0;
    const auth = (e: unknown): Failure => (e instanceof Fatal ? { kind: 'auth' } : classify(e));
    const reason = await retrying(async () => { calls++; throw new Fatal(); }, { policy: fast({ limit: 0 }), kind: 'read', classify: auth, giveUp: (_e, i) => i.reason })
      .catch((r: unknown) => r);
    expect([calls, reason]).to.deep.equal([2, 'auth']);
  });

  it('honours Retry-After from a real answer (capped by maxRetryAfter) instead of the backoff', async () => {
    let hits = 0;
    const server: Server = createServer((_req, res) => {
      hits++;
      if (hits === 1) { res.writeHead(429, { 'retry-after': '1' }); res.end(); return; }
      if (hits === 2) { res.writeHead(503, { 'retry-after': '30' }); res.end(); return; }
      res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    class HttpStatus extends Error { constructor(readonly status: number, readonly retryAfterMs?: number) { super(`HTTP ${status}`); } }
    const policy = resolveRetryPolicy({ delay: () => 5_000, jitter: 0, maxRetryAfter: 200 });
    const waits: number[] = [];
    const times: number[] = [];
    try {
      const body = await retrying(async () => {
        times.push(Date.now());
        const res = await fetch(url);
        if (!res.ok) throw new HttpStatus(res.status, parseRetryAfter(res.headers.get('retry-after')));
        return res.json();
      }, {
        policy, kind: 'read',
        classify: (e) => (e instanceof HttpStatus ? httpFailure(policy, e.status, e.retryAfterMs) : { kind: 'fatal' }),
        onRetry: (ev) => waits.push(ev.delayMs),
      });
      expect(body).to.deep.equal({ ok: true });
    } finally { server.close(); }
    // 1 s asked, capped to 200 ms; 30 s asked, capped to 200 ms; the 5 s backoff never used
    expect(waits).to.deep.equal([200, 200]);
    expect(times[1] - times[0]).to.be.at.least(190);
    expect(hits).to.equal(3);
  });

  it('stops waiting when the signal fires, and does not retry past maxElapsed', async () => {
    const ctl = new AbortController();
    const started = Date.now();
    setTimeout(() => ctl.abort(new Error('stop')), 30);
    const err = await retrying(async () => { throw new Transient(); }, { policy: resolveRetryPolicy({ delay: () => 10_000, jitter: 0 }), kind: 'read', classify, signal: ctl.signal })
      .catch((e: unknown) => e as Error);
    expect(err.message).to.equal('stop');
    expect(Date.now() - started).to.be.below(5_000);
    let calls = 0;
    await retrying(async () => { calls++; throw new Transient(); }, { policy: resolveRetryPolicy({ delay: () => 40, jitter: 0, limit: Infinity, maxElapsed: 100 }), kind: 'read', classify })
      .catch(() => undefined);
    expect(calls).to.be.within(2, 4);
  });
});

describe('outbound kit: token cache', () => {
  const opts = { defaultTtlSeconds: 7200, maxMarginMs: 600_000 };

  it('makes one fetch however many callers ask at once, and reuses the token until shortly before it expires', async () => {
    let t = 0;
    let fetches = 0;
    const cache = new TokenCache(async () => { fetches++; await new Promise((r) => setTimeout(r, 20)); return { accessToken: `tok-${fetches}-abcdef`, expiresInSeconds: 100 }; }, { ...opts, now: () => t });
    const got = await Promise.all(Array.from({ length: 10 }, () => cache.get()));
    expect(new Set(got)).to.deep.equal(new Set(['tok-1-abcdef']));
    expect(fetches).to.equal(1);
    t = 89_000; // 100 s lifetime, refreshed 10 s early
    expect(await cache.get()).to.equal('tok-1-abcdef');
    t = 90_000;
    expect(await cache.get()).to.equal('tok-2-abcdef');
    cache.invalidate('tok-1-abcdef'); // no longer the cached one: ignored
    expect(await cache.get()).to.equal('tok-2-abcdef');
    cache.invalidate('tok-2-abcdef');
    expect(await cache.get()).to.equal('tok-3-abcdef');
    expect(fetches).to.equal(3);
  });

  it('lets a caller whose signal fires stop waiting without cancelling the fetch the others wait for', async () => {
    let fetches = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const cache = new TokenCache(async () => { fetches++; await gate; return { accessToken: 'shared-token-123' }; }, opts);
    const first = new AbortController();
    const a = cache.get(first.signal);
    const b = cache.get();
    const c = cache.get(new AbortController().signal);
    first.abort(new Error('caller A gave up'));
    const aErr = await a.then(() => new Error('resolved'), (e: unknown) => e as Error);
    expect(aErr.message).to.equal('caller A gave up');
    release();
    expect(await b).to.equal('shared-token-123');
    expect(await c).to.equal('shared-token-123');
    expect(fetches).to.equal(1);
    // an already-aborted caller does not start anything
    const done = new AbortController(); done.abort(new Error('late'));
    cache.invalidate('shared-token-123');
    expect((await cache.get(done.signal).then(() => new Error('resolved'), (e: unknown) => e as Error)).message).to.equal('late');
    expect(fetches).to.equal(1);
  });

  it('hands a failed fetch to every waiting caller and fetches again on the next ask', async () => {
    let fetches = 0;
    const cache = new TokenCache(async () => { if (++fetches === 1) throw new Error('refused'); return { accessToken: 'second-token' }; }, opts);
    const errs = await Promise.all([cache.get(), cache.get()].map((p) => p.catch((e: unknown) => (e as Error).message)));
    expect(errs).to.deep.equal(['refused', 'refused']);
    expect(await cache.get()).to.equal('second-token');
  });

  it('registers the tokens it holds with the redactor, and forgets superseded ones', async () => {
    let n = 0;
    const cache = new TokenCache(async () => ({ accessToken: `runtime-token-${++n}` }), opts);
    const t1 = await cache.get();
    expect(redact(`Bearer ${t1}`)).to.equal('Bearer ***');
    cache.invalidate(t1); await cache.get();
    cache.invalidate(`runtime-token-2`); await cache.get();
    expect(redact('runtime-token-1 runtime-token-2 runtime-token-3')).to.equal('runtime-token-1 *** ***');
    const remove = addSecret('added-by-hand-secret');
    expect(redact('x=added-by-hand-secret')).to.equal('x=***');
    remove();
    expect(redact('x=added-by-hand-secret')).to.equal('x=added-by-hand-secret');
  });
});
