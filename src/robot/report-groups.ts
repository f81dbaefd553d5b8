/**
 * The groups mirror's part of the run report (Chinese, like the rest): what was written to the group form, what was
 * not and why (the failure list names the group), groups gone from OKKI and the guard, and renamed groups whose
 * products were read again. Data (ids, names) passes through the report's own escaping.
 */
import type { RunFailure, RunRecord } from '../core/index.js';

type Escape = (value: unknown, maxLength?: number) => string;

export function groupLines(run: RunRecord, esc: Escape): string[] {
  const g = run.groups;
  if (!g) return [];
  const lines = [`- **分组**：OKKI 共 ${g.listed} 个；新增 **${g.created}** · 更新 **${g.updated}** · 未变 **${g.unchanged}** · 拒绝 **${g.rejected}** · 失败 **${g.failed}**`];
  const gone = g.gone;
  if (gone && gone.found > 0) {
    const ids = gone.group_ids.slice(0, 10).map((id) => esc(id, 20)).join('、');
    let text = `- **已删除的分组**：${gone.found} 个（${ids}${gone.found > 10 ? ' 等' : ''}）；删除 ${gone.deleted} · 标记 ${gone.marked} · 保留 ${gone.kept}`;
    if (gone.stillInOkki) text += ` · OKKI 仍可查到而未处理 ${gone.stillInOkki}`;
    lines.push(text);
    if (gone.guarded) {
      lines.push(`> 🛡️ **删除保护**：${gone.guarded.count} 个分组超过 SYNC_DELETE_MAX（${gone.guarded.max}），本次未删除或标记任何分组。核对后发送 \`${esc(gone.guarded.confirm, 80)}\` 到 /webhooks/yida/sync 以执行。`);
    }
  }
  const a = g.audit;
  if (a) {
    const part = (label: string, l: { count: number; keys: string[] }) => `${label} ${l.count}${l.count ? `（${l.keys.slice(0, 5).map((k) => esc(k, 20)).join('、')}${l.count > 5 ? ' 等' : ''}）` : ''}`;
    lines.push(`- **分组核对**：记录 ${a.records} 条，分组 ${a.groups} 个；${part('缺失', a.missing)} · ${part('重复', a.duplicates)} · ${part('过期', a.stale)} · ${part('孤立', a.orphans)}`);
    if (a.repaired) {
      const r = a.repaired;
      lines.push(`- **分组修复**：新建 ${r.created} · 更新 ${r.updated} · 删除重复 ${r.duplicatesRemoved} · 标记 ${r.orphansMarked} · 删除孤立 ${r.orphansDeleted} · 失败 ${r.failed}`);
    }
  }
  if (g.renamed) {
    lines.push(`- **改名的分组**：${g.renamed.groups} 个，重新读取其产品 ${g.renamed.productsRead} 条（产品中的分组名称随之更新）`);
  }
  return lines;
}

/** How a failure is named in the list: its product number, its group, or nothing. */
export function failureSubject(f: RunFailure, esc: Escape): string {
  if (f.product_no) return esc(f.product_no, 60);
  if (f.group_id !== undefined) return `分组 ${esc(f.group_id, 20)}`;
  return '（无编号）';
}
