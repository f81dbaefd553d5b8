/**
 * `/console/runs/:id`: one run. While it runs, the live block; always its window, counts, calls, every failure and
 * parked (rejected) product with its reason and a Retry button; audit findings and a deletion held back by the guard,
 * with the buttons that act on them.
 */
import type { RunRecord } from '../../core/index.js';
import { progressView, type LiveProgress } from '../progress.js';
import { bi, csrfField, formatInstant, formatRate, formatSpan, html, label, MODE_LABEL, statusBadge, TRIGGER_LABEL, type Html } from './html.js';
import { liveBlock } from './live.js';
import { mirrorSections } from './mirror.js';
import { page } from './layout.js';

export interface RunPageData {
  csrf: string;
  sandbox: boolean;
  timezone: string;
  run: RunRecord;
  live?: LiveProgress;
  notice?: string;
}

type Audited = RunRecord;

/** Codes that mean "parked": the product was refused before any write (as opposed to a write that failed). */
export function isParked(code: string): boolean {
  return !/^(YIDA_|WRITE_|STORE_|SYNC_|RUN_)/.test(code);
}

/** The product numbers a Retry button re-runs: every failure's and parked product's, once, at most 500. */
export function retryTargets(run: RunRecord): string[] {
  return [...new Set(run.failures.map((f) => f.product_no).filter((n): n is string => typeof n === 'string' && n.trim() !== ''))].slice(0, 500);
}

function facts(run: Audited, timezone: string): Html {
  const v = progressView(run, undefined);
  const calls = run.calls
    ? html`<dt>${bi('调用次数', 'calls spent')}</dt><dd id="calls">${bi('钉钉', 'DingTalk')} ${run.calls.dingtalk ?? 0} · OKKI ${run.calls.okki ?? 0} · ${bi('机器人', 'robot')} ${run.calls.robot ?? 0}</dd>`
    : html`<dt>${bi('调用次数', 'calls spent')}</dt><dd id="calls" class="muted">${bi('未记录', 'not recorded')}</dd>`;
  return html`<section class="card"><dl>
<dt>${bi('状态', 'status')}</dt><dd>${statusBadge(run.status)}</dd>
<dt>${bi('触发', 'trigger')}</dt><dd>${label(TRIGGER_LABEL, run.trigger)}${run.requestedBy ? ` · ${run.requestedBy}` : ''}</dd>
<dt>${bi('模式', 'mode')}</dt><dd>${label(MODE_LABEL, run.mode)}${run.productNos?.length ? ` · ${run.productNos.length} ${'个产品'}` : ''}</dd>
<dt>${bi('时间窗口', 'window')}</dt><dd id="window">${run.window.start ?? bi('最早（全量）', 'beginning (full)')} — ${run.window.end ?? '—'}</dd>
<dt>${bi('开始', 'started')}</dt><dd>${formatInstant(run.startedAt, timezone)}</dd>
<dt>${bi('结束', 'finished')}</dt><dd>${formatInstant(run.finishedAt, timezone)}</dd>
<dt>${bi('耗时', 'duration')}</dt><dd>${run.status === 'running' ? '…' : formatSpan(v.elapsedMs)}</dd>
<dt>${bi('吞吐', 'throughput')}</dt><dd>${formatRate(v.rate)} ${bi('条/秒', 'per second')}</dd>
${calls}
<dt>${bi('游标', 'cursor')}</dt><dd>${run.cursorBefore ?? '—'} → ${run.cursorAfter ?? '—'}</dd>
<dt>${bi('群消息', 'robot report')}</dt><dd>${run.report ? (run.report.sent ? bi('已发送', 'sent') : html`<span class="warn">${bi('未发送', 'not sent')}</span>${run.report.error ? ` · ${run.report.error}` : ''}`) : '—'}</dd>
</dl></section>`;
}

function counts(c: RunRecord['counts']): Html {
  const cell = (zh: string, en: string, n: number, id: string) => html`<tr><th>${bi(zh, en)}</th><td class="num" id="count-${id}" data-k="count-${id}">${n}</td></tr>`;
  return html`<div class="table-wrap"><table class="counts" id="counts"><tbody>
${cell('拉取', 'read', c.fetched, 'fetched')}${cell('新建', 'created', c.created, 'created')}${cell('更新', 'updated', c.updated, 'updated')}
${cell('未变', 'unchanged', c.unchanged, 'unchanged')}${cell('拒绝（搁置）', 'rejected (parked)', c.rejected, 'rejected')}${cell('失败', 'failed', c.failed, 'failed')}
${c.deleted !== undefined ? cell('已删除', 'deleted', c.deleted, 'deleted') : ''}${c.marked !== undefined ? cell('已标记停用', 'marked', c.marked, 'marked') : ''}
</tbody></table></div>`;
}

function failures(run: RunRecord, csrf: string): Html {
  const total = Math.max(run.failuresTotal ?? 0, run.failures.length);
  if (run.status === 'running') return html`<h2>${bi('失败与搁置', 'Failures and parked products')}</h2><p class="muted">${bi('运行结束后列出。', 'Listed when the run ends.')}</p>`;
  if (total === 0) return html`<h2>${bi('失败与搁置', 'Failures and parked products')}</h2><p class="muted" id="no-failures">${bi('没有失败或被拒绝的产品。', 'No product failed or was rejected.')}</p>`;
  const targets = retryTargets(run);
  const rows = run.failures.map((f) => html`<tr class="failure"><td>${f.product_no ? html`<a href="/console/products?no=${encodeURIComponent(f.product_no)}">${f.product_no}</a>` : bi('（无编号）', '(no number)')}</td>
<td>${isParked(f.code) ? bi('搁置', 'parked') : html`<span class="bad">${bi('失败', 'failed')}</span>`}</td><td><code>${f.code}</code></td><td class="reason">${f.reason}</td></tr>`);
  const retry = targets.length
    ? html`<form class="actions" method="post" action="/console/runs/${encodeURIComponent(run.id)}/retry">${csrfField(csrf)}<button class="primary" type="submit" id="retry">${bi(`重试这 ${targets.length} 个产品`, `Retry these ${targets.length} products`)}</button></form>`
    : '';
  const truncated = total > run.failures.length ? html`<p class="muted">${bi(`共 ${total} 条，记录了前 ${run.failures.length} 条。`, `${total} in all; the first ${run.failures.length} were recorded.`)}</p>` : '';
  return html`<h2>${bi('失败与搁置', 'Failures and parked products')} <span class="muted">(${total})</span></h2>${retry}${truncated}
<div class="table-wrap"><table id="failures" class="stack"><thead><tr><th>${bi('产品编号', 'Product no.')}</th><th>${bi('类别', 'Kind')}</th><th>${bi('代码', 'Code')}</th><th>${bi('原因', 'Reason')}</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

export function renderRunPage(d: RunPageData): string {
  const run = d.run as Audited;
  const view = progressView(run, d.live);
  const body = html`<h1>${bi('运行', 'Run')} <code>${run.id}</code></h1>
${run.status === 'running' ? liveBlock(view) : ''}
${run.error ? html`<p class="error" id="run-error"><code>${run.error.code}</code> ${run.error.message}</p>` : ''}
<div class="grid">${facts(run, d.timezone)}<section class="card">${counts(view.counts)}</section></div>
${mirrorSections(run, d.csrf)}
${failures(run, d.csrf)}`;
  return page({ title: `运行 Run ${run.id}`, csrf: d.csrf, sandbox: d.sandbox, current: 'run', notice: d.notice }, body);
}
