/**
 * The human-readable status page at `GET /`. It is unauthenticated, so it shows only what is safe for anyone who
 * can reach the port: run ids, statuses, counts and times — never failure reasons, product numbers, who triggered a
 * run, or configuration. Everything interpolated is HTML-escaped.
 */
import type { RunRecord, RunStatus, ServiceStatus } from '../core/index.js';

/** The engine's status plus what only the process knows (composed in routes/ops.ts, not passed through the engine). */
export interface StatusView extends ServiceStatus {
  /** when the schedule fires next; null when nothing is scheduled */
  nextScheduledRun: Date | null;
  /** the built-in simulators stand in for OKKI and DingTalk */
  sandbox: boolean;
}

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STATUS_LABEL: Record<RunStatus, string> = {
  running: '运行中 running',
  succeeded: '成功 succeeded',
  partial: '部分成功 partial',
  failed: '失败 failed',
  skipped: '已跳过 skipped',
};

function formatInstant(value: Date | string | null | undefined, timezone: string): string {
  if (value === null || value === undefined || value === '') return '—';
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  // sv-SE gives `YYYY-MM-DD HH:mm:ss`, the same shape the run windows use.
  return `${d.toLocaleString('sv-SE', { timeZone: timezone, hour12: false })}`;
}

export interface StatusPageData {
  status: StatusView;
  runs: RunRecord[];
  timezone: string;
  /** rendering time, shown so a reader knows how fresh the page is */
  now: Date;
}

function runRow(run: RunRecord, timezone: string): string {
  const c = run.counts;
  const cell = (v: unknown) => `<td>${escapeHtml(v)}</td>`;
  const statusLabel = STATUS_LABEL[run.status] ?? run.status;
  return `<tr class="run status-${escapeHtml(run.status)}">`
    + cell(run.id) + cell(run.trigger) + cell(run.mode) + `<td class="st">${escapeHtml(statusLabel)}</td>`
    + cell(formatInstant(run.startedAt, timezone)) + cell(formatInstant(run.finishedAt, timezone))
    + cell(c.fetched) + cell(c.created) + cell(c.updated) + cell(c.unchanged) + cell(c.rejected) + cell(c.failed)
    + '</tr>';
}

export function renderStatusPage(data: StatusPageData): string {
  const { status, runs, timezone } = data;
  const sandbox = status.sandbox
    ? '<p class="banner" role="alert">沙箱模式：OKKI 与钉钉均为本地模拟器，不会写入真实数据。<br>Sandbox mode: OKKI and DingTalk are local simulators; nothing real is written.</p>'
    : '';
  const rows = runs.length
    ? runs.map((r) => runRow(r, timezone)).join('\n')
    : '<tr><td colspan="12">暂无运行记录 / no runs yet</td></tr>';
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OKKI → 宜搭 同步状态 / OKKI → Yida sync status</title>
<style>
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:2rem;color:#1f2328}
table{border-collapse:collapse;font-size:.9rem}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left}
th{background:#f6f8fa}.banner{background:#fff8c5;border:1px solid #d4a72c;padding:.6rem 1rem}
.status-failed .st{color:#cf222e}.status-skipped .st{color:#57606a}.status-partial .st{color:#9a6700}.status-succeeded .st{color:#1a7f37}
dt{font-weight:600}dd{margin:0 0 .5rem 0}
</style>
</head>
<body>
<h1>OKKI → 宜搭 产品同步 <small>OKKI → Yida product sync</small></h1>
${sandbox}
<dl>
<dt>同步游标 / Cursor (${escapeHtml(timezone)})</dt><dd id="cursor">${escapeHtml(status.cursor ?? '尚未完成首次同步 / no successful run yet')}</dd>
<dt>正在运行 / Running now</dt><dd id="running">${escapeHtml(status.runningRunId ?? '无 / none')}</dd>
<dt>下次定时同步 / Next scheduled run</dt><dd id="next-run">${escapeHtml(status.nextScheduledRun ? formatInstant(status.nextScheduledRun, timezone) : '未计划 / not scheduled')}</dd>
</dl>
<h2>最近运行 / Recent runs</h2>
<table>
<thead><tr><th>运行 ID / Run id</th><th>触发 / Trigger</th><th>模式 / Mode</th><th>状态 / Status</th><th>开始 / Started</th><th>结束 / Finished</th><th>拉取 / Fetched</th><th>新建 / Created</th><th>更新 / Updated</th><th>未变 / Unchanged</th><th>拒绝 / Rejected</th><th>失败 / Failed</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p><small>生成于 / Rendered at ${escapeHtml(formatInstant(data.now, timezone))} · 失败原因见钉钉群消息或 GET /runs/:id（需 API Key）/ failure reasons: DingTalk group report or GET /runs/:id (API key required)</small></p>
</body>
</html>
`;
}
