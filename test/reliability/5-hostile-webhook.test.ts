/**
 * Scenario 5 — hostile input at the webhook of a spawned service (API key and ddpaas signing secret both set).
 * Malformed and deeply nested JSON, wrong media types and encodings, bodies over the limit, missing and wrong keys,
 * stale, future and replayed signatures, a 10,000-element product_nos, slow senders (body and headers), oversized
 * headers and a burst of bad calls: each must be answered 4xx within a bounded time (a hang detector, not a speed
 * test), no run may start (GET /runs stays empty), and the service must stay healthy and still work afterwards.
 */
import { expect } from 'chai';
import net from 'node:net';
import { join } from 'node:path';
import { startOkkiSimulator, type OkkiSimulator } from '../../src/sandbox/okki/index.js';
import { startDingtalkSimulator, type DingtalkSimulator } from '../../src/sandbox/dingtalk/index.js';
import { ddpaasSignature } from '../../src/http/auth.js';
import {
  assertAlive, auditAdd, crashLines, recordFigure, secondsSince, serviceEnv, sleep, spawnService, tempDir, waitForRunEnd, type ServiceProcess,
} from '../helpers/reliability.js';

const API_KEY = 'hostile-api-key-0123456789abcdef';
const SIGNING_SECRET = 'hostile-ddpaas-signing-secret-0123456789';
const PATH = '/webhooks/yida/sync';
/** ceilings, far above what a healthy service needs: they only catch a request that hangs */
const QUICK_MS = 5_000;
const BODY_DEADLINE_MS = 20_000; // the webhook's own body deadline is 10 s
const HEADER_DEADLINE_MS = 60_000; // Node's headersTimeout (15 s) is checked every 30 s

interface Answer { status: number; ms: number; body: string }

/** One raw HTTP/1.1 exchange over a fresh socket; `write` sends the request (possibly slowly). */
function rawExchange(port: number, write: (s: net.Socket) => Promise<void> | void, ceilingMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, ms: Date.now() - t0, body: text.split('\r\n\r\n').slice(1).join('\r\n\r\n') });
    };
    const timer = setTimeout(finish, ceilingMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      // a complete answer: headers and as many body bytes as announced
      const text = Buffer.concat(chunks).toString('utf8');
      const head = text.indexOf('\r\n\r\n');
      const len = /\r\ncontent-length: *(\d+)/i.exec(text);
      if (head >= 0 && len && Buffer.byteLength(text.slice(head + 4)) >= Number(len[1])) finish();
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', () => finish());
    socket.on('connect', () => { Promise.resolve(write(socket)).catch(() => undefined); });
  });
}

