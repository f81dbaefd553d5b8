/** `/console`: health, cursor and its age, next run, the month's usage against budgets, the live run, recent runs. */
import type { RunRecord } from '../../core/index.js';
import type { MappingCheckState } from '../mapping-monitor.js';
import { progressView, type LiveProgress } from '../progress.js';
import { usageChart } from './chart.js';
import { bi, formatInstant, formatRate, formatSpan, html, label, MODE_LABEL, raw, statusBadge, TRIGGER_LABEL, type Html } from './html.js';
import { liveBlock } from './live.js';
import { page } from './layout.js';

/** Month-to-date usage (GET /usage's shape), with cumulative daily figures when the store keeps them. */
export interface UsageView {
  month: string;
  dingtalk: { calls: number; budget: number; daily?: number[] };
  robot: { messages: number; budget: number; daily?: number[] };
  /** day of the month now and the month's length, in SYNC_TIMEZONE */
  day: number;
  daysInMonth: number;
}

export interface OverviewData {
  csrf: string;
  sandbox: boolean;
  timezone: string;
  now: Date;
  cursor: string | null;
  cursorAgeMs?: number;
  nextScheduledRun: Date | null;
  ready: { ok: boolean; checks: Record<string, boolean> };
  mapping?: MappingCheckState;
  usage?: UsageView;
  runs: RunRecord[];
  running?: { run: RunRecord; live?: LiveProgress };
  notice?: string;
}

const CHECK_LABEL: Record<string, [string, string]> = {
  store: ['存储', 'store'], config: ['配置', 'config'], mapping: ['映射', 'mapping'], accepting: ['接受触发', 'accepting runs'],
};

function yesNo(ok: boolean): Html {
  return ok ? html`<span class="ok">✓ ${bi('正常', 'ok')}</span>` : html`<span class="bad">✗ ${bi('异常', 'not ok')}</span>`;
}

function health(d: OverviewData): Html {
  const checks = Object.entries(d.ready.checks).map(([k, v]) => html`<dt>${label(CHECK_LABEL, k)}</dt><dd>${yesNo(v)}</dd>`);
  let mapping: Html;
  if (!d.mapping) mapping = html`<span class="muted">${bi('尚未检查', 'not checked yet')}</span>`;
  else if (d.mapping.error) mapping = html`<span class="warn">${bi('无法读取表单定义', 'form definition unreadable')}</span>`;
  else mapping = d.mapping.result!.ok ? yesNo(true) : html`<a class="bad" href="/console/mapping">✗ ${d.mapping.result!.problems.length} ${bi('个问题', 'problem(s)')}</a>`;
  return html`<section class="card" id="health"><h2>${bi('健康', 'Health')} ${d.ready.ok ? html`<span class="badge st-succeeded">${bi('就绪', 'ready')}</span>` : html`<span class="badge st-failed">${bi('未就绪', 'not ready')}</span>`}</h2>
<dl>${checks}<dt>${bi('映射 ↔ 表单', 'mapping ↔ form')}</dt><dd>${mapping}</dd></dl></section>`;
}

function schedule(d: OverviewData): Html {
  return html`<section class="card" id="cursor-card"><h2>${bi('同步游标', 'Cursor')}</h2><dl>
<dt>${bi('游标', 'cursor')} (${d.timezone})</dt><dd id="cursor">${d.cursor ?? bi('尚未完成首次同步', 'no successful run yet')}</dd>
<dt>${bi('距今', 'age')}</dt><dd id="cursor-age">${d.cursorAgeMs === undefined ? '—' : formatSpan(d.cursorAgeMs)}</dd>
<dt>${bi('下次定时同步', 'next scheduled run')}</dt><dd id="next-run">${d.nextScheduledRun ? formatInstant(d.nextScheduledRun, d.timezone) : bi('未计划', 'not scheduled')}</dd>
</dl></section>`;
}

