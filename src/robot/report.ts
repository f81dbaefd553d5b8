/**
 * The run report as DingTalk markdown, in Chinese. Pure functions: a RunRecord in, `{title, text}` out.
 * Everything that comes from data (product numbers, reasons, error messages) is escaped and shortened, so a product
 * name cannot break the layout or inject links; the final text also passes through the global secret redactor.
 */
import { redact } from '../redact.js';
import type { RunRecord, RunStatus } from '../core/index.js';
import { goneCountsText, mirrorLines } from './report-mirror.js';
import type { QuotaStatus } from '../core/metering.js';
import { callsLine, quotaLines } from './policy.js';
import { failureSubject, groupLines } from './report-groups.js';

export interface ReportOptions {
  /** base URL for the run link (`${publicUrl}/console/runs/${id}`: the run's console page) */
  publicUrl?: string;
  /** failed runs in a row, this one included; ≥ alertAfter adds an alert line */
  consecutiveFailures?: number;
  /** failures listed by product number (default 10) */
  maxFailures?: number;
  /** consecutive failures that raise the alert (default 3) */
  alertAfter?: number;
  /** the month's quotas: thresholds reached are shown */
  quota?: QuotaStatus;
}

export interface RenderedReport { title: string; text: string }

export const REPORT_PRODUCT = 'OKKI→宜搭 产品同步';
/** Comfortably under DingTalk's markdown size limit. */
const MAX_TEXT = 15_000;

const STATUS_TEXT: Record<RunStatus, string> = { succeeded: '成功', partial: '部分成功', failed: '失败', running: '进行中', skipped: '已跳过' };
const STATUS_ICON: Record<RunStatus, string> = { succeeded: '✅', partial: '⚠️', failed: '❌', running: '⏳', skipped: '⏸️' };
const TRIGGER_TEXT: Record<string, string> = { schedule: '定时任务', webhook: '宜搭按钮', cli: '命令行', startup: '服务启动', console: '控制台', push: 'OKKI 推送' };
const MODE_TEXT: Record<string, string> = { incremental: '增量', full: '全量', targeted: '指定产品', sweep: '删除核对（全量列表）', audit: '核对宜搭与 OKKI' };

/**
 * Escape text for DingTalk markdown: one line, inline markup neutralised, HTML-ish tags defused.
 * Escaped values are always placed mid-line, so line-start markup (#, -, >, 1.) cannot trigger and is left alone:
 * dates and product numbers stay readable.
 */
