import { expect } from 'chai';
import { renderRunReport, renderCoalescedReport, escapeMarkdown, formatDuration } from '../src/robot/index.js';
import type { RunRecord } from '../src/core/index.js';

function run(over: Partial<RunRecord> = {}): RunRecord {
  return {
    id: 'r-20250101-0001',
    trigger: 'schedule',
    mode: 'incremental',
    status: 'succeeded',
    window: { start: '2025-01-01 09:30:00', end: '2025-01-01 10:00:00' },
    startedAt: '2025-01-01T02:00:00.000Z',
    finishedAt: '2025-01-01T02:00:40.000Z',
    durationMs: 40_000,
    counts: { fetched: 100, created: 10, updated: 20, unchanged: 65, rejected: 3, failed: 2 },
    failures: [],
    ...over,
  };
}

describe('robot run report (markdown in Chinese)', () => {
  it('titles the report with the outcome', () => {
    expect(renderRunReport(run()).title).to.equal('OKKI→宜搭 产品同步 成功');
    expect(renderRunReport(run({ status: 'partial' })).title).to.equal('OKKI→宜搭 产品同步 部分成功');
    expect(renderRunReport(run({ status: 'failed' })).title).to.equal('OKKI→宜搭 产品同步 失败');
    expect(renderRunReport(run({ status: 'failed' })).text).to.include('### ❌ OKKI→宜搭 产品同步 失败');
  });

  it('says who triggered it, the window, the counts, duration and throughput', () => {
    const { text } = renderRunReport(run({ trigger: 'webhook', requestedBy: '张三' }));
    expect(text).to.include('**触发**：宜搭按钮（张三）');
    expect(text).to.include('**时间窗口**：2025-01-01 09:30:00 — 2025-01-01 10:00:00');
    expect(text).to.include('新增 **10** · 更新 **20** · 未变 **65** · 拒绝 **3** · 失败 **2**');
    expect(text).to.include('**耗时**：40.0 秒');
    expect(text).to.include('**吞吐**：2.5 条/秒');
    expect(renderRunReport(run({ trigger: 'schedule' })).text).to.include('**触发**：定时任务');
    expect(renderRunReport(run({ trigger: 'cli' })).text).to.include('**触发**：命令行');
  });

  it('shows a full backfill window and duration from start/finish when durationMs is absent', () => {
    const { text } = renderRunReport(run({ mode: 'full', window: { start: null, end: '2025-01-01 10:00:00' }, durationMs: undefined, finishedAt: '2025-01-01T02:03:05.000Z' }));
    expect(text).to.include('**模式**：全量');
    expect(text).to.include('最早（全量回填） — 2025-01-01 10:00:00');
    expect(text).to.include('**耗时**：3 分 05 秒');
  });

  it('lists the first N failures with product numbers and escaped reasons, and how many there were', () => {
    const failures = Array.from({ length: 12 }, (_, i) => ({ product_no: `P-${i}`, code: 'MAPPING_REJECTED', reason: `缺少必填字段 ${i}` }));
    failures[0] = { product_no: 'P_*1*', code: 'MAPPING_REJECTED', reason: 'bad [link](http://evil.example)\n# heading <b>x</b>' };
    const { text } = renderRunReport(run({ status: 'partial', failures: failures.slice(0, 12), failuresTotal: 30 }), { maxFailures: 5 });
    expect(text).to.include('**失败明细**（共 30 条，列出前 5 条）');
    expect(text).to.include('- P\\_\\*1\\*：MAPPING\\_REJECTED bad \\[link\\](http://evil.example) # heading &lt;b>x&lt;/b>');
    expect(text).to.include('- P-4：');
    expect(text).not.to.include('- P-5：');
    expect(text).not.to.match(/\n# heading/);
  });

  it('links to the run page only when a public URL is set', () => {
    expect(renderRunReport(run(), { publicUrl: 'https://sync.example.com/' }).text).to.include('[查看运行详情](https://sync.example.com/console/runs/r-20250101-0001)');
    expect(renderRunReport(run()).text).not.to.include('查看运行详情');
  });

  it('raises an alert from the third failure in a row', () => {
    expect(renderRunReport(run({ status: 'failed' }), { consecutiveFailures: 2 }).text).not.to.include('连续');
    const { text } = renderRunReport(run({ status: 'failed', error: { code: 'OKKI_UNAVAILABLE', message: 'token endpoint down' } }), { consecutiveFailures: 3 });
    expect(text).to.include('连续 3 次失败');
    expect(text).to.include('**错误**：OKKI\\_UNAVAILABLE：token endpoint down');
  });

  it('lists targeted product numbers', () => {
    const { text } = renderRunReport(run({ mode: 'targeted', productNos: ['A-1', 'A-2'] }));
    expect(text).to.include('**模式**：指定产品');
    expect(text).to.include('**产品编号**：A-1、A-2');
  });

  it('coalesces several runs into one message with totals and per-run lines', () => {
    const items = [
      { run: run({ id: 'a', status: 'succeeded' }) },
      { run: run({ id: 'b', status: 'failed', error: { code: 'E', message: 'down' }, counts: { fetched: 0, created: 0, updated: 0, unchanged: 0, rejected: 0, failed: 0 } }), consecutiveFailures: 4 },
    ];
    const { title, text } = renderCoalescedReport(items, { publicUrl: 'https://x.example', omitted: 3 });
    expect(title).to.equal('OKKI→宜搭 产品同步 汇总（5 次运行）');
    expect(text).to.include('以下 5 次运行的报告合并为一条');
    expect(text).to.include('**合计**：拉取 100 条；新增 **10**');
    expect(text).to.include('[详情](https://x.example/console/runs/a)');
    expect(text).to.include('另有 3 次运行未逐条列出');
    expect(text).to.include('连续 4 次失败');
  });

  it('helpers: escaping keeps dates readable, durations are in Chinese units', () => {
    expect(escapeMarkdown('2025-01-01 10:00:00')).to.equal('2025-01-01 10:00:00');
    expect(escapeMarkdown('a\nb')).to.equal('a b');
    expect(escapeMarkdown('x'.repeat(300), 10)).to.have.length(10);
    expect(formatDuration(850)).to.equal('850 毫秒');
    expect(formatDuration(2 * 3600_000 + 5 * 60_000)).to.equal('2 小时 05 分');
  });
});