const head = (extra: Record<string, string | number>) =>
  `POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${Object.entries(extra).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;

describe('reliability 5: hostile webhook input', function () {
  this.timeout(150_000);
  let okki: OkkiSimulator;
  let dt: DingtalkSimulator;
  let svc: ServiceProcess | undefined;

  before(async () => {
    okki = await startOkkiSimulator({ seed: 8501, products: 20 });
    dt = await startDingtalkSimulator({ seed: 8501 });
  });
  after(async () => {
    await svc?.kill();
    await dt?.close();
    await okki?.close();
  });

  it('answers every hostile call 4xx in bounded time, starts no run, and stays healthy', async () => {
    const t0 = Date.now();
    svc = await spawnService('hostile', serviceEnv({
      okki, dt, storeUrl: `sqlite://${join(tempDir('hostile'), 'store.sqlite')}`, apiKey: API_KEY, signingSecret: SIGNING_SECRET,
    }));
    const { url, port } = svc;
    expect(await svc.api.runs()).to.deep.equal([]);
    const results: Array<{ name: string; status: number; ms: number; ceiling: number; expected: number[]; body: string }> = [];
    const json = { 'content-type': 'application/json' };
    const key = { 'x-api-key': API_KEY };

    async function viaFetch(name: string, expected: number[], init: RequestInit & { headers?: Record<string, string> }, ceiling = QUICK_MS) {
      const start = Date.now();
      let status = 0; let body = '';
      try {
        const res = await fetch(`${url}${PATH}`, { method: 'POST', ...init, signal: AbortSignal.timeout(ceiling) });
        status = res.status; body = await res.text();
      } catch (err) { body = String((err as Error).message); }
      results.push({ name, status, ms: Date.now() - start, ceiling, expected, body });
    }
    async function viaSocket(name: string, expected: number[], write: (s: net.Socket) => Promise<void> | void, ceiling = QUICK_MS) {
      const a = await rawExchange(port, write, ceiling);
      results.push({ name, status: a.status, ms: a.ms, ceiling, expected, body: a.body });
    }
    const signed = (ts: string, secret = SIGNING_SECRET) => ({ 'x-ddpaas-signature-timestamp': ts, 'x-ddpaas-signature': ddpaasSignature(secret, ts) });

    // The slow senders run alongside everything else.
    const slow = [
      viaSocket('slow-loris body (1 byte / 500 ms)', [408, 400], async (s) => {
        s.write(head({ ...key, ...json, 'content-length': 400 }));
        for (let i = 0; i < 60 && !s.destroyed; i++) { s.write(' '); await sleep(500); }
      }, BODY_DEADLINE_MS),
      viaSocket('slow-loris headers (1 header line / 1 s)', [408, 400, 431], async (s) => {
        s.write(`POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
        for (let i = 0; i < 70 && !s.destroyed; i++) { s.write(`x-pad-${i}: ${'a'.repeat(8)}\r\n`); await sleep(1000); }
      }, HEADER_DEADLINE_MS),
      viaSocket('body shorter than Content-Length, then silence', [400, 408], (s) => { s.write(head({ ...key, ...json, 'content-length': 100 }) + '{"mode":'); }, BODY_DEADLINE_MS),
    ];

    // Malformed and deeply nested JSON.
    await viaFetch('malformed JSON', [400], { headers: { ...key, ...json }, body: '{"mode":' });
    await viaFetch('trailing garbage', [400], { headers: { ...key, ...json }, body: '{"mode":"full"} x' });
    await viaFetch('20,000-deep nested arrays', [400], { headers: { ...key, ...json }, body: '['.repeat(20_000) + ']'.repeat(20_000) });
    await viaFetch('5,000-deep nested objects under mode', [400], { headers: { ...key, ...json }, body: '{"mode":' + '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000) + '}' });
    await viaFetch('deep nesting inside product_nos', [400], { headers: { ...key, ...json }, body: '{"product_nos":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}' });
    for (const body of ['[]', '"full"', '1', 'null', 'true']) await viaFetch(`top-level ${body}`, [400], { headers: { ...key, ...json }, body });
    await viaFetch('__proto__ key', [400], { headers: { ...key, ...json }, body: '{"__proto__":{"mode":"full"}}' });
    await viaFetch('constructor.prototype key', [400], { headers: { ...key, ...json }, body: '{"constructor":{"prototype":{"wait":true}}}' });
    await viaFetch('unknown field', [400], { headers: { ...key, ...json }, body: '{"productNos":["P-1"]}' });
    await viaFetch('duplicate key, last one invalid', [400], { headers: { ...key, ...json }, body: '{"mode":"full","mode":"everything"}' });
    for (const body of ['{"wait":"yes"}', '{"mode":"everything"}', '{"product_nos":"P-1"}', '{"product_nos":[1,2]}', '{"product_nos":[""]}', `{"product_nos":["${'x'.repeat(65)}"]}`, '{"wait":1e999}']) {
      await viaFetch(`wrong type ${body.slice(0, 40)}`, [400], { headers: { ...key, ...json }, body });
    }
    await viaFetch('invalid UTF-8 bytes', [400], { headers: { ...key, ...json }, body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) });

    // Media types and encodings.
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/json; charset=latin1', 'application/jsonx', 'application/json-patch+json']) {
      await viaFetch(`content-type ${ct}`, [415], { headers: { ...key, 'content-type': ct }, body: '{}' });
    }
    await viaFetch('body without a content-type', [415], { headers: { ...key }, body: new TextEncoder().encode('{}') });
    await viaFetch('gzip content-encoding', [415], { headers: { ...key, ...json, 'content-encoding': 'gzip' }, body: new Uint8Array([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]) });

    // Size.
    await viaFetch('100 KiB body with Content-Length', [413], { headers: { ...key, ...json }, body: JSON.stringify({ mode: 'full', pad: 'x'.repeat(100 * 1024) }) });
    await viaSocket('200 KiB chunked body', [413, 400], async (s) => {
      s.write(head({ ...key, ...json, 'transfer-encoding': 'chunked' }));
      const chunk = 'x'.repeat(8 * 1024);
      for (let i = 0; i < 25 && !s.destroyed; i++) { s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`); await sleep(5); }
      if (!s.destroyed) s.write('0\r\n\r\n');
    });
    await viaSocket('Content-Length of 10 GB', [413], (s) => { s.write(head({ ...key, ...json, 'content-length': 10_000_000_000 })); });
    await viaSocket('negative Content-Length', [400, 413], (s) => { s.write(head({ ...key, ...json, 'content-length': -1 }) + '{}'); });
    await viaSocket('32 KiB header', [431, 400], (s) => { s.write(head({ ...key, ...json, 'x-big': 'h'.repeat(32 * 1024), 'content-length': 2 }) + '{}'); });
    const tenThousand = Array.from({ length: 10_000 }, (_, i) => `P-${String(i + 1).padStart(6, '0')}`);
    await viaFetch('10,000 product_nos (over the byte limit)', [413, 400], { headers: { ...key, ...json }, body: JSON.stringify({ product_nos: tenThousand }) });
    await viaFetch('10,000 product_nos (short, under the byte limit)', [400], { headers: { ...key, ...json }, body: JSON.stringify({ product_nos: Array.from({ length: 10_000 }, (_, i) => String(i % 10)) }) });

    // Keys.
    await viaFetch('no key', [401], { headers: { ...json }, body: '{}' });
    await viaFetch('wrong key', [401], { headers: { ...json, 'x-api-key': `${API_KEY.slice(0, -1)}X` }, body: '{}' });
    await viaFetch('key with padding', [401], { headers: { ...json, 'x-api-key': ` ${API_KEY}x` }, body: '{}' });
    await viaFetch('empty key', [401], { headers: { ...json, 'x-api-key': '' }, body: '{}' });
    await viaFetch('key as a bearer token', [401], { headers: { ...json, authorization: `Bearer ${API_KEY}` }, body: '{}' });
    await viaFetch('8 KiB key', [401], { headers: { ...json, 'x-api-key': 'k'.repeat(8 * 1024) }, body: '{}' });
    await viaFetch('GET on the webhook', [404, 405], { method: 'GET', headers: key });

    // ddpaas signatures.
    const now = Date.now();
    await viaFetch('ddpaas stale timestamp (−10 min)', [401], { headers: { ...json, ...signed(String(now - 10 * 60_000)) }, body: '{}' });
    await viaFetch('ddpaas future timestamp (+10 min)', [401], { headers: { ...json, ...signed(String(now + 10 * 60_000)) }, body: '{}' });
    await viaFetch('ddpaas timestamp in seconds', [401], { headers: { ...json, ...signed(String(Math.floor(now / 1000))) }, body: '{}' });
    await viaFetch('ddpaas non-numeric timestamp', [401], { headers: { ...json, ...signed('tomorrow') }, body: '{}' });
    await viaFetch('ddpaas signed with another secret', [401], { headers: { ...json, ...signed(String(now), 'not-the-secret-0123456789') }, body: '{}' });
    await viaFetch('ddpaas signature without timestamp', [401], { headers: { ...json, 'x-ddpaas-signature': ddpaasSignature(SIGNING_SECRET, String(now)) }, body: '{}' });
    // Replay: the first use passes authentication (and is refused for its body), the second use of the same
    // signature — now with a body that would start a run — must be refused.
    const replayTs = String(Date.now());
    await viaFetch('ddpaas first use (bad body)', [400], { headers: { ...json, ...signed(replayTs) }, body: '{"mode":' });
    await viaFetch('ddpaas replayed signature', [401], { headers: { ...json, ...signed(replayTs) }, body: '{}' });
    await viaFetch('ddpaas replayed signature again', [401], { headers: { ...json, ...signed(replayTs) }, body: '{"mode":"full"}' });

    // A burst of bad calls at once.
    const burst = await Promise.all(Array.from({ length: 200 }, (_, i) => fetch(`${url}${PATH}`, {
      method: 'POST', headers: { ...json, 'x-api-key': `wrong-${i}` }, body: '{}', signal: AbortSignal.timeout(QUICK_MS * 3),
    }).then(async (r) => { await r.arrayBuffer(); return r.status; }, () => 0)));
    results.push({ name: '200 concurrent wrong-key calls', status: burst.every((s) => s === 401) ? 401 : burst.find((s) => s !== 401)!, ms: 0, ceiling: QUICK_MS * 3, expected: [401], body: '' });

    await Promise.all(slow);
    auditAdd('hostile answers', () => [API_KEY, SIGNING_SECRET], () => results.map((r) => r.body));

    assertAlive(svc);
    const runsAfter = await svc.api.runs();
    const healthy = (await svc.api.healthz()) === 200;
    const ready = (await fetch(`${url}/readyz`)).status;
    // and it still does its job for a legitimate call
    const legit = await svc.api.trigger({ wait: false });
    const legitRun = legit.status === 202 ? await waitForRunEnd(svc, legit.body.runId, 30_000) : undefined;
    await svc.stop();

    const bad = results.filter((r) => !r.expected.includes(r.status) || r.status < 400 || r.status >= 500 || r.ms > r.ceiling);
    // eslint-disable-next-line no-console
    console.log(results.map((r) => `      ${r.expected.includes(r.status) ? 'ok ' : 'BAD'} ${String(r.status).padEnd(4)} ${String(r.ms).padStart(6)} ms  ${r.name}`).join('\n'));
    recordFigure({
      scenario: '5 hostile webhook input', iterations: `${results.length - 1} cases + a 200-call burst`, products: '—', missing: '—', duplicates: '—',
      result: bad.length === 0 && runsAfter.length === 0 && healthy ? `pass (all 4xx, 0 runs started, healthy; slowest ${Math.max(...results.map((r) => r.ms))} ms)` : `FAIL (${bad.length} cases)`,
      seconds: secondsSince(t0),
    });
    expect(bad.map((r) => `${r.name}: ${r.status} in ${r.ms} ms ${r.body.slice(0, 120)}`), 'cases not answered 4xx as expected within their ceiling').to.deep.equal([]);
    expect(runsAfter, 'runs started by hostile calls').to.deep.equal([]);
    expect(healthy).to.equal(true);
    expect(ready).to.equal(200);
    expect(legit.status, 'a legitimate call still works').to.equal(202);
    expect(legitRun?.status).to.equal('succeeded');
    expect(crashLines(svc)).to.deep.equal([]);
  });
});