export function escapeMarkdown(value: unknown, maxLength = 200): string {
  let s = String(value ?? '').replace(/[\r\n\t]+/g, ' ').replace(/\s{2,}/g, ' ').trim();
  if (s.length > maxLength) s = `${s.slice(0, maxLength - 1)}…`;
  return s
    .replace(/[\\`*_[\]~|]/g, (c) => `\\${c}`)
    .replace(/</g, '&lt;');
}

export function statusText(status: RunStatus): string { return STATUS_TEXT[status] ?? status; }
export function triggerText(trigger: string): string { return TRIGGER_TEXT[trigger] ?? trigger; }

/** 850 毫秒, 12.3 秒, 3 分 05 秒, 1 小时 02 分 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} 毫秒`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} 秒`;
  const totalS = Math.round(ms / 1000);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  return h > 0 ? `${h} 小时 ${String(m).padStart(2, '0')} 分` : `${m} 分 ${String(s).padStart(2, '0')} 秒`;
}

export function runDurationMs(run: RunRecord): number | undefined {
  if (typeof run.durationMs === 'number') return run.durationMs;
  if (!run.finishedAt) return undefined;
  const d = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
  return Number.isFinite(d) ? d : undefined;
}

function processed(run: RunRecord): number {
  const c = run.counts;
  return c.fetched > 0 ? c.fetched : c.created + c.updated + c.unchanged + c.rejected + c.failed;
}

/** 条/秒 over the run's duration; undefined when it cannot be computed. */
export function throughput(run: RunRecord): number | undefined {
  const ms = runDurationMs(run);
  if (ms === undefined || ms <= 0) return undefined;
  return processed(run) / (ms / 1000);
}

function runLink(publicUrl: string | undefined, id: string): string | undefined {
  if (!publicUrl) return undefined;
  return `${publicUrl.replace(/\/+$/, '')}/console/runs/${encodeURIComponent(id)}`;
}

function windowText(run: RunRecord): string {
  const start = run.window.start ? escapeMarkdown(run.window.start, 40) : '最早（全量回填）';
  const end = run.window.end ? escapeMarkdown(run.window.end, 40) : '—';
  return `${start} — ${end}`;
}

function triggerLine(run: RunRecord): string {
  const who = run.requestedBy ? `（${escapeMarkdown(run.requestedBy, 60)}）` : '';
  return `${escapeMarkdown(triggerText(run.trigger), 40)}${who}`;
}

function countsLine(c: RunRecord['counts']): string {
  return `新增 **${c.created}** · 更新 **${c.updated}** · 未变 **${c.unchanged}** · 拒绝 **${c.rejected}** · 失败 **${c.failed}**`;
}

function alertLine(consecutive: number | undefined, alertAfter: number): string | undefined {
  if (consecutive === undefined || !Number.isFinite(consecutive) || consecutive < alertAfter) return undefined;
  return `> 🚨 **告警：连续 ${Math.floor(consecutive)} 次失败**，请检查 OKKI / 宜搭 凭据、网络与配置。`;
}

/** SYNC_CURSOR_MAX_AGE: the cursor has not moved for too long (runs keep ending partial or failed). */
function cursorAlertLine(run: RunRecord): string | undefined {
  const s = run.cursorStale;
  if (!s) return undefined;
  return `> 🚨 **告警：同步游标已 ${formatDuration(s.ageSeconds * 1000)} 未前进**（停在 ${escapeMarkdown(s.cursor, 40)}，上限 ${formatDuration(s.maxAgeSeconds * 1000)}），此后变更的产品可能尚未同步到宜搭，请查看失败明细。`;
}

function parkedLine(run: RunRecord): string | undefined {
  const n = Math.max(run.parkedTotal ?? 0, run.parked?.length ?? 0);
  if (!n) return undefined;
  const shown = (run.parked ?? []).slice(0, 5).map((p) => escapeMarkdown(p.product_no, 60)).join('、');
  return `- **已搁置**：${n} 个产品（宜搭一再拒绝同一内容或存在重复实例；内容变化或按产品编号同步时重试）：${shown}${n > 5 ? ' 等' : ''}`;
}

function finish(text: string): string {
  const safe = redact(text);
  return safe.length > MAX_TEXT ? `${safe.slice(0, MAX_TEXT - 20)}\n\n…（内容过长已截断）` : safe;
}

export function reportTitle(run: RunRecord): string {
  return `${REPORT_PRODUCT} ${statusText(run.status)}`;
}

/** The report for one run. */
export function renderRunReport(run: RunRecord, opts: ReportOptions = {}): RenderedReport {
  const maxFailures = opts.maxFailures ?? 10;
  const alertAfter = opts.alertAfter ?? 3;
  const lines: string[] = [];
  lines.push(`### ${STATUS_ICON[run.status] ?? ''} ${reportTitle(run)}`.replace('###  ', '### '));
  const alert = alertLine(opts.consecutiveFailures, alertAfter);
  if (alert) lines.push('', alert);
  const stale = cursorAlertLine(run);
  if (stale) lines.push('', stale);
  for (const q of quotaLines(opts.quota)) lines.push('', q);
  lines.push('');
  lines.push(`- **触发**：${triggerLine(run)}`);
  lines.push(`- **模式**：${MODE_TEXT[run.mode] ?? escapeMarkdown(run.mode, 20)}`);
  if (run.mode === 'targeted' && run.productNos?.length) {
    const shown = run.productNos.slice(0, 10).map((p) => escapeMarkdown(p, 60)).join('、');
    lines.push(`- **产品编号**：${shown}${run.productNos.length > 10 ? ` 等 ${run.productNos.length} 个` : ''}`);
  }
  if (run.mode !== 'sweep' && run.mode !== 'audit') lines.push(`- **时间窗口**：${windowText(run)}`);
  lines.push(`- **拉取**：${run.counts.fetched} 条`);
  lines.push(`- **结果**：${countsLine(run.counts)}${goneCountsText(run)}`);
  lines.push(...mirrorLines(run));
  const parked = parkedLine(run);
  if (parked) lines.push(parked);
  lines.push(...groupLines(run, escapeMarkdown));
  const ms = runDurationMs(run);
  lines.push(`- **耗时**：${ms === undefined ? '—' : formatDuration(ms)}`);
  const tp = throughput(run);
  lines.push(`- **吞吐**：${tp === undefined ? '—' : `${tp.toFixed(tp >= 100 ? 0 : 1)} 条/秒`}`);
  const cost = callsLine(run);
  if (cost) lines.push(cost);
  lines.push(`- **运行 ID**：${escapeMarkdown(run.id, 128)}`);

  if (run.error) {
    lines.push('', `**错误**：${escapeMarkdown(run.error.code, 60)}：${escapeMarkdown(run.error.message, 300)}`);
  }

  const total = Math.max(run.failuresTotal ?? 0, run.failures.length);
  if (total > 0) {
    lines.push('', `**失败明细**（共 ${total} 条${total > Math.min(maxFailures, run.failures.length) ? `，列出前 ${Math.min(maxFailures, run.failures.length)} 条` : ''}）：`, '');
    for (const f of run.failures.slice(0, maxFailures)) {
      const no = failureSubject(f, escapeMarkdown);
      lines.push(`- ${no}：${escapeMarkdown(f.code, 60)} ${escapeMarkdown(f.reason, 200)}`);
    }
  }

  const link = runLink(opts.publicUrl, run.id);
  if (link) lines.push('', `[查看运行详情](${link})`);
  return { title: reportTitle(run), text: finish(lines.join('\n')) };
}

export interface CoalescedItem { run: RunRecord; consecutiveFailures?: number; quota?: QuotaStatus }

/**
 * Several runs in one message: used when the robot's per-minute budget is spent and reports queued up.
 * `omitted` counts runs that were queued but whose details were dropped to keep the queue bounded.
 */
export function renderCoalescedReport(items: readonly CoalescedItem[], opts: Omit<ReportOptions, 'consecutiveFailures'> & { omitted?: number; maxRuns?: number } = {}): RenderedReport {
  const maxRuns = opts.maxRuns ?? 20;
  const maxFailures = opts.maxFailures ?? 10;
  const alertAfter = opts.alertAfter ?? 3;
  const omitted = opts.omitted ?? 0;
  const n = items.length + omitted;
  const worst: RunStatus = items.some((i) => i.run.status === 'failed') ? 'failed' : items.some((i) => i.run.status === 'partial') ? 'partial' : 'succeeded';
  const title = `${REPORT_PRODUCT} 汇总（${n} 次运行）`;
  const lines: string[] = [`### ${STATUS_ICON[worst]} ${title}`];
  const maxConsecutive = Math.max(0, ...items.map((i) => i.consecutiveFailures ?? 0));
  const alert = alertLine(maxConsecutive, alertAfter);
  if (alert) lines.push('', alert);
  for (const q of quotaLines(opts.quota ?? items[items.length - 1]?.quota)) lines.push('', q);
  lines.push('', `> 机器人每分钟最多发送 20 条消息，以下 ${n} 次运行的报告合并为一条。`, '');

  const sum = { fetched: 0, created: 0, updated: 0, unchanged: 0, rejected: 0, failed: 0 };
  for (const { run } of items) for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += run.counts[k] ?? 0;
  lines.push(`**合计**：拉取 ${sum.fetched} 条；${countsLine(sum)}`, '');

  for (const { run } of items.slice(0, maxRuns)) {
    const link = runLink(opts.publicUrl, run.id);
    const ms = runDurationMs(run);
    const c = run.counts;
    const head = `${STATUS_ICON[run.status] ?? ''} ${statusText(run.status)}`;
    const detail = `${triggerLine(run)} · ${windowText(run)} · 新增 ${c.created} 更新 ${c.updated} 未变 ${c.unchanged} 拒绝 ${c.rejected} 失败 ${c.failed}${ms === undefined ? '' : ` · ${formatDuration(ms)}`}`;
    lines.push(`- ${head}：${detail}${link ? ` · [详情](${link})` : ''}`);
  }
  const unlisted = items.length - Math.min(items.length, maxRuns) + omitted;
  if (unlisted > 0) lines.push(`- 另有 ${unlisted} 次运行未逐条列出`);

  const failures = items.flatMap(({ run }) => run.failures);
  const failureTotal = items.reduce((acc, { run }) => acc + Math.max(run.failuresTotal ?? 0, run.failures.length), 0);
  if (failureTotal > 0) {
    lines.push('', `**失败明细**（共 ${failureTotal} 条，列出前 ${Math.min(maxFailures, failures.length)} 条）：`, '');
    for (const f of failures.slice(0, maxFailures)) {
      lines.push(`- ${failureSubject(f, escapeMarkdown)}：${escapeMarkdown(f.code, 60)} ${escapeMarkdown(f.reason, 200)}`);
    }
  }
  for (const { run } of items) {
    if (run.error) lines.push(`- 运行 ${escapeMarkdown(run.id, 128)} 错误：${escapeMarkdown(run.error.code, 60)}：${escapeMarkdown(run.error.message, 200)}`);
  }
  return { title, text: finish(lines.join('\n')) };
}
