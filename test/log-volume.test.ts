/**
 * Log volume: a flood of refused requests is sampled (one line per request at most, at most 10 per error code a
 * minute, and the next line says how many were left out), and a failure storm is one summary per run, not one warning
 * per product.
 */
import { expect } from 'chai';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogSampler } from '../src/http/log-sampler.js';
import { createLogger } from '../src/log.js';
import { LedgerWriter } from '../src/sync/writer.js';
import { createStores } from '../src/store/index.js';
import { SinkRejectedError, type ProductSink } from '../src/core/index.js';
import { postWebhook, startFakeServiceApp } from './helpers/fake-service.js';

const parse = (lines: string[]) => lines.flatMap((l) => l.split('\n')).filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('log volume', () => {
  it('200 refused webhook calls write at most 10 log lines (one per request, sampled), none of them "http request"', async () => {
    const t = await startFakeServiceApp();
    try {
      for (let i = 0; i < 200; i++) expect((await postWebhook(t.url, {}, { 'x-api-key': 'wrong-key-0123456789-wrong' })).status).to.equal(401);
      const lines = parse(t.logs).filter((l) => l.path === '/webhooks/yida/sync');
      expect(lines.filter((l) => l.msg === 'http request'), 'a second line per refused request').to.have.length(0);
      const refused = lines.filter((l) => String(l.msg).startsWith('request refused'));
      expect(refused).to.have.length(10);
      expect(refused[0]).to.include({ method: 'POST', status: 401, code: 'WEBHOOK_UNAUTHORIZED' });
    } finally { await t.close(); }
  });

  it('the sampler lets 10 a minute through per code and reports how many it held back on the next line', () => {
    let now = 0;
    const s = new LogSampler(10, 60_000, () => now);
    const taken = Array.from({ length: 50 }, () => s.take('WEBHOOK_UNAUTHORIZED').log).filter(Boolean).length;
    expect(taken).to.equal(10);
    expect(s.take('WEBHOOK_BAD_JSON')).to.deep.equal({ log: true, suppressed: 0 }); // codes are sampled apart
    now = 61_000;
    expect(s.take('WEBHOOK_UNAUTHORIZED')).to.deep.equal({ log: true, suppressed: 40 });
    expect(s.take('WEBHOOK_UNAUTHORIZED')).to.deep.equal({ log: true, suppressed: 0 });
  });

  it('a failure storm: no warning per product from the writer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-volume-'));
    const stores = await createStores({ url: `sqlite://${join(dir, 's.sqlite')}`, kind: 'sqlite', sqlitePath: join(dir, 's.sqlite') });
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', stream: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) });
    const refusing: ProductSink = {
      create: async () => { throw new SinkRejectedError('字段超长'); },
      update: async () => { throw new SinkRejectedError('字段超长'); },
      findByKey: async () => [],
    };
    try {
      const w = new LedgerWriter({ ledger: stores.ledger, sink: refusing, keyField: 'textField_no', logger });
      const outcomes = await Promise.all(Array.from({ length: 100 }, (_, i) => w.write({ productNo: `P-${i}`, formData: {}, hash: `h${i}` })));
      expect(outcomes.every((o) => o.kind === 'rejected')).to.equal(true);
      expect(parse(lines).filter((l) => (l.level as number) >= 40), 'warnings').to.deep.equal([]);
    } finally { await stores.close(); rmSync(dir, { recursive: true, force: true }); }
  });
});