function usage(d: OverviewData): Html {
  const u = d.usage;
  if (!u) return html`<section class="card" id="usage"><h2>${bi('本月用量', 'Usage this month')}</h2><p class="muted">${bi('用量计量不可用。', 'Usage metering is not available.')}</p></section>`;
  const pct = (used: number, budget: number) => (budget > 0 ? ` (${Math.round((used / budget) * 100)}%)` : '');
  const of = (budget: number) => (budget > 0 ? String(budget) : '∞');
  return html`<section class="card" id="usage"><h2>${bi('本月用量', 'Usage this month')} <span class="muted">${u.month}</span></h2>
<dl><dt>${bi('钉钉计量调用', 'DingTalk metered calls')}</dt><dd id="usage-dingtalk">${u.dingtalk.calls} / ${of(u.dingtalk.budget)}${pct(u.dingtalk.calls, u.dingtalk.budget)}</dd>
<dt>${bi('机器人消息', 'robot messages')}</dt><dd id="usage-robot">${u.robot.messages} / ${of(u.robot.budget)}${pct(u.robot.messages, u.robot.budget)}</dd></dl>
${raw(usageChart({ title: '钉钉调用 DingTalk calls', used: u.dingtalk.calls, budget: u.dingtalk.budget, day: u.day, daysInMonth: u.daysInMonth, daily: u.dingtalk.daily }))}
<p class="muted">${bi('实线：本月累计；虚线：按当前速度推算至月底；红线：预算。', 'Solid: month to date; dashed: this pace to the month’s end; red: budget.')}</p>
</section>`;
}

/** 850 ms → 0.9s, 75 s → 1m15s: short enough for a table cell. */
function shortSpan(ms: number): string {
  const sec = ms / 1000;
  if (sec < 60) return `${sec < 10 ? sec.toFixed(1) : Math.round(sec)}s`;
  const m = Math.floor(sec / 60);
  return m < 60 ? `${m}m${String(Math.round(sec % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function runsTable(runs: RunRecord[], timezone: string): Html {
  if (!runs.length) return html`<p class="muted">${bi('暂无运行记录', 'no runs yet')}</p>`;
  const rows = runs.map((r) => {
    const v = progressView(r, undefined);
    const c = r.counts;
    return html`<tr><td><a href="/console/runs/${encodeURIComponent(r.id)}" title="${r.id}">${formatInstant(r.startedAt, timezone)}</a></td><td>${statusBadge(r.status)}</td><td>${label(TRIGGER_LABEL, r.trigger)}</td><td>${label(MODE_LABEL, r.mode)}</td>
<td class="num">${r.status === 'running' ? '…' : shortSpan(v.elapsedMs)}</td>
<td class="num">${c.fetched}</td><td class="num">${c.created}</td><td class="num">${c.updated}</td><td class="num">${c.unchanged}</td><td class="num">${c.rejected}</td><td class="num">${c.failed}</td><td class="num">${formatRate(v.rate)}</td></tr>`;
  });
  return html`<div class="table-wrap"><table id="runs"><thead><tr><th>${bi('开始', 'Started')}</th><th>${bi('状态', 'Status')}</th><th>${bi('触发', 'Trigger')}</th><th>${bi('模式', 'Mode')}</th><th class="num">${bi('耗时', 'Took')}</th>
<th class="num">${bi('拉取', 'Read')}</th><th class="num">${bi('新建', 'New')}</th><th class="num">${bi('更新', 'Upd.')}</th><th class="num">${bi('未变', 'Same')}</th><th class="num">${bi('拒绝', 'Rej.')}</th><th class="num">${bi('失败', 'Fail')}</th><th class="num">${bi('条/秒', '/s')}</th></tr></thead>
<tbody>${rows}</tbody></table></div>`;
}

export function renderOverview(d: OverviewData): string {
  const body = html`<h1>${bi('概览', 'Overview')}</h1>
${d.running ? liveBlock(progressView(d.running.run, d.running.live, d.now.getTime()), { link: true }) : ''}
<div class="grid">${health(d)}${schedule(d)}</div>
${usage(d)}
<section id="recent"><h2>${bi('最近运行', 'Recent runs')}</h2>
<form class="actions" method="post" action="/console/sync"><input type="hidden" name="_csrf" value="${d.csrf}"><button class="primary" type="submit" id="sync-now">${bi('立即增量同步', 'Sync now')}</button></form>
${runsTable(d.runs, d.timezone)}</section>
<p class="muted">${bi('生成于', 'Rendered at')} ${formatInstant(d.now, d.timezone)}</p>`;
  return page({ title: '概览 Overview', csrf: d.csrf, sandbox: d.sandbox, current: 'overview', notice: d.notice }, body);
}
