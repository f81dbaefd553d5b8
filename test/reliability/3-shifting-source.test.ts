/**
 * Scenario 3 — the source shifts while it is paged. 50 seeded incremental runs (in process, through buildConnector):
 * before each, a seeded set of products is changed (distinct update times inside the run's window); during each, the
 * OKKI simulator's shift knob bumps 1–3 already-served rows on every page request after the first, alternately out
 * of the window and to "now", so later rows slide across page boundaries. After every run, every changed product
 * must be in Yida with its new values: zero missed.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startOkkiSimulator, formatBeijing, parseBeijing, type OkkiSimulator } from '../../src/sandbox/okki/index.js';
import { startDingtalkSimulator, type DingtalkSimulator } from '../../src/sandbox/dingtalk/index.js';
import { loadConfig } from '../../src/config.js';
import { buildConnector, type Connector } from '../../src/connector.js';
import { createLogger } from '../../src/log.js';
import type { RunRecord } from '../../src/core/index.js';
import { auditAdd, envSecrets, KEY_FIELD, listMapping, recordFigure, secondsSince, seeded, serviceEnv, sleep, tally, tempDir, writeJson } from '../helpers/reliability.js';

const SEED = 8301;
const PRODUCTS = 300;
const RUNS = 50;
const CHANGED_PER_RUN = 20;
const PAGE_SIZE = 10;
const MAPPING = listMapping();

describe('reliability 3: products updated while their window is being paged', function () {
  this.timeout(180_000);
  let okki: OkkiSimulator;
  let dt: DingtalkSimulator;
  let connector: Connector | undefined;
  const logLines: string[] = [];

  before(async () => {
    okki = await startOkkiSimulator({ seed: SEED, products: PRODUCTS, spanDays: 2 });
    dt = await startDingtalkSimulator({ seed: SEED });
  });
  after(async () => {
    await connector?.close();
    await dt?.close();
    await okki?.close();
  });

  it(`misses no product across ${RUNS} seeded runs`, async () => {
    const t0 = Date.now();
    const dir = tempDir('shift');
    const env = serviceEnv({
      okki, dt, storeUrl: `sqlite://${join(dir, 'shift.sqlite')}`, apiKey: 'shift-api-key-0123456789',
      mappingFile: writeJson(dir, 'mapping.json', MAPPING),
      extra: { OKKI_PAGE_SIZE: String(PAGE_SIZE), OKKI_QPS: '1000', YIDA_QPS: '1000', YIDA_CONCURRENCY: '16', PORT: '0' },
    });
    const config = loadConfig(env);
    const logger = createLogger({ level: 'info', stream: new Writable({ write(c, _e, cb) { logLines.push(String(c)); cb(); } }) });
    auditAdd('shifting-source in-process logs', () => envSecrets(env), () => logLines);
    connector = await buildConnector(config, { logger });
    const engine = connector.engine;
    const runOnce = async () => {
      const t = await engine.trigger({ trigger: 'cli' });
      const run = await engine.waitForRun(t.runId, 60_000);
      if (!run || run.status === 'running') throw new Error(`run ${t.runId} did not finish within 60 s`);
      return run;
    };

    const backfill = await runOnce();
    expect(backfill.status, JSON.stringify(backfill.error)).to.equal('succeeded');
    expect(backfill.counts.created).to.equal(PRODUCTS);

    const all = [...okki.catalog.all()].map((p) => p.product_no);
    const baseName = new Map([...okki.catalog.all()].map((p) => [p.product_no, p.name]));
    /** changed products not yet seen in Yida with their new name → that name */
    const pending = new Map<string, string>();
    const missedDetail: string[] = [];
    let shiftedRows = 0; let deferred = 0;
    const unstable: string[] = [];
    /**
     * A run that succeeded moved the cursor past its window: every pending product whose update time lies inside that
     * window must now be in Yida with its new values, or it is missed for good. A product the shift moved past the
     * window's end before it was read belongs to the next window; a run that failed repeats its window.
     */
    const settle = (run: RunRecord) => {
      for (const [no, name] of pending) {
        const inst = dt.instances().filter((x) => x.data[KEY_FIELD] === no);
        if (inst.length === 1 && inst[0].data.textField_name === name) { pending.delete(no); continue; }
        if (run.status !== 'succeeded') continue;
        if (okki.catalog.get(no)!.update_time <= run.window.end!) { missedDetail.push(`${run.id}: ${no}`); pending.delete(no); } else deferred++;
      }
    };
    for (let i = 1; i <= RUNS; i++) {
      const rand = seeded(SEED * 1000 + i);
      const picks = new Set<string>();
      while (picks.size < CHANGED_PER_RUN) picks.add(all[Math.floor(rand() * all.length)]);
      // distinct update times in the last 25 minutes: inside the run's window (cursor − 30 min lookback .. now)
      const nowS = Math.floor(Date.now() / 1000);
      const offsets = new Set<number>();
      while (offsets.size < picks.size) offsets.add(2 + Math.floor(rand() * 1500));
      const off = [...offsets];
      okki.catalog.upsert([...picks].map((no, j) => ({ product_no: no, name: `${baseName.get(no)} r${i}`, update_time: formatBeijing(nowS - off[j]) })));
      for (const no of picks) pending.set(no, `${baseName.get(no)} r${i}`);
      okki.clearRequests();
      okki.setKnobs({ seed: SEED + i, shift: { rows: 1 + Math.floor(rand() * 3), mode: i % 2 ? 'afterWindow' : 'now' } });
      const run = await runOnce();
      okki.setKnobs({ shift: null });
      shiftedRows += okki.requests.reduce((n, r) => n + (r.shifted?.length ?? 0), 0);
      if (run.status !== 'succeeded') {
        unstable.push(run.error?.code ?? run.status);
        expect(run.status, `run ${i}`).to.equal('failed');
        expect(run.error?.code, `run ${i} failed for a reason other than a source that would not hold still`).to.equal('OKKI_WINDOW_UNSTABLE');
        expect(run.cursorAfter, 'a failed run leaves the cursor').to.equal(run.cursorBefore);
      }
      settle(run);
    }
    // The source holds still again. A row the shift moved past a window's end carries the next second: the final
    // runs must start after it (runs take well under a second, several could share one), then bring everything in.
    const latest = Math.max(...[...pending.keys()].map((no) => parseBeijing(okki.catalog.get(no)!.update_time)!), 0);
    while (Date.now() / 1000 < latest + 1.05) await sleep(50);
    for (let k = 0; k < 3; k++) {
      const run = await runOnce();
      settle(run);
      if (run.status === 'succeeded' && pending.size === 0) break;
    }
    const reReads = logLines.filter((l) => l.includes('OKKI window changed while paging')).length;
    const missed = missedDetail.length + pending.size;

    const { missing, duplicates } = tally(dt, KEY_FIELD, all);
    const stale = dt.instances().filter((x) => okki.catalog.get(String(x.data[KEY_FIELD]))?.name !== x.data.textField_name).length;
    // eslint-disable-next-line no-console
    console.log(`      rows shifted under the reader: ${shiftedRows}; windows re-read in smaller pieces: ${reReads}; runs failed with OKKI_WINDOW_UNSTABLE (window repeated by the next run): ${unstable.length}; changed products carried to the next window: ${deferred}`);
    recordFigure({
      scenario: '3 shifting source (shift knob while paging, in process)', iterations: `${RUNS} runs`, products: `${PRODUCTS} (${RUNS * CHANGED_PER_RUN} changes)`,
      missing: missed + missing.length, duplicates,
      result: missed === 0 && missing.length === 0 && duplicates === 0 && stale === 0
        ? `pass (${shiftedRows} rows shifted, ${reReads} re-reads, ${unstable.length} runs failed UNSTABLE and were repeated)` : 'FAIL',
      seconds: secondsSince(t0),
    });
    expect(shiftedRows, 'the shift knob moved rows').to.be.greaterThan(RUNS);
    expect(missedDetail, 'changed products the cursor moved past without syncing them').to.deep.equal([]);
    expect([...pending.keys()], 'changed products still not synced after the source held still').to.deep.equal([]);
    expect(missing).to.deep.equal([]);
    expect(duplicates).to.equal(0);
    expect(stale, 'instances behind the catalogue').to.equal(0);
  });
});
