/**
 * Which runs the robot reports (ROBOT_REPORT) and what the report says about the month's quotas. A robot message
 * costs quota too (3,000 webhook messages a month on DingTalk's standard edition; a report every 10 minutes would be
 * 4,320), so by default only runs that changed something, or went wrong, are reported.
 */
import type { RobotReportMode } from '../config.js';
import type { QuotaNotice, QuotaStatus } from '../core/metering.js';
import type { RunRecord } from '../core/index.js';

export type ReportDecision = { send: true } | { send: false; reason: string };

/** Did the run change (or fail to change) anything a person should hear about? */
export function hasNews(run: RunRecord): boolean {
  const c = run.counts;
  const touched = c.created + c.updated + c.rejected + c.failed + (c.deleted ?? 0) + (c.marked ?? 0);
  const g = run.groups;
  const groupsTouched = g ? g.created + g.updated + g.rejected + g.failed + (g.gone?.deleted ?? 0) + (g.gone?.marked ?? 0) : 0;
  // An audit is asked for to be read; gone products found (even left alone with SYNC_DELETIONS=off) are news.
  return touched + groupsTouched > 0 || run.status === 'failed' || run.status === 'partial' || run.mode === 'audit' || (run.gone?.found.count ?? 0) > 0;
}

export function decide(run: RunRecord, mode: RobotReportMode, quota?: QuotaStatus): ReportDecision {
  if (quota?.robotExhausted) {
    const { messages, budget } = quota.usage.robot;
    return { send: false, reason: `ROBOT_MONTHLY_BUDGET_EXHAUSTED: ${messages} of ${budget} robot messages used in ${quota.usage.month} (ROBOT_MONTHLY_MESSAGE_BUDGET); no reports until next month` };
  }
  // A threshold reached and not yet told is told now, whatever the run was.
  if (quota?.unannounced.length) return { send: true };
  if (mode === 'every') return { send: true };
  if (mode === 'failures') {
    return run.status === 'failed' || run.status === 'partial' ? { send: true } : { send: false, reason: 'ROBOT_REPORT=failures: the run did not fail' };
  }
  return hasNews(run) ? { send: true } : { send: false, reason: 'ROBOT_REPORT=changes: the run created, updated, deleted, rejected and failed nothing' };
}

const pct = (used: number, budget: number) => `${Math.floor((used / budget) * 100)}%`;
const num = (n: number) => n.toLocaleString('en-US');

function noticeLine(n: QuotaNotice): string {
  if (n.target === 'dingtalk') {
    return n.level === 100
      ? `> ⛔ **钉钉 API 调用本月额度已用尽**（${num(n.used)} / ${num(n.budget)}）：定时同步已暂停，宜搭按钮触发的同步仍会执行。`
      : `> ⚠️ **钉钉 API 调用本月已用 ${pct(n.used, n.budget)}**（${num(n.used)} / ${num(n.budget)}）；用尽后定时同步将暂停。`;
  }
  return `> ⚠️ **机器人消息本月已用 ${pct(n.used, n.budget)}**（${num(n.used)} / ${num(n.budget)}）；用尽后本月不再发送运行报告。`;
}

/** Lines for the report: thresholds reached this month, and a warning when this message is the month's last. */
export function quotaLines(quota: QuotaStatus | undefined): string[] {
  if (!quota) return [];
  const lines = quota.notices.filter((n) => n.target === 'dingtalk' || n.level === 80).map(noticeLine);
  const { messages, budget } = quota.usage.robot;
  if (budget > 0 && messages + 1 >= budget) {
    lines.push(`> ⛔ **机器人消息本月额度即将用尽**（本条为第 ${num(messages + 1)} / ${num(budget)} 条）：此后本月不再发送运行报告，请在状态页或 GET /usage 查看。`);
  }
  return lines;
}

/** The run's cost, one line. */
export function callsLine(run: RunRecord): string | undefined {
  const c = run.calls;
  if (!c) return undefined;
  return `- **调用**：钉钉 ${num(c.dingtalk)} 次 · OKKI ${num(c.okki)} 次`;
}
