/**
 * Progress figures shared by the console and `npm run sync` (read / written / total, rate, time left), the CLI's
 * terminal bar and plain lines, and the month chart's projection.
 */
import { expect } from 'chai';
import { progressView } from '../src/console/progress.js';
import { progressLine, startCliProgress, ttyLine } from '../src/cli-progress.js';
import { projectedUse, usageChart } from '../src/console/pages/chart.js';
import { sampleRun } from './helpers/fake-service.js';
import type { RunRecord } from '../src/core/index.js';

const T0 = Date.parse('2024-05-01T00:00:00Z');
const running = (patch: Partial<RunRecord> = {}): RunRecord => sampleRun({
  status: 'running', finishedAt: null, durationMs: undefined, startedAt: new Date(T0).toISOString(),
  counts: { fetched: 0, created: 0, updated: 0, unchanged: 0, rejected: 0, failed: 0 }, failures: [], ...patch,
});

describe('progress view', () => {
  it('uses the live snapshot while the run runs: rate over the elapsed time, time left from the total', () => {
    const live = { read: 60, written: 40, total: 200, counts: { fetched: 60, created: 30, updated: 5, unchanged: 3, rejected: 10, failed: 2 } };
    const v = progressView(running(), live, T0 + 10_000);
    expect(v).to.include({ read: 60, written: 40, settled: 50, total: 200, elapsedMs: 10_000 });
    expect(v.rate).to.equal(5);
    expect(v.percent).to.equal(25);
    expect(v.etaMs).to.equal(30_000);
  });

  it('without a total: no percentage, no time left; a targeted run counts its product numbers', () => {
    const v = progressView(running({ counts: { fetched: 5, created: 3, updated: 0, unchanged: 0, rejected: 0, failed: 0 } }), undefined, T0 + 1000);
    expect(v.total).to.equal(undefined);
    expect(v.percent).to.equal(undefined);
    expect(v.etaMs).to.equal(undefined);
    const t = progressView(running({ mode: 'targeted', productNos: ['a', 'b', 'c', 'd'], counts: { fetched: 2, created: 2, updated: 0, unchanged: 0, rejected: 0, failed: 0 } }), undefined, T0 + 1000);
    expect(t.total).to.equal(4);
    expect(t.percent).to.equal(50);
  });

  it('a stale snapshot never shows less than the record; a finished run is complete', () => {
    const rec = running({ counts: { fetched: 9, created: 9, updated: 0, unchanged: 0, rejected: 0, failed: 0 } });
    expect(progressView(rec, { read: 3, written: 3 }, T0 + 1000).written).to.equal(9);
    const done = progressView(sampleRun({ startedAt: new Date(T0).toISOString(), finishedAt: new Date(T0 + 5000).toISOString() }), undefined);
    expect(done).to.include({ percent: 100, etaMs: 0, total: 10, elapsedMs: 5000 });
  });
});

describe('npm run sync progress output', () => {
  const view = progressView(running(), { read: 150, written: 118, total: 300, counts: { fetched: 150, created: 100, updated: 10, unchanged: 8, rejected: 2, failed: 0 } }, T0 + 24_000);

  it('one plain line of figures', () => {
    expect(progressLine(view)).to.equal('120/300 (40%) · read 150 · written 118 · rejected 2 · failed 0 · 5.0/s · 36s left');
  });

  it('a terminal line with a bar that fits the width', () => {
    const line = ttyLine(view, 100, 0);
    expect(line).to.match(/^⠋ \[█+░+\] 120\/300 \(40%\)/);
    expect(line.length).to.be.at.most(99);
    expect(ttyLine(progressView(running(), undefined, T0 + 1000), 60, 3)).to.match(/\[░░░█░+\]/);
  });

  it('redraws in place on a terminal; prints plain lines on a pipe, and a final line either way', async () => {
    let record = running({ counts: { fetched: 10, created: 10, updated: 0, unchanged: 0, rejected: 0, failed: 0 } });
    const tty: string[] = [];
    const a = startCliProgress({ sample: async () => ({ run: record }), out: { isTTY: true, columns: 100, write: (s: string) => tty.push(s) }, ttyEveryMs: 10 });
    const plain: string[] = [];
    const b = startCliProgress({ sample: async () => ({ run: record }), out: { isTTY: false, write: (s: string) => plain.push(s) }, plainEveryMs: 15 });
    await new Promise((r) => setTimeout(r, 80));
    record = { ...record, status: 'succeeded', finishedAt: new Date().toISOString() };
    await a.stop();
    await b.stop();
    expect(tty.length).to.be.greaterThan(2);
    expect(tty.every((s) => s.startsWith('\r\x1b[2K'))).to.equal(true);
    expect(tty.at(-1)).to.match(/✓ .*\n$/);
    expect(plain.length).to.be.greaterThan(1);
    expect(plain.slice(0, -1).every((s) => /^progress run-sample 10 done · read 10 · written 10/.test(s))).to.equal(true);
    expect(plain.at(-1)).to.match(/^finished run-sample succeeded · 10\/10 \(100%\)/);
  });
});

describe('usage chart', () => {
  it('projects the month at its pace so far and draws budget, 80 % mark and today', () => {
    expect(projectedUse(1000, 10, 30)).to.equal(3000);
    const svg = usageChart({ title: 'calls', used: 1000, budget: 5000, day: 10, daysInMonth: 30 });
    expect(svg).to.match(/^<svg class="chart" viewBox="0 0 600 220" role="img"/);
    expect(svg).to.include('预算 budget 5000').and.include('80%').and.include('<circle').and.include('about 3000');
    expect(svg, 'no script in the chart').to.not.include('<script');
    const daily = usageChart({ title: 'calls', used: 30, budget: 0, day: 3, daysInMonth: 31, daily: [10, 20, 30] });
    expect(daily).to.not.include('budget');
    expect((/points="([^"]+)"/.exec(daily)?.[1] ?? '').split(' ')).to.have.length(4);
  });
});
